//! The mailbox with the bug: the flag is stored and loaded with `Relaxed`,
//! which orders nothing else. A reader can see the flag up and still read
//! the old value, 0.

use super::{AtomicBool, AtomicU64, Ordering};

// ANCHOR: relaxed
#[derive(Debug, Default)]
pub struct Mailbox {
    value: AtomicU64,
    ready: AtomicBool,
}

impl Mailbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&self, value: u64) {
        self.value.store(value, Ordering::Relaxed);
        self.ready.store(true, Ordering::Relaxed); // the bug
    }

    pub fn get(&self) -> Option<u64> {
        // The bug again: a Relaxed load of the flag orders nothing after it.
        if self.ready.load(Ordering::Relaxed) {
            Some(self.value.load(Ordering::Relaxed))
        } else {
            None
        }
    }
}
// ANCHOR_END: relaxed
