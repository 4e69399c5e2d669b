//! The loom tests of both caches.

use std::panic;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

// ANCHOR: tests
/// Two threads ask for the same key at once; `get_or_compute` is
/// either cache's method. Every interleaving must compute the value
/// once, and both threads must get it.
macro_rules! two_threads_one_key {
    ($cache:ty) => {
        || {
            let cache = Arc::new(<$cache>::new());
            let computed = Arc::new(AtomicUsize::new(0));
            let ask = {
                let (cache, computed) = (Arc::clone(&cache), Arc::clone(&computed));
                move || {
                    cache.get_or_compute("answer", || {
                        computed.fetch_add(1, Ordering::Relaxed);
                        42
                    })
                }
            };
            let other = thread::spawn(ask.clone());
            assert_eq!(ask(), 42);
            assert_eq!(other.join().unwrap(), 42);
            assert_eq!(computed.load(Ordering::Relaxed), 1, "computed twice");
        }
    };
}

fn bounded() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder
}

#[test]
fn loom_finds_the_racy_cache_computing_twice() {
    let found = panic::catch_unwind(|| {
        bounded().check(two_threads_one_key!(super::racy::Cache<&str, u64>))
    });
    let panic = found.expect_err("loom finds two threads computing the same key");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("computed twice"), "{message}");
}

#[test]
fn loom_finds_the_cache_computing_once() {
    bounded().check(two_threads_one_key!(super::Cache<&str, u64>));
}
// ANCHOR_END: tests
