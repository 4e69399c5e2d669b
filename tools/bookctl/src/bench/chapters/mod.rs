//! The measured files that chapters 1-4 include, in the shape the text
//! relies on: each suite runs a listing (release build) and its Python twin
//! beside it, with the arguments the book quotes, and parses the lines the
//! listing prints (their format is pinned by the listing's `output.txt`).
//!
//! - [`shown`]: `no-gil.md`, `process-pool.md` show a whole median run;
//! - [`lateness`]: `blocking.md`, `switching.md` tabulate lateness lines;
//! - [`figures`]: `scale.md`, `may-limits.md` tabulate single figures;
//! - [`false_sharing`]: `false-sharing.md`, one listing's two layouts;
//! - [`distributed`]: `distributed.md`, Part 8's workers on a Redis stream.

mod distributed;
mod false_sharing;
mod figures;
mod lateness;
mod shown;

pub use distributed::distributed;
pub use false_sharing::false_sharing;
pub use figures::{may_limits, scale};
pub use lateness::{blocking, switching};
pub use shown::{no_gil, process_pool};

use anyhow::{Context, Result};
use regex::Regex;

use super::Bench;
use super::python::Package;
use super::runner::{Program, Progress};
use super::stats::Spread;

/// Runs `program` `runs` times and returns each run's standard output.
pub(super) fn outputs(
    progress: &Progress,
    what: &str,
    program: &Program,
    runs: usize,
    summary: impl Fn(&str) -> String,
) -> Result<Vec<String>> {
    (1..=runs)
        .map(|run| {
            let output = program.run()?;
            progress.report(what, run, runs, &summary(&output));
            super::runner::keep_raw(what, serde_json::Value::String(output.clone()));
            Ok(output)
        })
        .collect()
}

/// The number captured by `pattern` in `output` (its first match).
pub(super) fn figure(pattern: &Regex, output: &str) -> Option<f64> {
    pattern.captures(output)?.get(1)?.as_str().parse().ok()
}

/// The median and range over `runs` of the figure `pattern` captures, or an
/// error naming the program if a run did not print it.
pub(super) fn spread_figure(pattern: &str, runs: &[String], program: &str) -> Result<Spread> {
    let pattern = Regex::new(&format!("(?m){pattern}")).context("a valid pattern")?;
    let values = runs
        .iter()
        .map(|output| {
            figure(&pattern, output).with_context(|| {
                format!("`{program}` printed no line matching {pattern}:\n{output}")
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    Spread::of(&values).context("no runs")
}

/// The versions line of a file: rustc, the `crates` (`may`), then every
/// interpreter with the `packages` its rows used.
pub(super) fn versions(bench: &Bench, crates: &[&str], packages: &[Package]) -> String {
    let mut versions = vec![format!("{} (release build)", bench.machine.rustc)];
    versions.extend(crates.iter().map(|name| bench.crate_version(name)));
    versions.extend(bench.python.stamps(packages));
    format!("{}.", versions.join(", "))
}

/// " and of `python3 <command>` on each interpreter" when a Python twin
/// ran, else nothing: the end of a sentence that names the commands behind
/// a file's medians.
pub(super) fn and_python(ran: bool, command: &str) -> String {
    if ran {
        format!(" and of `python3 {command}` on each interpreter")
    } else {
        String::new()
    }
}
