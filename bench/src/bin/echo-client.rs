//! The load client of the loopback echo benchmark, the same for every server:
//!
//! ```text
//! cargo run --release -p book-bench --bin echo-client -- PORT CONNECTIONS WARMUP_MS MEASURE_MS [SERVER_PID [RATE]]
//! ```
//!
//! Opens CONNECTIONS connections to 127.0.0.1:PORT; on each, sends 64 bytes,
//! reads the 64 bytes echoed back, and repeats: at once (saturated, RATE 0 or
//! absent), or paced so that all connections together offer RATE round trips
//! per second (a fixed offered load). After WARMUP_MS it counts the round
//! trips completed in MEASURE_MS and, given the server's process id, the CPU
//! time the server used meanwhile (the sum of its threads' nanosecond
//! counters in `/proc/PID/task/*/schedstat`).
//! Prints one JSON line.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use book_bench::arg_or;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const MESSAGE: [u8; 64] = [b'x'; 64];
/// Connections opened at a time: more would overflow the server's accept
/// backlog, and refused connections would spoil the start.
const CONNECT_BATCH: usize = 256;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("echo-client: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(record) => {
            println!("{record}");
            // Exit without waiting for the connections' tasks to wind down.
            std::process::exit(0)
        }
        Err(error) => {
            eprintln!("echo-client: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<serde_json::Value, String> {
    let port: u16 = arg_or(1, 0)?;
    let connections: usize = arg_or(2, 100)?;
    let warmup = Duration::from_millis(arg_or(3, 1_000)?);
    let measure = Duration::from_millis(arg_or(4, 4_000)?);
    let server_pid: u32 = arg_or(5, 0)?;
    let rate: f64 = arg_or(6, 0.0)?;
    if port == 0 || connections == 0 || !rate.is_finite() || rate < 0.0 {
        return Err(
            "usage: echo-client PORT CONNECTIONS WARMUP_MS MEASURE_MS [SERVER_PID [RATE]]".into(),
        );
    }
    // Each connection's pause between round trips at a fixed offered load.
    let pace = (rate > 0.0).then(|| Duration::from_secs_f64(connections as f64 / rate));

    let mut streams = Vec::with_capacity(connections);
    while streams.len() < connections {
        let batch = CONNECT_BATCH.min(connections - streams.len());
        let opened =
            futures::future::join_all((0..batch).map(|_| TcpStream::connect(("127.0.0.1", port))))
                .await;
        for stream in opened {
            let stream = stream.map_err(|e| {
                format!(
                    "cannot connect to port {port} ({} open so far): {e}",
                    streams.len()
                )
            })?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            streams.push(stream);
        }
    }

    let round_trips = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    for (index, mut stream) in streams.into_iter().enumerate() {
        let (round_trips, failed) = (round_trips.clone(), failed.clone());
        tokio::spawn(async move {
            let mut reply = [0; 64];
            // Paced connections start spread over one period, so that the
            // load arrives evenly rather than in bursts of every connection.
            let mut ticks = pace.map(|period| {
                let offset = period.mul_f64(index as f64 / connections as f64);
                let mut ticks = tokio::time::interval_at(Instant::now() + offset, period);
                // Ticks missed while a reply was late are sent at once
                // (tokio's default, `Burst`), so the load offered over the
                // interval stays the rate asked for unless the server
                // cannot keep up; `Delay` would quietly lower it instead.
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                ticks
            });
            loop {
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                let ok = stream.write_all(&MESSAGE).await.is_ok()
                    && stream.read_exact(&mut reply).await.is_ok()
                    && reply == MESSAGE;
                if !ok {
                    failed.store(true, Ordering::Relaxed);
                    return;
                }
                round_trips.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    tokio::time::sleep(warmup).await;
    let (trips_before, cpu_before, start) = (
        round_trips.load(Ordering::Relaxed),
        cpu_seconds(server_pid),
        Instant::now(),
    );
    tokio::time::sleep(measure).await;
    let (trips_after, cpu_after, secs) = (
        round_trips.load(Ordering::Relaxed),
        cpu_seconds(server_pid),
        start.elapsed().as_secs_f64(),
    );
    if failed.load(Ordering::Relaxed) {
        return Err("a connection failed or got back bytes it did not send".into());
    }
    let trips = trips_after - trips_before;
    let server_cpu = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    Ok(serde_json::json!({
        "connections": connections,
        "offered_rps": rate,
        "round_trips": trips,
        "secs": secs,
        "rps": trips as f64 / secs,
        "server_cpu_secs": server_cpu,
        "server_cpu_us_per_round_trip": server_cpu.map(|cpu| cpu * 1e6 / trips.max(1) as f64),
    }))
}

/// CPU time that process `pid`'s live threads have used, in seconds, at
/// the scheduler's nanosecond resolution: the sum of the first field of
/// `/proc/PID/task/*/schedstat` (`/proc/PID/stat`'s utime + stime come in
/// 10 ms clock ticks, about 1 µs per round trip over a 2 s window at 5,000
/// round trips/s: too coarse). A thread that exits inside the window takes
/// its time with it; the servers' threads live as long as their connections.
fn cpu_seconds(pid: u32) -> Option<f64> {
    if pid == 0 {
        return None;
    }
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut nanoseconds: u64 = 0;
    for task in tasks.flatten() {
        if let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat"))
            && let Some(on_cpu) = schedstat.split_whitespace().next()
        {
            nanoseconds += on_cpu.parse::<u64>().ok()?;
        }
    }
    Some(nanoseconds as f64 / 1e9)
}
