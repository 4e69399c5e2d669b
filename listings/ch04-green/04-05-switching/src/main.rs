//! Listing 4-5: how late 100 sleeping coroutines get their worker back when
//! they share
//! may's only worker thread with one coroutine that blocks it, spins on it,
//! yields it, or hands its work to a std thread.
//!
//! `cargo run -p ch04-05-switching -- 1000` gives the hog 1,000 ms; the
//! default is 100 ms, to keep the test suite's run short.

use std::hint::black_box;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use may::coroutine::{self, JoinHandle};
use may::go;

const SLEEPERS: usize = 100;
const NAP: Duration = Duration::from_millis(50);
const DEFAULT_HOG_MS: u64 = 100;
/// How long the cooperative hogs compute between two switch points.
const SLICE: Duration = Duration::from_millis(1);

fn main() -> io::Result<()> {
    let hog = hog_from_args()?;
    // ANCHOR: config
    // One worker thread, like gevent's one hub: set before the first `go!`,
    // because the scheduler starts with the first coroutine.
    may::config().set_workers(1);
    // ANCHOR_END: config
    println!(
        "{SLEEPERS} coroutines sleep {} ms on 1 worker; the hog works for {} ms",
        NAP.as_millis(),
        hog.as_millis()
    );
    // ANCHOR: variants
    run("std::thread::sleep", move || thread::sleep(hog))?;
    run("spin", move || {
        compute_for(hog);
    })?;
    run("spin, yield_now every 1 ms", move || {
        let start = Instant::now();
        while start.elapsed() < hog {
            compute_for(SLICE);
            // A switch point: the worker runs whoever is ready, then us.
            coroutine::yield_now();
        }
    })?;
    run("spin, coroutine::sleep(1 ms) every 1 ms", move || {
        let start = Instant::now();
        while start.elapsed() < hog {
            compute_for(SLICE);
            // A switch point that leaves the worker's queue for a moment.
            coroutine::sleep(SLICE);
        }
    })?;
    run("spin on a std thread, may channel", move || {
        let (sender, receiver) = may::sync::mpsc::channel();
        thread::spawn(move || sender.send(compute_for(hog)));
        // `recv` parks this coroutine, not the worker thread.
        let _ = receiver.recv();
    })?;
    // ANCHOR_END: variants
    Ok(())
}

/// Starts the sleepers, then `hog`, on may's worker, and prints how late the
/// sleepers woke.
fn run(label: &str, hog: impl FnOnce() + Send + 'static) -> io::Result<()> {
    // ANCHOR: sleepers
    let sleepers: Vec<JoinHandle<Duration>> = (0..SLEEPERS)
        .map(|_| {
            go!(|| {
                let due = Instant::now() + NAP;
                coroutine::sleep(NAP);
                // may's timer thread resumes a sleeper the moment its timer
                // fires; the sleeper's next switch point sends it back to
                // the worker's queue, which is what real work has to wait for.
                coroutine::yield_now();
                Instant::now().saturating_duration_since(due)
            })
        })
        .collect();
    let hog = go!(hog);
    // ANCHOR_END: sleepers
    let mut lateness = Vec::with_capacity(SLEEPERS);
    for sleeper in sleepers {
        lateness.push(
            sleeper
                .join()
                .map_err(|_| io::Error::other("a sleeper panicked"))?,
        );
    }
    hog.join()
        .map_err(|_| io::Error::other("the hog panicked"))?;
    assert_eq!(lateness.len(), SLEEPERS, "every sleeper wakes up");
    lateness.sort();
    println!(
        "{label:<40} {SLEEPERS} woke, median {:.1} ms late, max {:.1} ms late",
        millis(lateness[SLEEPERS / 2]),
        millis(lateness[SLEEPERS - 1])
    );
    Ok(())
}

/// Keeps the CPU busy for `duration` and returns a number it computed, so
/// that the compiler cannot drop the loop.
fn compute_for(duration: Duration) -> u64 {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < duration {
        for i in 0..1_000u64 {
            count = count.wrapping_add(black_box(i));
        }
    }
    count
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The hog's duration in milliseconds from the first argument, if any.
fn hog_from_args() -> io::Result<Duration> {
    match std::env::args().nth(1) {
        None => Ok(Duration::from_millis(DEFAULT_HOG_MS)),
        Some(arg) => arg.parse().map(Duration::from_millis).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("expected the hog's duration in milliseconds, got {arg:?}"),
            )
        }),
    }
}
