//! The exercise of Part 7: a cache that must compute each value once, even
//! when several threads ask for the same key at the same time.
//!
//! `racy::Cache` is the version the exercise starts from; `Cache` is the
//! solution. The loom tests (`RUSTFLAGS="--cfg loom"`, run by
//! tests/loom.rs) check both.

use std::collections::HashMap;
use std::hash::Hash;

// loom's Mutex under `RUSTFLAGS="--cfg loom"` (the loom tests), std's
// otherwise, as in Listing 7-1.
#[cfg(loom)]
use loom::sync::Mutex;
#[cfg(not(loom))]
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

pub mod racy;

#[cfg(all(test, loom))]
mod tests;

#[cfg(all(test, not(loom)))]
mod plain_tests {
    #[test]
    fn a_value_is_computed_once_and_kept() {
        let cache = super::Cache::new();
        assert_eq!(cache.get_or_compute("a", || 1), 1);
        assert_eq!(cache.get_or_compute("a", || 2), 1);
    }
}
