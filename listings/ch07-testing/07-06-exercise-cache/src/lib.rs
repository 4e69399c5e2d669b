//! The exercise of Part 7: a cache that must compute each value once, even
//! when several threads ask for the same key at the same time.
//!
//! `racy::Cache` is the version the exercise starts from; `Cache` is the
//! solution. The unit tests check both with loom.

use std::collections::HashMap;
use std::hash::Hash;

#[cfg(test)]
use loom::sync::Mutex;
#[cfg(not(test))]
use std::sync::Mutex;

// ANCHOR: solution
/// Values computed on first request and kept.
#[derive(Debug, Default)]
pub struct Cache<K, V> {
    values: Mutex<HashMap<K, V>>,
}

impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    pub fn new() -> Self {
        Self {
            values: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key`, computed by `compute` if no thread has yet.
    /// The check, the computation and the insertion happen under one guard,
    /// so a second thread asking for the same key waits and then finds it.
    pub fn get_or_compute(&self, key: K, compute: impl FnOnce() -> V) -> V {
        let mut values = self.values.lock().expect("no thread panicked holding it");
        values.entry(key).or_insert_with(compute).clone()
    }
}
// ANCHOR_END: solution

pub mod racy {
    use super::{Hash, HashMap, Mutex};

    // ANCHOR: racy
    /// Values computed on first request and kept. (It has a bug.)
    #[derive(Debug, Default)]
    pub struct Cache<K, V> {
        values: Mutex<HashMap<K, V>>,
    }

    impl<K: Eq + Hash, V: Clone> Cache<K, V> {
        pub fn new() -> Self {
            Self {
                values: Mutex::new(HashMap::new()),
            }
        }

        /// The value for `key`, computed by `compute` if no thread has yet.
        pub fn get_or_compute(&self, key: K, compute: impl FnOnce() -> V) -> V {
            if let Some(value) = self.values.lock().unwrap().get(&key) {
                return value.clone();
            }
            // Computing can be slow: do it without holding the lock.
            let value = compute();
            self.values.lock().unwrap().insert(key, value.clone());
            value
        }
    }
    // ANCHOR_END: racy
}

#[cfg(test)]
mod tests {
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
}
