//! Faults and bad input: each gives the job it hits (or the constructor) a
//! clear error, the pool replaces a worker that is gone, and every other job
//! still gets its answer.

mod common;

use std::io::ErrorKind;

use ch02_02_process_pool::{JobError, JobHandle, Pool, WorkerCommand};
use common::{finish, pid_of, worker_command};

/// Submits `doomed` between two batches of healthy jobs, and checks that the
/// healthy ones all succeed. Returns the doomed job's result.
fn among_healthy_jobs(pool: &Pool, job: &str, input: &str) -> Result<String, JobError> {
    let before: Vec<JobHandle> = (0..5).map(|_| pool.submit("pid", "")).collect();
    let doomed = pool.submit(job, input);
    let after: Vec<JobHandle> = (0..5).map(|_| pool.submit("pid", "")).collect();
    for handle in before.into_iter().chain(after) {
        pid_of(finish(handle));
    }
    finish(doomed)
}

#[test]
fn a_job_that_panics_gets_the_panic_message_and_the_worker_goes_on() {
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    let worker = pool.worker_pids();

    match among_healthy_jobs(&pool, "panic", "the input was bad") {
        Err(JobError::Panicked(message)) => {
            assert!(message.contains("the input was bad"), "{message}");
            // The worker's panic hook adds where it happened.
            assert!(message.contains("src/main.rs:"), "{message}");
        }
        other => panic!("expected the panic, got {other:?}"),
    }
    // The worker caught the panic: it is the same process as before.
    assert_eq!(pool.worker_pids(), worker);
}

#[test]
fn a_worker_that_exits_during_a_job_fails_only_that_job_and_is_replaced() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");

    let dead = match among_healthy_jobs(&pool, "exit", "3") {
        Err(JobError::WorkerDied { pid, status }) => {
            assert_eq!(status.and_then(|status| status.code()), Some(3));
            pid
        }
        other => panic!("expected the worker's death, got {other:?}"),
    };
    // The replacement was started before the error was reported.
    let workers = pool.worker_pids();
    assert_eq!(workers.len(), 2, "{workers:?}");
    assert!(!workers.contains(&dead), "{dead} is still in {workers:?}");
    for result in pool.map("pid", [""; 10]) {
        assert_ne!(pid_of(result), dead);
    }
}

// ANCHOR: abort
#[test]
fn a_worker_that_crashes_during_a_job_fails_only_that_job_and_is_replaced() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");

    // `abort` ends the worker process with SIGABRT on Unix: a crash.
    let dead = match among_healthy_jobs(&pool, "abort", "") {
        Err(JobError::WorkerDied { pid, status }) => {
            assert!(status.is_some_and(|status| !status.success()));
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                assert_eq!(status.and_then(|status| status.signal()), Some(6));
            }
            pid
        }
        other => panic!("expected the worker's death, got {other:?}"),
    };
    let workers = pool.worker_pids();
    assert_eq!(workers.len(), 2, "{workers:?}");
    assert!(!workers.contains(&dead), "{dead} is still in {workers:?}");
    assert!(pool.map("pid", [""; 10]).into_iter().all(|r| r.is_ok()));
}
// ANCHOR_END: abort

#[cfg(unix)]
#[test]
fn a_worker_that_breaks_the_wire_format_is_killed_and_replaced() {
    // A program that greets like a worker, then answers every job with a
    // line that is not an answer. (A job of a real worker cannot do this:
    // what it prints goes to stderr.)
    let garbler = WorkerCommand::new("sh")
        .arg("-c")
        .arg("echo 'ready pool-v1'; while read -r job; do echo 'hello from a garbler'; done");
    let pool = Pool::new(1, garbler).expect("the pool starts");
    let first = pool.worker_pids();

    match finish(pool.submit("pid", "")) {
        Err(JobError::Protocol { pid, detail }) => {
            assert_eq!([pid], first[..]);
            assert!(detail.contains("hello from a garbler"), "{detail}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    // The replacement is another garbler, but another process.
    let workers = pool.worker_pids();
    assert_eq!(workers.len(), 1, "{workers:?}");
    assert_ne!(workers, first);
}

/// Kills `pid` with SIGKILL, as the out-of-memory killer or an operator would.
#[cfg(unix)]
fn kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("the kill command runs");
    assert!(status.success(), "kill {pid} failed");
}

#[cfg(unix)]
#[test]
fn a_worker_killed_by_another_process_during_a_job_fails_only_that_job() {
    use std::os::unix::process::ExitStatusExt;
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    let marker: PathBuf = std::env::temp_dir().join(format!(
        "ch02-02-process-pool-{}-killed",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&marker);

    let doomed = pool.submit("wait_to_be_killed", &marker.to_string_lossy());
    let healthy: Vec<JobHandle> = (0..10).map(|_| pool.submit("pid", "")).collect();

    // The job writes its worker's pid into the marker file once it runs.
    let started = Instant::now();
    let victim: u32 = loop {
        if let Ok(text) = std::fs::read_to_string(&marker) {
            break text.parse().expect("the marker holds a pid");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = std::fs::remove_file(&marker);
    kill(victim);

    match finish(doomed) {
        Err(JobError::WorkerDied { pid, status }) => {
            assert_eq!(pid, victim);
            assert_eq!(status.and_then(|status| status.signal()), Some(9));
        }
        other => panic!("expected the worker's death, got {other:?}"),
    }
    for handle in healthy {
        pid_of(finish(handle));
    }
    assert_eq!(pool.worker_pids().len(), 2);
    assert!(!pool.worker_pids().contains(&victim));
}

#[cfg(target_os = "linux")]
#[test]
fn an_idle_worker_that_was_killed_is_replaced_and_no_job_fails() {
    use std::time::{Duration, Instant};

    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    let victim = pool.worker_pids()[0];
    kill(victim);
    // Wait until it is dead for sure: a zombie, since only the pool reaps it.
    let started = Instant::now();
    while !is_zombie(victim) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{victim} did not die"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // The dead worker never read this job, so the pool gives it to a new one.
    let runner = pid_of(finish(pool.submit("pid", "")));
    assert_ne!(runner, victim);
    assert_eq!(pool.worker_pids(), [runner]);
}

#[cfg(target_os = "linux")]
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The state follows the command name, which is in parentheses.
            let (_, after_name) = stat.rsplit_once(')')?;
            after_name
                .split_whitespace()
                .next()
                .map(|state| state == "Z")
        })
        .unwrap_or(false)
}

#[test]
fn a_worker_program_that_does_not_exist_fails_the_constructor() {
    let missing = std::env::temp_dir().join("no-such-directory/no-such-worker");
    let error = Pool::new(2, WorkerCommand::new(&missing))
        .err()
        .expect("a pool without a worker program");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let message = error.to_string();
    assert!(message.contains("cannot start worker"), "{message}");
    assert!(message.contains("no-such-worker"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_worker_that_exits_before_it_is_ready_fails_the_constructor() {
    let command = WorkerCommand::new("sh").arg("-c").arg("exit 3");
    let error = Pool::new(2, command)
        .err()
        .expect("a worker that exits at once");
    assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
    let message = error.to_string();
    assert!(message.contains("exited before it was ready"), "{message}");
    assert!(message.contains("exit status: 3"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_program_that_is_not_a_worker_fails_the_constructor() {
    let command = WorkerCommand::new("echo").arg("hello");
    let error = Pool::new(1, command).err().expect("echo is not a worker");
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    let message = error.to_string();
    assert!(message.contains("not a pool worker"), "{message}");
    assert!(message.contains("hello"), "{message}");
}
