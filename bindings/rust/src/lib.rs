// SPDX-License-Identifier: LGPL-2.1-or-later
//! A safe Rust binding of libmsgpool, the C library of `/dev/msgpool`: a
//! named pool of fixed-size slots in kernel memory that processes map and
//! pass messages through by 64-bit [`Token`]s, the payload staying where
//! it was written.  `userlib/msgpool.h` (and msgpool(3)) describe the
//! model; this crate adds ownership to it:
//!
//! ```no_run
//! use msgpool::{Config, Pool};
//!
//! let pool = Pool::create("telemetry", &Config::new(&[(256, 1024), (65536, 64)]))?;
//! let token = pool.store(b"hello")?;          // hand `token` to a peer
//! {
//!     let msg = pool.read(token)?;            // a shared borrow: &[u8]
//!     assert_eq!(&*msg, b"hello");
//! }                                           // released here
//! pool.free(token)?;
//! # Ok::<(), msgpool::Error>(())
//! ```
//!
//! # Why over libmsgpool
//!
//! The crate calls libmsgpool (compiled from `userlib/msgpool.c` by
//! `build.rs` and linked statically) rather than the ioctls of
//! `<linux/msgpool.h>`: the library already maps the pool, checks that
//! the module speaks its ABI, turns errnos into the MemoryManager model's
//! errors by operation, and tracks which handle holds each guard.  Doing
//! that again here would be a second copy of the same rules to keep in
//! step, for no gain: each call is one ioctl either way.
//!
//! # Guards
//!
//! [`Pool::read`], [`Pool::read_mut`], [`Pool::loan`] and [`Pool::take`]
//! return guards that borrow the `Pool` and dereference to the payload
//! bytes; dropping one ends its borrow (a loan is discarded, a take marked
//! read).  The kernel, not the borrow checker, keeps borrows of a slot
//! apart, as it must between processes: a conflicting borrow is an
//! [`Error::AlreadyBorrowed`], freeing a borrowed message an
//! [`Error::BorrowActive`].  [`Typed`] views a guard's bytes as a
//! [`Plain`] type, its size checked against the message's length.
//!
//! Memory safety rests on every writer of the pool going through the
//! kernel's borrows and loans, as every program using libmsgpool does.  A
//! process that writes anywhere in its writable mapping can change bytes
//! a guard here is reading; a pool created with the kernel's protected
//! mode prevents that.
//!
//! # Errors
//!
//! Every fallible call returns [`Error`], one variant per libmsgpool
//! error code; it converts to `std::io::Error`.

#![warn(missing_docs)]

mod error;
mod ffi;

use std::ffi::CString;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::raw::{c_int, c_void};
use std::ptr;
use std::time::Duration;

pub use error::Error;
use error::check;

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The name of a message: opaque, valid in every process attached to its
/// pool until the message is freed.  Send it whole (as [`Token::as_raw`])
/// to another process; never take it apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token(u64);

impl Token {
    /// A token received from another process.  Any value is accepted
    /// here: the kernel refuses a bad one when it is used.
    pub const fn from_raw(raw: u64) -> Token {
        Token(raw)
    }

    /// The value to send to another process.
    pub const fn as_raw(self) -> u64 {
        self.0
    }
}

/// A message's header, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Payload bytes (a loan's: the slot's size).
    pub len: usize,
    /// Payload bytes the slot can hold.
    pub capacity: usize,
    /// Pid of the process that finished the message, 0 if not visible.
    pub producer: u32,
    /// The producer's value.
    pub tag: u64,
    /// The pool's sequence number of the message: larger is later.
    pub seq: u64,
    /// CLOCK_MONOTONIC when the message was finished.
    pub timestamp_ns: u64,
    /// Of a take: messages this reader missed since its previous take.
    pub lost: u32,
}

