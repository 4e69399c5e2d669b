//! The six measured files that chapters 1-4 include, in the shape the text
//! relies on: each runs a listing (release build) and its Python twin beside
//! it, with the arguments the book quotes.

use anyhow::{Context, Result, bail};
use regex::Regex;

use super::markdown::Table;
use super::python::{NO_GEVENT, NO_PYTHON};
use super::runner::{Program, Progress};
use super::stats::{median, median_index};
use super::svg::Bar;
use super::{Bench, Output};

/// Runs `program` `runs` times and returns each run's standard output.
fn outputs(
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
            Ok(output)
        })
        .collect()
}

/// The number captured by `pattern` in `output` (its first match).
fn figure(pattern: &Regex, output: &str) -> Option<f64> {
    pattern.captures(output)?.get(1)?.as_str().parse().ok()
}

/// The median over `runs` of the figure `pattern` captures, or an error
/// naming the program if a run did not print it.
fn median_figure(pattern: &str, runs: &[String], program: &str) -> Result<f64> {
    let pattern = Regex::new(&format!("(?m){pattern}")).context("a valid pattern")?;
    let values = runs
        .iter()
        .map(|output| {
            figure(&pattern, output).with_context(|| {
                format!("`{program}` printed no line matching {pattern}:\n{output}")
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    median(&values).context("no runs")
}

/// The speedup on the line starting with `prefix` (`… 1.85x`).
fn speedup(output: &str, prefix: &str) -> Option<f64> {
    let line = output.lines().find(|line| line.starts_with(prefix))?;
    line.trim_end()
        .strip_suffix('x')?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// The run of `runs` with the median speedup on the `prefix` line.
fn median_run<'a>(runs: &'a [String], prefix: &str, program: &str) -> Result<&'a str> {
    let speedups = runs
        .iter()
        .map(|run| {
            speedup(run, prefix)
                .with_context(|| format!("`{program}` printed no `{prefix} … N.NNx` line:\n{run}"))
        })
        .collect::<Result<Vec<f64>>>()?;
    Ok(&runs[median_index(&speedups).context("no runs")?])
}

fn rustc_and_python(bench: &Bench, extra: &str) -> String {
    let python = bench.python.version.as_deref().map(|v| format!(", {v}"));
    format!(
        "{} (release build){}{}.",
        bench.machine.rustc,
        python.unwrap_or_default(),
        extra
    )
}

fn speedup_summary(prefix: &'static str) -> impl Fn(&str) -> String {
    move |output| speedup(output, prefix).map_or_else(|| "done".into(), |s| format!("{s:.2}x"))
}

/// `no-gil.md`: Listing 1-3 and `no_gil.py`, the median run of each shown.
pub fn no_gil(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let dir = "listings/ch01-threads/01-03-no-gil";
    let limit = bench.size("3000000", "100000");
    let python_runs = bench.runs.min(3);
    let mut progress = Progress::new(suite, 2);
    progress.next();
    let rust = bench.exe("ch01-03-no-gil")?;
    let rust_runs = outputs(
        &progress,
        "rust",
        &rust,
        bench.runs,
        speedup_summary("2 threads"),
    )?;
    let rust_output = median_run(&rust_runs, "2 threads", "ch01-03-no-gil")?;
    progress.next();
    let python = match bench.python(&format!("{dir}/no_gil.py")) {
        Some(program) => {
            let program = program.arg(limit);
            let runs = outputs(
                &progress,
                "python",
                &program,
                python_runs,
                speedup_summary("2 threads"),
            )?;
            Some((
                median_run(&runs, "2 threads", "no_gil.py")?.to_owned(),
                runs.len(),
            ))
        }
        None => None,
    };

    let mut text = format!(
        "{};\n{}\n",
        bench.machine.line(),
        rustc_and_python(bench, "")
    );
    if bench.runs > 1 {
        text += &format!(
            "Of {} of the Rust program{}, the median run (by the speedup of 2 threads) is shown.\n",
            runs_phrase(bench.runs),
            python
                .as_ref()
                .map(|(_, n)| format!(" and {n} of the Python one"))
                .unwrap_or_default()
        );
    }
    text += "\n```text\n$ cargo run --release -p ch01-03-no-gil\n";
    text += rust_output.trim_end();
    text += "\n";
    if let Some((output, _)) = &python {
        let args = if limit == "3000000" {
            String::new()
        } else {
            format!(" {limit}")
        };
        text += &format!("\n$ python3 no_gil.py{args}\n{}\n", output.trim_end());
    }
    text += "```\n";
    if python.is_none() {
        text += &format!("\n{NO_PYTHON}\n");
    }
    Ok(vec![Output::new("no-gil.md", text)])
}

/// `process-pool.md`: Listing 2-3 and `primes_pool.py`, the median run (by
/// the process pool's speedup) of each shown.
pub fn process_pool(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let dir = "listings/ch02-processes/02-03-primes-on-processes";
    let python_args: &[&str] = bench.size(&[], &["100000", "100", "1000"]);
    let python_runs = bench.runs.min(3);
    let key = "2 processes";
    let mut progress = Progress::new(suite, 2);
    progress.next();
    let rust = bench.exe("ch02-03-primes-on-processes")?;
    let rust_runs = outputs(&progress, "rust", &rust, bench.runs, speedup_summary(key))?;
    progress.next();
    let python = match bench.python(&format!("{dir}/primes_pool.py")) {
        Some(program) => {
            let program = program.args(python_args);
            let runs = outputs(
                &progress,
                "python",
                &program,
                python_runs,
                speedup_summary(key),
            )?;
            let start_method = Program::new("python3")
                .args([
                    "-c",
                    "import multiprocessing; print(multiprocessing.get_start_method())",
                ])
                .run()?;
            Some((runs, start_method.trim().to_owned()))
        }
        None => None,
    };
    let speedups = |runs: &[String]| {
        runs.iter()
            .filter_map(|run| speedup(run, key))
            .map(|s| format!("{s:.2}x"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let method = python
        .as_ref()
        .map(|(_, method)| format!(", start method {method}"))
        .unwrap_or_default();
    let mut text = format!(
        "{};\n{}\n",
        bench.machine.line(),
        rustc_and_python(bench, &method)
    );
    text += &format!(
        "The process pool's speedup in {} of the Rust program:\n{}",
        count_word(bench.runs),
        speedups(&rust_runs)
    );
    if let Some((runs, _)) = &python {
        text += &format!(
            "; in {} of the Python program: {}",
            count_word(runs.len()),
            speedups(runs)
        );
    }
    text += ".\nEach program's median run (by that speedup) is shown.\n\n```text\n";
    text += "$ cargo run --release -p ch02-03-primes-on-processes\n";
    text += median_run(&rust_runs, key, "ch02-03-primes-on-processes")?.trim_end();
    text += "\n";
    if let Some((runs, _)) = &python {
        let args: String = python_args.iter().map(|a| format!(" {a}")).collect();
        text += &format!(
            "\n$ python3 primes_pool.py{args}\n{}\n",
            median_run(runs, key, "primes_pool.py")?.trim_end()
        );
    }
    text += "```\n";
    if python.is_none() {
        text += &format!("\n{NO_PYTHON}\n");
    }
    Ok(vec![Output::new("process-pool.md", text)])
}

fn runs_phrase(n: usize) -> String {
    super::markdown::runs(n)
}

/// `five runs`: the count in words, as the chapters' prose has it.
fn count_word(n: usize) -> String {
    match n {
        1 => "one run".into(),
        2 => "two runs".into(),
        3 => "three runs".into(),
        4 => "four runs".into(),
        5 => "five runs".into(),
        n => format!("{n} runs"),
    }
}

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
        runs_phrase(bench.runs),
        if python.is_some() {
            format!(" and of `python3 blocking.py {hog}`")
        } else {
            String::new()
        }
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
    let versions = bench
        .python
        .versions(true)
        .into_iter()
        .map(|v| format!(", {v}"))
        .collect::<String>();
    let mut text = format!(
        "{};\n{} (release build), may 0.3.51{versions}.\n",
        bench.machine.line(),
        bench.machine.rustc
    );
    text += &format!(
        "100 coroutines sleep 50 ms on one worker while a hog works for {hog} ms. Each\n\
         figure is the median over {} of `cargo run --release -p ch04-05-switching -- {hog}`{}.\n\n",
        runs_phrase(bench.runs),
        if python.is_some() {
            format!(" and of `python3 switching.py {hog}`")
        } else {
            String::new()
        }
    );
    text += &table.render();
    Ok(vec![Output::new("switching.md", text)])
}

/// `scale.md`: Listing 3-8 (spawn and join_all) and `scale.py`.
pub fn scale(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let (tasks, nap) = bench.size(("100000", "1000"), ("10000", "100"));
    let mut progress = Progress::new(suite, 3);
    let scale = bench.exe("ch03-08-scale")?;
    let future_size = {
        let output = scale.clone().args(["1", "0"]).run()?;
        let pattern = Regex::new(r"future: (\d+) bytes").context("a valid pattern")?;
        figure(&pattern, &output).context("ch03-08-scale printed no future size")?
    };
    let mut variants = vec![
        (
            "tokio, `tokio::spawn` (multi-thread runtime)",
            Some(scale.clone().args([tasks, nap, "spawn"])),
        ),
        (
            "tokio, `join_all` in one task",
            Some(scale.clone().args([tasks, nap, "join_all"])),
        ),
    ];
    let python = bench.python("listings/ch03-async/03-08-scale/scale.py");
    variants.push((
        "asyncio, `asyncio.gather`",
        python.map(|p| p.args([tasks, nap])),
    ));

    let mut table = Table::new(&[
        "variant",
        "spawning",
        "wall time",
        "peak memory",
        "memory per task",
    ]);
    let woke = Regex::new(r"woke after ([0-9.]+) s").context("a valid pattern")?;
    let wall_of =
        |output: &str| figure(&woke, output).map_or("done".into(), |s| format!("{s:.3} s"));
    for (label, program) in variants {
        progress.next();
        let Some(program) = program else {
            table.note(NO_PYTHON);
            continue;
        };
        let runs = outputs(&progress, label, &program, bench.runs, wall_of)?;
        let name = program.display();
        let spawned = median_figure(r"^spawned in ([0-9.]+) s$", &runs, &name)
            .map_or_else(|_| "—".to_owned(), |s| format!("{s:.3} s"));
        table.row(vec![
            label.to_owned(),
            spawned,
            format!(
                "{:.3} s",
                median_figure(r"^all \d+ woke after ([0-9.]+) s$", &runs, &name)?
            ),
            format!(
                "{:.1} MiB",
                median_figure(r"^peak memory ([0-9.]+) MiB", &runs, &name)?
            ),
            format!(
                "{:.2} KiB",
                median_figure(r" ([0-9.]+) KiB per task", &runs, &name)?
            ),
        ]);
    }
    let mut text = format!(
        "{};\n{}\n",
        bench.machine.line(),
        rustc_and_python(bench, "")
    );
    text += &format!(
        "{tasks} tasks each sleep {nap} ms. Each figure is the median over {} of\n\
         `cargo run --release -p ch03-08-scale -- {tasks} {nap} spawn` (or `join_all`){}.\n\
         One task's future (`nap_for`) is {future_size} bytes.\n\n",
        runs_phrase(bench.runs),
        if bench.python.version.is_some() {
            format!(" and of `python3 scale.py {tasks} {nap}`")
        } else {
            String::new()
        }
    );
    text += &table.render();
    Ok(vec![Output::new("scale.md", text)])
}

/// A row of `may-limits.md`: its label, the pattern of its figure in the
/// listing's output, and how to show the median.
type Figure = (&'static str, &'static str, fn(f64) -> String);

/// `may-limits.md`: Listing 4-7 with 20,000 parked coroutines, well under
/// the `vm.max_map_count` ceiling, and `limits.py` (gevent).
pub fn may_limits(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let coroutines = bench.size("20000", "2000");
    let mut progress = Progress::new(suite, 2);
    progress.next();
    let rust = bench.exe("ch04-07-limits")?.arg(coroutines);
    let done = |_: &str| "done".to_owned();
    let runs = outputs(&progress, "may", &rust, bench.runs, done)?;
    progress.next();
    let python = match (
        &bench.python.gevent,
        bench.python("listings/ch04-green/04-07-limits/limits.py"),
    ) {
        (Some(_), Some(p)) => Some(outputs(
            &progress,
            "gevent",
            &p.arg(coroutines),
            bench.runs,
            done,
        )?),
        _ => None,
    };
    let may = "ch04-07-limits";
    let mut table = Table::new(&["figure", "median"]);
    let rows: [Figure; 5] = [
        (
            "starting may: extra memory mappings",
            r"^starting may: \+([0-9]+) mappings",
            |v| format!("{v:.0}"),
        ),
        (
            "starting may: extra RSS",
            r"^starting may: .*\+([0-9]+) MiB RSS$",
            |v| format!("{v:.0} MiB"),
        ),
        (
            "may: spawn, until running and parked",
            r"^spawn: ([0-9.]+) µs per coroutine$",
            |v| format!("{v:.1} µs per coroutine"),
        ),
        (
            "may: RSS beyond the pool",
            r"^beyond the pool: ([0-9.]+) KiB RSS per coroutine$",
            |v| format!("{v:.1} KiB per coroutine"),
        ),
        (
            "may: memory mappings beyond the pool",
            r"^beyond the pool: ([0-9.]+) mappings per coroutine$",
            |v| format!("{v:.2} per coroutine"),
        ),
    ];
    for (label, pattern, format) in rows {
        table.row(vec![
            label.to_owned(),
            format(median_figure(pattern, &runs, may)?),
        ]);
    }
    match &python {
        Some(runs) => {
            let spawn = median_figure(r"^spawn: ([0-9.]+) µs per greenlet$", runs, "limits.py")?;
            let rss = median_figure(
                r"^memory: ([0-9.]+) KiB RSS per greenlet$",
                runs,
                "limits.py",
            )?;
            table.row(vec![
                "gevent: spawn, until running and parked".into(),
                format!("{spawn:.1} µs per greenlet"),
            ]);
            table.row(vec![
                "gevent: RSS".into(),
                format!("{rss:.1} KiB per greenlet"),
            ]);
        }
        None if bench.python.version.is_none() => table.note(NO_PYTHON),
        None => table.note(NO_GEVENT),
    }
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned());
    let versions = bench
        .python
        .versions(true)
        .into_iter()
        .map(|v| format!(", {v}"))
        .collect::<String>();
    let mut text = format!(
        "{},\nvm.max_map_count {max_map_count}; {} (release build), may 0.3.51{versions}.\n",
        bench.machine.line(),
        bench.machine.rustc
    );
    text += &format!(
        "Medians over {} of `cargo run --release -p ch04-07-limits -- {coroutines}`{}\n\
         (default configuration: stacks of 4,096 words, a pool of 1,000 coroutines).\n\n",
        runs_phrase(bench.runs),
        if python.is_some() {
            format!(" and of `python3 limits.py {coroutines}`")
        } else {
            String::new()
        }
    );
    text += &table.render();
    Ok(vec![Output::new("may-limits.md", text)])
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

    #[test]
    fn median_run_by_speedup() {
        let runs = [
            "2 threads  0.2 s  1.50x\n",
            "2 threads  0.2 s  1.90x\n",
            "2 threads  0.2 s  1.70x\n",
        ]
        .map(String::from);
        assert_eq!(median_run(&runs, "2 threads", "t").expect("found"), runs[2]);
        assert!(median_run(&["no speedup".into()], "2 threads", "t").is_err());
    }
}
