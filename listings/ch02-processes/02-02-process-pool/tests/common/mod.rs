//! Helpers shared by the test files (each file is its own test program, and
//! not every one uses every helper).
#![allow(dead_code)]

use std::time::Duration;

use ch02_02_process_pool::{JobHandle, JobResult, WORKER_ARG, WorkerCommand};

/// This package's program in worker mode: Cargo builds it for the tests.
pub fn worker_command() -> WorkerCommand {
    WorkerCommand::new(env!("CARGO_BIN_EXE_ch02-02-process-pool")).arg(WORKER_ARG)
}

/// Waits for a job. The bound only keeps a broken pool from hanging the
/// test run; no job here comes anywhere near it.
pub fn finish(handle: JobHandle) -> JobResult {
    assert!(
        handle.wait_timeout(Duration::from_secs(60)),
        "the job did not finish within a minute"
    );
    handle.get()
}

/// The process id a `pid` job returned.
pub fn pid_of(result: JobResult) -> u32 {
    result
        .expect("the pid job succeeds")
        .parse()
        .expect("a process id")
}
