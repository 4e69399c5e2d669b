//! A pool whose owner is killed with SIGKILL, which no destructor survives:
//! on Linux its workers must go too, the busy ones included.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ch02_02_process_pool::Pool;
use common::worker_command;

/// Set in the environment of the copy of this test program that owns the
/// pool and gets killed.
const OWNER: &str = "CH02_02_PARENT_DEATH_OWNER";

/// Far longer than the owner needs to start, and than the kernel needs to
/// kill the workers; far shorter than the minute the busy job lasts, so a
/// worker that outlives its parent fails the test instead of hanging it.
const PROMPTLY: Duration = Duration::from_secs(20);

#[test]
fn workers_die_when_their_parent_is_killed() {
    if std::env::var_os(OWNER).is_some() {
        own_a_busy_pool();
        return;
    }
    // The owner is this test program again, running only this test, in the
    // branch above.
    let mut owner = Command::new(std::env::current_exe().expect("the test program"))
        .args(["--exact", "workers_die_when_their_parent_is_killed"])
        .args(["--nocapture", "--test-threads=1"])
        .env(OWNER, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the owner starts");
    let stdout = owner.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let line = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            // The harness may have begun the line with the test's name.
            .find_map(|line| Some(line.split_once("workers:")?.1.to_owned()));
        let _ = sender.send(line);
    });
    let workers = receiver.recv_timeout(PROMPTLY);
    // `Child::kill` is SIGKILL on Unix: no destructor, no handler runs.
    owner.kill().expect("the owner can be killed");
    owner.wait().expect("the owner is reaped");
    let workers: Vec<u32> = workers
        .expect("the owner started its pool in time")
        .expect("the owner printed its workers")
        .split_whitespace()
        .map(|pid| pid.parse().expect("a process id"))
        .collect();
    assert_eq!(workers.len(), 2, "{workers:?}");

    let killed = Instant::now();
    for pid in workers {
        while is_running(pid) {
            assert!(
                killed.elapsed() < PROMPTLY,
                "worker {pid} still runs {PROMPTLY:?} after its parent was killed"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Starts a pool of two workers, one of them busy with a job that lasts a
/// minute and the other idle, prints their process ids, and waits to be
/// killed.
fn own_a_busy_pool() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    let marker = std::env::temp_dir().join(format!(
        "ch02-02-process-pool-{}-parent-death",
        std::process::id()
    ));
    let _busy = pool.submit("wait_to_be_killed", &marker.to_string_lossy());
    // The job has started once it has written the marker: from then on, its
    // worker reads no more input and would notice its parent's death only
    // when it tries to answer.
    let started = Instant::now();
    while !marker.exists() {
        assert!(started.elapsed() < PROMPTLY, "the job did not start");
        thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_file(&marker);
    let pids: Vec<String> = pool.worker_pids().iter().map(u32::to_string).collect();
    println!("workers: {}", pids.join(" "));
    // Killed long before this ends; if not, the test above has failed.
    thread::sleep(Duration::from_secs(60));
    std::process::abort();
}

/// Whether `pid` is still running. A zombie has finished running; a process
/// that has been reaped is gone from `/proc`.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // `pid (name) state …`; the name may contain spaces and `)`.
            let (_, fields) = stat.rsplit_once(')')?;
            fields.split_whitespace().next().map(|state| state != "Z")
        })
        .unwrap_or(false)
}
