//! Listing 4-7: what a parked may coroutine costs (spawn time, memory,
//! kernel memory mappings), and how many of them Linux lets one process
//! have.
//!
//! `cargo run -p ch04-07-limits -- 20000` parks 20,000 coroutines; the
//! default is 2,000. The program refuses counts near the ceiling instead of
//! crossing it.

use std::fs;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use may::go;
use may::sync::{SyncFlag, mpsc};

const DEFAULT_COROUTINES: usize = 2_000;
/// Mappings kept free for everything else the process needs (thread
/// stacks, the allocator, libraries).
const HEADROOM: usize = 1_000;
/// Bounds every wait, so that a bug fails the run instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);

fn main() -> io::Result<()> {
    let coroutines = count_from_args()?;

    // ANCHOR: ceiling
    // Each coroutine stack is one mmap plus a guard page with different
    // permissions: two entries in /proc/self/maps, counted against the
    // kernel's per-process limit.
    let max_maps: usize = read_number("/proc/sys/vm/max_map_count")?;
    let ceiling = max_maps / 2;
    println!("vm.max_map_count is {max_maps}: at most about {ceiling} live coroutines");
    if coroutines + HEADROOM / 2 > ceiling {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{coroutines} coroutines would come too close to the ceiling of {ceiling}"),
        ));
    }
    // ANCHOR_END: ceiling

    let config = may::config();
    let words = config.get_stack_size();
    let pool = config.get_pool_capacity();
    println!(
        "stack size: {words} words = {} KiB each; pool capacity: {pool}",
        words * size_of::<usize>() / 1024
    );

    // The first coroutine starts the scheduler: its threads, and a pool of
    // ready-made coroutines, stacks included, that `go!` takes from first.
    let (maps_at_start, rss_at_start) = (count_maps()?, rss_kib()?);
    go!(|| ())
        .join()
        .map_err(|_| io::Error::other("warm-up panicked"))?;
    let (maps_before, rss_before) = (count_maps()?, rss_kib()?);
    println!(
        "starting may: +{} mappings, +{} MiB RSS",
        maps_before.saturating_sub(maps_at_start),
        rss_before.saturating_sub(rss_at_start) / 1024
    );

    // ANCHOR: park
    let release = Arc::new(SyncFlag::new());
    let (started, started_rx) = mpsc::channel();
    let spawning = Instant::now();
    let handles: Vec<_> = (0..coroutines)
        .map(|_| {
            let release = Arc::clone(&release);
            let started = started.clone();
            go!(move || {
                let _ = started.send(());
                // Parked: no worker thread is busy, but the stack stays.
                release.wait();
            })
        })
        .collect();
    for _ in 0..coroutines {
        started_rx
            .recv_timeout(PATIENCE)
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "a coroutine did not start"))?;
    }
    let spawn_time = spawning.elapsed();
    // ANCHOR_END: park

    let maps = count_maps()?.saturating_sub(maps_before);
    let rss = rss_kib()?.saturating_sub(rss_before);
    println!("{coroutines} coroutines running and parked");
    println!(
        "spawn: {:.1} µs per coroutine",
        spawn_time.as_secs_f64() * 1e6 / coroutines as f64
    );
    // Only the coroutines the pool could not supply add stacks.
    let beyond_pool = coroutines.saturating_sub(pool);
    if beyond_pool > 0 {
        let per = |total: usize| total as f64 / beyond_pool as f64;
        println!("beyond the pool: {:.1} KiB RSS per coroutine", per(rss));
        println!("beyond the pool: {:.2} mappings per coroutine", per(maps));
    }

    release.fire();
    let mut finished = 0;
    for handle in handles {
        handle
            .join()
            .map_err(|_| io::Error::other("a coroutine panicked"))?;
        finished += 1;
    }
    println!("{finished} coroutines finished");
    assert_eq!(finished, coroutines);
    Ok(())
}

/// The number of lines in /proc/self/maps: one per memory mapping.
fn count_maps() -> io::Result<usize> {
    Ok(fs::read_to_string("/proc/self/maps")?.lines().count())
}

/// The resident set size from /proc/self/status, in KiB.
fn rss_kib() -> io::Result<usize> {
    let status = fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "no VmRSS in /proc/self/status")
        })?;
    parse(line.trim().trim_end_matches("kB"))
}

fn read_number(path: &str) -> io::Result<usize> {
    parse(&fs::read_to_string(path)?)
}

fn parse(text: &str) -> io::Result<usize> {
    let text = text.trim();
    text.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("expected a number, got {text:?}"),
        )
    })
}

/// How many coroutines to park, from the first argument, if any.
fn count_from_args() -> io::Result<usize> {
    match std::env::args().nth(1) {
        None => Ok(DEFAULT_COROUTINES),
        Some(arg) => match arg.parse() {
            Ok(count) if count > 0 => Ok(count),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("expected a positive number of coroutines, got {arg:?}"),
            )),
        },
    }
}
