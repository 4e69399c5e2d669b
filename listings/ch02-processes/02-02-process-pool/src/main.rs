use std::env;
use std::error::Error;
use std::fs;
use std::process::{self, Command};
use std::thread;
use std::time::Duration;

use ch02_02_process_pool::{Pool, WORKER_ARG, WorkerCommand, worker};

// ANCHOR: main
fn main() -> Result<(), Box<dyn Error>> {
    // The pool starts this same program again with `--worker`. In that mode
    // it serves jobs instead of running the demo.
    if env::args().nth(1).as_deref() == Some(WORKER_ARG) {
        return Ok(worker::serve(run_job)?);
    }

    let mut pool = Pool::new(2, WorkerCommand::current_exe()?)?;
    let workers = pool.worker_pids();
    println!(
        "parent process {} started worker processes {} and {}",
        process::id(),
        workers[0],
        workers[1]
    );

    // Three jobs, queued at once; each handle is a promise of an answer.
    let handles: Vec<_> = ["A", "B", "C"]
        .into_iter()
        .map(|name| pool.submit("worker", name))
        .collect();

    pool.close(); // no more jobs
    pool.join(); // every job has run, every worker has exited

    for handle in handles {
        let report = handle.get()?;
        println!("{report}");
        // The report ends in the id of the process that wrote it.
        let pid: u32 = report.rsplit(' ').next().unwrap_or_default().parse()?;
        assert!(workers.contains(&pid), "the job ran outside the pool");
    }
    println!("All processes have finished");
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: registry
/// Every job a worker can run, by name: a closure cannot travel to another
/// process, a name can.
fn run_job(job: &str, input: &str) -> Result<String, String> {
    match job {
        "worker" => Ok(worker(input)),
        "pid" => Ok(process::id().to_string()),
        // Jobs for the pool's tests (tests/*.rs), most of them misbehaving on purpose.
        "fail" => Err(input.to_owned()),
        "panic" => panic!("{input}"),
        "exit" => process::exit(input.parse().unwrap_or(1)),
        "abort" => process::abort(),
        "print" => {
            println!("{input}"); // goes to the pool's stderr, not to the wire
            Ok(String::new())
        }
        "run_echo" => run_echo(input),
        "helper_then_abort" => helper_then_abort(input),
        "sleep" => {
            let seconds = input
                .parse()
                .ok()
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
                .ok_or_else(|| format!("{input:?} is not seconds"))?;
            thread::sleep(seconds);
            Ok(String::new())
        }
        "wait_to_be_killed" => wait_to_be_killed(input),
        _ => Err(format!("no job named `{job}`")),
    }
}

/// The job of the Python example. It returns its line instead of printing
/// it, so that the parent gets it as the job's result and can check which
/// process wrote it. (A job may print: that goes to the parent's stderr.)
fn worker(name: &str) -> String {
    format!("Worker {name} is working in process {}", process::id())
}
// ANCHOR_END: registry

/// Runs a helper program that inherits the worker's standard streams, as
/// `Command::status` does by default, and says how it ended.
fn run_echo(text: &str) -> Result<String, String> {
    let status = Command::new("echo")
        .arg(text)
        .status()
        .map_err(|e| e.to_string())?;
    Ok(format!("echo ended: {status}"))
}

/// Starts a helper program that runs for a minute, writes its process id to
/// the file `path`, then crashes, leaving the helper running.
fn helper_then_abort(path: &str) -> Result<String, String> {
    let helper = Command::new("sleep")
        .arg("60")
        .spawn()
        .map_err(|e| e.to_string())?;
    write_whole(path, &helper.id().to_string())?;
    process::abort()
}

/// Writes `text` to the file `path` so that it appears whole or not at all.
fn write_whole(path: &str, text: &str) -> Result<(), String> {
    let unfinished = format!("{path}.part");
    fs::write(&unfinished, text).map_err(|e| e.to_string())?;
    fs::rename(&unfinished, path).map_err(|e| e.to_string())
}

/// Writes this process's id to the file `path`, so that a test knows the
/// job has started and whom to kill, then waits to be killed.
fn wait_to_be_killed(path: &str) -> Result<String, String> {
    write_whole(path, &process::id().to_string())?;
    for _ in 0..600 {
        thread::sleep(Duration::from_millis(100));
    }
    Err("nobody killed this worker within a minute".to_owned())
}
