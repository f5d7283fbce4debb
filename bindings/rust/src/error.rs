// SPDX-License-Identifier: LGPL-2.1-or-later
//! [`Error`]: libmsgpool's `enum msgpool_error`, one variant per code.

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::mem;
use std::os::raw::c_int;

use crate::ffi;

/// What went wrong: one variant for each `MSGPOOL_E_*` code of
/// `<msgpool.h>`, whose comments there (and msgpool(3)) say when each
/// occurs.  The first six are the MemoryManager model's error kinds.
///
/// [`Error::errno`] gives the errno behind each (the kernel's, or for
/// [`Error::System`] the one the library kept) and `From<Error> for
/// io::Error` wraps it for code that deals in `io::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// No class that fits has a free slot (ENOBUFS).
    NoFreeSlots,
    /// Malformed token, or one of another pool (EINVAL on a token).
    BadToken,
    /// The slot was freed or reused since the token was made (ESTALE).
    NotAllocated,
    /// A conflicting borrow or loan holds the slot (EBUSY).
    AlreadyBorrowed,
    /// Free of a borrowed, loaned or published slot (EBUSY of a free).
    BorrowActive,
    /// An exclusive borrower died inside the slot (EOWNERDEAD).
    Poisoned,
    /// The pool's mode, a read-only handle or the slot's holder refuse
    /// this (EACCES, EBADF, EPERM).
    Permission,
    /// The guard holds no borrow or loan of this handle.
    NotHeld,
    /// A length above the largest class or above the slot (EMSGSIZE);
    /// also a typed view of a message shorter than the type.
    TooBig,
    /// A limit of the module or of the pool (E2BIG, ENOSPC, EUSERS,
    /// EOVERFLOW).
    Limit,
    /// No pool of that name, or this handle is not subscribed (ENOENT).
    NotFound,
    /// The pool exists (exclusive create), or subscribed already (EEXIST).
    Exists,
    /// No /dev/msgpool: the module is not loaded (ENODEV).
    NoDevice,
    /// Out of memory (ENOMEM).
    NoMemory,
    /// A wait was interrupted by a signal (EINTR).
    Interrupted,
    /// The handle was closed.  A `Pool` closes only when dropped, so the
    /// crate never returns it; it is here to keep the codes one to one.
    Closed,
    /// A bad argument: a pool name, class layout or flag the library
    /// refuses; also a typed view of a message longer than the type, or
    /// misaligned for it.
    Invalid,
    /// The module speaks another ABI version (ENOTTY).
    Abi,
    /// Any other system error, with its errno.
    System(i32),
    /// Nothing published to this reader is left to take (EAGAIN).
    Empty,
    /// The pool holds messages of another type (EPROTOTYPE).
    TypeMismatch,
}

// errno values of Linux (the only system the module runs on); the crate
// has no libc dependency to take them from.
const EINTR: i32 = 4;
const ENOENT: i32 = 2;
const ENOMEM: i32 = 12;
const EACCES: i32 = 13;
const EBUSY: i32 = 16;
const EEXIST: i32 = 17;
const ENODEV: i32 = 19;
const EINVAL: i32 = 22;
const ENOTTY: i32 = 25;
const ENOSPC: i32 = 28;
const EAGAIN: i32 = 11;
const EBADF: i32 = 9;
const EMSGSIZE: i32 = 90;
const EPROTOTYPE: i32 = 91;
const ENOBUFS: i32 = 105;
const ESTALE: i32 = 116;
const EOWNERDEAD: i32 = 130;

/// Each error with its errno, in `enum msgpool_error`'s order: `ERRORS[i]`
/// has the code `-(i + 1)`.
const ERRORS: [(Error, i32); 21] = [
    (Error::NoFreeSlots, ENOBUFS),
    (Error::BadToken, EINVAL),
    (Error::NotAllocated, ESTALE),
    (Error::AlreadyBorrowed, EBUSY),
    (Error::BorrowActive, EBUSY),
    (Error::Poisoned, EOWNERDEAD),
    (Error::Permission, EACCES),
    (Error::NotHeld, EBADF),
    (Error::TooBig, EMSGSIZE),
    (Error::Limit, ENOSPC),
    (Error::NotFound, ENOENT),
    (Error::Exists, EEXIST),
    (Error::NoDevice, ENODEV),
    (Error::NoMemory, ENOMEM),
    (Error::Interrupted, EINTR),
    (Error::Closed, EBADF),
    (Error::Invalid, EINVAL),
    (Error::Abi, ENOTTY),
    (Error::System(0), 0),
    (Error::Empty, EAGAIN),
    (Error::TypeMismatch, EPROTOTYPE),
];

impl Error {
    fn index(self) -> usize {
        let kind = mem::discriminant(&self);
        ERRORS
            .iter()
            .position(|(e, _)| mem::discriminant(e) == kind)
            .expect("every error is in ERRORS")
    }

    /// The `enum msgpool_error` value, negative as the C calls return it.
    pub fn code(self) -> i32 {
        -1 - self.index() as i32
    }

    /// The error of a C return value `code` (< 0); `errno` is the errno
    /// the library left for `MSGPOOL_E_SYSTEM`.  An unknown code, which a
    /// newer library could return, is a system error.
    pub fn from_code(code: i32, errno: i32) -> Error {
        match ERRORS.get((-1 - code) as usize) {
            Some(&(Error::System(_), _)) | None => Error::System(errno),
            Some(&(e, _)) => e,
        }
    }

    /// The errno this error stands for: the first one `<msgpool.h>` names
    /// for it (EBADF for the two that name none), or a system error's own.
    pub fn errno(self) -> i32 {
        match self {
            Error::System(e) => e,
            _ => ERRORS[self.index()].1,
        }
    }
}

/// The result of a C call that returns 0 or a negative error code.
pub(crate) fn check(ret: c_int) -> Result<(), Error> {
    if ret >= 0 {
        return Ok(());
    }
    // Read at once: nothing between the call and here touches errno.
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    Err(Error::from_code(ret, errno))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // msgpool_strerror(): the same words as the C and C++ APIs.
        let s = unsafe { CStr::from_ptr(ffi::msgpool_strerror(self.code())) };
        f.write_str(&s.to_string_lossy())?;
        if let Error::System(e) = self {
            write!(f, ": {}", io::Error::from_raw_os_error(*e))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    /// An `io::Error` of the errno's kind that carries the [`Error`]
    /// (`get_ref()` and `downcast` give it back).
    fn from(e: Error) -> io::Error {
        io::Error::new(io::Error::from_raw_os_error(e.errno()).kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in -21..=-1 {
            let e = Error::from_code(code, 5);
            assert_eq!(e.code(), code);
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(Error::from_code(-19, 5), Error::System(5));
        assert_eq!(Error::from_code(-99, 7), Error::System(7));
    }

    #[test]
    fn display_uses_strerror() {
        assert_eq!(
            Error::NotAllocated.to_string(),
            unsafe { CStr::from_ptr(ffi::msgpool_strerror(-3)) }.to_string_lossy()
        );
        assert!(Error::System(EACCES).to_string().contains("(os error 13)"));
    }

    #[test]
    fn io_error_keeps_kind_and_error() {
        let io: io::Error = Error::NotFound.into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        let inner = io.get_ref().unwrap().downcast_ref::<Error>();
        assert_eq!(inner, Some(&Error::NotFound));
        let io: io::Error = Error::Interrupted.into();
        assert_eq!(io.kind(), io::ErrorKind::Interrupted);
    }
}
