use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use may::coroutine;
use may::sync::Semphore;

const POOL_SIZE: usize = 3;
const JOBS: u64 = 8;

fn main() {
    let slots = Arc::new(Semphore::new(POOL_SIZE));
    // How many jobs are running right now, and the most there ever were.
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));

    let mut handles = Vec::new();
    for job in 0..JOBS {
        // Like `pool.spawn`: wait here until one of the slots is free.
        slots.wait();
        let (slots, running, peak) = (slots.clone(), running.clone(), peak.clone());
        handles.push(may::go!(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);

            coroutine::sleep(Duration::from_millis(20)); // stands in for I/O
            println!("job {job} done");

            running.fetch_sub(1, Ordering::SeqCst);
            // The permit is not returned on drop: post it by hand, last.
            slots.post();
            job * job
        }));
    }

    let total: u64 = handles
        .into_iter()
        .map(|handle| handle.join().expect("a job panicked"))
        .sum();

    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= POOL_SIZE, "{peak} jobs ran at once");
    assert_eq!(total, (0..JOBS).map(|job| job * job).sum());
    println!("sum of squares: {total}, never more than {POOL_SIZE} at once");
}
