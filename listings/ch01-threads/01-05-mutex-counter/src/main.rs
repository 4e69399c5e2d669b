use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;

const THREADS: u64 = 4;
const HITS_PER_THREAD: u64 = 100_000;

fn main() {
    // The mutex owns the map: the only way to reach the counts is to lock.
    // `Arc` gives every thread its own handle to that one mutex.
    let hits: Arc<Mutex<HashMap<&str, u64>>> = Arc::new(Mutex::new(HashMap::new()));

    let mut handles = Vec::new();
    for _ in 0..THREADS {
        let hits = Arc::clone(&hits);
        handles.push(thread::spawn(move || {
            for _ in 0..HITS_PER_THREAD {
                // Read and write happen under one lock: `entry` finds the
                // page's count (or inserts 0) and we add 1 to it. The guard
                // is a temporary, so the mutex unlocks at the end of this
                // statement and the other threads get their turn.
                *hits
                    .lock()
                    .expect("a thread panicked while counting")
                    .entry("/")
                    .or_insert(0) += 1;
            }
        }));
    }

    for handle in handles {
        handle.join().expect("a counting thread panicked");
    }

    let hits = hits.lock().expect("a thread panicked while counting");
    assert_eq!(hits["/"], THREADS * HITS_PER_THREAD);
    println!("{} hits on / from {THREADS} threads", hits["/"]);
}
