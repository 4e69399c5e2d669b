//! The loom tests: the mailbox under every interleaving loom allows.

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
    // loom's search is deterministic: the same interleaving fails every
    // time. (The book quotes this number; a new loom may change it.)
    assert_eq!(runs, 3);
}

#[test]
fn loom_finds_no_bug_with_release_and_acquire() {
    let runs = explore(2, writer_and_reader::<super::Mailbox>)
        .unwrap_or_else(|(run, message)| panic!("interleaving {run} failed: {message}"));
    println!("loom checked {runs} interleavings");
    assert_eq!(runs, 6, "the book quotes this number");
}
// ANCHOR_END: tests
