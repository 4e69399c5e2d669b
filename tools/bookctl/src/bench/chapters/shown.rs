//! `no-gil.md` and `process-pool.md`: several runs of a listing and its
//! Python twin, and the whole output of each one's median run.

use anyhow::{Context, Result};

use super::{outputs, rustc_and_python};
use crate::bench::markdown;
use crate::bench::python::NO_PYTHON;
use crate::bench::runner::{Program, Progress};
use crate::bench::stats::median_index;
use crate::bench::{Bench, Output};

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
            markdown::runs(bench.runs),
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

#[cfg(test)]
mod tests {
    use super::*;

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
