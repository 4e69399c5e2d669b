//! The pool: one queue of jobs, and one dispatcher thread per worker process
//! that takes a job from the queue, hands it to its worker and waits for the
//! answer.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::job::{Job, JobError, JobHandle, JobResult};
use crate::process::{self, EXIT_GRACE, Silence, WorkerCommand, WorkerProcess};
use crate::wire::{self, Outcome};

/// What the dispatchers and the pool share about the workers.
#[derive(Default)]
struct Workers {
    /// The process id of each dispatcher's worker: `Some` from the moment it
    /// is ready until just before it is reaped, `None` while it has none.
    pids: Vec<Option<u32>>,
    /// Set by [`Pool::terminate`]: no job runs and no worker starts any more.
    terminated: bool,
}

type Shared = Arc<Mutex<Workers>>;

/// A pool of worker processes, like Python's `multiprocessing.Pool`.
///
/// Jobs are named, not passed as closures: a worker is another program and
/// can only be told *which* of its functions to run, and on what input.
pub struct Pool {
    /// `None` once the pool is closed.
    jobs: Option<Sender<Job>>,
    dispatchers: Vec<JoinHandle<()>>,
    workers: Shared,
    next_id: AtomicU64,
}

impl Pool {
    /// Starts `workers` processes with `command` and waits until each has
    /// greeted. Fails if any of them cannot start, exits, or greets with
    /// anything else; none is left running then. (A program that neither
    /// writes a line nor exits would keep this waiting.)
    pub fn new(workers: usize, command: WorkerCommand) -> io::Result<Self> {
        if workers == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a pool needs at least one worker",
            ));
        }
        let (sender, receiver) = mpsc::channel();
        // A `Receiver` cannot be cloned: the dispatchers share it behind a
        // mutex, as the threads of Listing 1-9 do.
        let receiver = Arc::new(Mutex::new(receiver));
        let mut pool = Self {
            jobs: Some(sender),
            dispatchers: Vec::with_capacity(workers),
            workers: Arc::new(Mutex::new(Workers {
                pids: vec![None; workers],
                terminated: false,
            })),
            next_id: AtomicU64::new(0),
        };
        // Each dispatcher starts its own worker, so that every worker is
        // started by a thread that lives as long as the pool: on Linux a
        // worker dies with the thread that started it (`worker::serve`).
        // They start up side by side, and each reports back once.
        let (started, reports) = mpsc::channel();
        for slot in 0..workers {
            let mut dispatcher = Dispatcher {
                slot,
                command: command.clone(),
                worker: None,
                workers: Arc::clone(&pool.workers),
            };
            let jobs = Arc::clone(&receiver);
            let started = started.clone();
            // If this fails, `pool` is dropped, which stops the dispatchers
            // already running, and they stop their workers.
            let handle = thread::Builder::new()
                .name(format!("pool-dispatcher-{slot}"))
                .spawn(move || match dispatcher.start_worker() {
                    Ok(worker) => {
                        dispatcher.worker = Some(worker);
                        let _ = started.send(Ok(()));
                        // The constructor waits until every report is in,
                        // that is until every sender is gone.
                        drop(started);
                        dispatcher.run(&jobs);
                    }
                    Err(error) => {
                        let _ = started.send(Err(error));
                    }
                })?;
            pool.dispatchers.push(handle);
        }
        drop(started);
        // A program that cannot run is the constructor's error and not every
        // job's. On an error, `pool` is dropped: the dispatchers whose
        // worker did start stop it and reap it.
        for report in reports {
            report?;
        }
        Ok(pool)
    }

    // ANCHOR: submit
    /// Queues job `job` with `input` and returns at once: Python's
    /// `apply_async`. The handle's `get` waits for the answer.
    pub fn submit(&self, job: &str, input: &str) -> JobHandle {
        if !wire::is_job_name(job) {
            return JobHandle::failed(JobError::Rejected(format!(
                "{job:?} is not a job name: it must be one word"
            )));
        }
        let Some(jobs) = &self.jobs else {
            return JobHandle::failed(JobError::Rejected("the pool is closed".into()));
        };
        let (reply, answer) = mpsc::channel();
        let job = Job {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            name: job.to_owned(),
            input: input.to_owned(),
            reply,
        };
        // This fails only if every dispatcher is gone; the job is dropped
        // with its reply sender then, and the handle reports it as lost.
        let _ = jobs.send(job);
        JobHandle::new(answer)
    }

    /// Runs `job` on every input and returns the results in input order:
    /// Python's `map`, except that one failed job does not hide the others.
    pub fn map<I>(&self, job: &str, inputs: I) -> Vec<JobResult>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        // Queue everything first, so that every worker has work, then
        // collect the answers in order.
        let handles: Vec<JobHandle> = inputs
            .into_iter()
            .map(|input| self.submit(job, input.as_ref()))
            .collect();
        handles.into_iter().map(JobHandle::get).collect()
    }
    // ANCHOR_END: submit

    // ANCHOR: close
    /// Stops taking jobs; the jobs already queued still run. Python's `close`.
    pub fn close(&mut self) {
        // Dropping the only sender ends each dispatcher's `recv` loop once
        // the queue is empty.
        self.jobs = None;
    }

    /// Closes the pool if it is not closed yet, waits for every queued job,
    /// then stops every worker process and reaps it. Python's `join`.
    /// Dropping a pool does the same, unless the thread is panicking.
    pub fn join(mut self) {
        self.shut_down();
    }
    // ANCHOR_END: close

    // ANCHOR: terminate
    /// Stops now: kills every worker process, and every program a job
    /// started, and fails each job not yet answered with
    /// [`JobError::Terminated`]; then reaps the workers. Python's `terminate`,
    /// which is also what leaving a `with Pool()` block does.
    pub fn terminate(mut self) {
        self.kill_workers();
        self.shut_down();
    }

    fn kill_workers(&mut self) {
        self.close();
        let mut workers = lock(&self.workers);
        // Under the same lock as every change to `pids`: a worker that starts
        // after this sees the flag, and one listed here is not reaped yet.
        workers.terminated = true;
        for &pid in workers.pids.iter().flatten() {
            process::kill_group(pid);
        }
    }
    // ANCHOR_END: terminate

    fn shut_down(&mut self) {
        self.close();
        for dispatcher in self.dispatchers.drain(..) {
            // A dispatcher that panicked has already dropped (and so reaped)
            // its worker; its unanswered jobs report themselves as lost.
            let _ = dispatcher.join();
        }
    }

    /// The process ids of the workers running now.
    pub fn worker_pids(&self) -> Vec<u32> {
        lock(&self.workers).pids.iter().flatten().copied().collect()
    }
}

