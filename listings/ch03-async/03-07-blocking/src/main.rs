//! Listing 3-7: how late 1,000 sleeping tasks wake up when one CPU-bound
//! task ("the hog") shares the runtime with them, and when it does not.
//!
//! `cargo run -p ch03-07-blocking -- 1000` gives the hog 1,000 ms; the
//! default is 150 ms, to keep the test suite's run short.

use std::error::Error;
use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

const SLEEPERS: usize = 1000;
const NAP: Duration = Duration::from_millis(100);
const DEFAULT_HOG_MS: u64 = 150;

fn main() -> io::Result<()> {
    let hog = hog_from_args()?;
    println!(
        "{SLEEPERS} tasks sleep {} ms; the hog computes for {} ms",
        NAP.as_millis(),
        hog.as_millis()
    );
    // ANCHOR: variants
    let one_thread = || Builder::new_current_thread().enable_time().build();
    let two_workers = || {
        Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
    };

    let label = "current_thread, hog in a task";
    run(label, one_thread()?, || {
        tokio::spawn(async move { compute_for(hog) })
    })?;
    let label = "multi_thread (2), hog in a task";
    run(label, two_workers()?, || {
        tokio::spawn(async move { compute_for(hog) })
    })?;
    let label = "multi_thread (2), two hogs in tasks";
    run(label, two_workers()?, || {
        // Both start now, so that each can take a worker.
        let first = tokio::spawn(async move { compute_for(hog) });
        let second = tokio::spawn(async move { compute_for(hog) });
        async move { Ok::<_, JoinError>(first.await? + second.await?) }
    })?;
    let label = "current_thread, hog in spawn_blocking";
    run(label, one_thread()?, || {
        tokio::task::spawn_blocking(move || compute_for(hog))
    })?;
    // ANCHOR_END: variants
    Ok(())
}

/// Runs the sleepers behind the hog that `start_hog` starts, on `runtime`,
/// and prints how late they woke.
fn run<F, E>(label: &str, runtime: Runtime, start_hog: impl FnOnce() -> F) -> io::Result<()>
where
    F: Future<Output = Result<u64, E>>,
    E: Error + Send + Sync + 'static,
{
    let lateness = runtime.block_on(sleepers_behind(start_hog))?;
    assert_eq!(lateness.len(), SLEEPERS, "every sleeper wakes up");
    let median = lateness[lateness.len() / 2];
    let max = lateness[lateness.len() - 1];
    println!(
        "{label:<38} {SLEEPERS} woke, median {:.1} ms late, max {:.1} ms late",
        millis(median),
        millis(max)
    );
    Ok(())
}

// ANCHOR: sleepers
/// Starts the sleepers, then the hog, and returns how late each sleeper
/// woke, sorted.
async fn sleepers_behind<F, E>(start_hog: impl FnOnce() -> F) -> io::Result<Vec<Duration>>
where
    F: Future<Output = Result<u64, E>>,
    E: Error + Send + Sync + 'static,
{
    let deadline = Instant::now() + NAP;
    let mut sleepers = JoinSet::new();
    for _ in 0..SLEEPERS {
        sleepers.spawn(async move {
            tokio::time::sleep_until(deadline).await;
            // How long after its alarm the task got to run again.
            deadline.elapsed()
        });
    }
    let hog = start_hog();
    let mut lateness = Vec::with_capacity(SLEEPERS);
    while let Some(late) = sleepers.join_next().await {
        lateness.push(late.map_err(io::Error::other)?);
    }
    hog.await.map_err(io::Error::other)?;
    lateness.sort();
    Ok(lateness)
}

/// Keeps the CPU busy for `duration` without ever reaching an `.await`:
/// what a long computation looks like to the runtime.
fn compute_for(duration: Duration) -> u64 {
    let end = std::time::Instant::now() + duration;
    let mut rounds = 0_u64;
    while std::time::Instant::now() < end {
        rounds = std::hint::black_box(rounds + 1);
    }
    rounds
}
// ANCHOR_END: sleepers

fn hog_from_args() -> io::Result<Duration> {
    let Some(arg) = std::env::args().nth(1) else {
        return Ok(Duration::from_millis(DEFAULT_HOG_MS));
    };
    arg.parse().map(Duration::from_millis).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the hog's duration must be whole milliseconds, not {arg:?}: {error}"),
        )
    })
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
