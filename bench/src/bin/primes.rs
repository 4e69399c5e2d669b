//! Counts the primes in [2, LIMIT) by trial division, one way per run:
//!
//! ```text
//! cargo run --release -p book-bench --bin primes -- VARIANT [LIMIT]
//! ```
//!
//! VARIANT is `serial`, `threads` (`thread::scope`, 2 threads), `rayon`
//! (a pool of 2 threads), `processes` (the Part 2 process pool, 2 workers) or
//! `may` (2 workers). The parallel variants split the range into 64 chunks
//! that 2 workers take one at a time, so a worker that finishes early takes
//! another chunk. Prints one JSON line: variant, count, seconds, peak RSS,
//! and `startup_secs`: what starting the pool or scheduler took, before the
//! timed region (rayon's pool, may's scheduler; 0 for the others).
//!
//! Every variant uses 2 workers whatever the machine has, so that the
//! speedups compare like with like and their ceiling is 2x (or the cores
//! the run may use, if fewer).
//!
//! Trial division and not a sum of squares: LLVM turns a sum-of-squares loop
//! into a closed formula, and there would be nothing left to measure.

use std::ops::Range;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use book_bench::{arg_or, emit, peak_rss_kib, timed};
use ch02_02_process_pool::{Pool, WORKER_ARG, WorkerCommand, worker};
use rayon::prelude::*;

const WORKERS: usize = 2;
const CHUNKS: u64 = 64;

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut divisor = 3;
    while divisor * divisor <= n {
        if n.is_multiple_of(divisor) {
            return false;
        }
        divisor += 2;
    }
    true
}

fn count_primes(numbers: Range<u64>) -> u64 {
    numbers.filter(|&n| is_prime(n)).count() as u64
}

/// `numbers` cut into `count` ranges of (nearly) equal length.
fn chunks(numbers: Range<u64>, count: u64) -> Vec<Range<u64>> {
    let size = (numbers.end - numbers.start).div_ceil(count);
    (0..count)
        .map(|i| {
            let start = (numbers.start + i * size).min(numbers.end);
            start..(start + size).min(numbers.end)
        })
        .collect()
}

/// The count of primes below the limits the book uses, to check every run.
fn known_count(limit: u64) -> Option<u64> {
    match limit {
        100_000 => Some(9_592),
        2_000_000 => Some(148_933),
        3_000_000 => Some(216_816),
        30_000_000 => Some(1_857_859),
        _ => None,
    }
}

/// Each worker takes the next chunk from a shared counter until none is left.
fn on_threads(work: &[Range<u64>]) -> u64 {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| scope.spawn(|| pull_chunks(&next, work)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker panicked"))
            .sum()
    })
}

fn pull_chunks(next: &AtomicUsize, work: &[Range<u64>]) -> u64 {
    let mut total = 0;
    while let Some(chunk) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
        total += count_primes(chunk.clone());
    }
    total
}

/// Starts what `variant` runs on: a rayon pool of `WORKERS` threads (not
/// the global pool, which has one per core), or may's scheduler.
fn start(variant: &str) -> Result<Option<rayon::ThreadPool>, String> {
    match variant {
        "rayon" => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(WORKERS)
                .build()
                .map_err(|error| format!("cannot start rayon's pool: {error}"))?;
            // The threads exist once each has run something.
            pool.broadcast(|_| ());
            Ok(Some(pool))
        }
        "may" => {
            // Configure may before its first use: its scheduler starts once.
            may::config().set_workers(WORKERS);
            may::go!(|| ())
                .join()
                .map_err(|_| "may's scheduler failed to start")?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

fn on_rayon(work: &[Range<u64>], pool: Option<&rayon::ThreadPool>) -> u64 {
    let count = || work.par_iter().cloned().map(count_primes).sum();
    match pool {
        Some(pool) => pool.install(count),
        None => count(),
    }
}

/// The Part 2 process pool: the workers are this program, re-run with `--worker`.
fn on_processes(work: &[Range<u64>]) -> Result<u64, String> {
    let pool = Pool::new(
        WORKERS,
        WorkerCommand::current_exe().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let inputs = work.iter().map(|r| format!("{} {}", r.start, r.end));
    let mut total = 0;
    for answer in pool.map("count_primes", inputs) {
        let answer = answer.map_err(|e| e.to_string())?;
        total += answer.parse::<u64>().map_err(|e| e.to_string())?;
    }
    pool.join();
    Ok(total)
}

fn run_job(job: &str, input: &str) -> Result<String, String> {
    let bad = || format!("expected `start end`, got {input:?}");
    let (start, end) = input.split_once(' ').ok_or_else(bad)?;
    let (start, end) = (
        start.parse().map_err(|_| bad())?,
        end.parse().map_err(|_| bad())?,
    );
    match job {
        "count_primes" => Ok(count_primes(start..end).to_string()),
        _ => Err(format!("no job named `{job}`")),
    }
}

/// may with 2 workers; each coroutine takes chunks from a shared counter.
fn on_may(work: &[Range<u64>]) -> u64 {
    let work = std::sync::Arc::new(work.to_vec());
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let coroutines: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (work, next) = (work.clone(), next.clone());
            may::go!(move || pull_chunks(&next, &work))
        })
        .collect();
    coroutines
        .into_iter()
        .map(|c| c.join().expect("a coroutine panicked"))
        .sum()
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(WORKER_ARG) {
        return match worker::serve(run_job) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("primes worker: {error}");
                ExitCode::FAILURE
            }
        };
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("primes: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let variant: String = arg_or(1, "serial".to_owned())?;
    let limit: u64 = arg_or(2, 3_000_000)?;
    let work = chunks(2..limit, CHUNKS);
    // Pools and schedulers start before the timed region, and their start-up
    // is reported apart: may's scheduler starts at the first `go!` (it makes
    // 1,000 stacks then), which would otherwise land inside the timing.
    let (pool, startup) = timed(|| start(&variant));
    let pool = pool?;
    let (count, time) = match variant.as_str() {
        "serial" => timed(|| Ok(count_primes(2..limit))),
        "threads" => timed(|| Ok(on_threads(&work))),
        "rayon" => timed(|| Ok(on_rayon(&work, pool.as_ref()))),
        "processes" => timed(|| on_processes(&work)),
        "may" => timed(|| Ok(on_may(&work))),
        other => {
            return Err(format!(
                "unknown variant {other:?}: use serial, threads, rayon, processes or may"
            ));
        }
    };
    let count = count?;
    if let Some(expected) = known_count(limit)
        && count != expected
    {
        return Err(format!(
            "{variant} counted {count} primes below {limit}, expected {expected}"
        ));
    }
    emit(&serde_json::json!({
        "variant": variant,
        "limit": limit,
        "count": count,
        "secs": time.as_secs_f64(),
        "startup_secs": startup.as_secs_f64(),
        "peak_rss_kib": peak_rss_kib(),
    }));
    Ok(())
}
