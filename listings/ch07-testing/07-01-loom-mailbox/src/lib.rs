//! A mailbox for one value: a writer thread puts a number in it once and
//! raises a flag; reader threads check the flag and then read the number.
//!
//! The module `relaxed` is the version with the bug (the flag is published
//! with `Ordering::Relaxed`), kept so that the tests can show loom finding
//! it; `Mailbox` at the top is the fixed one.

// ANCHOR: swap
// The atomics come from loom when the crate is compiled with
// `RUSTFLAGS="--cfg loom"`, where loom runs the code under every
// interleaving it allows, and from std otherwise: in the program, in the
// integration tests and in the ordinary unit tests.
#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
// ANCHOR_END: swap

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

// The loom tests, compiled only under `--cfg loom`.
#[cfg(all(test, loom))]
mod tests;

// An ordinary unit test, with std's atomics: it runs under plain
// `cargo test`, which it could not do if loom's types were swapped in for
// every test (a loom atomic used outside `loom::model` panics).
#[cfg(all(test, not(loom)))]
mod plain_tests {
    #[test]
    fn a_put_value_is_read_back() {
        let mailbox = super::Mailbox::new();
        assert_eq!(mailbox.get(), None);
        mailbox.put(7);
        assert_eq!(mailbox.get(), Some(7));
    }
}
