//! Listing 4-5: how late 100 sleeping coroutines get their worker back when
//! they share
//! may's only worker thread with one coroutine that blocks it, spins on it,
//! yields it, or hands its work to a std thread.
//!
//! `cargo run -p ch04-05-switching -- 1000` gives the hog 1,000 ms; the
//! default is 100 ms, to keep the test suite's run short. A second argument
//! sets the number of worker threads (default 1):
//! `cargo run --release -p ch04-05-switching -- 300 2` runs the same hogs on
//! two workers.

use std::hint::black_box;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use may::coroutine::{self, JoinHandle};
use may::go;

const SLEEPERS: usize = 100;
const NAP: Duration = Duration::from_millis(50);
const DEFAULT_HOG_MS: u64 = 100;
const DEFAULT_WORKERS: usize = 1;
/// How long the cooperative hogs compute between two switch points.
const SLICE: Duration = Duration::from_millis(1);

fn main() -> io::Result<()> {
    let (hog, workers) = parse_args(std::env::args().skip(1))?;
    // ANCHOR: config
    // One worker thread by default, like gevent's one hub: set before the
    // first `go!`, because the scheduler starts with the first coroutine.
    may::config().set_workers(workers);
    // ANCHOR_END: config
    println!(
        "{SLEEPERS} coroutines sleep {} ms on {workers} worker{}; the hog works for {} ms",
        NAP.as_millis(),
        if workers == 1 { "" } else { "s" },
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

/// The hog's duration in milliseconds and the number of workers, from the
/// first two arguments if given.
fn parse_args(mut args: impl Iterator<Item = String>) -> io::Result<(Duration, usize)> {
    let hog = match args.next() {
        None => DEFAULT_HOG_MS,
        Some(arg) => arg.parse().map_err(|_| {
            invalid(format!(
                "expected the hog's duration in milliseconds, got {arg:?}"
            ))
        })?,
    };
    let workers = match args.next() {
        None => DEFAULT_WORKERS,
        // may would run zero workers as "the number of CPUs": refuse it
        // rather than measure something the label does not say.
        Some(arg) => match arg.parse() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(invalid(format!(
                    "expected a number of workers of at least 1, got {arg:?}"
                )));
            }
        },
    };
    if let Some(extra) = args.next() {
        return Err(invalid(format!("unexpected argument {extra:?}")));
    }
    Ok((Duration::from_millis(hog), workers))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> io::Result<(Duration, usize)> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn defaults_are_100_ms_on_one_worker() {
        let (hog, workers) = parse(&[]).unwrap();
        assert_eq!((hog, workers), (Duration::from_millis(100), 1));
    }

    #[test]
    fn the_second_argument_sets_the_workers() {
        let (hog, workers) = parse(&["300", "2"]).unwrap();
        assert_eq!((hog, workers), (Duration::from_millis(300), 2));
    }

    #[test]
    fn zero_workers_and_junk_are_refused() {
        for bad in [&["100", "0"][..], &["100", "two"], &["x"], &["1", "2", "3"]] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
