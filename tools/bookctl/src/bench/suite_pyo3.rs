//! `pyo3.md`: Part 6's prime count, called from Python. Pure Python (serial
//! and two threads) against the extension module `primes_rs` (Listing 6-1):
//! one call, two Python threads calling it with the GIL held and with the
//! GIL released, and one call that runs rayon inside. The Rust program of
//! the `cpu` suite, serial, is the floor.
//!
//! The extension is built in release mode with cargo and put on the Python
//! programs' `PYTHONPATH` (see `crate::extensions`); one abi3 build serves
//! every CPython from 3.11 on, so each interpreter the bench measures gets
//! its rows by running the same Python programs.

use std::ffi::OsString;

use anyhow::{Context, Result, bail};

use super::markdown::{Table, runs, seconds, thousands};
use super::python::NO_PYTHON;
use super::runner::{Program, Progress, measure, number, spread_of};
use super::stats::Spread;
use super::{Bench, Output};
use crate::extensions;

/// The extension's package and the module Python imports.
const PACKAGE: &str = "ch06-01-first-extension";
const MODULE: &str = "primes_rs";

/// The prime count below each size the suite uses: every run is checked.
fn expected_count(limit: u64) -> Option<u64> {
    match limit {
        100_000 => Some(9_592),
        3_000_000 => Some(216_816),
        _ => None,
    }
}

struct Row {
    label: String,
    /// The interpreter that runs the row (`Python 3.12.1`), if any: ratios
    /// compare rows of one interpreter only.
    python: Option<String>,
    program: Program,
}

