//! The wire format between a pool and its worker processes.
//!
//! Every message is one line of UTF-8 text that ends in `\n`. Plain text lines
//! keep both sides short and let you talk to a worker by hand: run
//! `cargo run -p ch02-02-process-pool -- --worker` and type `1 worker A`.
//!
//! ```text
//! worker → pool, once, when it is ready:   ready pool-v1
//! pool → worker, one line per job:         <id> <job> <input>
//! worker → pool, one line per job:         <id> ok <output>
//!                                          <id> err <message>
//!                                          <id> panic <message>
//! ```
//!
//! - `<id>` is the job's number in decimal. The answer repeats it, so the pool
//!   can check that an answer belongs to the job it sent.
//! - `<job>` is the name of a function in the worker's registry: one word, no
//!   whitespace.
//! - Everything after the second space is the payload (`<input>`, `<output>` or
//!   `<message>`), so it may contain spaces. It is escaped to fit on one line:
//!   a backslash is sent as `\\`, a newline as `\n`, a carriage return as `\r`.
//!   A missing payload is an empty one.
//! - The worker answers each job before it reads the next, so neither side
//!   ever writes while the other is writing, and no pipe can fill up.
//! - To stop a worker, the pool closes the worker's standard input. The worker
//!   exits with status 0 when its input ends.

use std::fmt;

/// The line a worker sends first. The version lets a pool refuse a worker
/// built from a different protocol, and any program that is not a worker at
/// all.
pub const GREETING: &str = "ready pool-v1";

/// A job as the worker receives it.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'line> {
    pub id: u64,
    pub job: &'line str,
    pub input: String,
}

/// How a job ended, as the worker reports it.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The job returned this output.
    Ok(String),
    /// The job returned this error message.
    Err(String),
    /// The job panicked with this message; the worker caught the panic.
    Panic(String),
}

/// An answer as the pool receives it.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub id: u64,
    pub outcome: Outcome,
}

/// A line that does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

/// Whether `name` can be sent as a job name: one word, no whitespace.
pub fn is_job_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(char::is_whitespace)
}

// ANCHOR: lines
/// The line that sends job `id` to a worker (without its `\n`).
pub fn request_line(id: u64, job: &str, input: &str) -> String {
    format!("{id} {job} {}", escape(input))
}

/// The line that answers job `id` (without its `\n`).
pub fn reply_line(id: u64, outcome: &Outcome) -> String {
    let (status, payload) = match outcome {
        Outcome::Ok(output) => ("ok", output),
        Outcome::Err(message) => ("err", message),
        Outcome::Panic(message) => ("panic", message),
    };
    format!("{id} {status} {}", escape(payload))
}
// ANCHOR_END: lines

/// Reads a line from the pool (without its `\n`).
pub fn parse_request(line: &str) -> Result<Request<'_>, WireError> {
    let (id, job, payload) = split(line)?;
    if !is_job_name(job) {
        return Err(WireError(format!("`{job}` is not a job name")));
    }
    Ok(Request {
        id,
        job,
        input: unescape(payload)?,
    })
}

/// Reads a line from a worker (without its `\n`).
pub fn parse_reply(line: &str) -> Result<Reply, WireError> {
    let (id, status, payload) = split(line)?;
    let payload = unescape(payload)?;
    let outcome = match status {
        "ok" => Outcome::Ok(payload),
        "err" => Outcome::Err(payload),
        "panic" => Outcome::Panic(payload),
        other => return Err(WireError(format!("unknown status `{other}`"))),
    };
    Ok(Reply { id, outcome })
}

/// Splits `<id> <word> <payload>` into its three fields.
fn split(line: &str) -> Result<(u64, &str, &str), WireError> {
    let (id, rest) = line
        .split_once(' ')
        .ok_or_else(|| WireError(format!("expected `<id> <word> <payload>`, got {line:?}")))?;
    let id = id
        .parse()
        .map_err(|_| WireError(format!("`{id}` is not a job id, in {line:?}")))?;
    let (word, payload) = rest.split_once(' ').unwrap_or((rest, ""));
    Ok((id, word, payload))
}

/// Makes `text` fit on one line.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str(r"\\"),
            '\n' => escaped.push_str(r"\n"),
            '\r' => escaped.push_str(r"\r"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Undoes [`escape`]; any other backslash sequence is an error.
pub fn unescape(text: &str) -> Result<String, WireError> {
    let mut unescaped = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            unescaped.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => unescaped.push('\\'),
            Some('n') => unescaped.push('\n'),
            Some('r') => unescaped.push('\r'),
            Some(other) => return Err(WireError(format!("unknown escape `\\{other}`"))),
            None => return Err(WireError("a payload ends in a lone `\\`".to_owned())),
        }
    }
    Ok(unescaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWKWARD: &str =
        "two\nlines, a \\ backslash, a \\n that is not a newline,\r\n and a tab\t";

    #[test]
    fn escaped_text_fits_on_one_line_and_comes_back_unchanged() {
        let escaped = escape(AWKWARD);
        assert!(!escaped.contains(['\n', '\r']));
        assert_eq!(unescape(&escaped), Ok(AWKWARD.to_owned()));
    }

    #[test]
    fn a_request_survives_the_trip() {
        let line = request_line(7, "count_primes", AWKWARD);
        assert_eq!(
            parse_request(&line),
            Ok(Request {
                id: 7,
                job: "count_primes",
                input: AWKWARD.to_owned()
            })
        );
    }

    #[test]
    fn every_outcome_survives_the_trip() {
        for outcome in [
            Outcome::Ok(AWKWARD.to_owned()),
            Outcome::Err("no job named `x`".to_owned()),
            Outcome::Panic(String::new()),
        ] {
            let line = reply_line(u64::MAX, &outcome);
            assert_eq!(
                parse_reply(&line),
                Ok(Reply {
                    id: u64::MAX,
                    outcome
                })
            );
        }
    }

    #[test]
    fn a_line_typed_by_hand_needs_no_trailing_space() {
        assert_eq!(
            parse_request("1 pid"),
            Ok(Request {
                id: 1,
                job: "pid",
                input: String::new()
            })
        );
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for line in [
            "",
            "hello",
            "x ok 1",
            "-1 ok 1",
            "99999999999999999999 ok 1",
            "1 maybe 2",
            "1 ok \\",
            "1 ok \\t",
        ] {
            assert!(parse_reply(line).is_err(), "{line:?} was accepted");
        }
        assert!(parse_request("1  input after an empty job name").is_err());
    }
}
