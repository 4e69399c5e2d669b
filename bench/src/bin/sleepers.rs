//! N tasks each sleep for the same time; how long until all have woken, and
//! how much memory did they take?
//!
//! ```text
//! cargo run --release -p book-bench --bin sleepers -- VARIANT N MILLIS
//! ```
//!
//! VARIANT is `tokio-spawn` (one `tokio::spawn` per sleeper, multi-thread
//! runtime: a worker per core), `tokio-spawn-current` (the same on the
//! `current_thread` runtime, one thread like asyncio's loop),
//! `tokio-join-all` (N futures joined in one task), `may` (`go!` +
//! `coroutine::sleep`, a worker per core), `may-1` (the same on 1 worker, like
//! gevent's one hub) or `threads` (one OS thread each). Prints one JSON
//! line: wall seconds from the first spawn until the last sleeper has woken,
//! the peak RSS, and the RSS before the first spawn (so the tool can work out
//! the memory per task).
//!
//! may takes 2 memory mappings per coroutine, and Linux caps a process at
//! `vm.max_map_count` (65,530 by default): stay well under half of it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use book_bench::{arg_or, cgroup_memory_kib, emit, peak_rss_kib, rss_kib};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sleepers: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The memory before the sleepers start: the process's RSS, and what its
/// cgroup holds (the base of the whole tree's peak, kernel share included).
type Base = (Option<u64>, Option<u64>);

fn base() -> Base {
    (rss_kib(), cgroup_memory_kib())
}

fn run() -> Result<(), String> {
    let variant: String = arg_or(1, "tokio-spawn".to_owned())?;
    let tasks: usize = arg_or(2, 10_000)?;
    let nap = Duration::from_millis(arg_or(3, 1_000)?);
    let ((base_kib, base_cgroup_kib), wall) = match variant.as_str() {
        "tokio-spawn" => tokio_runtime()?.block_on(tokio_spawn(tasks, nap)),
        "tokio-spawn-current" => tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start tokio: {e}"))?
            .block_on(tokio_spawn(tasks, nap)),
        "tokio-join-all" => tokio_runtime()?.block_on(tokio_join_all(tasks, nap)),
        "may" => may_sleepers(tasks, nap)?,
        "may-1" => {
            may::config().set_workers(1);
            may_sleepers(tasks, nap)?
        }
        "threads" => thread_sleepers(tasks, nap)?,
        other => {
            return Err(format!(
                "unknown variant {other:?}: use tokio-spawn, tokio-spawn-current, \
                 tokio-join-all, may, may-1 or threads"
            ));
        }
    };
    emit(&serde_json::json!({
        "variant": variant,
        "tasks": tasks,
        "secs": wall.as_secs_f64(),
        "peak_rss_kib": peak_rss_kib(),
        "base_rss_kib": base_kib,
        "base_cgroup_kib": base_cgroup_kib,
    }));
    Ok(())
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))
}

async fn tokio_spawn(tasks: usize, nap: Duration) -> (Base, Duration) {
    let base = base();
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| tokio::spawn(tokio::time::sleep(nap)))
        .collect();
    for handle in handles {
        handle.await.expect("a sleeper panicked");
    }
    (base, start.elapsed())
}

async fn tokio_join_all(tasks: usize, nap: Duration) -> (Base, Duration) {
    let base = base();
    let start = Instant::now();
    futures::future::join_all((0..tasks).map(|_| tokio::time::sleep(nap))).await;
    (base, start.elapsed())
}

/// Mappings a process needs besides may's stacks (libraries, heap, threads).
const OTHER_MAPPINGS: usize = 4_096;

fn may_sleepers(tasks: usize, nap: Duration) -> Result<(Base, Duration), String> {
    // Past the limit may panics ("failed to alloc sys stack") and the
    // process hangs: refuse up front instead.
    if let Some(limit) = max_map_count()
        && tasks * 2 + OTHER_MAPPINGS > limit
    {
        return Err(format!(
            "{tasks} coroutines need about {} memory mappings, over vm.max_map_count \
             ({limit}): use fewer, or raise it (sudo sysctl -w vm.max_map_count=N)",
            tasks * 2 + OTHER_MAPPINGS
        ));
    }
    // The base memory is taken before may starts: its scheduler makes a pool
    // of 1,000 ready stacks, and that memory is part of what the sleepers
    // cost (measured after it, the first 1,000 coroutines would look free).
    let base = base();
    may::go!(|| ()).join().map_err(|_| "may failed to start")?;
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| may::go!(move || may::coroutine::sleep(nap)))
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "a coroutine panicked")?;
    }
    Ok((base, start.elapsed()))
}

fn max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn thread_sleepers(tasks: usize, nap: Duration) -> Result<(Base, Duration), String> {
    let base = base();
    let start = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for i in 0..tasks {
        let handle = std::thread::Builder::new()
            .spawn(move || std::thread::sleep(nap))
            .map_err(|e| format!("cannot start thread {i}: {e}"))?;
        handles.push(handle);
    }
    for handle in handles {
        handle.join().map_err(|_| "a thread panicked")?;
    }
    Ok((base, start.elapsed()))
}
