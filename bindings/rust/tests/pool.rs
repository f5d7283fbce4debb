// SPDX-License-Identifier: LGPL-2.1-or-later
//! The crate against the real module: these need /dev/msgpool, so they
//! run in a VM (scripts/check.sh, suite rust-*).  libtest runs them in
//! parallel threads; each test makes its own pool, named after it, so
//! they cannot see each other's messages or slots.

use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use msgpool::{Config, Error, Flags, MemoryClass, Plain, Pool, Token};

/// A pool of its own for one test: 4 slots of 64 bytes, 2 of 4096.
fn pool(name: &str) -> Pool {
    let p = Pool::create(name, &Config::new(&[(64, 4), (4096, 2)]).exclusive(true))
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    assert!(p.created());
    p
}

/// `pool(name)` holding one message of `data`.
fn pool_with(name: &str, data: &[u8]) -> (Pool, Token) {
    let p = pool(name);
    let t = p.store(data).unwrap();
    (p, t)
}

#[test]
fn store_read_round_trip() {
    let (p, t) = pool_with("rs-roundtrip", b"hello");
    let g = p.read(t).unwrap();
    assert_eq!(&*g, b"hello");
    assert_eq!(g.token(), t);
    assert_eq!(g.header().len, 5);
    assert_eq!(g.header().capacity, 64);
    drop(g);
    p.free(t).unwrap();
}

#[test]
fn header_has_tag_and_sequence() {
    let p = pool("rs-header");
    let a = p.store_with(b"a", 42, Flags::NONE).unwrap();
    let b = p.store_with(&[0u8; 100], 43, Flags::NONE).unwrap();
    let (ha, hb) = (p.header(a).unwrap(), p.header(b).unwrap());
    assert_eq!((ha.tag, ha.len, ha.capacity), (42, 1, 64));
    assert_eq!((hb.tag, hb.len, hb.capacity), (43, 100, 4096));
    assert!(hb.seq > ha.seq);
    assert_eq!(ha.producer, std::process::id());
}

#[test]
fn read_mut_writes_are_visible() {
    let (p, t) = pool_with("rs-readmut", b"abcdef");
    {
        let mut g = p.read_mut(t).unwrap();
        g[0] = b'X';
        g[5] = b'Y';
    }
    assert_eq!(&*p.read(t).unwrap(), b"XbcdeY");
    // A second handle sees the change too: it is the same memory.
    let q = p.dup().unwrap();
    assert_eq!(&*q.read(t).unwrap(), b"XbcdeY");
}

#[test]
fn release_len_sets_length() {
    let (p, t) = pool_with("rs-releaselen", b"abcdef");
    p.read_mut(t).unwrap().release_len(3).unwrap();
    assert_eq!(&*p.read(t).unwrap(), b"abc");
    assert_eq!(p.read_mut(t).unwrap().release_len(65), Err(Error::TooBig));
    // The failed release_len still released the borrow, length unchanged.
    assert_eq!(&*p.read(t).unwrap(), b"abc");
}

#[test]
fn double_free_is_not_allocated() {
    let (p, t) = pool_with("rs-doublefree", b"x");
    p.free(t).unwrap();
    assert_eq!(p.free(t), Err(Error::NotAllocated));
    assert_eq!(p.read(t).err(), Some(Error::NotAllocated));
}

#[test]
fn token_zero_is_bad() {
    let p = pool("rs-badtoken");
    assert_eq!(p.free(Token::from_raw(0)), Err(Error::BadToken));
    assert_eq!(p.read(Token::from_raw(0)).err(), Some(Error::BadToken));
}

#[test]
fn read_guard_drop_releases() {
    let (p, t) = pool_with("rs-guarddrop", b"held");
    let g = p.read(t).unwrap();
    assert_eq!(p.free(t), Err(Error::BorrowActive));
    drop(g);
    p.free(t).unwrap();
}

#[test]
fn explicit_release_then_free() {
    let (p, t) = pool_with("rs-release", b"held");
    let w = p.read_mut(t).unwrap();
    assert_eq!(p.free(t), Err(Error::BorrowActive));
    w.release().unwrap();
    p.free(t).unwrap();
}

#[test]
fn shared_and_exclusive_borrows_conflict() {
    let (p, t) = pool_with("rs-conflict", b"data");
    let (a, b) = (p.read(t).unwrap(), p.read(t).unwrap());
    assert_eq!(&*a, &*b);
    assert_eq!(p.read_mut(t).err(), Some(Error::AlreadyBorrowed));
    drop((a, b));
    let w = p.read_mut(t).unwrap();
    assert_eq!(p.read(t).err(), Some(Error::AlreadyBorrowed));
    assert_eq!(p.read_mut(t).err(), Some(Error::AlreadyBorrowed));
    drop(w);
    p.read(t).unwrap();
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    id: u32,
    flags: u32,
    value: f64,
}

// SAFETY: repr(C), integers and a float: any bits are a Sample.
unsafe impl Plain for Sample {}

