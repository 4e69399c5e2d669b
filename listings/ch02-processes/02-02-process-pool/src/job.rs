//! A submitted job as its submitter sees it: a handle to wait on, and the
//! ways a job can fail.

use std::cell::OnceCell;
use std::fmt;
use std::io;
use std::process::ExitStatus;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// What a job gives back: its output, or why there is none.
pub type JobResult = Result<String, JobError>;

/// Why a job has no output.
#[derive(Debug)]
pub enum JobError {
    /// The job ran and returned this error.
    Failed(String),
    /// The job panicked with this message. The worker caught the panic and
    /// goes on with other jobs.
    Panicked(String),
    /// The worker process exited or was killed while it ran the job. The
    /// pool has started a replacement.
    WorkerDied {
        pid: u32,
        /// How the process ended, if it could be found out.
        status: Option<ExitStatus>,
    },
    /// The worker answered with something that is not the wire format. The
    /// pool killed it and started a replacement.
    Protocol { pid: u32, detail: String },
    /// There was no worker to run the job, and a new one could not be started.
    WorkerStart(io::Error),
    /// The pool did not take the job: it was closed, or the job's name is not
    /// one word.
    Rejected(String),
    /// [`Pool::terminate`](crate::Pool::terminate) stopped the pool before
    /// the job finished.
    Terminated,
    /// The pool stopped without answering. Only a bug in the pool does that.
    Lost,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(message) => write!(f, "the job failed: {message}"),
            Self::Panicked(message) => write!(f, "the job panicked: {message}"),
            Self::WorkerDied {
                pid,
                status: Some(status),
            } => write!(f, "worker process {pid} died during the job ({status})"),
            Self::WorkerDied { pid, status: None } => {
                write!(f, "worker process {pid} died during the job")
            }
            Self::Protocol { pid, detail } => {
                write!(f, "worker process {pid} broke the wire format: {detail}")
            }
            Self::WorkerStart(error) => write!(f, "no worker could run the job: {error}"),
            Self::Rejected(reason) => write!(f, "the pool did not take the job: {reason}"),
            Self::Terminated => f.write_str("the pool was terminated before the job finished"),
            Self::Lost => f.write_str("the pool stopped before it answered"),
        }
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::WorkerStart(error) => Some(error),
            _ => None,
        }
    }
}

/// A job on its way to a worker.
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) input: String,
    pub(crate) reply: mpsc::Sender<JobResult>,
}

/// The answer to a submitted job, when it comes: Python's `AsyncResult`.
pub struct JobHandle {
    receiver: Receiver<JobResult>,
    /// The result, once `wait_timeout` has received it.
    result: OnceCell<JobResult>,
}

impl JobHandle {
    /// Waits for the job to finish and returns its output or its error.
    pub fn get(self) -> JobResult {
        match self.result.into_inner() {
            Some(result) => result,
            // A closed channel means the pool dropped the job unanswered.
            None => self.receiver.recv().unwrap_or(Err(JobError::Lost)),
        }
    }

    /// Waits at most `timeout` and says whether the job has finished, so that
    /// `get` will not block.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        if self.result.get().is_some() {
            return true;
        }
        let result = match self.receiver.recv_timeout(timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => return false,
            Err(RecvTimeoutError::Disconnected) => Err(JobError::Lost),
        };
        // Only this method fills the cell, and only after checking it is empty.
        let _ = self.result.set(result);
        true
    }
}

impl JobHandle {
    pub(crate) fn new(receiver: Receiver<JobResult>) -> Self {
        Self {
            receiver,
            result: OnceCell::new(),
        }
    }

    /// A handle whose job failed before it was sent anywhere.
    pub(crate) fn failed(error: JobError) -> Self {
        let (sender, receiver) = mpsc::channel();
        // The receiver is right here: this cannot fail.
        let _ = sender.send(Err(error));
        Self::new(receiver)
    }
}
