use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// A counting semaphore: at most `permits` threads hold a permit at once.
struct Semaphore {
    available: Mutex<usize>,
    released: Condvar,
}

/// One permit. Dropping it gives the permit back.
struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Semaphore {
    fn new(permits: usize) -> Self {
        Semaphore {
            available: Mutex::new(permits),
            released: Condvar::new(),
        }
    }

    /// Waits until a permit is free and takes it, like `sem.acquire()`.
    fn acquire(&self) -> Permit<'_> {
        // The count is never left half-updated, so a lock poisoned by a
        // panicking thread still holds a correct count: use it anyway.
        let available = self
            .available
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // `wait_while` unlocks the mutex while it sleeps and checks the
        // condition again after every wake-up, spurious ones included.
        let mut available = self
            .released
            .wait_while(available, |available| *available == 0)
            .unwrap_or_else(PoisonError::into_inner);
        *available -= 1;
        Permit { semaphore: self }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut available = self
            .semaphore
            .available
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *available += 1;
        // One permit came back, so one waiting thread can have it.
        self.semaphore.released.notify_one();
    }
}

const WORKERS: usize = 6;
const LIMIT: usize = 2;

fn main() {
    let semaphore = Semaphore::new(LIMIT);
    let inside = AtomicUsize::new(0);
    let most_inside = AtomicUsize::new(0);

    thread::scope(|scope| {
        for worker in 1..=WORKERS {
            let (semaphore, inside, most_inside) = (&semaphore, &inside, &most_inside);
            scope.spawn(move || {
                // A named binding keeps the permit until the end of the
                // closure; `let _ = …` would drop it on the spot.
                let _permit = semaphore.acquire();
                // Relaxed is enough: the semaphore's mutex already orders one
                // worker leaving before the next one enters.
                let now_inside = inside.fetch_add(1, Ordering::Relaxed) + 1;
                most_inside.fetch_max(now_inside, Ordering::Relaxed);
                println!("worker {worker} is in");
                thread::sleep(Duration::from_millis(50));
                inside.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });

    // Whether 2 workers actually overlapped depends on the scheduler; that
    // there were never more than 2 does not.
    let most_inside = most_inside.into_inner();
    assert!(
        most_inside <= LIMIT,
        "{most_inside} workers were inside at once"
    );
    println!("never more than {LIMIT} workers inside at once");
}
