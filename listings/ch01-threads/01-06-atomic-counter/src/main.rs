use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

const THREADS: u64 = 4;
const HITS_PER_THREAD: u64 = 100_000;

fn main() {
    // No lock: the processor itself adds to the counter as one indivisible step.
    let hits = Arc::new(AtomicU64::new(0));

    let mut handles = Vec::new();
    for _ in 0..THREADS {
        let hits = Arc::clone(&hits);
        handles.push(thread::spawn(move || {
            for _ in 0..HITS_PER_THREAD {
                // `Relaxed` is enough: no other data depends on this counter,
                // and an atomic add never loses an increment at any ordering.
                hits.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // `join` makes everything a thread did visible to the thread that joins
    // it, so the load below sees every increment.
    for handle in handles {
        handle.join().expect("a counting thread panicked");
    }

    let total = hits.load(Ordering::Relaxed);
    assert_eq!(total, THREADS * HITS_PER_THREAD);
    println!("{total} hits from {THREADS} threads");
}
