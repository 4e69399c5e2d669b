//! A mailbox for one value: a writer thread puts a number in it once and
//! raises a flag; reader threads check the flag and then read the number.
//!
//! The module `relaxed` is the version with the bug (the flag is published
//! with `Ordering::Relaxed`), kept so that the tests can show loom finding
//! it; `Mailbox` at the top is the fixed one.

// The atomics come from std in the program and in the integration tests,
// and from loom in this crate's own unit tests, where loom runs the code
// under every interleaving it allows. `cfg(test)` is set only while this
// crate's unit tests are compiled, so no other crate sees loom.
#[cfg(test)]
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(not(test))]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

// ANCHOR: fixed
/// A value written once and read by any number of threads.
#[derive(Debug, Default)]
pub struct Mailbox {
    value: AtomicU64,
    ready: AtomicBool,
}

impl Mailbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` and then raises the flag. Call it once.
    pub fn put(&self, value: u64) {
        self.value.store(value, Ordering::Relaxed);
        // Release: whoever sees `ready == true` with Acquire also sees every
        // write this thread made before this store, the value included.
        self.ready.store(true, Ordering::Release);
    }

    /// The value, if the writer has published it.
    pub fn get(&self) -> Option<u64> {
        if self.ready.load(Ordering::Acquire) {
            Some(self.value.load(Ordering::Relaxed))
        } else {
            None
        }
    }
}
// ANCHOR_END: fixed

pub mod relaxed;

#[cfg(test)]
mod tests;