impl Header {
    fn from_op(op: &ffi::msgpool_op) -> Header {
        Header {
            len: op.len as usize,
            capacity: op.capacity as usize,
            producer: op.producer,
            tag: op.tag,
            seq: op.seq,
            timestamp_ns: op.timestamp_ns,
            lost: op.lost,
        }
    }
}

/// The storage domain of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemoryClass {
    /// Pages of host RAM owned by the kernel.
    Host,
    /// A class this crate does not know yet.
    Other(i32),
}

/// Flags of [`Pool::store_with`], [`Pool::loan_with`], [`Pool::read_with`]
/// and [`Pool::read_mut_with`], combined with `|`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u32);

impl Flags {
    /// None: a store or loan fails when the pool is full, a read waits
    /// for an exclusive borrower or a loan to end.
    pub const NONE: Flags = Flags(0);
    /// Never sleep: a read of a slot borrowed exclusively fails with
    /// [`Error::AlreadyBorrowed`]; wins over `WAIT`.
    pub const NONBLOCK: Flags = Flags(ffi::MSGPOOL_NONBLOCK);
    /// Store and loan: sleep until a slot is free.
    pub const WAIT: Flags = Flags(ffi::MSGPOOL_WAIT);
    /// Read: this handle becomes the message's owner.
    pub const ADOPT: Flags = Flags(ffi::MSGPOOL_ADOPT);
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, o: Flags) -> Flags {
        Flags(self.0 | o.0)
    }
}

/// The shape of a pool that [`Pool::create`] makes, and how it opens.
#[derive(Clone, Debug)]
pub struct Config {
    classes: Vec<(u32, u32)>,
    type_id: [u8; ffi::MSGPOOL_TYPE_ID_LEN],
    reader_limit: u32,
    mode: u32,
    exclusive: bool,
    overwrite: bool,
}

impl Config {
    /// Size classes as `(slot_size, nr_slots)`, slot sizes strictly
    /// increasing, 1 to 8 of them; mode 0600, untyped, no reader limit.
    pub fn new(classes: &[(u32, u32)]) -> Config {
        Config {
            classes: classes.to_vec(),
            type_id: [0; ffi::MSGPOOL_TYPE_ID_LEN],
            reader_limit: 0,
            mode: 0o600,
            exclusive: false,
            overwrite: false,
        }
    }

    /// The fingerprint of the pool's message type (all zeros: untyped).
    pub fn type_id(mut self, id: [u8; 16]) -> Config {
        self.type_id = id;
        self
    }

    /// How far a subscriber may fall behind; 0 for no limit.
    pub fn reader_limit(mut self, n: u32) -> Config {
        self.reader_limit = n;
        self
    }

    /// Permission bits of the pool, checked like SysV shm.
    pub fn mode(mut self, mode: u32) -> Config {
        self.mode = mode;
        self
    }

    /// Fail with [`Error::Exists`] rather than join an existing pool.
    pub fn exclusive(mut self, on: bool) -> Config {
        self.exclusive = on;
        self
    }

    /// A full pool takes back the oldest untaken published message
    /// instead of refusing a loan.
    pub fn overwrite(mut self, on: bool) -> Config {
        self.overwrite = on;
        self
    }

    fn to_c(&self) -> Result<ffi::msgpool_config> {
        let mut c = ffi::msgpool_config::default();
        if self.classes.len() > c.classes.len() {
            return Err(Error::Invalid);
        }
        for (dst, &(slot_size, nr_slots)) in c.classes.iter_mut().zip(&self.classes) {
            *dst = ffi::msgpool_class {
                slot_size,
                nr_slots,
            };
        }
        c.nr_classes = self.classes.len() as u32;
        c.type_id = self.type_id;
        c.reader_limit = self.reader_limit;
        Ok(c)
    }
}

fn c_name(name: &str) -> Result<CString> {
    CString::new(name).map_err(|_| Error::Invalid)
}