#[test]
fn typed_round_trip() {
    let p = pool("rs-typed");
    let s = Sample {
        id: 7,
        flags: 1,
        value: 2.5,
    };
    let t = p.store_value(&s).unwrap();
    assert_eq!(*p.read_as::<Sample>(t).unwrap(), s);
    p.read_mut_as::<Sample>(t).unwrap().value = -1.0;
    let g = p.read_as::<Sample>(t).unwrap();
    assert_eq!(g.value, -1.0);
    assert_eq!(g.guard().header().len, std::mem::size_of::<Sample>());
}

#[test]
fn typed_size_mismatch_is_an_error() {
    let p = pool("rs-typedsize");
    let short = p.store(b"12345").unwrap();
    let long = p.store(&[0u8; 16]).unwrap();
    assert_eq!(p.read_as::<u64>(short).err(), Some(Error::TooBig));
    assert_eq!(p.read_mut_as::<u64>(long).err(), Some(Error::Invalid));
    assert_eq!(*p.read_as::<[u64; 2]>(long).unwrap(), [0, 0]);
    // The refused views released their borrows.
    p.free(short).unwrap();
    p.free(long).unwrap();
}

#[test]
fn exhaustion_is_no_free_slots() {
    let p = Pool::create("rs-exhaust", &Config::new(&[(32, 2)]).exclusive(true)).unwrap();
    let a = p.store(b"1").unwrap();
    p.store(b"2").unwrap();
    assert_eq!(p.available(), Ok(0));
    assert_eq!(p.store(b"3"), Err(Error::NoFreeSlots));
    assert_eq!(p.loan(1).err(), Some(Error::NoFreeSlots));
    p.free(a).unwrap();
    assert_eq!(p.available(), Ok(1));
    p.store(b"3").unwrap();
}

#[test]
fn too_big_store() {
    let p = pool("rs-toobig");
    assert_eq!(p.store(&[0u8; 4097]), Err(Error::TooBig));
    assert_eq!(p.store(b""), Err(Error::Invalid));
}

#[test]
fn figures() {
    let p = pool("rs-figures");
    assert_eq!(p.capacity(), 6);
    assert_eq!(p.available(), Ok(6));
    assert_eq!(p.memory_class(), MemoryClass::Host);
    let t = p.store(&[1u8; 1000]).unwrap();
    assert_eq!(p.available(), Ok(5));
    p.free(t).unwrap();
    assert_eq!(p.available(), Ok(6));
}

#[test]
fn loan_commit() {
    let p = pool("rs-loan");
    let mut l = p.loan(10).unwrap();
    assert_eq!(l.len(), 64); // the whole slot of the smallest class
    l[..5].copy_from_slice(b"world");
    let t = l.commit(5, 9).unwrap();
    let g = p.read(t).unwrap();
    assert_eq!(&*g, b"world");
    assert_eq!(g.header().tag, 9);
}

#[test]
fn loan_drop_discards() {
    let p = pool("rs-discard");
    let l = p.loan(100).unwrap();
    let t = l.token();
    assert_eq!(p.available(), Ok(5));
    // Loaned, not committed: nobody else may see it.
    assert_eq!(p.read(t).err(), Some(Error::AlreadyBorrowed));
    drop(l);
    assert_eq!(p.available(), Ok(6));
    assert_eq!(p.read(t).err(), Some(Error::NotAllocated));
    p.loan(1).unwrap().discard().unwrap();
    assert_eq!(p.available(), Ok(6));
}

#[test]
fn commit_too_big_discards() {
    let p = pool("rs-committoobig");
    let l = p.loan(1).unwrap();
    assert_eq!(l.commit(65, 0), Err(Error::TooBig));
    assert_eq!(p.available(), Ok(6));
}

fn publish(p: &Pool, data: &[u8]) -> u64 {
    let mut l = p.loan(data.len()).unwrap();
    l[..data.len()].copy_from_slice(data);
    l.publish(data.len(), 0).unwrap().seq
}

/// Publishes three messages that `sub` then takes in order, none lost,
/// and nothing after them.
fn publish_three_take_in_order(p: &Pool, sub: &Pool) {
    let msgs = [b"one", b"two", b"six"];
    let seqs: Vec<u64> = msgs.iter().map(|m| publish(p, *m)).collect();
    for (want, seq) in msgs.iter().zip(seqs) {
        let g = sub.take().unwrap();
        assert_eq!(&*g, *want);
        assert_eq!(g.header().seq, seq);
        assert_eq!(g.header().lost, 0);
    }
    assert!(sub.try_take().unwrap().is_none());
}

#[test]
fn pub_sub_take_in_order() {
    let p = pool("rs-pubsub");
    let sub = p.dup().unwrap();
    sub.subscribe().unwrap();
    assert_eq!(sub.subscribe().err(), Some(Error::Exists));
    publish_three_take_in_order(&p, &sub);
}

