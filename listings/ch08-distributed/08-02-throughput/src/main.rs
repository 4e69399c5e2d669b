//! Jobs per second and CPU per job of Python and Rust workers on one
//! broker: `ch08-02-throughput --quick` (a smoke run, seconds) or
//! `ch08-02-throughput --full` (the sizes the bench measures; build with
//! `--release`). Each row starts a private `redis-server`, fills it with
//! jobs, starts the workers as child processes, waits until every job's
//! result is recorded, and stops them. The CPU time is that of the whole
//! worker process tree (the children's user + system time, which the
//! kernel adds to ours once we reap them); it excludes the broker's.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ch08_01_stream_worker::broker::{Broker, Persistence};
use ch08_01_stream_worker::{Config, JOB_FIELD, Job, connect, ensure_group, run, wait_for_results};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamInfoConsumersReply;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

const USAGE: &str = "usage: ch08-02-throughput --quick | --full [--only rust|redis-py|arq]
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
        // The Rust rows' worker process: this program again, as Part 2's
        // process pool starts its workers.
        Some("--worker") => return rust_worker().await,
        _ => {
            println!("{USAGE}");
            return Ok(());
        }
    };
    // --quick: enough jobs to exercise every row, as fast as possible.
    let (scale, python_processes) = if quick { (1, 2) } else { (400, 8) };
    let workloads = [
        Workload {
            name: "cpu",
            task: "count_primes",
            arq_task: "cpu",
            arg: 2_000,
            jobs: 10 * scale,
            in_flight: 2,
            python_processes: 2,
        },
        Workload {
            name: "io",
            task: "sleep",
            arq_task: "io",
            arg: 5,
            jobs: 20 * scale,
            in_flight: 50,
            python_processes,
        },
    ];
    let only = match std::env::args().nth(2).as_deref() {
        None => None,
        Some("--only") => std::env::args().nth(3),
        Some(other) => return Err(format!("unknown option {other}\n{USAGE}").into()),
    };
    let python = python_modules_available();
    for workload in &workloads {
        for workers in [Workers::Rust, Workers::PythonProcesses, Workers::Arq] {
            if only.as_deref().is_some_and(|only| only != workers.name()) {
                continue;
            }
            if !matches!(workers, Workers::Rust) && !python {
                println!(
                    "{} {}: skipped, python3 cannot import redis and arq",
                    workload.name,
                    label(workers, workload)
                );
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

impl Workers {
    fn name(self) -> &'static str {
        match self {
            Workers::Rust => "rust",
            Workers::PythonProcesses => "redis-py",
            Workers::Arq => "arq",
        }
    }
}

fn label(workers: Workers, workload: &Workload) -> String {
    match workers {
        Workers::Rust => format!("rust ×1, {} in flight", workload.in_flight),
        Workers::PythonProcesses => format!("redis-py ×{}", workload.python_processes),
        Workers::Arq => format!("arq ×1, {} in flight", workload.in_flight),
    }
}

/// Runs one row on a fresh broker; returns the wall time from the first
/// job sent (the workers already waiting) to the last result, and the CPU
/// time of the worker processes, start-up included.
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
        // Start the workers on an empty stream and wait until each has
        // joined the group, so that interpreter start-up is not timed.
        let mut children = WorkerProcesses(start_workers(&broker, workload, workers)?);
        wait_for_consumers(&mut conn, children.0.len(), limit).await?;
        let started = Instant::now();
        let mut pipe = redis::pipe();
        for n in 0..workload.jobs {
            let job = Job {
                id: format!("job-{n}"),
                task: workload.task.into(),
                arg: workload.arg,
            };
            let text = serde_json::to_string(&job)?;
            pipe.xadd("jobs", "*", &[(JOB_FIELD, text)]).ignore();
        }
        let () = pipe.query_async(&mut conn).await?;
        let done = wait_for_results(&mut conn, "results:count", workload.jobs, limit).await;
        let elapsed = started.elapsed();
        stop(&mut children.0)?;
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
            let child = Command::new(std::env::current_exe()?)
                .args(["--worker", &broker.url(), &workload.in_flight.to_string()])
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

/// Worker processes, killed if the row fails before it stops them.
struct WorkerProcesses(Vec<Child>);

impl Drop for WorkerProcesses {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls until the group has `expected` consumers.
async fn wait_for_consumers(
    conn: &mut MultiplexedConnection,
    expected: usize,
    limit: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    loop {
        let reply: StreamInfoConsumersReply = conn.xinfo_consumers("jobs", "workers").await?;
        if reply.consumers.len() >= expected {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "only {} of {expected} workers started",
                reply.consumers.len()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// SIGTERM to every worker, then wait: each finishes its job and exits.
fn stop(children: &mut [Child]) -> std::io::Result<()> {
    let pids: Vec<String> = children
        .iter()
        .map(|child| child.id().to_string())
        .collect();
    Command::new("kill").arg("-TERM").args(&pids).status()?;
    for child in children {
        child.wait()?;
    }
    Ok(())
}

/// `--worker URL IN_FLIGHT`: Listing 8-1's worker, until SIGTERM.
async fn rust_worker() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let [url, in_flight] = args.as_slice() else {
        return Err("usage: --worker URL IN_FLIGHT".into());
    };
    let mut config = Config::new(format!("rust-{}", std::process::id()));
    config.max_in_flight = in_flight.parse()?;
    // Notice SIGTERM within 50 ms of the last job; while jobs keep coming,
    // reads return at once and this changes nothing.
    config.block = std::time::Duration::from_millis(50);
    let shutdown = CancellationToken::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        terminate.recv().await;
        on_signal.cancel();
    });
    run(redis::Client::open(url.as_str())?, config, shutdown).await;
    Ok(())
}

/// User + system time of the children this process has reaped, from
/// `/proc/self/stat` (fields 16 and 17, in clock ticks of 10 ms on Linux).
fn children_cpu() -> std::io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name, which is in parentheses: the first
    // is field 3, so field N is fields[N - 3]. Pick them by position: some
    // fields before them can be negative (field 8, the terminal's process
    // group, is -1 for a process without a terminal).
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| -> std::io::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no field {n} in /proc/self/stat")))
    };
    Ok(Duration::from_millis((field(16)? + field(17)?) * 10))
}

fn listing_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python_modules_available() -> bool {
    Command::new("python3")
        .args(["-c", "import redis, arq"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