/// A handle on a pool: one peer, in the kernel's words.  Borrows, loans,
/// subscriptions and owned messages belong to it and are undone when it is
/// dropped.  `Pool` is `Send` and `Sync`: libmsgpool's calls are
/// thread-safe on one handle.
pub struct Pool {
    p: *mut ffi::msgpool,
}

// SAFETY: libmsgpool allows any call on one handle from many threads at
// once but msgpool_close(), which only Drop makes, with no borrow left.
unsafe impl Send for Pool {}
unsafe impl Sync for Pool {}

impl Pool {
    fn open(
        name: &str,
        cfg: Option<&ffi::msgpool_config>,
        flags: u32,
        mode: u32,
    ) -> Result<Pool> {
        let name = c_name(name)?;
        let mut p = ptr::null_mut();
        let cfg = cfg.map_or(ptr::null(), |c| c as *const _);
        check(unsafe { ffi::msgpool_open(name.as_ptr(), cfg, flags, mode, &mut p) })?;
        Ok(Pool { p })
    }

    /// Create the pool `name` (1 to 31 of `[A-Za-z0-9._-]`), or join it
    /// if this user created it already (see [`Pool::created`]): then its
    /// shape is its creator's and `cfg`'s classes are ignored.
    pub fn create(name: &str, cfg: &Config) -> Result<Pool> {
        let mut flags = ffi::MSGPOOL_OPEN_CREATE;
        if cfg.exclusive {
            flags |= ffi::MSGPOOL_OPEN_EXCL;
        }
        if cfg.overwrite {
            flags |= ffi::MSGPOOL_OPEN_OVERWRITE;
        }
        Pool::open(name, Some(&cfg.to_c()?), flags, cfg.mode)
    }

    /// Attach to the existing pool `name`, untyped and writable.
    pub fn attach(name: &str) -> Result<Pool> {
        Pool::open(name, None, 0, 0)
    }

    /// Attach to the existing pool `name` naming its type (`None`:
    /// untyped, joins any pool), read-only or not.  A read-only handle
    /// may read, take and wait; anything that writes gives
    /// [`Error::Permission`].
    pub fn attach_with(name: &str, type_id: Option<[u8; 16]>, read_only: bool) -> Result<Pool> {
        let cfg = type_id.map(|id| ffi::msgpool_config {
            type_id: id,
            ..Default::default()
        });
        let flags = if read_only {
            ffi::MSGPOOL_OPEN_RDONLY
        } else {
            0
        };
        Pool::open(name, cfg.as_ref(), flags, 0)
    }

