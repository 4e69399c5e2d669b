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

pub mod racy;

#[cfg(test)]
mod tests;
