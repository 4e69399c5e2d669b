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

/// The same mailbox with the bug: the flag is stored and loaded with
/// `Relaxed`, which orders nothing else. A reader can see the flag up and
/// still read the old value, 0.
pub mod relaxed {
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
            if self.ready.load(Ordering::Relaxed) {
                // the bug
                Some(self.value.load(Ordering::Relaxed))
            } else {
                None
            }
        }
    }
    // ANCHOR_END: relaxed
}

#[cfg(test)]
mod tests {
    use std::panic;
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

    use loom::sync::Arc;
    use loom::thread;

    // ANCHOR: model
    /// Runs `check` under loom: every interleaving of its threads, and every
    /// value each relaxed load may return, up to `preemptions` forced
    /// switches per run. Returns how many interleavings loom ran, or the
    /// panic message of the first one that failed and its number.
    fn explore(preemptions: usize, check: fn()) -> Result<usize, (usize, String)> {
        // A std atomic, outside the model: loom's own would reset every run.
        let runs = std::sync::Arc::new(AtomicUsize::new(0));
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(preemptions);
        let outcome = panic::catch_unwind(|| {
            let runs = std::sync::Arc::clone(&runs);
            builder.check(move || {
                runs.fetch_add(1, StdOrdering::Relaxed);
                check();
            });
        });
        let runs = runs.load(StdOrdering::Relaxed);
        outcome.map(|()| runs).map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (runs, message)
        })
    }
    // ANCHOR_END: model

    /// What the scenario needs of a mailbox, so that it runs on both.
    trait Slot: Send + Sync + 'static {
        fn new() -> Self;
        fn put(&self, value: u64);
        fn get(&self) -> Option<u64>;
    }

    impl Slot for super::Mailbox {
        fn new() -> Self {
            Self::new()
        }
        fn put(&self, value: u64) {
            self.put(value)
        }
        fn get(&self) -> Option<u64> {
            self.get()
        }
    }

    impl Slot for super::relaxed::Mailbox {
        fn new() -> Self {
            Self::new()
        }
        fn put(&self, value: u64) {
            self.put(value)
        }
        fn get(&self) -> Option<u64> {
            self.get()
        }
    }

    // ANCHOR: scenario
    /// One writer puts 42 while the main thread reads once. Whatever the
    /// interleaving, a reader that finds the mailbox full must find 42.
    fn writer_and_reader<M: Slot>() {
        let mailbox = Arc::new(M::new());
        let writer = {
            let mailbox = Arc::clone(&mailbox);
            thread::spawn(move || mailbox.put(42))
        };
        if let Some(value) = mailbox.get() {
            assert_eq!(value, 42, "the reader saw the flag but not the value");
        }
        writer.join().unwrap();
    }
    // ANCHOR_END: scenario

    // ANCHOR: tests
    #[test]
    fn loom_finds_the_relaxed_flag_bug() {
        let (runs, message) = explore(2, writer_and_reader::<super::relaxed::Mailbox>)
            .expect_err("loom finds an interleaving where the reader reads 0");
        assert!(
            message.contains("saw the flag but not the value"),
            "{message}"
        );
        println!("loom found the bug in interleaving {runs}: {message}");
    }

    #[test]
    fn loom_finds_no_bug_with_release_and_acquire() {
        let runs = explore(2, writer_and_reader::<super::Mailbox>)
            .unwrap_or_else(|(run, message)| panic!("interleaving {run} failed: {message}"));
        println!("loom checked {runs} interleavings");
    }
    // ANCHOR_END: tests
}