    /// A second, independent handle on the same pool, with borrows and
    /// ownership of its own.
    pub fn dup(&self) -> Result<Pool> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::msgpool_dup(self.p, &mut p) })?;
        Ok(Pool { p })
    }

    /// Remove the name `name`, like ipcrm: attached handles carry on.
    pub fn unlink(name: &str) -> Result<()> {
        let name = c_name(name)?;
        check(unsafe { ffi::msgpool_unlink(name.as_ptr()) })
    }

    /// Whether opening this handle created the pool.
    pub fn created(&self) -> bool {
        unsafe { ffi::msgpool_created(self.p) == 1 }
    }

    /// Copy `data` into a new message; this handle owns it.
    pub fn store(&self, data: &[u8]) -> Result<Token> {
        self.store_with(data, 0, Flags::NONE)
    }

    /// [`Pool::store`] with a tag and flags (`WAIT`, `NONBLOCK`).
    pub fn store_with(&self, data: &[u8], tag: u64, flags: Flags) -> Result<Token> {
        self.store_raw(data.as_ptr().cast(), data.len(), tag, flags)
    }

    /// Copy a [`Plain`] value into a new message of `size_of::<T>()`
    /// bytes, to be read back with [`Pool::read_as`].
    pub fn store_value<T: Plain>(&self, value: &T) -> Result<Token> {
        // Through a pointer, never as &[u8]: T may have padding bytes.
        self.store_raw((value as *const T).cast(), mem::size_of::<T>(), 0, Flags::NONE)
    }

    fn store_raw(&self, data: *const c_void, len: usize, tag: u64, flags: Flags) -> Result<Token> {
        let mut t = 0;
        check(unsafe { ffi::msgpool_store(self.p, data, len, tag, flags.0, &mut t) })?;
        Ok(Token(t))
    }

    /// The state of a guard that the C call `f` begins.
    fn guard(&self, f: impl FnOnce(*mut ffi::msgpool_guard) -> c_int) -> Result<Raw<'_>> {
        let mut g = ffi::msgpool_guard::new();
        check(f(&mut g))?;
        Ok(Raw { pool: self, g })
    }

    /// A shared borrow of a message; it fails with
    /// [`Error::AlreadyBorrowed`] rather than wait for an exclusive one,
    /// as a `RefCell` would: a handle waiting on its own borrow would
    /// wait for ever.  [`Pool::read_with`] may wait.
    pub fn read(&self, token: Token) -> Result<ReadGuard<'_>> {
        self.read_with(token, Flags::NONBLOCK)
    }

    /// [`Pool::read`] with flags (`NONBLOCK`, `ADOPT`; without
    /// `NONBLOCK` it waits for an exclusive borrow or a loan to end).
    pub fn read_with(&self, token: Token, flags: Flags) -> Result<ReadGuard<'_>> {
        self.guard(|g| unsafe { ffi::msgpool_read(self.p, token.0, flags.0, g) })
            .map(ReadGuard)
    }

    /// An exclusive borrow of a message, to change it in place; like
    /// [`Pool::read`] it fails rather than wait for other borrows to end.
    pub fn read_mut(&self, token: Token) -> Result<WriteGuard<'_>> {
        self.read_mut_with(token, Flags::NONBLOCK)
    }

    /// [`Pool::read_mut`] with flags, as [`Pool::read_with`].
    pub fn read_mut_with(&self, token: Token, flags: Flags) -> Result<WriteGuard<'_>> {
        self.guard(|g| unsafe { ffi::msgpool_read_mut(self.p, token.0, flags.0, g) })
            .map(WriteGuard)
    }

    /// A shared borrow of a message viewed as a `T`.
    pub fn read_as<T: Plain>(&self, token: Token) -> Result<Typed<ReadGuard<'_>, T>> {
        Typed::new(self.read(token)?)
    }

    /// An exclusive borrow of a message viewed as a `T`.
    pub fn read_mut_as<T: Plain>(&self, token: Token) -> Result<Typed<WriteGuard<'_>, T>> {
        Typed::new(self.read_mut(token)?)
    }

    /// Return a message's slot to the pool.  Any writable handle holding
    /// the token may; a borrowed message gives [`Error::BorrowActive`],
    /// a freed one [`Error::NotAllocated`].
    pub fn free(&self, token: Token) -> Result<()> {
        check(unsafe { ffi::msgpool_free(self.p, token.0) })
    }

    /// A message's header, without borrowing it.
    pub fn header(&self, token: Token) -> Result<Header> {
        let mut op = ffi::msgpool_op::default();
        check(unsafe { ffi::msgpool_header(self.p, token.0, &mut op) })?;
        Ok(Header::from_op(&op))
    }

    /// Reserve a slot of at least `len` bytes (0: any) to write in place;
    /// fails with [`Error::NoFreeSlots`] when the pool is full.
    pub fn loan(&self, len: usize) -> Result<LoanGuard<'_>> {
        self.loan_with(len, Flags::NONE)
    }

    /// [`Pool::loan`] with flags (`WAIT`, `NONBLOCK`).
    pub fn loan_with(&self, len: usize, flags: Flags) -> Result<LoanGuard<'_>> {
        self.guard(|g| unsafe { ffi::msgpool_loan(self.p, len, flags.0, g) })
            .map(LoanGuard)
    }

    /// Make this handle a reader of the pool's published messages;
    /// returns its reader index.
    pub fn subscribe(&self) -> Result<u32> {
        let r = unsafe { ffi::msgpool_subscribe(self.p) };
        check(r)?;
        Ok(r as u32)
    }

    /// Stop reading.  `&mut self`: no take of this handle may be alive,
    /// since unsubscribing ends them all.
    pub fn unsubscribe(&mut self) -> Result<()> {
        check(unsafe { ffi::msgpool_unsubscribe(self.p) })
    }

    /// Give this reader rings of `entries` (a power of two) in the mapping:
    /// taking and marking read then make no system call while messages
    /// come.  Once in a handle's life.
    pub fn ring(&self, entries: u32) -> Result<()> {
        check(unsafe { ffi::msgpool_ring(self.p, entries) })
    }

    /// This reader's oldest published message not yet taken, waiting in
    /// poll() until there is one.
    pub fn take(&self) -> Result<TakeGuard<'_>> {
        self.take_with(0)
    }

    /// [`Pool::take`] without waiting: `None` when nothing is left.
    pub fn try_take(&self) -> Result<Option<TakeGuard<'_>>> {
        match self.take_with(ffi::MSGPOOL_NONBLOCK) {
            Err(Error::Empty) => Ok(None),
            r => r.map(Some),
        }
    }

    fn take_with(&self, flags: u32) -> Result<TakeGuard<'_>> {
        self.guard(|g| unsafe { ffi::msgpool_take(self.p, flags, g) })
            .map(TakeGuard)
    }

    fn wait(&self, events: i16, timeout: Option<Duration>) -> Result<bool> {
        let ms = timeout.map_or(-1, |t| t.as_millis().min(c_int::MAX as u128) as c_int);
        let r = unsafe { ffi::msgpool_wait(self.p, events, ms) };
        check(r)?;
        Ok(r > 0)
    }

    /// Wait until a message is there to take (`None`: for ever); false
    /// on timeout.  [`AsFd`] gives the descriptor for an event loop.
    pub fn wait_readable(&self, timeout: Option<Duration>) -> Result<bool> {
        self.wait(ffi::POLLIN, timeout)
    }

    /// Wait until a loan would find a free slot; false on timeout.
    pub fn wait_writable(&self, timeout: Option<Duration>) -> Result<bool> {
        self.wait(ffi::POLLOUT, timeout)
    }

    /// Messages this reader skipped since it subscribed (overwrite pools).
    pub fn missed(&self) -> u64 {
        unsafe { ffi::msgpool_missed(self.p) }
    }

    /// The pool's notify generation: it moves on every publish, mark read
    /// and unsubscribe.
    pub fn notify_gen(&self) -> u64 {
        unsafe { ffi::msgpool_notify_gen(self.p) }
    }

    /// Free slots now, all classes (asks the kernel).
    pub fn available(&self) -> Result<usize> {
        let n = unsafe { ffi::msgpool_available(self.p) };
        check(n.max(i64::from(i32::MIN)) as c_int)?;
        Ok(n as usize)
    }

    /// Slots, all classes.
    pub fn capacity(&self) -> usize {
        // Read from the handle: cannot fail on an open one.
        unsafe { ffi::msgpool_capacity(self.p) }.max(0) as usize
    }

    /// The storage domain of the pool.
    pub fn memory_class(&self) -> MemoryClass {
        match unsafe { ffi::msgpool_memory_class(self.p) } {
            ffi::MSGPOOL_MEM_HOST => MemoryClass::Host,
            c => MemoryClass::Other(c),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Only fails for a NULL handle, which a Pool never holds.
        unsafe { ffi::msgpool_close(&mut self.p) };
    }
}

