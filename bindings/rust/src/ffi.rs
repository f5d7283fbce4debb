// SPDX-License-Identifier: LGPL-2.1-or-later
//! The part of <msgpool.h> and <linux/msgpool.h> the crate calls, by hand:
//! bindgen would be a dependency.  The size checks at the end catch a
//! header change that these copies missed.

#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_short, c_uint, c_void};

pub const MSGPOOL_MAX_CLASSES: usize = 8;
pub const MSGPOOL_TYPE_ID_LEN: usize = 16;

pub const MSGPOOL_OPEN_CREATE: c_uint = 1 << 0;
pub const MSGPOOL_OPEN_EXCL: c_uint = 1 << 1;
pub const MSGPOOL_OPEN_OVERWRITE: c_uint = 1 << 2;
pub const MSGPOOL_OPEN_RDONLY: c_uint = 1 << 16;

pub const MSGPOOL_NONBLOCK: c_uint = 1 << 0;
pub const MSGPOOL_WAIT: c_uint = 1 << 1;
pub const MSGPOOL_ADOPT: c_uint = 1 << 3;

pub const MSGPOOL_MEM_HOST: c_int = 1;

pub const POLLIN: c_short = 0x1;
pub const POLLOUT: c_short = 0x4;

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct msgpool_class {
    pub slot_size: u32,
    pub nr_slots: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct msgpool_config {
    pub nr_classes: u32,
    pub classes: [msgpool_class; MSGPOOL_MAX_CLASSES],
    pub type_id: [u8; MSGPOOL_TYPE_ID_LEN],
    pub reader_limit: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct msgpool_op {
    pub op: u32,
    pub flags: u32,
    pub result: i32,
    pub len: u32,
    pub token: u64,
    pub data: u64,
    pub offset: u64,
    pub capacity: u32,
    pub producer: u32,
    pub tag: u64,
    pub seq: u64,
    pub timestamp_ns: u64,
    pub lost: u32,
    pub reserved: u32,
}

#[repr(C)]
pub struct msgpool_guard_priv {
    pub pool: *const msgpool,
    pub peer_id: u32,
    pub kind: u32,
}

#[repr(C)]
pub struct msgpool_guard {
    pub token: u64,
    pub data: *mut c_void,
    pub hdr: msgpool_op,
    pub priv_: msgpool_guard_priv,
}

impl msgpool_guard {
    pub fn new() -> Self {
        // SAFETY: integers and pointers, all valid as zeros (null).
        unsafe { std::mem::zeroed() }
    }
}

/// The library's opaque handle.
#[repr(C)]
pub struct msgpool {
    _private: [u8; 0],
}

extern "C" {
    pub fn msgpool_strerror(err: c_int) -> *const c_char;
    pub fn msgpool_open(
        name: *const c_char,
        cfg: *const msgpool_config,
        flags: c_uint,
        mode: c_uint,
        out: *mut *mut msgpool,
    ) -> c_int;
    pub fn msgpool_created(pool: *const msgpool) -> c_int;
    pub fn msgpool_dup(pool: *mut msgpool, out: *mut *mut msgpool) -> c_int;
    pub fn msgpool_close(pool: *mut *mut msgpool) -> c_int;
    pub fn msgpool_store(
        pool: *mut msgpool,
        buf: *const c_void,
        len: usize,
        tag: u64,
        flags: c_uint,
        token: *mut u64,
    ) -> c_int;
    pub fn msgpool_loan(pool: *mut msgpool, len: usize, flags: c_uint, g: *mut msgpool_guard)
        -> c_int;
    pub fn msgpool_commit(pool: *mut msgpool, g: *mut msgpool_guard, len: usize, tag: u64)
        -> c_int;
    pub fn msgpool_discard(pool: *mut msgpool, g: *mut msgpool_guard) -> c_int;
    pub fn msgpool_read(pool: *mut msgpool, token: u64, flags: c_uint, g: *mut msgpool_guard)
        -> c_int;
    pub fn msgpool_read_mut(
        pool: *mut msgpool,
        token: u64,
        flags: c_uint,
        g: *mut msgpool_guard,
    ) -> c_int;
    pub fn msgpool_release(pool: *mut msgpool, g: *mut msgpool_guard) -> c_int;
    pub fn msgpool_release_len(pool: *mut msgpool, g: *mut msgpool_guard, len: usize) -> c_int;
    pub fn msgpool_free(pool: *mut msgpool, token: u64) -> c_int;
    pub fn msgpool_header(pool: *mut msgpool, token: u64, hdr: *mut msgpool_op) -> c_int;
    pub fn msgpool_subscribe(pool: *mut msgpool) -> c_int;
    pub fn msgpool_unsubscribe(pool: *mut msgpool) -> c_int;
    pub fn msgpool_ring(pool: *mut msgpool, entries: c_uint) -> c_int;
    pub fn msgpool_publish(pool: *mut msgpool, g: *mut msgpool_guard, len: usize, tag: u64)
        -> c_int;
    pub fn msgpool_take(pool: *mut msgpool, flags: c_uint, g: *mut msgpool_guard) -> c_int;
    pub fn msgpool_mark_read(pool: *mut msgpool, g: *mut msgpool_guard) -> c_int;
    pub fn msgpool_wait(pool: *mut msgpool, events: c_short, timeout_ms: c_int) -> c_int;
    pub fn msgpool_fd(pool: *const msgpool) -> c_int;
    pub fn msgpool_missed(pool: *const msgpool) -> u64;
    pub fn msgpool_notify_gen(pool: *mut msgpool) -> u64;
    pub fn msgpool_available(pool: *mut msgpool) -> i64;
    pub fn msgpool_capacity(pool: *mut msgpool) -> i64;
    pub fn msgpool_memory_class(pool: *mut msgpool) -> c_int;
    pub fn msgpool_unlink(name: *const c_char) -> c_int;
}

const _: () = assert!(std::mem::size_of::<msgpool_op>() == 80);
const _: () = assert!(std::mem::size_of::<msgpool_config>() == 88);
const _: () = assert!(std::mem::size_of::<msgpool_guard>() == 112);
