//! The worker against a real `redis-server` (started per test, on a Unix
//! socket in a temporary directory): Python and Rust on one stream, both
//! ways, and the faults Part 8 says the worker survives. Without
//! `redis-server` (or, for the Python tests, python3 with redis-py) each test
//! prints `SKIPPED broker test …` and passes; `BOOK_REDIS_REQUIRED=1` makes
//! that a failure.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use ch08_01_stream_worker::broker::{self, Broker, Persistence};
use ch08_01_stream_worker::{Config, Job, JobResult, Report, connect, enqueue, run};
use ch08_01_stream_worker::{ensure_group, wait_for_results};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamInfoGroupsReply, StreamPendingCountReply, StreamRangeReply};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

/// Every wait in these tests is bounded by this; a correct run needs a
/// small fraction of it, even with the machine's cores busy.
const LIMIT: Duration = Duration::from_secs(20);

fn python_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/python"))
}

/// A worker configured to notice a stalled job within 100 ms.
fn quick_config(consumer: &str) -> Config {
    let mut config = Config::new(consumer);
    config.claim_idle = Duration::from_millis(100);
    config.block = Duration::from_millis(50);
    config.grace = Duration::from_secs(5);
    config
}

async fn connection(broker: &Broker) -> MultiplexedConnection {
    let mut conn = connect(&broker.client(), Duration::from_millis(50))
        .await
        .expect("the test broker answers");
    ensure_group(&mut conn, "jobs", "workers")
        .await
        .expect("the group can be created");
    conn
}

fn spawn_worker(broker: &Broker, config: Config) -> (CancellationToken, JoinHandle<Report>) {
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(run(broker.client(), config, shutdown.clone()));
    (shutdown, handle)
}

async fn stop(worker: (CancellationToken, JoinHandle<Report>)) -> Report {
    worker.0.cancel();
    timeout(LIMIT, worker.1)
        .await
        .expect("the worker stops within the limit")
        .expect("the worker does not panic")
}

async fn results(conn: &mut MultiplexedConnection) -> HashMap<String, JobResult> {
    let raw: HashMap<String, String> = conn.hgetall("results").await.expect("HGETALL");
    raw.into_iter()
        .map(|(id, json)| (id, serde_json::from_str(&json).expect("a JobResult")))
        .collect()
}

async fn done_count(conn: &mut MultiplexedConnection) -> u64 {
    let count: Option<u64> = conn.get("results:count").await.expect("GET");
    count.unwrap_or(0)
}

/// Pending entries of the group, as (entry id, consumer, deliveries).
async fn pending(conn: &mut MultiplexedConnection) -> Vec<(String, String, usize)> {
    let reply: StreamPendingCountReply = conn
        .xpending_count("jobs", "workers", "-", "+", 1000)
        .await
        .expect("XPENDING");
    reply
        .ids
        .into_iter()
        .map(|p| (p.id, p.consumer, p.times_delivered))
        .collect()
}

/// Polls until `condition` holds; panics with `what` after `LIMIT`.
async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(started.elapsed() < LIMIT, "timed out waiting until {what}");
        sleep(Duration::from_millis(5)).await;
    }
}

/// The interpreter `python3` starts, found once: under pyenv, `python3` is a
/// shell script that looks the version up on every start, and these tests
/// start Python a dozen times.
fn python3() -> Command {
    static INTERPRETER: OnceLock<PathBuf> = OnceLock::new();
    let path = INTERPRETER.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()
            .filter(|output| output.status.success())
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .map(|path| PathBuf::from(path.trim()))
            .filter(|path| path.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"))
    });
    Command::new(path)
}