impl AsRawFd for Pool {
    /// The handle's descriptor, for poll or epoll: readable when there is
    /// a message to take.  Never close it nor change its flags.
    fn as_raw_fd(&self) -> RawFd {
        unsafe { ffi::msgpool_fd(self.p) }
    }
}

impl AsFd for Pool {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor stays open as long as the handle.
        unsafe { BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("fd", &self.as_raw_fd()).finish()
    }
}

/// The state every guard shares: the handle it came from and the C guard.
struct Raw<'a> {
    pool: &'a Pool,
    g: ffi::msgpool_guard,
}

impl Raw<'_> {
    fn bytes(&self) -> &[u8] {
        // SAFETY: data points at hdr.len bytes of the mapping for as long
        // as the borrow, take or loan lasts, which is this guard's life;
        // the kernel lets no one else write them meanwhile.
        unsafe { std::slice::from_raw_parts(self.g.data as *const u8, self.g.hdr.len as usize) }
    }

    /// Only for guards whose borrow or loan is exclusive.
    fn bytes_mut(&mut self) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.g.data as *mut u8, self.g.hdr.len as usize) }
    }
}

// Each guard ends one way: when dropped, or by `$method` seeing the error.
macro_rules! guard {
    ($(#[$m:meta])* $name:ident, $end:path, $(#[$em:meta])* $method:ident) => {
        $(#[$m])*
        pub struct $name<'a>(Raw<'a>);

        impl $name<'_> {
            /// The message's token.
            pub fn token(&self) -> Token {
                Token(self.0.g.token)
            }

            /// The message's header as the kernel returned it.
            pub fn header(&self) -> Header {
                Header::from_op(&self.0.g.hdr)
            }

            $(#[$em])*
            pub fn $method(self) -> Result<()> {
                // Ended here, once: it is not dropped after.
                let mut me = ManuallyDrop::new(self);
                check(unsafe { $end(me.0.pool.p, &mut me.0.g) })
            }
        }

        impl Deref for $name<'_> {
            type Target = [u8];
            fn deref(&self) -> &[u8] {
                self.0.bytes()
            }
        }

        impl Drop for $name<'_> {
            fn drop(&mut self) {
                // An error here means the borrow ended already (e.g.
                // the handle unsubscribed); nothing is left to undo.
                unsafe { $end(self.0.pool.p, &mut self.0.g) };
            }
        }

        // SAFETY: a borrow may be ended by another thread than the one
        // that took it, and the bytes are plain memory.
        unsafe impl Send for $name<'_> {}
        unsafe impl Sync for $name<'_> {}

        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("token", &self.token())
                    .field("header", &self.header())
                    .finish()
            }
        }
    };
}

