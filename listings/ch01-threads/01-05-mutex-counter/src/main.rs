use std::sync::{Arc, Mutex};
use std::thread;

const THREADS: u64 = 4;
const HITS_PER_THREAD: u64 = 100_000;

fn main() {
    // The mutex owns the counter: the only way to reach the number is to lock.
    // `Arc` gives every thread its own handle to that one mutex.
    let hits = Arc::new(Mutex::new(0_u64));

    let mut handles = Vec::new();
    for _ in 0..THREADS {
        let hits = Arc::clone(&hits);
        handles.push(thread::spawn(move || {
            for _ in 0..HITS_PER_THREAD {
                // The guard is a temporary: the mutex unlocks at the end of
                // this statement, so the other threads get their turn.
                *hits.lock().expect("a thread panicked while counting") += 1;
            }
        }));
    }

    for handle in handles {
        handle.join().expect("a counting thread panicked");
    }

    let total = *hits.lock().expect("a thread panicked while counting");
    assert_eq!(total, THREADS * HITS_PER_THREAD);
    println!("{total} hits from {THREADS} threads");
}
