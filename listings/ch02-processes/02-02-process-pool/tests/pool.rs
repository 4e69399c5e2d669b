//! The pool doing its normal work: jobs run in worker processes, answers come
//! back to the right handle, `map` keeps order, and a closed pool finishes
//! what it was given.

mod common;

use std::process;

use ch02_02_process_pool::{JobError, Pool};
use common::{finish, pid_of, worker_command};

#[test]
fn a_batch_runs_in_the_workers_and_map_keeps_input_order() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    let workers = pool.worker_pids();
    assert_eq!(workers.len(), 2);
    assert!(!workers.contains(&process::id()));

    let names: Vec<String> = (0..40).map(|i| format!("job-{i}")).collect();
    let reports = pool.map("worker", &names);
    assert_eq!(reports.len(), names.len());
    for (name, report) in names.iter().zip(reports) {
        let report = report.expect("a worker job succeeds");
        let prefix = format!("Worker {name} is working in process ");
        let pid: u32 = report
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{report:?} answers another job"))
            .parse()
            .expect("a process id");
        assert!(workers.contains(&pid), "{pid} is not one of {workers:?}");
    }
    pool.join();
}

#[test]
fn submit_returns_a_handle_for_each_job() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    let handles: Vec<_> = ["x", "y", "z"]
        .into_iter()
        .map(|name| (name, pool.submit("worker", name)))
        .collect();
    // Waited for in reverse: each handle holds its own job's answer.
    for (name, handle) in handles.into_iter().rev() {
        let report = finish(handle).expect("a worker job succeeds");
        assert!(report.starts_with(&format!("Worker {name} is")), "{report}");
    }
}

#[test]
fn text_with_newlines_and_backslashes_crosses_unchanged() {
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    let awkward = "two\nlines,\r\na \\ backslash and a literal \\n";
    // `fail` hands its input back as the error message.
    match finish(pool.submit("fail", awkward)) {
        Err(JobError::Failed(message)) => assert_eq!(message, awkward),
        other => panic!("expected the job's own error, got {other:?}"),
    }
    let report = finish(pool.submit("worker", awkward)).expect("a worker job succeeds");
    assert!(report.starts_with(&format!("Worker {awkward} is working")));
}

#[test]
fn an_unknown_job_is_that_jobs_error() {
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    match finish(pool.submit("no_such_job", "")) {
        Err(JobError::Failed(message)) => assert!(message.contains("no_such_job"), "{message}"),
        other => panic!("expected an error naming the job, got {other:?}"),
    }
    assert!(finish(pool.submit("pid", "")).is_ok(), "the worker goes on");
}

#[test]
fn a_job_name_must_be_one_word() {
    let pool = Pool::new(1, worker_command()).expect("the pool starts");
    for name in ["", "two words", "new\nline"] {
        assert!(
            matches!(finish(pool.submit(name, "")), Err(JobError::Rejected(_))),
            "{name:?} was accepted"
        );
    }
}

#[test]
fn a_closed_pool_rejects_new_jobs_and_finishes_queued_ones() {
    let mut pool = Pool::new(2, worker_command()).expect("the pool starts");
    let queued: Vec<_> = (0..10).map(|_| pool.submit("pid", "")).collect();
    pool.close();
    let late = pool.submit("pid", "");
    pool.join();

    for handle in queued {
        pid_of(finish(handle));
    }
    match finish(late) {
        Err(error @ JobError::Rejected(_)) => {
            assert!(error.to_string().contains("closed"), "{error}");
        }
        other => panic!("a closed pool took a job: {other:?}"),
    }
}

#[test]
fn dropping_a_pool_still_answers_every_queued_job() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    let queued: Vec<_> = (0..10).map(|_| pool.submit("pid", "")).collect();
    drop(pool);
    for handle in queued {
        pid_of(finish(handle));
    }
}

#[test]
fn a_pool_needs_a_worker() {
    let error = Pool::new(0, worker_command())
        .err()
        .expect("an empty pool is refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn threads_can_share_a_pool() {
    let pool = Pool::new(2, worker_command()).expect("the pool starts");
    // `submit` takes `&self`, and `Pool` is `Sync`: borrow it from threads.
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let pool = &pool;
            scope.spawn(move || {
                let name = format!("thread-{thread}");
                let report = finish(pool.submit("worker", &name)).expect("a worker job succeeds");
                assert!(report.starts_with(&format!("Worker {name} is")), "{report}");
            });
        }
    });
}