guard!(
    /// A shared borrow ([`Pool::read`]): the message's bytes, released
    /// when dropped.
    ReadGuard,
    ffi::msgpool_release,
    /// Release now, seeing the error.
    release
);
guard!(
    /// An exclusive borrow ([`Pool::read_mut`]): the message's bytes,
    /// writable, released when dropped.
    WriteGuard,
    ffi::msgpool_release,
    /// Release now, seeing the error.
    release
);
guard!(
    /// A loan ([`Pool::loan`]): a slot to fill, as many bytes as it holds.
    /// [`LoanGuard::commit`] makes it a message, [`LoanGuard::publish`]
    /// sends it to subscribers; dropped otherwise, it is discarded.
    LoanGuard,
    ffi::msgpool_discard,
    /// Give the slot back unpublished, seeing the error.
    discard
);
guard!(
    /// A take ([`Pool::take`]): a published message, marked read when
    /// dropped.
    TakeGuard,
    ffi::msgpool_mark_read,
    /// Mark read now, seeing the error.
    mark_read
);

impl DerefMut for WriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.0.bytes_mut()
    }
}

impl WriteGuard<'_> {
    /// Release, the message now `len` bytes long (up to its capacity; if
    /// larger, [`Error::TooBig`] and the borrow is released unchanged).
    pub fn release_len(mut self, len: usize) -> Result<()> {
        check(unsafe { ffi::msgpool_release_len(self.0.pool.p, &mut self.0.g, len) })?;
        mem::forget(self);
        Ok(())
    }
}

