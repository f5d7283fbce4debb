// SPDX-License-Identifier: LGPL-2.1-or-later
//! msgpool as a MemoryManager: the trait msgpool's design started from
//! (store, read, read_mut, free, available, capacity, memory_class, with
//! guard types chosen by the implementation), implemented for `Pool`, and
//! code generic over the trait using it.  The payload is bytes here, the
//! unit a pool stores; the trait's `Message<P>` would sit on top.
//!
//! Needs the module loaded: `cargo run --example memory_manager`.
//! Exits 0 when every step behaved as the trait promises.

use std::ops::{Deref, DerefMut};
use std::process::ExitCode;

use msgpool::{Config, Error, MemoryClass, Pool, Token};

/// The MemoryManager trait, over byte payloads.
trait MemoryManager {
    /// What `read` lends: shared, released when dropped.
    type ReadGuard<'a>: Deref<Target = [u8]>
    where
        Self: 'a;
    /// What `read_mut` lends: exclusive, released when dropped.
    type WriteGuard<'a>: DerefMut<Target = [u8]>
    where
        Self: 'a;

    fn store(&mut self, value: &[u8]) -> Result<Token, Error>;
    fn read(&self, token: Token) -> Result<Self::ReadGuard<'_>, Error>;
    fn read_mut(&mut self, token: Token) -> Result<Self::WriteGuard<'_>, Error>;
    fn free(&mut self, token: Token) -> Result<(), Error>;
    fn available(&self) -> usize;
    fn capacity(&self) -> usize;
    fn memory_class(&self) -> MemoryClass;
}

impl MemoryManager for Pool {
    type ReadGuard<'a> = msgpool::ReadGuard<'a>;
    type WriteGuard<'a> = msgpool::WriteGuard<'a>;

    fn store(&mut self, value: &[u8]) -> Result<Token, Error> {
        Pool::store(self, value)
    }

    fn read(&self, token: Token) -> Result<Self::ReadGuard<'_>, Error> {
        Pool::read(self, token)
    }

    // The kernel keeps borrows exclusive, between processes too, so
    // Pool::read_mut needs only &self; the trait's &mut self is stricter.
    fn read_mut(&mut self, token: Token) -> Result<Self::WriteGuard<'_>, Error> {
        Pool::read_mut(self, token)
    }

    fn free(&mut self, token: Token) -> Result<(), Error> {
        Pool::free(self, token)
    }

    // The trait has no error here.  Counting free slots asks the kernel,
    // which fails only if the device itself does: then nothing is free.
    fn available(&self) -> usize {
        Pool::available(self).unwrap_or(0)
    }

    fn capacity(&self) -> usize {
        Pool::capacity(self)
    }

    fn memory_class(&self) -> MemoryClass {
        Pool::memory_class(self)
    }
}

/// Generic code: fill the manager, change a message in place, read it
/// back, free everything, checking the errors the trait documents.
fn exercise<M: MemoryManager>(m: &mut M) -> Result<(), String> {
    let cap = m.capacity();
    let mut tokens = Vec::new();
    loop {
        match m.store(format!("message {}", tokens.len()).as_bytes()) {
            Ok(t) => tokens.push(t),
            Err(Error::NoFreeSlots) => break,
            Err(e) => return Err(format!("store: {e}")),
        }
    }
    if tokens.len() != cap || m.available() != 0 {
        return Err(format!("stored {} of {cap}", tokens.len()));
    }
    m.read_mut(tokens[0]).map_err(|e| e.to_string())?[0] = b'M';
    {
        let g = m.read(tokens[0]).map_err(|e| e.to_string())?;
        if &*g != b"Message 0" {
            return Err(format!("read back {:?}", String::from_utf8_lossy(&g)));
        }
    }
    for &t in &tokens {
        m.free(t).map_err(|e| format!("free: {e}"))?;
    }
    if m.free(tokens[0]) != Err(Error::NotAllocated) {
        return Err("double free not refused".into());
    }
    if m.available() != cap {
        return Err(format!("{} of {cap} free after freeing all", m.available()));
    }
    println!(
        "{cap} messages stored, changed, read and freed in {:?} memory",
        m.memory_class()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cfg = Config::new(&[(64, 8), (1024, 2)]);
    let mut pool = match Pool::create("memory-manager-example", &cfg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("memory_manager: cannot create the pool: {e}");
            return ExitCode::FAILURE;
        }
    };
    match exercise(&mut pool) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memory_manager: {e}");
            ExitCode::FAILURE
        }
    }
}
