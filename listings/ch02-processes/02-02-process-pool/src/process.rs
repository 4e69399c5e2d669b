//! One worker process, seen from the pool: start it, send it a job, read the
//! answer, and make sure it is reaped however it ends.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::wire::{self, Outcome};

/// The argument that puts a program into worker mode, the way
/// [`WorkerCommand::current_exe`] starts it.
pub const WORKER_ARG: &str = "--worker";

/// The environment variable in which the pool tells a worker its own process
/// id, so that the worker can tell whether its parent is still the pool.
pub(crate) const PARENT_ENV: &str = "PROCESS_POOL_PARENT";

/// How long a worker may take to exit once it has been asked to (its input
/// closed), or once its output has ended, before it is killed.
pub(crate) const EXIT_GRACE: Duration = Duration::from_secs(2);

/// How to start a worker process: a program and its arguments.
///
/// A `std::process::Command` cannot be cloned or reused, and the pool needs
/// to start replacements long after it was built, so it keeps this recipe
/// and makes a fresh `Command` each time.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    program: PathBuf,
    args: Vec<OsString>,
}

// ANCHOR: current_exe
impl WorkerCommand {
    /// This very program, started again with `--worker`: the Rust version of
    /// Python's *spawn* start method. The program's `main` must check for
    /// [`WORKER_ARG`] and call [`crate::worker::serve`].
    pub fn current_exe() -> io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?).arg(WORKER_ARG))
    }

    /// Any program that speaks the [wire format](crate::wire).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }
}
// ANCHOR_END: current_exe

impl WorkerCommand {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // A worker's stderr is the parent's: a job may log there.
            .stderr(Stdio::inherit())
            .env(PARENT_ENV, std::process::id().to_string());
        // Each worker leads a process group of its own, which the programs its
        // jobs start join. Ctrl-C in a terminal signals the foreground group,
        // the parent's: the parent decides what its workers do about it
        // (`close` and `join`, or `terminate`), and the pool can stop a
        // worker together with whatever its job started.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
    }
}

/// Kills every process in the group that worker `pid` leads: the worker and
/// any program its job started. Harmless if the group is empty. The caller
/// makes sure the worker has not been reaped yet, so that its process id
/// (and so the group's id) cannot have been given to another process.
pub(crate) fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Why no answer came back from a worker.
pub(crate) enum Silence {
    /// Its output ended, or could not be read: the process is gone or going.
    Gone,
    /// It wrote something that is not an answer to the job it was sent.
    Garbled(String),
}

/// A running worker process and the two ends of its pipes.
///
/// However it is dropped, the process is waited for, so it never stays
/// behind as a zombie or outlives the pool.
pub(crate) struct WorkerProcess {
    /// For error messages.
    program: PathBuf,
    child: Child,
    /// `None` once closed, which tells the worker to exit.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// How it ended, once it has been reaped.
    status: Option<ExitStatus>,
}

impl WorkerProcess {
    /// Starts a worker and waits until it is ready.
    pub(crate) fn start(recipe: &WorkerCommand) -> io::Result<Self> {
        Self::spawn(recipe)?.ready()
    }

    /// Starts a worker process without waiting for it.
    pub(crate) fn spawn(recipe: &WorkerCommand) -> io::Result<Self> {
        let mut child = recipe.command().spawn().map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "cannot start worker `{}`: {error}",
                    recipe.program.display()
                ),
            )
        })?;
        // Both are `Some`: `command()` asks for pipes.
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        // From here on, `Drop` reaps the process if anything goes wrong.
        Ok(Self {
            program: recipe.program.clone(),
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            status: None,
        })
    }

    /// Waits for the worker's greeting, so that a program that is not a
    /// worker is an error here and not a failed job later.
    pub(crate) fn ready(mut self) -> io::Result<Self> {
        let program = self.program.display().to_string();
        let mut greeting = String::new();
        match self.stdout.read_line(&mut greeting) {
            Ok(_) if greeting.trim_end() == wire::GREETING => Ok(self),
            Ok(0) => {
                let status = self.finish(EXIT_GRACE)?;
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("worker `{program}` exited before it was ready ({status})"),
                ))
            }
            Ok(_) => {
                // Whatever this program is, it will not run jobs: stop it now.
                self.finish(Duration::ZERO)?;
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "worker `{program}` is not a pool worker: it said {:?} instead of {:?}",
                        greeting.trim_end(),
                        wire::GREETING
                    ),
                ))
            }
            Err(error) => Err(io::Error::new(
                error.kind(),
                format!("cannot read the greeting of worker `{program}`: {error}"),
            )),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the worker and every program its job started, unless it has
    /// been reaped already (then its process group id may be another's).
    pub(crate) fn kill_group(&mut self) {
        if self.status.is_none() {
            kill_group(self.pid());
        }
    }

    /// Sends one job. An error means the worker is gone and never read it.
    pub(crate) fn send(&mut self, id: u64, job: &str, input: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?;
        let line = wire::request_line(id, job, input) + "\n";
        // One `write_all` on an unbuffered pipe: the line goes out now.
        stdin.write_all(line.as_bytes())
    }

    /// Reads the answer to job `id`.
    pub(crate) fn receive(&mut self, id: u64) -> Result<Outcome, Silence> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => return Err(Silence::Gone),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                return Err(Silence::Garbled("it sent bytes that are not UTF-8".into()));
            }
            Err(_) => return Err(Silence::Gone),
        }
        let reply = wire::parse_reply(line.trim_end_matches(['\n', '\r']))
            .map_err(|error| Silence::Garbled(error.to_string()))?;
        if reply.id != id {
            return Err(Silence::Garbled(format!(
                "it answered job {} while running job {id}",
                reply.id
            )));
        }
        Ok(reply.outcome)
    }

    // ANCHOR: finish
    /// Closes the worker's input, which asks it to exit, waits up to `grace`
    /// for it to do so, then kills it; and reaps it either way. Calling it
    /// again returns the same status.
    pub(crate) fn finish(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        let status = self.reap(grace)?;
        self.status = Some(status);
        Ok(status)
    }

    fn reap(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let deadline = Instant::now() + grace;
        // A worker usually exits within a millisecond: look often at first,
        // then less and less often.
        let mut pause = Duration::from_micros(50);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            let now = Instant::now();
            if now >= deadline {
                // Killing a process that has just exited is harmless; `wait`
                // then returns how it really ended.
                let _ = self.child.kill();
                return self.child.wait();
            }
            thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
    // ANCHOR_END: finish
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // Nothing to report to from here: the point is only that no process
        // is left running or unreaped.
        let _ = self.finish(EXIT_GRACE);
    }
}