impl DerefMut for LoanGuard<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.0.bytes_mut()
    }
}

impl LoanGuard<'_> {
    /// Finish the loan as a message of its first `len` bytes, for this
    /// handle to own; returns its token.  If `len` is above the slot's
    /// capacity: [`Error::TooBig`] and the loan is discarded.
    pub fn commit(mut self, len: usize, tag: u64) -> Result<Token> {
        check(unsafe { ffi::msgpool_commit(self.0.pool.p, &mut self.0.g, len, tag) })?;
        let t = self.token();
        mem::forget(self);
        Ok(t)
    }

    /// Finish the loan as a message of `len` bytes for the readers
    /// subscribed now (with none, the slot is free at once); returns its
    /// header.  Errors as [`LoanGuard::commit`].
    pub fn publish(mut self, len: usize, tag: u64) -> Result<Header> {
        check(unsafe { ffi::msgpool_publish(self.0.pool.p, &mut self.0.g, len, tag) })?;
        let h = self.header();
        mem::forget(self);
        Ok(h)
    }
}

/// A type that may be viewed in place in a message's bytes.
///
/// # Safety
///
/// Every bit pattern of `size_of::<T>()` bytes must be a valid `T`, and
/// `T` must hold no pointer or reference (another process wrote it): a
/// `#[repr(C)]` struct of integers, floats and arrays of them, whose
/// layout the processes sharing the pool agree on.
pub unsafe trait Plain: Copy + 'static {}

macro_rules! plain {
    ($($t:ty)*) => { $(unsafe impl Plain for $t {})* };
}
plain!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize f32 f64);
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

/// A guard whose bytes are viewed as a `T` ([`Pool::read_as`],
/// [`Pool::read_mut_as`], [`Typed::new`]); mutable if the guard is.
pub struct Typed<G, T> {
    guard: G,
    _t: PhantomData<T>,
}

impl<G: Deref<Target = [u8]>, T: Plain> Typed<G, T> {
    /// View `guard`'s message as a `T`: its length must be
    /// `size_of::<T>()`.  A shorter message gives [`Error::TooBig`] (T is
    /// too big for it), a longer one, or one misaligned for `T`,
    /// [`Error::Invalid`]; the guard is then dropped, ending its borrow.
    pub fn new(guard: G) -> Result<Self> {
        let b: &[u8] = &guard;
        if b.len() < mem::size_of::<T>() {
            return Err(Error::TooBig);
        }
        if b.len() > mem::size_of::<T>() || (b.as_ptr() as usize) % mem::align_of::<T>() != 0 {
            return Err(Error::Invalid);
        }
        Ok(Typed {
            guard,
            _t: PhantomData,
        })
    }

    /// The guard, for its token and header.
    pub fn guard(&self) -> &G {
        &self.guard
    }

    /// The guard back, as bytes.
    pub fn into_inner(self) -> G {
        self.guard
    }
}

impl<G: Deref<Target = [u8]>, T: Plain> Deref for Typed<G, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: size and alignment checked in new(); any bits are a T.
        unsafe { &*(self.guard.as_ptr() as *const T) }
    }
}

impl<G: DerefMut<Target = [u8]>, T: Plain> DerefMut for Typed<G, T> {
    fn deref_mut(&mut self) -> &mut T {
        unsafe { &mut *(self.guard.as_mut_ptr() as *mut T) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_refuses_too_many_classes() {
        let cfg = Config::new(&[(1, 1); 9]);
        assert_eq!(cfg.to_c().err(), Some(Error::Invalid));
        let c = Config::new(&[(64, 4), (4096, 2)]).to_c().unwrap();
        assert_eq!(c.nr_classes, 2);
        assert_eq!(c.classes[1].slot_size, 4096);
    }

    #[test]
    fn name_with_nul_is_invalid() {
        assert_eq!(Pool::attach("a\0b").err(), Some(Error::Invalid));
    }
}
