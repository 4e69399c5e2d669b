//! The worker side: what a program does when the pool starts it in worker
//! mode.

use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};

use crate::wire::{self, Outcome};

// ANCHOR: serve
/// Serves jobs until standard input ends: greets the pool, then reads one
/// job a line, runs it with `run_job(job_name, input)` and writes the answer.
///
/// A job that panics is answered with `panic` and the worker goes on with the
/// next one. On Unix a job may print, and may run other programs: the wire is
/// moved off the standard streams first ([`take_wire`]).
pub fn serve(run_job: impl Fn(&str, &str) -> Result<String, String>) -> io::Result<()> {
    // The default hook would print the panic on stderr; this one keeps the
    // message so that the pool can hand it to whoever submitted the job.
    panic::set_hook(Box::new(remember_panic));
    if !die_with_parent()? {
        // The pool is already gone: there is nobody to serve.
        return Ok(());
    }
    let (requests, mut replies) = take_wire()?;
    answer(&mut replies, wire::GREETING)?;

    for line in requests.lines() {
        let line = line?;
        // The pool never sends a malformed line, so getting one means the
        // wrong program is on the other end: stop rather than guess.
        let request = wire::parse_request(&line)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        let outcome =
            match panic::catch_unwind(AssertUnwindSafe(|| run_job(request.job, &request.input))) {
                Ok(Ok(output)) => Outcome::Ok(output),
                Ok(Err(message)) => Outcome::Err(message),
                Err(_) => Outcome::Panic(last_panic()),
            };
        match answer(&mut replies, &wire::reply_line(request.id, &outcome)) {
            // The pool is gone (its process died, say): nobody is left to
            // serve, which is the same as the end of the input.
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            result => result?,
        }
    }
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: die_with_parent
/// Asks Linux to kill this worker with SIGKILL when the pool that started it
/// dies, even by SIGKILL, which runs no code in the pool. Without it, a worker
/// in the middle of a long job would run on as an orphan, and notice that the
/// pool is gone only when it tries to answer. Returns `false` if the pool
/// died before the request was made, which the kernel would not report.
///
/// The "parent" of the parent-death signal is the *thread* that started the
/// worker, which is why each dispatcher thread starts its own. A program not
/// started by a pool (no [`PARENT_ENV`](crate::process::PARENT_ENV)) is left
/// alone.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn die_with_parent() -> io::Result<bool> {
    use rustix::process::{Signal, set_parent_process_death_signal};

    let Some(pool) = std::env::var(crate::process::PARENT_ENV)
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
    else {
        return Ok(true);
    };
    set_parent_process_death_signal(Some(Signal::KILL))?;
    // If the pool died before that call, this worker was handed to another
    // parent (init, or a subreaper) and no signal will come: check.
    Ok(std::os::unix::process::parent_id() == pool)
}
// ANCHOR_END: die_with_parent

/// Other systems have no parent-death signal: there a worker notices that
/// the pool is gone when its input ends or when it fails to answer.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn die_with_parent() -> io::Result<bool> {
    Ok(true)
}

/// Writes one line to the pool in a single `write`.
fn answer(replies: &mut impl Write, line: &str) -> io::Result<()> {
    replies.write_all(format!("{line}\n").as_bytes())?;
    replies.flush()
}

// ANCHOR: take_wire
/// Takes the two pipes to the pool away from the standard streams, and
/// returns them.
///
/// A program that a job starts inherits the worker's standard streams (that is
/// `Command`'s default). If they were still the pool's pipes, a helper's
/// output would arrive as a garbled answer, and a helper that outlives a
/// crashed worker would keep the pipe open, so the pool would see the crash
/// only when the helper exits. So the worker keeps copies of the pipes that
/// are closed when it runs another program (`try_clone_to_owned` marks them
/// close-on-exec), then points its standard output at its standard error and
/// its standard input at `/dev/null`.
#[cfg(unix)]
fn take_wire() -> io::Result<(Box<dyn BufRead>, Box<dyn Write>)> {
    use std::fs::File;
    use std::io::BufReader;
    use std::os::fd::AsFd;

    let requests = io::stdin().as_fd().try_clone_to_owned()?;
    let replies = io::stdout().as_fd().try_clone_to_owned()?;
    rustix::stdio::dup2_stdout(io::stderr())?;
    rustix::stdio::dup2_stdin(File::open("/dev/null")?)?;
    Ok((
        Box::new(BufReader::new(File::from(requests))),
        Box::new(File::from(replies)),
    ))
}
// ANCHOR_END: take_wire

/// Elsewhere the wire stays on the standard streams, and a job must neither
/// print to standard output nor let a program it starts inherit it.
#[cfg(not(unix))]
fn take_wire() -> io::Result<(Box<dyn BufRead>, Box<dyn Write>)> {
    Ok((Box::new(io::stdin().lock()), Box::new(io::stdout())))
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn remember_panic(info: &PanicHookInfo<'_>) {
    let message = info
        .payload_as_str()
        .unwrap_or("a panic whose payload is not a string");
    let message = match info.location() {
        Some(location) => format!("{message} (at {location})"),
        None => message.to_owned(),
    };
    LAST_PANIC.with(|last| *last.borrow_mut() = Some(message));
}

fn last_panic() -> String {
    LAST_PANIC
        .with(|last| last.borrow_mut().take())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
