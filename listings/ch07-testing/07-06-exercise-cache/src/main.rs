//! Listing 7-6: the exercise's cache, shared by eight threads that all ask
//! for the same three values.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use ch07_06_exercise_cache::Cache;

fn main() {
    let cache = Cache::new();
    let computed = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for key in ["a", "b", "c"] {
                    let value = cache.get_or_compute(key, || {
                        computed.fetch_add(1, Ordering::Relaxed);
                        key.repeat(3)
                    });
                    assert_eq!(value, key.repeat(3));
                }
            });
        }
    });
    let computed = computed.into_inner();
    assert_eq!(computed, 3, "a value was computed twice");
    println!("8 threads asked for 3 keys 24 times; {computed} values were computed");
}
