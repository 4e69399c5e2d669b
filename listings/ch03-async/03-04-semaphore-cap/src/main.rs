use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};

const JOBS: usize = 10_000;
const LIMIT: usize = 100;

/// Counts the jobs running right now, and the most there ever were.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

// ANCHOR: job
async fn job(id: usize, permits: Arc<Semaphore>, in_flight: Arc<InFlight>) -> usize {
    // Wait here until one of the LIMIT permits is free. The permit goes
    // back to the semaphore when `_permit` is dropped, at the end of the job.
    let _permit = permits
        .acquire()
        .await
        .expect("the semaphore is never closed");

    let running = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
    in_flight.max.fetch_max(running, Ordering::SeqCst);
    sleep(Duration::from_millis(10)).await; // the "I/O"
    in_flight.now.fetch_sub(1, Ordering::SeqCst);
    id
}
// ANCHOR_END: job

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let start = Instant::now();
    // ANCHOR: spawn
    let permits = Arc::new(Semaphore::new(LIMIT));
    let in_flight = Arc::new(InFlight::default());

    // All 10,000 tasks exist at once; the semaphore decides how many work.
    let mut jobs = JoinSet::new();
    for id in 0..JOBS {
        jobs.spawn(job(id, Arc::clone(&permits), Arc::clone(&in_flight)));
    }
    let finished = jobs.join_all().await;
    // ANCHOR_END: spawn

    let max = in_flight.max.load(Ordering::SeqCst);
    assert_eq!(finished.len(), JOBS);
    assert!(max <= LIMIT, "{max} jobs ran at once");
    // 10,000 jobs of 10 ms, 100 at a time: at least 100 rounds of 10 ms.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_secs(1), "took {elapsed:?}");
    println!("{} jobs finished, at most {max} at a time", finished.len());
}
