//! `blocking.md` and `switching.md`: sleepers behind a CPU hog, the median
//! lateness per variant over several runs (and `lateness.svg` from both).

use anyhow::{Context, Result, bail};
use regex::Regex;

use super::{and_python, outputs, rustc_and_python, rustc_may_and_gevent};
use crate::bench::markdown::{self, Table};
use crate::bench::python::{NO_GEVENT, NO_PYTHON};
use crate::bench::runner::Progress;
use crate::bench::stats::median;
use crate::bench::svg::Bar;
use crate::bench::{Bench, Output};

/// Lateness lines (`<label>  1000 woke, median 1.2 ms late, max 3.4 ms
/// late`) of several runs → one row per label, in the order printed, with
/// the median over the runs of the median and of the maximum lateness.
pub fn lateness_rows(runs: &[String], prefix: &str, program: &str) -> Result<Vec<Lateness>> {
    let line = Regex::new(r"^(.*\S) +\d+ woke, median +([0-9.]+) ms late, max +([0-9.]+) ms late$")
        .context("a valid pattern")?;
    let mut labels: Vec<String> = Vec::new();
    let mut figures: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for run in runs {
        for captures in run.lines().filter_map(|l| line.captures(l.trim_end())) {
            let label = captures[1].to_owned();
            let at = match labels.iter().position(|known| *known == label) {
                Some(at) => at,
                None => {
                    labels.push(label);
                    figures.push((Vec::new(), Vec::new()));
                    labels.len() - 1
                }
            };
            figures[at].0.push(captures[2].parse().unwrap_or(f64::NAN));
            figures[at].1.push(captures[3].parse().unwrap_or(f64::NAN));
        }
    }
    if labels.is_empty() {
        bail!("`{program}` printed no lateness lines");
    }
    Ok(labels
        .into_iter()
        .zip(figures)
        .map(|(label, (medians, maxima))| Lateness {
            label: format!("{prefix}{label}"),
            median_ms: median(&medians).unwrap_or(f64::NAN),
            max_ms: median(&maxima).unwrap_or(f64::NAN),
        })
        .collect())
}

/// One row of a lateness table: medians over the runs, in milliseconds.
#[derive(Debug, PartialEq)]
pub struct Lateness {
    pub label: String,
    pub median_ms: f64,
    pub max_ms: f64,
}

/// Adds the rows to `table`, and their median lateness to the run's
/// lateness chart (`lateness.svg`).
fn add_lateness(bench: &Bench, table: &mut Table, rows: Vec<Lateness>) {
    for row in rows {
        table.row(vec![
            row.label.clone(),
            format!("{:.1} ms", row.median_ms),
            format!("{:.1} ms", row.max_ms),
        ]);
        bench.lateness_bar(Bar::new(row.label, row.median_ms));
    }
}

fn lateness_summary(output: &str) -> String {
    format!(
        "{} lines",
        output.lines().filter(|l| l.contains(" woke, ")).count()
    )
}

/// `blocking.md`: Listing 3-7 and `blocking.py`, a 1,000 ms hog.
pub fn blocking(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let hog = bench.size("1000", "150");
    let mut progress = Progress::new(suite, 2);
    progress.next();
    let rust = bench.exe("ch03-07-blocking")?.arg(hog);
    let rust_runs = outputs(&progress, "rust", &rust, bench.runs, lateness_summary)?;
    progress.next();
    let python = bench
        .python("listings/ch03-async/03-07-blocking/blocking.py")
        .map(|p| {
            outputs(
                &progress,
                "python",
                &p.arg(hog),
                bench.runs,
                lateness_summary,
            )
        })
        .transpose()?;

    let mut table = Table::new(&["where the hog runs", "median lateness", "worst lateness"]);
    add_lateness(
        bench,
        &mut table,
        lateness_rows(&rust_runs, "tokio ", "ch03-07-blocking")?,
    );
    match &python {
        Some(runs) => add_lateness(bench, &mut table, lateness_rows(runs, "", "blocking.py")?),
        None => table.note(NO_PYTHON),
    }
    let mut text = format!(
        "{};\n{}\n",
        bench.machine.line(),
        rustc_and_python(bench, "")
    );
    text += &format!(
        "1,000 tasks sleep 100 ms while a hog computes for {hog} ms. Each figure is\n\
         the median over {} of `cargo run --release -p ch03-07-blocking -- {hog}`{}.\n\n",
        markdown::runs(bench.runs),
        and_python(python.is_some(), &format!("blocking.py {hog}"))
    );
    text += &table.render();
    Ok(vec![Output::new("blocking.md", text)])
}

/// `switching.md`: Listing 4-5 and `switching.py` (gevent), a 1,000 ms hog.
pub fn switching(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let hog = bench.size("1000", "100");
    let mut progress = Progress::new(suite, 2);
    progress.next();
    let rust = bench.exe("ch04-05-switching")?.arg(hog);
    let rust_runs = outputs(&progress, "rust", &rust, bench.runs, lateness_summary)?;
    progress.next();
    let python = match (
        &bench.python.gevent,
        bench.python("listings/ch04-green/04-05-switching/switching.py"),
    ) {
        (Some(_), Some(p)) => Some(outputs(
            &progress,
            "gevent",
            &p.arg(hog),
            bench.runs,
            lateness_summary,
        )?),
        _ => None,
    };

    let mut table = Table::new(&["what the hog does", "median lateness", "worst lateness"]);
    add_lateness(
        bench,
        &mut table,
        lateness_rows(&rust_runs, "may, ", "ch04-05-switching")?,
    );
    match &python {
        Some(runs) => add_lateness(bench, &mut table, lateness_rows(runs, "", "switching.py")?),
        None if bench.python.version.is_none() => table.note(NO_PYTHON),
        None => table.note(NO_GEVENT),
    }
    let mut text = format!(
        "{};\n{}\n",
        bench.machine.line(),
        rustc_may_and_gevent(bench),
    );
    text += &format!(
        "100 coroutines sleep 50 ms on one worker while a hog works for {hog} ms. Each\n\
         figure is the median over {} of `cargo run --release -p ch04-05-switching -- {hog}`{}.\n\n",
        markdown::runs(bench.runs),
        and_python(python.is_some(), &format!("switching.py {hog}"))
    );
    text += &table.render();
    Ok(vec![Output::new("switching.md", text)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_rows_take_medians_in_printed_order() {
        let runs = [
            "1000 tasks sleep\nb hog   1000 woke, median 2.0 ms late, max 3.0 ms late\n\
             a hog   1000 woke, median 900.0 ms late, max 901.0 ms late\n"
                .to_owned(),
            "b hog   1000 woke, median 4.0 ms late, max 5.0 ms late\n\
             a hog   1000 woke, median 902.0 ms late, max 903.0 ms late\n"
                .to_owned(),
        ];
        let rows = lateness_rows(&runs, "tokio ", "test").expect("parses");
        let row = |label: &str, median_ms, max_ms| Lateness {
            label: label.into(),
            median_ms,
            max_ms,
        };
        assert_eq!(rows[0], row("tokio b hog", 3.0, 4.0));
        assert_eq!(rows[1], row("tokio a hog", 901.0, 902.0));
        assert!(lateness_rows(&["nothing".into()], "", "test").is_err());
    }
}
