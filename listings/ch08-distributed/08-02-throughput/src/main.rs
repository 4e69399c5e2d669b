//! Jobs per second and CPU per job of Python and Rust workers on one
//! broker: `ch08-02-throughput --quick` (a smoke run, seconds) or
//! `ch08-02-throughput --full` (the sizes the bench measures; build with
//! `--release`). Each row starts a private `redis-server`, fills it with
//! jobs, starts the workers as child processes, waits until every job's
//! result is recorded, and stops them. The CPU time is that of the whole
//! worker process tree (the children's user + system time, which the
//! kernel adds to ours once we reap them); it excludes the broker's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ch08_01_stream_worker::broker::{Broker, Persistence};
use ch08_01_stream_worker::{Job, connect, enqueue, ensure_group, wait_for_results};

const USAGE: &str = "usage: ch08-02-throughput --quick | --full
Runs Rust workers, plain redis-py worker processes and an arq worker on a
private redis-server, for a CPU-bound and an I/O-bound job, and prints jobs/s
and CPU time per job for each. Needs redis-server; the Python rows need
python3 with redis and arq.";

/// One kind of job, and how many of them a row runs.
struct Workload {
    name: &'static str,
    task: &'static str,
    arq_task: &'static str,
    arg: u64,
    jobs: u64,
    /// Jobs in flight per Rust or arq process.
    in_flight: usize,
    /// Python worker processes (one job at a time each).
    python_processes: usize,
}

#[derive(Clone, Copy)]
enum Workers {
    Rust,
    PythonProcesses,
    Arq,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = match std::env::args().nth(1).as_deref() {
        Some("--quick") => true,
        Some("--full") => false,
        _ => {
            println!("{USAGE}");
            return Ok(());
        }
    };
    let scale = if quick { 1 } else { 25 };
    let workloads = [
        Workload {
            name: "cpu",
            task: "count_primes",
            arq_task: "cpu",
            arg: 2_000,
            jobs: 40 * scale,
            in_flight: 2,
            python_processes: 2,
        },
        Workload {
            name: "io",
            task: "sleep",
            arq_task: "io",
            arg: 5,
            jobs: 100 * scale,
            in_flight: 50,
            python_processes: 8,
        },
    ];
    let python = python_modules_available();
    for workload in &workloads {
        for workers in [Workers::Rust, Workers::PythonProcesses, Workers::Arq] {
            if !matches!(workers, Workers::Rust) && !python {
                println!("{} {}: skipped, python3 cannot import redis and arq", workload.name, label(workers, workload));
                continue;
            }
            let (elapsed, cpu) = measure(workload, workers).await?;
            let jobs = workload.jobs as f64;
            println!(
                "{} {}: {} jobs in {:.3} s, {:.0} jobs/s, CPU {:.3} ms/job",
                workload.name,
                label(workers, workload),
                workload.jobs,
                elapsed.as_secs_f64(),
                jobs / elapsed.as_secs_f64(),
                cpu.as_secs_f64() * 1000.0 / jobs,
            );
        }
    }
    Ok(())
}

fn label(workers: Workers, workload: &Workload) -> String {
    match workers {
        Workers::Rust => format!("rust ×1, {} in flight", workload.in_flight),
        Workers::PythonProcesses => format!("redis-py ×{}", workload.python_processes),
        Workers::Arq => format!("arq ×1, {} in flight", workload.in_flight),
    }
}

/// Runs one row on a fresh broker; returns the wall time from the workers'
/// start to the last result, and the CPU time of the worker processes.
async fn measure(
    workload: &Workload,
    workers: Workers,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let broker = Broker::start(Persistence::None)?;
    let cpu_before = children_cpu()?;
    let limit = Duration::from_secs(600);
    let elapsed = if let Workers::Arq = workers {
        // arq has its own queue format: its script enqueues, runs a burst
        // worker and prints the worker's time.
        let output = Command::new("python3")
            .arg(listing_dir().join("python/arq_worker.py"))
            .args([
                broker.url(),
                workload.arq_task.to_string(),
                workload.arg.to_string(),
                workload.jobs.to_string(),
                workload.in_flight.to_string(),
            ])
            .output()?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
        }
        Duration::from_secs_f64(String::from_utf8(output.stdout)?.trim().parse()?)
    } else {
        let mut conn = connect(&broker.client(), Duration::from_millis(200)).await?;
        ensure_group(&mut conn, "jobs", "workers").await?;
        for n in 0..workload.jobs {
            let job = Job {
                id: format!("job-{n}"),
                task: workload.task.into(),
                arg: workload.arg,
            };
            enqueue(&mut conn, "jobs", &job).await?;
        }
        let started = Instant::now();
        let mut children = start_workers(&broker, workload, workers)?;
        let done = wait_for_results(&mut conn, "results:count", workload.jobs, limit).await;
        let elapsed = started.elapsed();
        for child in &mut children {
            stop(child)?;
        }
        if done != Some(workload.jobs) {
            return Err(format!("{}: not every job was done", workload.name).into());
        }
        elapsed
    };
    Ok((elapsed, children_cpu()? - cpu_before))
}

fn start_workers(
    broker: &Broker,
    workload: &Workload,
    workers: Workers,
) -> std::io::Result<Vec<Child>> {
    match workers {
        Workers::Rust => {
            let worker = sibling_executable("ch08-01-stream-worker");
            let child = Command::new(worker)
                .args([
                    &broker.url(),
                    "--max-in-flight",
                    &workload.in_flight.to_string(),
                ])
                .stdout(Stdio::null())
                .spawn()?;
            Ok(vec![child])
        }
        Workers::PythonProcesses => (0..workload.python_processes)
            .map(|_| {
                Command::new("python3")
                    .arg("streams_worker.py")
                    .arg(broker.url())
                    .current_dir(listing_dir().join("../08-01-stream-worker/python"))
                    .spawn()
            })
            .collect(),
        Workers::Arq => unreachable!("arq runs its own script"),
    }
}

/// SIGTERM, then wait: each worker finishes its job and exits.
fn stop(child: &mut Child) -> std::io::Result<()> {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    child.wait()?;
    Ok(())
}

/// User + system time of the children this process has reaped, from
/// `/proc/self/stat` (fields 16 and 17, in clock ticks of 10 ms on Linux).
fn children_cpu() -> std::io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name, which is in parentheses.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    // after_name starts at field 3 (state, not a number, filtered out):
    // field N is fields[N - 4].
    let ticks = fields.get(12).copied().unwrap_or(0) + fields.get(13).copied().unwrap_or(0);
    Ok(Duration::from_millis(ticks * 10))
}

fn listing_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The worker binary built beside this one (`cargo build` puts both in
/// the same directory).
fn sibling_executable(name: &str) -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.parent().unwrap_or(Path::new(".")).join(name)
}

fn python_modules_available() -> bool {
    Command::new("python3")
        .args(["-c", "import redis, arq"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
