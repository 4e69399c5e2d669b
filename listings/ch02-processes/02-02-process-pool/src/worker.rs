//! The worker side: what a program does when the pool starts it in worker
//! mode.

use std::cell::RefCell;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};

use crate::wire::{self, Outcome};

// ANCHOR: serve
/// Serves jobs until standard input ends: greets the pool, then reads one
/// job a line, runs it with `run_job(job_name, input)` and writes the answer.
///
/// A job that panics is answered with `panic` and the worker goes on with the
/// next one. Standard output belongs to the wire format: a job must not print
/// to it (`eprintln!` is fine).
pub fn serve(run_job: impl Fn(&str, &str) -> Result<String, String>) -> io::Result<()> {
    // The default hook would print the panic on stderr; this one keeps the
    // message so that the pool can hand it to whoever submitted the job.
    panic::set_hook(Box::new(remember_panic));
    answer(wire::GREETING)?;

    for line in io::stdin().lines() {
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
        match answer(&wire::reply_line(request.id, &outcome)) {
            // The pool is gone (its process died, say): nobody is left to
            // serve, which is the same as the end of the input.
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            result => result?,
        }
    }
    Ok(())
}
// ANCHOR_END: serve

fn answer(line: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
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
