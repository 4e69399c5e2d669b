//! The cache the exercise starts from.

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
