//! `blocking.md` and `switching.md`: sleepers behind a CPU hog, the median
//! lateness per variant over several runs (and `lateness.svg` from both).

use anyhow::{Context, Result, bail};
use regex::Regex;

use super::{and_python, outputs, versions};
use crate::bench::markdown::{self, Table};
use crate::bench::python::Package;
use crate::bench::runner::{Program, Progress};
use crate::bench::stats::{Spread, median};
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
            median_spread: Spread::of(&medians),
            max_spread: Spread::of(&maxima),
        })
        .collect())
}

/// One row of a lateness table: medians over the runs, in milliseconds.
#[derive(Debug, PartialEq)]
pub struct Lateness {
    pub label: String,
    pub median_ms: f64,
    pub max_ms: f64,
    /// The same over the runs, with their range.
    pub median_spread: Option<Spread>,
    pub max_spread: Option<Spread>,
}

/// Adds the rows to `table`, and their median lateness to the run's
/// lateness chart (`lateness.svg`).
fn add_lateness(bench: &Bench, table: &mut Table, rows: Vec<Lateness>) {
    for row in rows {
        let ms = |ms: f64| format!("{ms:.1} ms");
        let cell =
            |spread: Option<Spread>, median: f64| spread.map_or_else(|| ms(median), |s| s.cell(ms));
        table.row(vec![
            row.label.clone(),
            cell(row.median_spread, row.median_ms),
            cell(row.max_spread, row.max_ms),
        ]);
        let mut bar = Bar::new(row.label, row.median_ms);
        if let Some(spread) = row.median_spread {
            bar = bar.with_range(spread.min, spread.max);
        }
        bench.lateness_bar(bar);
    }
}

fn lateness_summary(output: &str) -> String {
    format!(
        "{} lines",
        output.lines().filter(|l| l.contains(" woke, ")).count()
    )
}

/// `blocking.md`: Listing 3-7, the `yielding-hog` row it leaves out, and
/// `blocking.py` on each interpreter, a 1,000 ms hog.
pub fn blocking(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let hog = bench.size("1000", "150");
    let mut progress = Progress::new(suite, 2 + bench.pythons().len());
    progress.next();
    let rust = bench.exe("ch03-07-blocking")?.arg(hog);
    let rust_runs = outputs(&progress, "rust", &rust, bench.runs, lateness_summary)?;
    progress.next();
    let yielding = bench.exe("yielding-hog")?.arg(hog);
    let yielding_runs = outputs(&progress, "rust", &yielding, bench.runs, lateness_summary)?;
    let mut table = Table::new(&["where the hog runs", "median lateness", "worst lateness"]);
    add_lateness(
        bench,
        &mut table,
        lateness_rows(&rust_runs, "tokio ", "ch03-07-blocking")?,
    );
    add_lateness(
        bench,
        &mut table,
        lateness_rows(&yielding_runs, "tokio ", "yielding-hog")?,
    );
    for python in bench.pythons() {
        progress.next();
        let program = bench
            .script(python, "listings/ch03-async/03-07-blocking/blocking.py")
            .arg(hog);
        let what = python.name();
        let runs = outputs(&progress, &what, &program, bench.runs, lateness_summary)?;
        let rows = lateness_rows(&runs, "", "blocking.py")?;
        add_lateness(bench, &mut table, tagged(rows, &python.name()));
    }
    for note in bench.python.notes(&[]) {
        table.note(note);
    }
    let mut text = format!("{};\n{}\n", bench.machine.line(), versions(bench, &[], &[]));
    text += &format!(
        "1,000 tasks sleep 100 ms while a hog computes for {hog} ms. Each figure is\n\
         the median over {} of `cargo run --release -p ch03-07-blocking -- {hog}`, of\n\
         `cargo run --release -p book-bench --bin yielding-hog -- {hog}` (the hog computes\n\
         in 1 ms slices with `tokio::task::yield_now().await` between them){}.\n\n",
        markdown::runs(bench.runs),
        and_python(!bench.python.is_empty(), &format!("blocking.py {hog}"))
    );
    text += &table.render();
    Ok(vec![Output::new("blocking.md", text)])
}

/// The rows with `, Python 3.12.1` after each label.
fn tagged(rows: Vec<Lateness>, name: &str) -> Vec<Lateness> {
    rows.into_iter()
        .map(|row| Lateness {
            label: format!("{}, {name}", row.label),
            ..row
        })
        .collect()
}

