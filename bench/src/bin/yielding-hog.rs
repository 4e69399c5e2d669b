//! The row Listing 3-7 leaves out: on tokio's `current_thread` runtime, a
//! hog that computes in 1 ms slices and calls `yield_now` between them, the
//! counterpart of may's `yield_now` hog and gevent's `sleep(0)` hog:
//!
//! ```text
//! cargo run --release -p book-bench --bin yielding-hog -- HOG_MS
//! ```
//!
//! 1,000 tasks sleep 100 ms while the hog computes for HOG_MS (default
//! 1,000); prints one lateness line in Listing 3-7's format.

use std::process::ExitCode;
use std::time::Duration;

use book_bench::arg_or;
use tokio::task::JoinSet;
use tokio::time::Instant;

const SLEEPERS: usize = 1000;
const NAP: Duration = Duration::from_millis(100);
const SLICE: Duration = Duration::from_millis(1);

fn main() -> ExitCode {
    let hog = match arg_or(1, 1_000) {
        Ok(ms) => Duration::from_millis(ms),
        Err(error) => {
            eprintln!("yielding-hog: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("yielding-hog: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut lateness = match runtime.block_on(sleepers_behind_yielding_hog(hog)) {
        Ok(lateness) => lateness,
        Err(error) => {
            eprintln!("yielding-hog: a task failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    lateness.sort();
    let millis = |late: Duration| late.as_secs_f64() * 1000.0;
    println!(
        "{:<38} {SLEEPERS} woke, median {:.1} ms late, max {:.1} ms late",
        "current_thread, hog yields every 1 ms",
        millis(lateness[SLEEPERS / 2]),
        millis(lateness[SLEEPERS - 1])
    );
    ExitCode::SUCCESS
}

async fn sleepers_behind_yielding_hog(
    hog: Duration,
) -> Result<Vec<Duration>, tokio::task::JoinError> {
    let deadline = Instant::now() + NAP;
    let mut sleepers = JoinSet::new();
    for _ in 0..SLEEPERS {
        sleepers.spawn(async move {
            tokio::time::sleep_until(deadline).await;
            deadline.elapsed()
        });
    }
    let hog = tokio::spawn(async move {
        let start = std::time::Instant::now();
        while start.elapsed() < hog {
            compute_for(SLICE);
            // A switch point: the runtime runs the tasks that are ready
            // (and checks its timers), then comes back to the hog.
            tokio::task::yield_now().await;
        }
    });
    let mut lateness = Vec::with_capacity(SLEEPERS);
    while let Some(late) = sleepers.join_next().await {
        lateness.push(late?);
    }
    hog.await?;
    Ok(lateness)
}

/// Keeps the CPU busy for `duration` without reaching an `.await`.
fn compute_for(duration: Duration) -> u64 {
    let end = std::time::Instant::now() + duration;
    let mut rounds = 0_u64;
    while std::time::Instant::now() < end {
        rounds = std::hint::black_box(rounds + 1);
    }
    rounds
}
