use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use may::coroutine;
use may::sync::{Semphore, mpsc};

/// A slot in the pool, handed back when dropped. `Semphore` has no guard
/// of its own; without one, a panicking job would keep its slot forever and
/// the feeder would wait for it forever.
struct Permit(Arc<Semphore>);

impl Permit {
    fn acquire(slots: &Arc<Semphore>) -> Self {
        slots.wait();
        Permit(slots.clone())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.post();
    }
}

/// gevent's `Pool(size).imap_unordered(func, items)`: runs `func` on every
/// item, at most `size` at a time, and yields results as they finish.
fn imap_unordered<T, R, F>(size: usize, items: Vec<T>, func: F) -> mpsc::Receiver<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let slots = Arc::new(Semphore::new(size));
    let func = Arc::new(func);
    let (results, receiver) = mpsc::channel();

    // The feeder runs in its own coroutine so the caller can start reading
    // results while later items still wait for a slot.
    may::go!(move || {
        for item in items {
            let permit = Permit::acquire(&slots);
            let (func, results) = (func.clone(), results.clone());
            may::go!(move || {
                let _permit = permit; // released when this job ends, even by panic
                // The caller may stop reading early; then the result is dropped.
                let _ = results.send(func(item));
            });
        }
        // Our `results` is dropped here; the channel closes when the last
        // job has dropped its clone, which ends the caller's loop.
    });
    receiver
}

const POOL_SIZE: usize = 4;

fn main() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));

    let squares = imap_unordered(POOL_SIZE, (0..12u64).collect(), {
        let (running, peak) = (running.clone(), peak.clone());
        move |n| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            // Uneven delays, so results finish out of order.
            coroutine::sleep(Duration::from_millis(10 * (n % 3)));
            running.fetch_sub(1, Ordering::SeqCst);
            n * n
        }
    });

    // Iterating a may receiver ends when every sender is gone.
    let mut results: Vec<u64> = squares.iter().collect();
    results.sort_unstable();

    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= POOL_SIZE, "{peak} jobs ran at once");
    assert_eq!(results, (0..12u64).map(|n| n * n).collect::<Vec<_>>());
    println!("{results:?}");
    println!("never more than {POOL_SIZE} jobs at once");

    // Requirement 4: a job that panics loses its own result, and nothing
    // else. Two slots and two panicking jobs: had each kept its slot, the
    // feeder would wait for ever after the second, and the channel would
    // never close. (Each panic's message goes to stderr, as any panic's
    // does.)
    let survivors = imap_unordered(2, (0..12u64).collect(), |n| {
        assert!(n != 3 && n != 7, "job {n} fails on purpose");
        n
    });
    let mut results = Vec::new();
    loop {
        // A bound on each wait, so that a lost slot fails here instead of
        // hanging the program.
        match survivors.recv_timeout(Duration::from_secs(10)) {
            Ok(n) => results.push(n),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("the pool lost a slot"),
        }
    }
    results.sort_unstable();
    assert_eq!(results, [0, 1, 2, 4, 5, 6, 8, 9, 10, 11]);
    println!(
        "jobs 3 and 7 panicked; the other {} results came back",
        results.len()
    );
}