/// `switching.md`: Listing 4-5 and `switching.py` (gevent) on each
/// interpreter, a 1,000 ms hog, every process pinned to one CPU.
pub fn switching(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let hog = bench.size("1000", "100");
    let gevents: Vec<_> = bench
        .pythons()
        .iter()
        .filter(|python| python.has(Package::Gevent))
        .collect();
    // may's timer thread resumes a sleeping coroutine on its own thread: on
    // a second core, a hog that sleeps would run beside the worker instead
    // of sharing it. Pinned to one CPU, every thread of may (and gevent's
    // threadpool) shares one core, as gevent's hub does.
    let pin = one_cpu();
    let mut progress = Progress::new(suite, 1 + 2 * gevents.len());
    progress.next();
    let rust = bench.exe("ch04-05-switching")?.arg(hog).wrapped(&pin);
    let rust_runs = outputs(&progress, "rust", &rust, bench.runs, lateness_summary)?;
    let mut table = Table::new(&["what the hog does", "median lateness", "worst lateness"]);
    add_lateness(
        bench,
        &mut table,
        lateness_rows(&rust_runs, "may, ", "ch04-05-switching")?,
    );
    for python in &gevents {
        progress.next();
        let program = bench
            .script(python, "listings/ch04-green/04-05-switching/switching.py")
            .arg(hog)
            .wrapped(&pin);
        let what = format!("gevent, {}", python.name());
        let runs = outputs(&progress, &what, &program, bench.runs, lateness_summary)?;
        let rows = lateness_rows(&runs, "", "switching.py")?;
        add_lateness(bench, &mut table, tagged(rows, &python.name()));
        // The sleep(0) row again, with the naps spread over one period of
        // gevent's 50-callback check, so that its figure does not depend on
        // where the 50 ms nap falls in that period (see the script).
        progress.next();
        let spread = bench
            .script(python, "bench/python/gevent_yield_phase.py")
            .arg(hog)
            .wrapped(&pin);
        let runs = outputs(&progress, &what, &spread, bench.runs, lateness_summary)?;
        let rows = lateness_rows(&runs, "", "gevent_yield_phase.py")?;
        add_lateness(bench, &mut table, tagged(rows, &python.name()));
    }
    for note in bench.python.notes(&[Package::Gevent]) {
        table.note(note);
    }
    let pinned = if pin.is_empty() {
        "Not pinned (no taskset here): may's timer thread may run on another core."
    } else {
        "Every process ran pinned to one CPU (`taskset -c 0`), all of may's threads included."
    };
    let mut text = format!(
        "{};\n{}\n",
        bench.machine.line(),
        versions(bench, &["may"], &[Package::Gevent]),
    );
    text += &format!(
        "100 coroutines sleep 50 ms on one worker while a hog works for {hog} ms. Each\n\
         figure is the median over {} of `taskset -c 0 cargo run --release -p ch04-05-switching -- {hog}`{}.\n\
         {pinned}\n\n",
        markdown::runs(bench.runs),
        and_python(!gevents.is_empty(), &format!("switching.py {hog}"))
    );
    if !gevents.is_empty() {
        text += &format!(
            "The \"naps spread over 50 slices\" row is `python3 bench/python/gevent_yield_phase.py {hog}`: \
             behind a hog that calls `gevent.sleep(0)`, gevent's hub runs its timers only after \
             every 50 callbacks, so a sleeper's lateness depends on where its nap ends within \
             those 50 slices, and the 50 ms nap of the row above is exactly 50 slices. There the \
             100 naps are spread evenly over one such period: its median is the typical wait, \
             wherever the naps end.\n\n"
        );
    }
    text += &table.render();
    Ok(vec![Output::new("switching.md", text)])
}

/// `taskset -c 0` where taskset exists, else nothing.
fn one_cpu() -> Vec<std::ffi::OsString> {
    let taskset = Program::new("taskset")
        .args(["-c", "0", "true"])
        .run()
        .is_ok();
    if taskset {
        ["taskset", "-c", "0"].map(Into::into).into()
    } else {
        Vec::new()
    }
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
        let row = |label: &str, medians: [f64; 2], maxima: [f64; 2]| Lateness {
            label: label.into(),
            median_ms: (medians[0] + medians[1]) / 2.0,
            max_ms: (maxima[0] + maxima[1]) / 2.0,
            median_spread: Spread::of(&medians),
            max_spread: Spread::of(&maxima),
        };
        assert_eq!(rows[0], row("tokio b hog", [2.0, 4.0], [3.0, 5.0]));
        assert_eq!(rows[1], row("tokio a hog", [900.0, 902.0], [901.0, 903.0]));
        assert_eq!(
            rows[0]
                .median_spread
                .map(|s| s.cell(|ms| format!("{ms:.1} ms"))),
            Some("3.0 ms (2.0–4.0)".to_owned())
        );
        assert!(lateness_rows(&["nothing".into()], "", "test").is_err());
    }
}
