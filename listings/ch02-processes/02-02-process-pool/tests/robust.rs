//! The pool against the jobs it runs and the program that owns it: a job
//! that starts a helper program, a job that prints, Ctrl-C, and a pool that
//! must stop now.
#![cfg(target_os = "linux")]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ch02_02_process_pool::{JobError, Pool};
use common::{finish, pid_of, worker_command};

/// Far longer than any of these tests takes when the pool works, far shorter
/// than the helper's minute, so a pool that waits for the helper fails.
const PROMPTLY: Duration = Duration::from_secs(20);

/// A fresh file name for a job to write a process id into.
fn marker(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "ch02-02-process-pool-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// Field `index` (0-based, after the name) of `/proc/<pid>/stat`, or `None`
/// once the process is gone.
fn stat_field(pid: u32, index: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (name) state ppid pgrp …`; the name may contain spaces and `)`.
    let (_, fields) = stat.rsplit_once(')')?;
    fields.split_whitespace().nth(index).map(str::to_owned)
}

/// Whether `pid` is still running (a zombie has finished running).
fn is_running(pid: u32) -> bool {
    stat_field(pid, 0).is_some_and(|state| state != "Z")
}

#[test]
fn a_helper_program_that_prints_does_not_break_the_wire() {
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    let worker = pool.worker_pids();
    // `echo` inherits the worker's standard output, as `status()` does by
    // default: its line must not reach the pool as an answer.
    let answer = finish(pool.submit("run_echo", "hello from a helper"));
    assert_eq!(
        answer.expect("the job succeeds"),
        "echo ended: exit status: 0"
    );
    // So does `println!` in the job itself.
    finish(pool.submit("print", "hello from a job")).expect("the job succeeds");
    assert_eq!(pool.worker_pids(), worker, "the worker was replaced");
}

#[test]
fn a_helper_program_does_not_delay_the_news_that_its_worker_died() {
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    let marker = marker("helper");
    let started = Instant::now();
    // The job starts `sleep 60`, then crashes.
    let result = finish(pool.submit("helper_then_abort", &marker.to_string_lossy()));
    let took = started.elapsed();
    assert!(
        matches!(result, Err(JobError::WorkerDied { .. })),
        "{result:?}"
    );
    assert!(took < PROMPTLY, "the death was reported after {took:?}");

    // The helper was in the worker's process group, which the pool killed.
    let helper: u32 = std::fs::read_to_string(&marker)
        .expect("the job wrote its helper's pid")
        .parse()
        .expect("a process id");
    let _ = std::fs::remove_file(&marker);
    while is_running(helper) {
        assert!(started.elapsed() < PROMPTLY, "helper {helper} still runs");
        std::thread::sleep(Duration::from_millis(10));
    }
    // And the pool goes on with a new worker.
    pid_of(finish(pool.submit("pid", "")));
}

#[test]
fn each_worker_leads_its_own_process_group() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    // Ctrl-C signals the terminal's foreground process group: the parent's,
    // and no longer its workers.
    let own_group = stat_field(std::process::id(), 2).expect("this process exists");
    for worker in pool.worker_pids() {
        let group = stat_field(worker, 2).expect("the worker runs");
        assert_eq!(group, worker.to_string());
        assert_ne!(group, own_group);
    }
}

#[test]
fn terminate_kills_the_workers_and_fails_every_unanswered_job() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    let workers = pool.worker_pids();
    let marker = marker("terminate");
    // One job that is surely running when `terminate` comes, one that may
    // be, and four that wait in the queue behind them.
    let running = pool.submit("wait_to_be_killed", &marker.to_string_lossy());
    let others: Vec<_> = (0..5).map(|_| pool.submit("sleep", "60")).collect();
    let started = Instant::now();
    while !marker.exists() {
        assert!(started.elapsed() < PROMPTLY, "the job never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_file(&marker);

    pool.terminate();
    assert!(
        started.elapsed() < PROMPTLY,
        "terminate waited for the jobs"
    );
    for handle in std::iter::once(running).chain(others) {
        let result = finish(handle);
        assert!(matches!(result, Err(JobError::Terminated)), "{result:?}");
    }
    // Killed and reaped: not even a zombie is left.
    for worker in workers {
        assert!(stat_field(worker, 0).is_none(), "worker {worker} is left");
    }
}

#[test]
fn a_panic_with_a_busy_pool_in_scope_terminates_it_instead_of_waiting() {
    let started = Instant::now();
    let unwound = std::panic::catch_unwind(|| {
        let pool = Pool::new(1, worker_command()).expect("the pool starts");
        let _busy = pool.submit("sleep", "60");
        panic!("the caller fails while the job runs");
    });
    assert!(unwound.is_err());
    let took = started.elapsed();
    assert!(took < PROMPTLY, "unwinding waited {took:?} for the job");
}

#[test]
fn a_terminated_pool_takes_no_more_jobs_and_join_still_works() {
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    pid_of(finish(pool.submit("pid", "")));
    pool.terminate();

    // A pool that is dropped normally still waits for its jobs.
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    let slow = pool.submit("sleep", "0.3");
    drop(pool);
    assert!(slow.wait_timeout(Duration::ZERO), "drop did not wait");
    finish(slow).expect("the job ran to the end");
}
