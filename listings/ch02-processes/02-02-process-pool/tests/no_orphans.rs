//! No process left behind: however a pool ends, and whatever happened to its
//! workers, every process it started has been waited for. A process that is
//! never waited for stays a zombie; one still running when the pool is gone
//! becomes an orphan. On Linux, `/proc` shows both.
//!
//! Each test checks that this test program has no child process at all, so
//! the tests in this file take turns: a pool of another test must not be
//! running at the same time.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ch02_02_process_pool::{JobError, JobHandle, Pool, WorkerCommand};
use common::{finish, pid_of, worker_command};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This program's child processes, running or zombie, with their state.
fn children() -> Vec<(u32, String)> {
    let me = std::process::id().to_string();
    let mut children = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc is readable").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A process may exit while we look: skip what is gone.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (name) state ppid …`; the name may contain spaces and `)`.
        let Some((_, fields)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = fields.split_whitespace();
        let (Some(state), Some(ppid)) = (fields.next(), fields.next()) else {
            continue;
        };
        if ppid == me {
            children.push((pid, state.to_owned()));
        }
    }
    children
}

fn assert_no_children() {
    let children = children();
    assert!(
        children.is_empty(),
        "left behind (pid, state): {children:?}"
    );
}

#[test]
fn joining_a_pool_reaps_every_worker() {
    let _turn = take_turn();
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    assert_eq!(children().len(), 2);
    for result in pool.map("pid", [""; 20]) {
        pid_of(result);
    }
    pool.join();
    assert_no_children();
}

// ANCHOR: orphans
#[test]
fn dropping_a_pool_after_crashes_reaps_every_worker_it_ever_started() {
    let _turn = take_turn();
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    let mut handles: Vec<JobHandle> = Vec::new();
    for (job, input) in [
        ("exit", "3"),
        ("abort", ""),
        ("run_echo", "a helper program"),
        ("panic", "!"),
    ] {
        handles.push(pool.submit(job, input));
        handles.extend((0..3).map(|_| pool.submit("pid", "")));
    }
    for handle in handles {
        match finish(handle) {
            // A dead worker is reaped before its job's error is reported.
            Err(JobError::WorkerDied { pid, .. } | JobError::Protocol { pid, .. }) => {
                assert!(!children().iter().any(|(child, _)| *child == pid));
            }
            Err(JobError::Panicked(_)) => {}
            // The `pid` jobs, and the job that ran `echo`.
            Ok(_) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    drop(pool);
    assert_no_children();
}
// ANCHOR_END: orphans

#[test]
fn a_constructor_that_fails_halfway_reaps_the_workers_it_started() {
    let _turn = take_turn();
    let lock =
        std::env::temp_dir().join(format!("ch02-02-process-pool-{}-first", std::process::id()));
    let _ = fs::remove_dir(&lock);
    // The first start wins the `mkdir` and becomes a real worker; every
    // later one loses it and exits, which fails the constructor.
    let command = WorkerCommand::new("sh")
        .arg("-c")
        .arg(r#"mkdir "$0" 2>/dev/null && exec "$1" --worker; exit 3"#)
        .arg(&lock)
        .arg(env!("CARGO_BIN_EXE_ch02-02-process-pool"));
    let error = Pool::new(3, command)
        .err()
        .expect("the second worker fails");
    let _ = fs::remove_dir(&lock);
    assert!(error.to_string().contains("exit status: 3"), "{error}");
    assert_no_children();
}

#[test]
fn a_replacement_that_cannot_start_is_the_next_jobs_error() {
    let _turn = take_turn();
    // A copy of the worker program that can be deleted while the pool runs.
    let copy = std::env::temp_dir().join(format!(
        "ch02-02-process-pool-{}-worker",
        std::process::id()
    ));
    fs::copy(env!("CARGO_BIN_EXE_ch02-02-process-pool"), &copy).expect("a copy of the worker");
    let pool = Pool::new(1, WorkerCommand::new(&copy).arg("--worker"));
    fs::remove_file(&copy).expect("the copy is removed");
    let pool = pool.expect("the pool starts");

    assert!(matches!(
        finish(pool.submit("exit", "1")),
        Err(JobError::WorkerDied { .. })
    ));
    match finish(pool.submit("pid", "")) {
        Err(error @ JobError::WorkerStart(_)) => {
            let message = error.to_string();
            assert!(message.contains("cannot start worker"), "{message}");
        }
        other => panic!("expected a start error, got {other:?}"),
    }
    assert!(pool.worker_pids().is_empty());
    drop(pool);
    assert_no_children();
}
