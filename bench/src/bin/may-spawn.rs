//! What spawning a may coroutine costs when it is measured the way
//! `limits.py` measures a greenlet: on one worker, spawned from a coroutine
//! (gevent spawns from its main greenlet), counted in a plain atomic rather
//! than reported over a channel, the spawner parked until the last one has
//! started (`limits.py` loops on `gevent.sleep(0)` instead; may's
//! `yield_now` would put the spawner back ahead of the new coroutines).
//!
//! ```text
//! cargo run --release -p book-bench --bin may-spawn -- N
//! ```
//!
//! Prints one JSON line: N and the microseconds per spawn. Listing 4-7's
//! figure also includes spawning from a plain thread and a channel message
//! per coroutine; the difference between the two is what those cost.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use book_bench::{arg_or, emit};
use may::go;
use may::sync::SyncFlag;

/// Bounds the wait for the coroutines to start, so that a bug fails the run.
const PATIENCE: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("may-spawn: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let coroutines: usize = arg_or(1, 20_000)?;
    // One worker, as gevent has one hub.
    may::config().set_workers(1);
    // Start the scheduler (and its pool of ready stacks) before timing.
    go!(|| ()).join().map_err(|_| "may failed to start")?;
    let spawner = go!(move || spawn_and_park(coroutines));
    let per_spawn = spawner
        .join()
        .map_err(|_| "the spawning coroutine panicked")??;
    emit(&serde_json::json!({
        "coroutines": coroutines,
        "us_per_spawn": per_spawn.as_secs_f64() * 1e6,
    }));
    Ok(())
}

/// Spawns `coroutines` coroutines that each count themselves and park, waits
/// until all have started, releases them, and returns the time per spawn.
fn spawn_and_park(coroutines: usize) -> Result<Duration, String> {
    let started = Arc::new(AtomicUsize::new(0));
    let all_started = Arc::new(SyncFlag::new());
    let release = Arc::new(SyncFlag::new());
    let spawning = Instant::now();
    let handles: Vec<_> = (0..coroutines)
        .map(|_| {
            let (started, all_started, release) = (
                Arc::clone(&started),
                Arc::clone(&all_started),
                Arc::clone(&release),
            );
            go!(move || {
                if started.fetch_add(1, Ordering::Relaxed) + 1 == coroutines {
                    all_started.fire();
                }
                release.wait();
            })
        })
        .collect();
    // Parks this coroutine (not the worker) until the last one has started.
    if !all_started.wait_timeout(PATIENCE) {
        release.fire();
        return Err(format!(
            "only {} of {coroutines} coroutines started within {} s",
            started.load(Ordering::Relaxed),
            PATIENCE.as_secs()
        ));
    }
    let elapsed = spawning.elapsed();
    release.fire();
    for handle in handles {
        handle.join().map_err(|_| "a coroutine panicked")?;
    }
    Ok(elapsed / coroutines as u32)
}