pub fn run(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let limit: u64 = bench.size(3_000_000, 100_000);
    let size = limit.to_string();
    let mut rows = vec![Row {
        label: "Rust program, serial (`primes serial`)".to_owned(),
        python: None,
        program: bench.exe("primes")?.args(["serial", size.as_str()]),
    }];

    // Kept alive until every row has run: the module lives in it.
    let mut modules = None;
    if !bench.pythons().is_empty() {
        // The build runs inside the suite: its CPU time (cargo's and rustc's,
        // all waited for) counts as the benchmark's own, not as another
        // process's, for the quiet-machine check.
        let before = super::tree::children_cpu_secs();
        let libraries = extensions::build(&bench.root, &[PACKAGE], &["--release"])
            .context("cannot build the extension module primes_rs")?;
        if let (Some(before), Some(after)) = (before, super::tree::children_cpu_secs()) {
            super::quiet::add_measured(((after - before).max(0.0) * 1e9) as u64);
        }
        let library = libraries
            .get(MODULE)
            .with_context(|| format!("cargo built no library named {MODULE}"))?;
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        extensions::stage(dir.path(), MODULE, library)?;
        let mut python_path = OsString::from("PYTHONPATH=");
        python_path.push(dir.path());
        let with_module = [OsString::from("env"), python_path];
        modules = Some(dir);

        for python in bench.pythons() {
            let name = python.name();
            for (label, variant) in [
                ("pure Python, serial", "serial"),
                ("pure Python, `threading.Thread` ×2", "threads"),
            ] {
                rows.push(Row {
                    label: format!("{label}, {name}"),
                    python: Some(name.clone()),
                    program: bench
                        .script(python, "bench/python/primes.py")
                        .args([variant, size.as_str()]),
                });
            }
            for (label, variant) in [
                ("`count_primes`, one call", "serial"),
                (
                    "`threading.Thread` ×2 calling `count_primes` (GIL held)",
                    "threads",
                ),
                (
                    "`threading.Thread` ×2 calling `count_primes_detached` (GIL released)",
                    "threads-detached",
                ),
                (
                    "`count_primes_parallel`, one call (rayon inside)",
                    "parallel",
                ),
            ] {
                rows.push(Row {
                    label: format!("{label}, {name}"),
                    python: Some(name.clone()),
                    program: bench
                        .script(python, "bench/python/primes_ext.py")
                        .args([variant, size.as_str()])
                        .wrapped(&with_module),
                });
            }
        }
    }

    let check = |record: &serde_json::Value| {
        let count = number(record, "count")? as u64;
        match expected_count(limit) {
            Some(expected) if count != expected => {
                bail!("it counted {count} primes below {limit}, expected {expected}")
            }
            _ => Ok(()),
        }
    };
    // Round after round, each row once per round, rather than all the runs
    // of one row and then the next: a machine whose load drifts during the
    // suite then disturbs every row alike, and the ratios stay fair.
    let mut progress = Progress::new(suite, rows.len() * bench.runs);
    let mut records = vec![Vec::new(); rows.len()];
    for run in 1..=bench.runs {
        for (row, records) in rows.iter().zip(&mut records) {
            progress.next();
            let what = format!("{} (round {run})", row.label.replace('`', ""));
            records.extend(measure(&progress, &what, &row.program, 1, check)?);
        }
    }
    drop(modules);
    let spreads = records
        .iter()
        .map(|records| spread_of(records, "secs"))
        .collect::<Result<Vec<Spread>>>()?;
    let medians: Vec<f64> = spreads.iter().map(|spread| spread.median).collect();

    // The baselines of a row: pure Python serial and one extension call,
    // both on the row's own interpreter.
    let index_of = |python: &Option<String>, label_start: &str| {
        rows.iter()
            .position(|row| row.python == *python && row.label.starts_with(label_start))
    };
    let time_of = |python: &Option<String>, label_start: &str| {
        index_of(python, label_start).map(|index| medians[index])
    };
    // A speedup is the median of the rounds' own ratios (the baseline's run
    // of that round over the row's run of that round), with their range.
    let ratio = |baseline: Option<usize>, row: usize| -> String {
        let Some(base) = baseline else {
            return "—".to_owned();
        };
        let ratios: Vec<f64> = records[base]
            .iter()
            .zip(&records[row])
            .filter_map(|(base, run)| Some(base["secs"].as_f64()? / run["secs"].as_f64()?))
            .collect();
        Spread::of(&ratios).map_or("—".to_owned(), |r| r.cell(|r| format!("{r:.2}x")))
    };
    let mut table = Table::new(&[
        "variant",
        "median time",
        "speedup vs pure Python serial",
        "speedup vs one `count_primes` call",
    ]);
    for (index, (row, spread)) in rows.iter().zip(&spreads).enumerate() {
        table.row(vec![
            row.label.clone(),
            spread.cell(seconds),
            ratio(index_of(&row.python, "pure Python, serial"), index),
            ratio(index_of(&row.python, "`count_primes`, one call"), index),
        ]);
    }
    if bench.pythons().is_empty() {
        table.note(NO_PYTHON);
    }
    for python in bench.pythons() {
        let name = Some(python.name());
        if let (Some(pure), Some(rust)) = (
            time_of(&name, "pure Python, serial"),
            time_of(&name, "`count_primes`, one call"),
        ) {
            table.note(format!(
                "On {}, one call into the extension is {:.0}x as fast as the same count in \
                 pure Python ({} against {}).",
                python.name(),
                pure / rust,
                seconds(rust),
                seconds(pure)
            ));
        }
    }

    let mut tools = vec![bench.crate_version("pyo3"), bench.crate_version("rayon")];
    tools.extend(bench.python.stamps(&[]));
    let mut text = bench.machine.stamp(&tools);
    text += &format!(
        "\nPrimes below {limit} by trial division, called from Python; medians (then the \
         smallest and largest run, and for speedups the rounds' paired ratios) over {} of \
         each variant, taken in rounds (every variant once per round), every run checked to count {} primes. The extension is Listing 6-1's \
         `primes_rs`, built with `--release` for the stable ABI (abi3) of CPython 3.11 and \
         later. The threads take 64 chunks one at a time, as in the `cpu` suite (one row by \
         hand: `python3 bench/python/primes_ext.py threads-detached {limit}` with `primes_rs` \
         importable, or `python3 bench/python/primes.py threads {limit}`). A 2-core \
         machine's ceiling is a 2.0x speedup.\n\n",
        runs(bench.runs),
        expected_count(limit).map_or("the same".into(), |n| thousands(n as f64)),
    );
    text += &table.render();
    Ok(vec![Output::new("pyo3.md", text)])
}