impl Drop for Pool {
    /// Waits for every queued job, like [`Pool::join`]; but while the thread
    /// unwinds from a panic, terminates, so that the panic is not held up by
    /// jobs whose results nobody will read.
    fn drop(&mut self) {
        if thread::panicking() {
            self.kill_workers();
        }
        self.shut_down();
    }
}

/// The thread that feeds one worker process.
struct Dispatcher {
    slot: usize,
    command: WorkerCommand,
    /// `None` after the worker died and no replacement could be started.
    worker: Option<WorkerProcess>,
    workers: Shared,
}

impl Dispatcher {
    fn run(mut self, jobs: &Mutex<Receiver<Job>>) {
        loop {
            // The guard is a temporary, dropped at the end of this statement:
            // the queue is free for the others while this job runs.
            let next = lock(jobs).recv();
            // `Err` means that the pool is closed and the queue is empty.
            let Ok(job) = next else { break };
            let result = if self.terminated() {
                Err(JobError::Terminated)
            } else {
                self.run_job(&job)
            };
            // The submitter may have dropped its handle; then nobody asks.
            let _ = job.reply.send(result);
        }
        if let Some(worker) = self.worker.take() {
            // Closing its input asks the worker to exit.
            self.retire(worker, EXIT_GRACE);
        }
    }

    // ANCHOR: run_job
    fn run_job(&mut self, job: &Job) -> JobResult {
        let mut worker = match self.send(job) {
            Ok(worker) => worker,
            // That worker died while it was idle and never read the job, so
            // the job can safely go to a fresh one; once.
            Err(JobError::WorkerDied { .. }) => self.send(job)?,
            Err(error) => return Err(error),
        };
        let error = match worker.receive(job.id) {
            Ok(outcome) => {
                self.worker = Some(worker);
                return match outcome {
                    Outcome::Ok(output) => Ok(output),
                    Outcome::Err(message) => Err(JobError::Failed(message)),
                    Outcome::Panic(message) => Err(JobError::Panicked(message)),
                };
            }
            // The worker died during the job: it exited, crashed or was
            // killed. Kill what its job started, reap it, and tell the job
            // how it ended.
            Err(Silence::Gone) => self.retire(worker, Duration::ZERO),
            // Its output can no longer be trusted: kill it at once.
            Err(Silence::Garbled(detail)) => {
                let pid = worker.pid();
                self.retire(worker, Duration::ZERO);
                JobError::Protocol { pid, detail }
            }
        };
        if self.terminated() {
            return Err(JobError::Terminated);
        }
        // Keep the pool at full strength. If no replacement starts, the
        // next job that comes here reports why.
        if let Ok(replacement) = self.start_worker() {
            self.worker = Some(replacement);
        }
        Err(error)
    }
    // ANCHOR_END: run_job

    /// Sends `job` to this dispatcher's worker, starting one if it has none.
    fn send(&mut self, job: &Job) -> Result<WorkerProcess, JobError> {
        let mut worker = match self.worker.take() {
            Some(worker) => worker,
            None => self.start_worker().map_err(|error| {
                if self.terminated() {
                    JobError::Terminated
                } else {
                    JobError::WorkerStart(error)
                }
            })?,
        };
        match worker.send(job.id, &job.name, &job.input) {
            Ok(()) => Ok(worker),
            Err(_) => Err(self.retire(worker, EXIT_GRACE)),
        }
    }

    /// Starts a worker for this dispatcher, unless the pool is terminated.
    fn start_worker(&self) -> io::Result<WorkerProcess> {
        let worker = WorkerProcess::start(&self.command)?;
        let mut workers = lock(&self.workers);
        if workers.terminated {
            // Dropping it closes its input and reaps it.
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the pool was terminated",
            ));
        }
        workers.pids[self.slot] = Some(worker.pid());
        Ok(worker)
    }

    fn terminated(&self) -> bool {
        lock(&self.workers).terminated
    }

    /// Stops and reaps `worker`, and says how it ended. With no `grace`, the
    /// worker is killed together with its process group.
    fn retire(&self, mut worker: WorkerProcess, grace: Duration) -> JobError {
        let pid = worker.pid();
        // Unlisted first, so that `terminate` never signals a reaped worker.
        lock(&self.workers).pids[self.slot] = None;
        if grace.is_zero() {
            worker.kill_group();
        }
        let status = worker.finish(grace).ok();
        JobError::WorkerDied { pid, status }
    }
}

/// Locks `mutex` even if a thread panicked while holding it: the data behind
/// these locks (a queue, a list of pids) is valid at every moment.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
