//! Listing 3-8: many concurrent tasks that each sleep, and what they cost in
//! time and memory.
//!
//! `cargo run --release -p ch03-08-scale -- 100000 1000` runs 100,000 tasks
//! of 1,000 ms each; the default, 10,000 tasks of 100 ms, keeps the test
//! suite's run short. A third argument, `join_all`, runs the sleeps as
//! futures inside one task instead of as 100,000 tasks.

use std::io;
use std::time::{Duration, Instant};

const DEFAULT_TASKS: usize = 10_000;
const DEFAULT_NAP_MS: u64 = 100;

#[tokio::main]
async fn main() -> io::Result<()> {
    let (tasks, nap, join_all) = parse_args()?;
    let how = if join_all {
        "futures in one task (join_all)"
    } else {
        "tasks (tokio::spawn)"
    };
    println!("{tasks} {how}, each sleeping {} ms", nap.as_millis());
    println!(
        "size of one nap_for future: {} bytes",
        std::mem::size_of_val(&nap_for(nap))
    );
    let before = memory_kib("VmRSS");

    let started = Instant::now();
    let woke = if join_all {
        run_joined(tasks, nap).await
    } else {
        run_spawned(tasks, nap).await?
    };
    let elapsed = started.elapsed();

    assert_eq!(woke, tasks, "every task wakes up");
    assert!(elapsed >= nap, "no task wakes early");
    println!("all {woke} woke after {:.3} s", elapsed.as_secs_f64());
    match (before, memory_kib("VmHWM")) {
        (Some(before), Some(peak)) => println!(
            "peak memory {:.1} MiB, {:.2} KiB per task over the {:.1} MiB before",
            peak as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / tasks.max(1) as f64,
            before as f64 / 1024.0
        ),
        _ => println!("peak memory unknown (no /proc/self/status)"),
    }
    Ok(())
}

// ANCHOR: spawn
/// What each task does: sleep, then report that it woke.
async fn nap_for(nap: Duration) -> usize {
    tokio::time::sleep(nap).await;
    1
}

/// `asyncio.gather` of many tasks: spawn them all, then await every handle.
async fn run_spawned(tasks: usize, nap: Duration) -> io::Result<usize> {
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(nap_for(nap))).collect();
    // The last task starts its nap only now: this adds to the wall time.
    println!("spawned in {:.3} s", started.elapsed().as_secs_f64());
    let mut woke = 0;
    for handle in handles {
        woke += handle.await.map_err(io::Error::other)?;
    }
    Ok(woke)
}
// ANCHOR_END: spawn

// ANCHOR: join_all
/// The same sleeps as futures polled by one task: no spawning at all.
async fn run_joined(tasks: usize, nap: Duration) -> usize {
    let naps = (0..tasks).map(|_| nap_for(nap));
    futures::future::join_all(naps).await.into_iter().sum()
}
// ANCHOR_END: join_all

// ANCHOR: memory
/// A `Vm…:` line of /proc/self/status in KiB: `VmRSS` is the memory in use
/// now, `VmHWM` the most that was ever in use. `None` where there is no /proc.
fn memory_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}
// ANCHOR_END: memory

fn parse_args() -> io::Result<(usize, Duration, bool)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
    let tasks = match args.first() {
        Some(arg) => arg.parse().map_err(|_| {
            invalid(format!(
                "the task count must be a whole number, not {arg:?}"
            ))
        })?,
        None => DEFAULT_TASKS,
    };
    let nap_ms = match args.get(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| invalid(format!("the sleep must be whole milliseconds, not {arg:?}")))?,
        None => DEFAULT_NAP_MS,
    };
    let join_all = match args.get(2).map(String::as_str) {
        None | Some("spawn") => false,
        Some("join_all") => true,
        Some(other) => {
            return Err(invalid(format!(
                "the third argument is `spawn` or `join_all`, not {other:?}"
            )));
        }
    };
    Ok((tasks, Duration::from_millis(nap_ms), join_all))
}
