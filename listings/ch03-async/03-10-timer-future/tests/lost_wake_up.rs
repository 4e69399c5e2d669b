//! A future that returns `Pending` must leave a way to be woken: the waker
//! it was just given must be called when the wait is over. `Delay` re-checks
//! and stores the waker under the lock its helper thread fires under; without
//! that, the helper can fire between the check and the store, wake the
//! previous poll's waker, and leave the latest one waiting for ever. This
//! test polls a `Delay` with a fresh waker each time until the helper fires,
//! many times over, to catch that window.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

// The listing is a program, not a library: compile its file as a module here.
// (Its `main` is the program's, unused by the test.)
#[allow(dead_code)]
#[path = "../src/main.rs"]
mod timer_future;

use timer_future::Delay;

/// A waker that records that it was called, and counts every wake-up of its
/// trial.
struct Flag {
    woken: AtomicBool,
    trial_wakes: Arc<AtomicUsize>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        // Flag first, count second: whoever sees the count sees the flag.
        self.woken.store(true, Ordering::SeqCst);
        self.trial_wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls one short `Delay` with a fresh waker each time, until it is ready
/// or its helper thread has fired. Returns whether the wake-up was lost: the
/// helper fired, the last poll returned `Pending`, and its waker was not the
/// one called.
fn wake_up_lost() -> bool {
    let trial_wakes = Arc::new(AtomicUsize::new(0));
    let mut delay = pin!(Delay::new(Duration::from_micros(50)));
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(false),
            trial_wakes: Arc::clone(&trial_wakes),
        });
        let waker = Waker::from(Arc::clone(&flag));
        if delay
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready()
        {
            return false;
        }
        // Pending, so the helper had not fired when this poll looked. If it
        // has fired since, the waker it called must be this poll's.
        if trial_wakes.load(Ordering::SeqCst) > 0 {
            return !flag.woken.load(Ordering::SeqCst);
        }
        assert!(Instant::now() < give_up, "the helper never fired");
    }
}

#[test]
fn the_latest_pending_poll_is_always_woken() {
    const TRIALS: usize = 5_000;
    let lost = (0..TRIALS).filter(|_| wake_up_lost()).count();
    assert_eq!(lost, 0, "{lost} of {TRIALS} trials lost the wake-up");
}