/// `python3` with the modules a test needs, or a visible skip. Asked once
/// per list of modules, and with `find_spec`, which finds a module without
/// importing it: importing redis-py alone takes a third of a second of CPU,
/// and several tests ask. (So a module that is installed but broken fails
/// the test that uses it instead of skipping it.)
fn python_with(test: &str, modules: &str) -> bool {
    static FOUND: Mutex<BTreeMap<String, bool>> = Mutex::new(BTreeMap::new());
    let mut found = FOUND.lock().unwrap_or_else(PoisonError::into_inner);
    let has_them = *found.entry(modules.to_owned()).or_insert_with(|| {
        let names: Vec<&str> = modules.split(',').map(str::trim).collect();
        python3()
            .args([
                "-c",
                "import importlib.util, sys\n\
                 sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 1)",
            ])
            .args(names)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    drop(found);
    if !has_them {
        broker::skip(test, &format!("python3 cannot import {modules}"));
    }
    has_them
}

/// Runs a Python program of this listing to its end, within `LIMIT`.
fn run_python(script: &str, args: &[&str]) -> String {
    let mut python = python3();
    python.arg(script).args(args).current_dir(python_dir());
    let output = output_within(python, LIMIT);
    assert!(
        output.status.success(),
        "{script} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn square_jobs(prefix: &str, count: u64) -> Vec<Job> {
    (0..count)
        .map(|n| Job {
            id: format!("{prefix}-{n}"),
            task: "square".into(),
            arg: n,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_producer_feeds_rust_workers() {
    let test = "a_python_producer_feeds_rust_workers";
    if !python_with(test, "redis") {
        return;
    }
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    let printed = run_python("producer.py", &[&broker.url(), "20"]);
    assert_eq!(printed, "added 20 jobs to the stream 'jobs'\n");

    let workers: Vec<_> = ["rust-a", "rust-b"]
        .into_iter()
        .map(|name| spawn_worker(&broker, quick_config(name)))
        .collect();
    let done = wait_for_results(&mut conn, "results:count", 20, LIMIT).await;
    assert_eq!(done, Some(20), "every job done, none twice");
    let mut reports = Vec::new();
    for worker in workers {
        reports.push(stop(worker).await);
    }
    assert_eq!(reports.iter().map(|r| r.done).sum::<usize>(), 20);

    let results = results(&mut conn).await;
    for n in 0..20u64 {
        let result = &results[&format!("py-{n}")];
        assert_eq!(result.value, n * n);
        assert!(result.worker.starts_with("rust-"));
    }
    assert!(
        pending(&mut conn).await.is_empty(),
        "every entry acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_producer_feeds_a_python_worker() {
    let test = "a_rust_producer_feeds_a_python_worker";
    if !python_with(test, "redis") {
        return;
    }
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    for job in square_jobs("rs", 10) {
        enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    }
    let url = broker.url();
    tokio::task::spawn_blocking(move || run_python("streams_worker.py", &[&url, "--burst"]))
        .await
        .expect("the burst worker succeeds");

    // The Python worker's results parse as the Rust `JobResult`.
    let results = results(&mut conn).await;
    assert_eq!(results.len(), 10);
    for n in 0..10u64 {
        let result = &results[&format!("rs-{n}")];
        assert_eq!(result.value, n * n);
        assert!(result.worker.starts_with("python-"));
    }
    assert_eq!(done_count(&mut conn).await, 10);
    assert!(pending(&mut conn).await.is_empty());
}

#[test]
fn the_rq_program_prints_what_the_book_shows() {
    let test = "the_rq_program_prints_what_the_book_shows";
    if !python_with(test, "redis, rq") {
        return;
    }
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let printed = run_python("rq_demo.py", &[&broker.url()]);
    let expected = std::fs::read_to_string(python_dir().join("rq_demo.output.txt"))
        .expect("rq_demo.output.txt is committed");
    assert_eq!(printed, expected);
}

// ANCHOR: sigkill
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_is_killed_is_redelivered_and_done_once() {
    let test = "a_job_whose_worker_is_killed_is_redelivered_and_done_once";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    // A worker process, which the test kills with SIGKILL mid-job.
    let mut doomed = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ch08-01-stream-worker"))
            .args([&broker.url(), "--consumer", "doomed"])
            .stdout(Stdio::null())
            .spawn()
            .expect("the worker binary starts"),
    );
    let job = Job {
        id: "slow-1".into(),
        task: "sleep".into(),
        arg: 500,
    };
    enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    wait_until("the doomed worker holds the job", || {
        let mut conn = conn.clone();
        async move { pending(&mut conn).await.iter().any(|p| p.1 == "doomed") }
    })
    .await;
    doomed.0.kill().expect("SIGKILL");
    doomed.0.wait().expect("reaped");
    assert_eq!(done_count(&mut conn).await, 0, "killed before it finished");

    let survivor = spawn_worker(&broker, quick_config("survivor"));
    let done = wait_for_results(&mut conn, "results:count", 1, LIMIT).await;
    assert_eq!(done, Some(1));
    let report = stop(survivor).await;
    assert_eq!(report.done, 1);
    assert_eq!(results(&mut conn).await["slow-1"].worker, "survivor");
    assert_eq!(done_count(&mut conn).await, 1, "done exactly once");
    assert!(pending(&mut conn).await.is_empty());
}
// ANCHOR_END: sigkill

/// Kills the child when the test ends, also when it panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` with its output captured and waits for it as
/// `wait_within` does.
fn output_within(mut command: Command, limit: Duration) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    wait_within(KillOnDrop(child), limit)
}

/// Waits for a child to exit, for `limit` at most: one still running then
/// is killed and the test fails, rather than hanging. A blocking `wait`
/// cannot be bounded, so this polls `try_wait`; threads drain the pipes
/// meanwhile, so that a full pipe cannot stop the child.
fn wait_within(mut child: KillOnDrop, limit: Duration) -> Output {
    let stdout = drain(child.0.stdout.take());
    let stderr = drain(child.0.stderr.take());
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "process {} still running after {limit:?}",
            child.0.id()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = stdout.join().expect("the reader thread");
    let stderr = stderr.join().expect("the reader thread");
    Output {
        status,
        stdout,
        stderr,
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes).expect("the pipe reads");
        }
        bytes
    })
}

// ANCHOR: duplicate
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_sent_twice_is_recorded_once() {
    let test = "a_job_sent_twice_is_recorded_once";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    // A producer that retried an XADD whose reply it never saw: two
    // entries, one job id.
    let job = Job {
        id: "order-42".into(),
        task: "square".into(),
        arg: 42,
    };
    enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    let workers = [
        spawn_worker(&broker, quick_config("one")),
        spawn_worker(&broker, quick_config("two")),
    ];
    wait_until("both entries are acknowledged", || {
        let mut conn = conn.clone();
        async move {
            let groups: StreamInfoGroupsReply =
                conn.xinfo_groups("jobs").await.expect("XINFO GROUPS");
            let group = &groups.groups[0];
            group.entries_read == Some(2) && group.pending == 0
        }
    })
    .await;
    let mut reports = Vec::new();
    for worker in workers {
        reports.push(stop(worker).await);
    }
    let (done, duplicates): (usize, usize) = reports
        .iter()
        .fold((0, 0), |(d, u), r| (d + r.done, u + r.duplicates));
    assert_eq!((done, duplicates), (1, 1), "run twice, recorded once");
    assert_eq!(done_count(&mut conn).await, 1, "its effect applied once");
}
// ANCHOR_END: duplicate

// ANCHOR: restart
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_no_acknowledged_job() {
    let test = "a_broker_restart_loses_no_acknowledged_job";
    let Some(mut broker) = broker::for_test(test, Persistence::AppendFsyncAlways) else {
        return;
    };
    let mut conn = connection(&broker).await;
    let jobs: Vec<Job> = (0..40)
        .map(|n| Job {
            id: format!("job-{n}"),
            task: "sleep".into(),
            arg: 10,
        })
        .collect();
    for job in &jobs {
        // Each XADD that returned an id is a job the broker acknowledged.
        enqueue(&mut conn, "jobs", job).await.expect("XADD");
    }
    let mut config = quick_config("steady");
    config.max_in_flight = 4;
    let worker = spawn_worker(&broker, config);
    wait_until("a few jobs are done", || {
        let mut conn = conn.clone();
        async move { done_count(&mut conn).await >= 8 }
    })
    .await;

    // A crash of the broker, mid-run, and a restart on the same data.
    broker.restart().expect("the broker restarts");
    let mut conn = connection(&broker).await;
    let done = wait_for_results(&mut conn, "results:count", 40, LIMIT).await;
    stop(worker).await;
    assert_eq!(done, Some(40), "every job done after the restart");
    let results = results(&mut conn).await;
    assert!(jobs.iter().all(|job| results.contains_key(&job.id)));
    assert!(pending(&mut conn).await.is_empty());
}
// ANCHOR_END: restart

// ANCHOR: dead_letter
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_always_fails_ends_in_the_dead_letter_stream() {
    let test = "a_job_that_always_fails_ends_in_the_dead_letter_stream";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    let poison = Job {
        id: "poison".into(),
        task: "fail".into(),
        arg: 0,
    };
    enqueue(&mut conn, "jobs", &poison).await.expect("XADD");
    for job in square_jobs("fine", 3) {
        enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    }
    let worker = spawn_worker(&broker, quick_config("only"));
    wait_until("the poison job is dead-lettered", || {
        let mut conn = conn.clone();
        async move { conn.xlen::<_, usize>("jobs:dead").await.expect("XLEN") == 1 }
    })
    .await;
    let report = stop(worker).await;

    assert_eq!(report.failed, 3, "three deliveries, three failures");
    assert_eq!(report.dead_lettered, 1);
    assert_eq!(report.done, 3, "the other jobs are unaffected");
    let dead: StreamRangeReply = conn.xrange_all("jobs:dead").await.expect("XRANGE");
    let entry = &dead.ids[0];
    let job: String = entry.get("job").expect("the job is kept");
    assert_eq!(serde_json::from_str::<Job>(&job).expect("JSON"), poison);
    assert_eq!(entry.get::<String>("deliveries").as_deref(), Some("4"));
    assert!(
        pending(&mut conn).await.is_empty(),
        "acknowledged in the group"
    );
}
// ANCHOR_END: dead_letter

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_jobs_than_the_limit_are_in_flight() {
    let test = "no_more_jobs_than_the_limit_are_in_flight";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    for n in 0..24 {
        let job = Job {
            id: format!("job-{n}"),
            task: "sleep".into(),
            arg: 20,
        };
        enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    }
    let mut config = quick_config("bounded");
    config.max_in_flight = 3;
    let worker = spawn_worker(&broker, config);
    // Entries this worker holds unacknowledged are the jobs it runs.
    let mut most = 0;
    let started = Instant::now();
    while done_count(&mut conn).await < 24 {
        most = most.max(pending(&mut conn).await.len());
        assert!(started.elapsed() < LIMIT, "timed out");
        sleep(Duration::from_millis(2)).await;
    }
    stop(worker).await;
    assert!(most >= 1, "the sampling saw jobs in flight");
    assert!(most <= 3, "at most 3 jobs in flight, saw {most}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_finishes_short_jobs_and_hands_back_long_ones() {
    let test = "a_shutdown_finishes_short_jobs_and_hands_back_long_ones";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    // The short jobs outlast the time the worker takes to notice the
    // cancellation (one blocking read, 50 ms here), so only the grace
    // period lets them finish.
    for (id, ms) in [("short-1", 200), ("short-2", 200), ("long-1", 60_000)] {
        let job = Job {
            id: id.into(),
            task: "sleep".into(),
            arg: ms,
        };
        enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    }
    let mut config = quick_config("leaving");
    // Five times the short jobs' length: they sleep, so a busy machine
    // delays them little, and the long one is handed back after it.
    config.grace = Duration::from_millis(1000);
    let worker = spawn_worker(&broker, config);
    wait_until("all three are in flight", || {
        let mut conn = conn.clone();
        async move { pending(&mut conn).await.len() == 3 }
    })
    .await;
    let report = stop(worker).await;

    assert_eq!(report.done, 2, "the short jobs finished: {report:?}");
    assert_eq!(report.handed_back, 1);
    // Not lost: the long job is still pending, for another worker to claim.
    let left = pending(&mut conn).await;
    assert_eq!(left.len(), 1);
    let results = results(&mut conn).await;
    assert!(results.contains_key("short-1") && results.contains_key("short-2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_worker_process_finish_its_job() {
    let test = "sigterm_lets_the_worker_process_finish_its_job";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    let worker = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ch08-01-stream-worker"))
            .args([&broker.url(), "--consumer", "terminated"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the worker binary starts"),
    );
    let job = Job {
        id: "in-flight".into(),
        task: "sleep".into(),
        arg: 200,
    };
    enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    wait_until("the worker holds the job", || {
        let mut conn = conn.clone();
        async move { !pending(&mut conn).await.is_empty() }
    })
    .await;
    let pid = worker.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.expect("kill runs").success());

    let output = tokio::task::spawn_blocking(move || wait_within(worker, LIMIT))
        .await
        .expect("the worker exits within the limit");
    let (status, printed) = (output.status, String::from_utf8_lossy(&output.stdout));
    assert!(status.success(), "exited cleanly: {status}");
    assert!(printed.contains("done: 1"), "{printed}");
    assert_eq!(done_count(&mut conn).await, 1);
    assert!(pending(&mut conn).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_cpu_bound_job_exits_after_the_grace_period() {
    let test = "sigterm_during_a_cpu_bound_job_exits_after_the_grace_period";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    let worker = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ch08-01-stream-worker"))
            .args([
                &broker.url(),
                "--consumer",
                "computing",
                "--grace-ms",
                "200",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the worker binary starts"),
    );
    // Minutes of trial division on a blocking thread, which no abort stops.
    let job = Job {
        id: "endless".into(),
        task: "count_primes".into(),
        arg: 2_000_000_000,
    };
    enqueue(&mut conn, "jobs", &job).await.expect("XADD");
    wait_until("the worker holds the job", || {
        let mut conn = conn.clone();
        async move { !pending(&mut conn).await.is_empty() }
    })
    .await;
    let pid = worker.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.expect("kill runs").success());

    // The grace period is 200 ms; five seconds leave room for a busy machine.
    let output = tokio::task::spawn_blocking(move || wait_within(worker, Duration::from_secs(5)))
        .await
        .expect("the worker exits soon after the grace period");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "exited cleanly: {}", output.status);
    assert!(printed.contains("handed_back: 1"), "{printed}");
    // Not lost: still pending, for another worker to claim.
    assert_eq!(pending(&mut conn).await.len(), 1);
    assert_eq!(done_count(&mut conn).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_worker_dead_letters_an_entry_that_is_not_a_job() {
    let test = "the_python_worker_dead_letters_an_entry_that_is_not_a_job";
    if !python_with(test, "redis") {
        return;
    }
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    let _: String = conn
        .xadd("jobs", "*", &[("job", "{not json")])
        .await
        .expect("XADD");
    let _: String = conn
        .xadd("jobs", "*", &[("note", "no job field")])
        .await
        .expect("XADD");
    // JSON, but not the shape of a `Job`, which the Rust worker rejects too.
    let _: String = conn
        .xadd("jobs", "*", &[("job", r#"["id", 7]"#)])
        .await
        .expect("XADD");
    let url = broker.url();
    tokio::task::spawn_blocking(move || run_python("streams_worker.py", &[&url, "--burst"]))
        .await
        .expect("the burst worker succeeds");

    let dead: StreamRangeReply = conn.xrange_all("jobs:dead").await.expect("XRANGE");
    assert_eq!(dead.ids.len(), 3, "every entry set aside");
    for entry in &dead.ids {
        let reason: String = entry.get("reason").expect("a reason");
        assert_eq!(reason, "not a job");
    }
    assert!(pending(&mut conn).await.is_empty(), "all acknowledged");
}

/// 100 jobs delivered to a live consumer, `alive`, which is busy with them,
/// and, last in the pending list, the job `stale`, whose consumer died an
/// hour ago: only a claimer that follows XAUTOCLAIM's cursor reaches it.
async fn stale_job_behind_live_ones(conn: &mut MultiplexedConnection) {
    for job in square_jobs("busy", 100) {
        enqueue(conn, "jobs", &job).await.expect("XADD");
    }
    let stale = Job {
        id: "stale".into(),
        task: "square".into(),
        arg: 7,
    };
    let stale_id = enqueue(conn, "jobs", &stale).await.expect("XADD");
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP", "workers", "alive", "COUNT", "101", "STREAMS", "jobs", ">",
        ])
        .query_async(conn)
        .await
        .expect("XREADGROUP");
    let _: redis::Value = redis::cmd("XCLAIM")
        .arg(&["jobs", "workers", "dead", "0", &stale_id, "IDLE", "3600000"])
        .query_async(conn)
        .await
        .expect("XCLAIM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_job_behind_many_live_ones_is_claimed() {
    let test = "a_stale_job_behind_many_live_ones_is_claimed";
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    stale_job_behind_live_ones(&mut conn).await;

    // Eight slots: one XAUTOCLAIM call scans 80 pending entries, and the
    // stale one is the 101st. Only a worker that keeps the cursor gets there.
    let mut config = quick_config("claimer");
    config.claim_idle = Duration::from_secs(60);
    config.max_in_flight = 8;
    let worker = spawn_worker(&broker, config);
    let done = wait_for_results(&mut conn, "results:count", 1, LIMIT).await;
    let report = stop(worker).await;
    assert_eq!(
        done,
        Some(1),
        "the stale job was claimed and done: {report:?}"
    );
    assert_eq!(results(&mut conn).await["stale"].worker, "claimer");
    let left = pending(&mut conn).await;
    assert_eq!(left.len(), 100, "the live consumer keeps its jobs");
    assert!(left.iter().all(|p| p.1 == "alive"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_worker_claims_a_stale_job_behind_many_live_ones() {
    let test = "the_python_worker_claims_a_stale_job_behind_many_live_ones";
    if !python_with(test, "redis") {
        return;
    }
    let Some(broker) = broker::for_test(test, Persistence::None) else {
        return;
    };
    let mut conn = connection(&broker).await;
    // The Python worker claims one entry per call, so each call scans 10
    // pending entries.
    stale_job_behind_live_ones(&mut conn).await;

    let worker = KillOnDrop(
        python3()
            .args(["streams_worker.py", &broker.url()])
            .current_dir(python_dir())
            .env("CLAIM_IDLE_MS", "60000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let done = wait_for_results(&mut conn, "results:count", 1, LIMIT).await;
    let pid = worker.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.expect("kill runs").success());
    let output = tokio::task::spawn_blocking(move || wait_within(worker, LIMIT))
        .await
        .expect("the Python worker exits on SIGTERM");
    assert_eq!(
        done,
        Some(1),
        "the stale job was claimed and done: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "exited cleanly: {}", output.status);
    assert!(
        results(&mut conn).await["stale"]
            .worker
            .starts_with("python-")
    );
    let left = pending(&mut conn).await;
    assert_eq!(left.len(), 100, "the live consumer keeps its jobs");
    assert!(left.iter().all(|p| p.1 == "alive"));
}