#[test]
fn ring_take_in_order() {
    let p = pool("rs-ring");
    let sub = p.dup().unwrap();
    assert_eq!(sub.ring(8), Err(Error::NotFound));
    sub.subscribe().unwrap();
    sub.ring(8).unwrap();
    assert_eq!(sub.ring(8), Err(Error::Exists));
    publish_three_take_in_order(&p, &sub);
    // The takes were marked read through the ring; a poll() drains it.
    assert_eq!(p.wait_writable(Some(Duration::ZERO)), Ok(true));
    assert_eq!(p.available(), Ok(6));
}

#[test]
fn take_guard_drop_marks_read() {
    let p = Pool::create("rs-markread", &Config::new(&[(64, 1)]).exclusive(true)).unwrap();
    let sub = p.dup().unwrap();
    sub.subscribe().unwrap();
    publish(&p, b"only");
    assert_eq!(p.available(), Ok(0));
    let g = sub.take().unwrap();
    assert_eq!(p.free(g.token()), Err(Error::BorrowActive));
    drop(g);
    // Its one reader marked it read: the slot is free again.
    assert_eq!(p.available(), Ok(1));
    publish(&p, b"next");
    sub.take().unwrap().mark_read().unwrap();
    assert_eq!(p.available(), Ok(1));
}

#[test]
fn unsubscribed_take_is_not_found() {
    let mut p = pool("rs-unsub");
    assert_eq!(p.take().err(), Some(Error::NotFound));
    p.subscribe().unwrap();
    p.unsubscribe().unwrap();
    assert_eq!(p.try_take().err(), Some(Error::NotFound));
    assert_eq!(p.unsubscribe(), Err(Error::NotFound));
}

#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

extern "C" {
    fn poll(fds: *mut PollFd, nfds: std::os::raw::c_ulong, timeout: i32) -> i32;
}

fn readable(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    let mut pfd = PollFd {
        fd: fd.as_raw_fd(),
        events: 1, // POLLIN
        revents: 0,
    };
    let n = unsafe { poll(&mut pfd, 1, 0) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    n == 1 && pfd.revents & 1 != 0
}

#[test]
fn poll_fd_readable_after_publish() {
    let p = pool("rs-poll");
    let sub = p.dup().unwrap();
    sub.subscribe().unwrap();
    assert!(!readable(sub.as_fd()));
    assert_eq!(sub.wait_readable(Some(Duration::ZERO)), Ok(false));
    let gen = sub.notify_gen();
    publish(&p, b"ping");
    assert!(readable(sub.as_fd()));
    assert_eq!(sub.wait_readable(None), Ok(true));
    assert_ne!(sub.notify_gen(), gen);
    drop(sub.take().unwrap());
    assert!(!readable(sub.as_fd()));
}

#[test]
fn attach_sees_data_of_creator() {
    let (p, t) = pool_with("rs-attach", b"shared");
    let q = Pool::attach("rs-attach").unwrap();
    assert!(!q.created());
    assert_eq!(&*q.read(Token::from_raw(t.as_raw())).unwrap(), b"shared");
    q.free(t).unwrap();
    assert_eq!(p.read(t).err(), Some(Error::NotAllocated));
}

#[test]
fn owner_close_frees_unless_adopted() {
    let p = pool("rs-adopt");
    let q = p.dup().unwrap();
    let gone = q.store(b"gone").unwrap();
    let kept = q.store(b"kept").unwrap();
    drop(p.read_with(kept, Flags::ADOPT).unwrap());
    drop(q);
    assert_eq!(p.read(gone).err(), Some(Error::NotAllocated));
    assert_eq!(&*p.read(kept).unwrap(), b"kept");
}

#[test]
fn open_errors() {
    assert_eq!(Pool::attach("rs-nosuchpool").err(), Some(Error::NotFound));
    let _p = Pool::create("rs-typedpool", &Config::new(&[(64, 1)]).type_id([7; 16])).unwrap();
    let excl = Config::new(&[(64, 1)]).exclusive(true);
    assert_eq!(Pool::create("rs-typedpool", &excl).err(), Some(Error::Exists));
    assert_eq!(
        Pool::attach_with("rs-typedpool", Some([8; 16]), false).err(),
        Some(Error::TypeMismatch)
    );
    Pool::attach_with("rs-typedpool", Some([7; 16]), false).unwrap();
    assert_eq!(Pool::create("bad/name", &excl).err(), Some(Error::Invalid));
}

#[test]
fn read_only_handle_cannot_write() {
    let (_p, t) = pool_with("rs-rdonly", b"ro");
    let r = Pool::attach_with("rs-rdonly", None, true).unwrap();
    assert_eq!(&*r.read(t).unwrap(), b"ro");
    assert_eq!(r.store(b"no"), Err(Error::Permission));
    assert_eq!(r.free(t), Err(Error::Permission));
    assert_eq!(r.read_mut(t).err(), Some(Error::Permission));
}

#[test]
fn guards_cross_threads() {
    let (p, t) = pool_with("rs-threads", b"threads");
    let g = p.read(t).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(&*p.read(t).unwrap(), b"threads"));
        // A borrow taken here may end in another thread.
        s.spawn(move || g.release().unwrap());
    });
    p.free(t).unwrap();
}
