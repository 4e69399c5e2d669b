//! Listing 4-9: a lock held across a switch. With `may::sync::Mutex` the
//! waiter parks and the holder finishes; with `std::sync::Mutex` the waiter
//! blocks the only worker thread, the holder can never run again, and the
//! worker is deadlocked for good. It all compiles.
//!
//! One worker makes the deadlock certain, and it also keeps this program
//! free of undefined behaviour: nothing here sleeps, so the timer thread
//! never resumes a coroutine, every coroutine runs on the one worker, and
//! the std guard never changes threads. `main` watches with a bounded wait
//! and returns, which ends the process with the worker still stuck.

use std::sync::Arc;
use std::time::{Duration, Instant};

use may::coroutine::yield_now;
use may::go;
use may::sync::{Barrier, mpsc};

/// How long `main` waits for the std variant, which never finishes.
const WATCHDOG: Duration = Duration::from_millis(200);
/// Bounds the wait for the may variant, which finishes at once.
const PATIENCE: Duration = Duration::from_secs(10);

// ANCHOR: lockers
/// Starts two coroutines that each take the lock, switch while holding it,
/// and let go. `lock_and_switch` is the critical section, given the lock.
fn two_lockers<L>(lock: Arc<L>, lock_and_switch: fn(&L)) -> mpsc::Receiver<()>
where
    L: Send + Sync + 'static,
{
    let (done, finished) = mpsc::channel();
    // Both coroutines are queued before either takes the lock.
    let both_ready = Arc::new(Barrier::new(2));
    for _ in 0..2 {
        let (lock, done, both_ready) = (lock.clone(), done.clone(), both_ready.clone());
        go!(move || {
            both_ready.wait();
            lock_and_switch(&lock);
            let _ = done.send(());
        });
    }
    finished
}

fn with_may_mutex(lock: &may::sync::Mutex<u32>) {
    let mut guard = lock.lock().expect("not poisoned");
    yield_now(); // the other coroutine waits here by parking
    *guard += 1;
}

fn with_std_mutex(lock: &std::sync::Mutex<u32>) {
    let mut guard = lock.lock().expect("not poisoned");
    yield_now(); // the other coroutine waits here by blocking the worker
    *guard += 1;
}
// ANCHOR_END: lockers

/// How many of `expected` coroutines report within `patience`.
fn finished_within(finished: &mpsc::Receiver<()>, expected: usize, patience: Duration) -> usize {
    let deadline = Instant::now() + patience;
    let mut count = 0;
    while count < expected {
        let left = deadline.saturating_duration_since(Instant::now());
        if finished.recv_timeout(left).is_err() {
            break;
        }
        count += 1;
    }
    count
}

fn main() {
    // ANCHOR: main
    may::config().set_workers(1);

    let lock = Arc::new(may::sync::Mutex::new(0));
    let finished = two_lockers(lock.clone(), with_may_mutex);
    let count = finished_within(&finished, 2, PATIENCE);
    println!("may::sync::Mutex held across a switch: {count} of 2 coroutines finished");
    assert_eq!(count, 2);
    assert_eq!(*lock.lock().expect("not poisoned"), 2);

    // Last: this one stops the only worker for good.
    let finished = two_lockers(Arc::new(std::sync::Mutex::new(0)), with_std_mutex);
    let count = finished_within(&finished, 2, WATCHDOG);
    println!(
        "std::sync::Mutex held across a switch: {count} of 2 coroutines finished \
         within {} ms; the worker is deadlocked",
        WATCHDOG.as_millis()
    );
    assert_eq!(count, 0);
    // Returning ends the process, stuck worker and all.
    // ANCHOR_END: main
}
