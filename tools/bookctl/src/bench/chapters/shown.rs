//! `no-gil.md` and `process-pool.md`: several runs of a listing and its
//! Python twin, and the whole output of each one's median run.

use anyhow::{Context, Result};

use super::{outputs, spread_figure, versions};
use crate::bench::markdown::{self, Table};
use crate::bench::python::NO_PYTHON;
use crate::bench::runner::{Program, Progress};
use crate::bench::stats::{Spread, median_index};
use crate::bench::{Bench, Output};

/// The largest speedup two workers can reach on the cores this run may use,
/// with a margin for timer noise (the same ceiling as `cpu.md`'s). A run
/// with any speedup line above it had its serial part slowed by something
/// else on the machine: the whole run (serial part included) is run again.
fn ceiling(bench: &Bench) -> f64 {
    crate::bench::suite_cpu::ceiling(bench.machine.cores)
}

/// The runs of one program kept for a table: how many of them were run
/// again for a speedup above the ceiling, and how many stayed above it.
struct Kept {
    runs: Vec<String>,
    rerun: usize,
    above: usize,
}

/// `runs` runs of `program`. A run with a speedup line above the ceiling (in
/// a full run) is run again, up to `runs` times in all; after that a run
/// above the ceiling is kept, and counted, so that a row whose runs are all
/// above it (a machine whose speed drifts between the serial and the parallel
/// part) is shown and named rather than lost.
fn outputs_under_ceiling(
    bench: &Bench,
    progress: &Progress,
    what: &str,
    program: &Program,
    runs: usize,
    key: &'static str,
) -> Result<Kept> {
    let mut kept = Kept {
        runs: Vec::new(),
        rerun: 0,
        above: 0,
    };
    while kept.runs.len() < runs {
        let output = outputs(progress, what, program, 1, speedup_summary(key))?.remove(0);
        let ceiling = ceiling(bench);
        let highest = lines(&output)
            .into_iter()
            .filter_map(|(_, _, speedup)| speedup)
            .fold(None, |high: Option<f64>, s| {
                Some(high.map_or(s, |h| h.max(s)))
            });
        match highest {
            // A quick run's millisecond timings are noise: no ceiling there.
            Some(above) if above > ceiling && !bench.quick => {
                if kept.rerun < runs {
                    kept.rerun += 1;
                    eprintln!(
                        "{what}: {above:.2}x is above the {ceiling:.2}x ceiling; running it again"
                    );
                } else {
                    kept.above += 1;
                    eprintln!(
                        "{what}: {above:.2}x is above the {ceiling:.2}x ceiling after {runs} \
                         re-runs; kept, and named in the text"
                    );
                    kept.runs.push(output);
                }
            }
            _ => kept.runs.push(output),
        }
    }
    Ok(kept)
}

/// What the ceiling did to a program's runs, in parentheses, or nothing.
fn discarded_note(kept: &Kept) -> String {
    let ceiling = "the ceiling of two workers";
    let rerun = match kept.rerun {
        0 => None,
        1 => Some(format!(
            "one run above {ceiling}, its serial part slowed by other work on the machine \
             or by the machine's own drift, was run again"
        )),
        n => Some(format!(
            "{n} runs above {ceiling}, their serial part slowed by other work on the machine \
             or by the machine's own drift, were run again"
        )),
    };
    let above = match kept.above {
        0 => None,
        1 => Some(format!(
            "one run stayed above {ceiling} after that and is kept"
        )),
        n => Some(format!(
            "{n} runs stayed above {ceiling} after that and are kept"
        )),
    };
    match (rerun, above) {
        (None, None) => String::new(),
        (Some(one), None) | (None, Some(one)) => format!(" ({one})"),
        (Some(rerun), Some(above)) => format!(" ({rerun}; {above})"),
    }
}

/// Every timed line of a program's output: its label, its time in seconds
/// and its speedup if it prints one (`2 threads (halves)    0.156 s  1.55x`).
fn lines(output: &str) -> Vec<(String, f64, Option<f64>)> {
    let pattern = regex::Regex::new(r"^(\S.*?)\s+([0-9.]+) s(?:\s+([0-9.]+)x)?\s*$")
        .expect("a valid pattern");
    output
        .lines()
        .filter_map(|line| {
            let found = pattern.captures(line)?;
            Some((
                found[1].trim().to_owned(),
                found[2].parse().ok()?,
                found.get(3).and_then(|s| s.as_str().parse().ok()),
            ))
        })
        .collect()
}

/// A table of every timed line over all runs of each program: the median
/// time and speedup of each line, then the smallest and largest run, so that
/// no line's figure is one run's.
fn every_line(programs: &[(&str, &[String])]) -> Table {
    let mut table = Table::new(&["program", "line", "median time", "median speedup"]);
    for (program, runs) in programs {
        let Some(first) = runs.first() else { continue };
        for (label, _, _) in lines(first) {
            let found: Vec<(f64, Option<f64>)> = runs
                .iter()
                .filter_map(|run| {
                    lines(run)
                        .into_iter()
                        .find(|(other, _, _)| *other == label)
                        .map(|(_, secs, speedup)| (secs, speedup))
                })
                .collect();
            let times: Vec<f64> = found.iter().map(|(secs, _)| *secs).collect();
            let speedups: Vec<f64> = found.iter().filter_map(|(_, s)| *s).collect();
            let Some(time) = Spread::of(&times) else {
                continue;
            };
            table.row(vec![
                (*program).to_owned(),
                label,
                time.cell(|s| format!("{s:.3} s")),
                Spread::of(&speedups)
                    .map_or_else(|| "—".to_owned(), |s| s.cell(|s| format!("{s:.2}x"))),
            ]);
        }
    }
    table
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

fn speedup_summary(prefix: &'static str) -> impl Fn(&str) -> String {
    move |output| speedup(output, prefix).map_or_else(|| "done".into(), |s| format!("{s:.2}x"))
}

/// `no-gil.md`: Listing 1-3 and `no_gil.py`, the median run of each shown.
/// The Python twin runs on one interpreter (`python3` where it is measured):
/// a run takes half a minute, and `cpu.md` asks the same question (two
/// threads against one) on every interpreter.
pub fn no_gil(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let dir = "listings/ch01-threads/01-03-no-gil";
    let limit = bench.size("3000000", "100000");
    let key = "2 threads";
    let mut progress = Progress::new(suite, 2);
    progress.next();
    let rust = bench.exe("ch01-03-no-gil")?;
    let rust_kept = outputs_under_ceiling(bench, &progress, "rust", &rust, bench.runs, key)?;
    let rust_output = median_run(&rust_kept.runs, key, "ch01-03-no-gil")?;
    progress.next();
    let mut python_runs: Option<Vec<String>> = None;
    let python = match bench.python.shown() {
        Some(interpreter) => {
            let program = bench
                .script(interpreter, &format!("{dir}/no_gil.py"))
                .arg(limit);
            let what = interpreter.name();
            let runs =
                outputs_under_ceiling(bench, &progress, &what, &program, bench.runs, key)?.runs;
            python_runs = Some(runs.clone());
            Some((median_run(&runs, key, "no_gil.py")?.to_owned(), interpreter))
        }
        None => None,
    };

    let mut text = format!("{};\n{}\n", bench.machine.line(), versions(bench, &[], &[]));
    if bench.runs > 1 {
        text += &format!(
            "Of {} of the Rust program{}, the median run (by the speedup of 2 threads) is shown{}.\n",
            markdown::runs(bench.runs),
            python
                .as_ref()
                .map(|(_, interpreter)| format!(
                    " and {} of the Python one on {}",
                    bench.runs,
                    interpreter.name()
                ))
                .unwrap_or_default(),
            discarded_note(&rust_kept),
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
    let python_name = python.as_ref().map(|(_, interpreter)| interpreter.name());
    let mut programs: Vec<(&str, &[String])> = vec![("ch01-03-no-gil", &rust_kept.runs)];
    if let (Some(name), Some(runs)) = (&python_name, &python_runs) {
        programs.push((name.as_str(), runs));
    }
    text += &format!(
        "\nEvery line over all the runs: the median, then the smallest and largest run in \
         parentheses (the run shown above is one of them; the ceiling of {:.2}x applies to \
         every speedup line).\n\n",
        ceiling(bench)
    );
    text += &every_line(&programs).render();
    Ok(vec![Output::new("no-gil.md", text)])
}

/// The time per job of `primes_pool.py`'s two tiny-job lines: each is the
/// `process pool` line under its heading.
const ONE_AT_A_TIME: &str = r"one tiny job at a time.*\n +process pool +([0-9.]+) µs";
const AT_ONCE: &str = r"tiny jobs at once.*\n +process pool +([0-9.]+) µs";

/// The start methods the table compares: Linux's default up to 3.13, the
/// one the Rust pool resembles (it re-executes itself), and 3.14's default.
const START_METHODS: [&str; 3] = ["fork", "spawn", "forkserver"];

/// `process-pool.md`: Listing 2-3 and `primes_pool.py`, the median run (by
/// the process pool's speedup) of each shown; then `primes_pool.py` under
/// each start method on each interpreter, at a third of the size (a full
/// size run takes 20 s, and this table has up to a dozen rows).
pub fn process_pool(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let dir = "listings/ch02-processes/02-03-primes-on-processes";
    let script = format!("{dir}/primes_pool.py");
    let python_args: &[&str] = bench.size(&[], &["100000", "100", "1000"]);
    let method_args: [&str; 3] =
        bench.size(["1000000", "1000", "10000"], ["100000", "100", "1000"]);
    let key = "2 processes";
    let mut progress = Progress::new(suite, 2 + START_METHODS.len() * bench.pythons().len());
    progress.next();
    let rust = bench.exe("ch02-03-primes-on-processes")?;
    let rust_kept = outputs_under_ceiling(bench, &progress, "rust", &rust, bench.runs, key)?;
    progress.next();
    let shown = match bench.python.shown() {
        Some(interpreter) => {
            let program = bench.script(interpreter, &script).args(python_args);
            let what = interpreter.name();
            let kept = outputs_under_ceiling(bench, &progress, &what, &program, bench.runs, key)?;
            let start_method = Program::new(&interpreter.path)
                .args([
                    "-c",
                    "import multiprocessing; print(multiprocessing.get_start_method())",
                ])
                .run()?;
            Some((kept, interpreter, start_method.trim().to_owned()))
        }
        None => None,
    };
    let mut methods = Table::new(&[
        "interpreter, start method",
        "64 jobs: speedup",
        "one tiny job at a time",
        "many tiny jobs at once (map)",
    ]);
    let mut methods_kept = Kept {
        runs: Vec::new(),
        rerun: 0,
        above: 0,
    };
    for interpreter in bench.pythons() {
        for method in START_METHODS {
            progress.next();
            let program = bench
                .script(interpreter, &script)
                .args(method_args)
                .arg(method);
            let what = format!("{}, {method}", interpreter.name());
            let Kept { runs, rerun, above } =
                outputs_under_ceiling(bench, &progress, &what, &program, bench.runs, key)?;
            methods_kept.rerun += rerun;
            methods_kept.above += above;
            let name = program.display();
            let speedups: Vec<f64> = runs.iter().filter_map(|run| speedup(run, key)).collect();
            let speedup = Spread::of(&speedups).context("no runs")?;
            let micros = |us: f64| format!("{us:.1} µs");
            methods.row(vec![
                format!("{}, `{method}`", interpreter.name()),
                speedup.cell(|s| format!("{s:.2}x")),
                spread_figure(ONE_AT_A_TIME, &runs, &name)?.cell(micros),
                spread_figure(AT_ONCE, &runs, &name)?.cell(micros),
            ]);
        }
    }
    let speedups = |runs: &[String]| {
        runs.iter()
            .filter_map(|run| speedup(run, key))
            .map(|s| format!("{s:.2}x"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let method = shown
        .as_ref()
        .map(|(_, interpreter, method)| {
            format!("{}'s default start method is {method}.", interpreter.name())
        })
        .unwrap_or_default();
    let mut text = format!(
        "{};\n{} {method}\n",
        bench.machine.line(),
        versions(bench, &[], &[])
    );
    text += &format!(
        "The process pool's speedup in {} of the Rust program{}:\n{}",
        count_word(bench.runs),
        discarded_note(&rust_kept),
        speedups(&rust_kept.runs)
    );
    if let Some((kept, interpreter, _)) = &shown {
        text += &format!(
            "; in {} of the Python program on {}{}: {}",
            count_word(kept.runs.len()),
            interpreter.name(),
            discarded_note(kept),
            speedups(&kept.runs)
        );
    }
    text += ".\nEach program's median run (by that speedup) is shown.\n\n```text\n";
    text += "$ cargo run --release -p ch02-03-primes-on-processes\n";
    text += median_run(&rust_kept.runs, key, "ch02-03-primes-on-processes")?.trim_end();
    text += "\n";
    if let Some((kept, ..)) = &shown {
        let runs = &kept.runs;
        let args: String = python_args.iter().map(|a| format!(" {a}")).collect();
        text += &format!(
            "\n$ python3 primes_pool.py{args}\n{}\n",
            median_run(runs, key, "primes_pool.py")?.trim_end()
        );
    }
    text += "```\n";
    if shown.is_none() {
        text += &format!("\n{NO_PYTHON}\n");
    } else {
        text += &format!(
            "\nThe Python pool under each start method, primes below {} and {} and {} tiny \
             jobs (`python3 primes_pool.py {} METHOD`); medians over {}{}, then the smallest \
             and largest run in parentheses. With `spawn` and \
             `forkserver` the first jobs wait for the workers to start, which the time per \
             job one at a time includes.\n\n",
            markdown::thousands(method_args[0].parse().unwrap_or(0.0)),
            markdown::thousands(method_args[1].parse().unwrap_or(0.0)),
            markdown::thousands(method_args[2].parse().unwrap_or(0.0)),
            method_args.join(" "),
            markdown::runs(bench.runs),
            discarded_note(&methods_kept),
        );
        text += &methods.render();
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
    fn tiny_job_figures_come_from_their_own_lines() {
        let run = "primes below 100000: 9592\n\
                   2 processes, 64 jobs        0.296 s  0.68x\n\n\
                   time per job, one tiny job at a time (100 jobs)\n  \
                   process pool              80.74 µs\n\
                   time per job, 1000 tiny jobs at once (map)\n  \
                   process pool              95.84 µs\n"
            .to_owned();
        let runs = [run];
        assert_eq!(
            spread_figure(ONE_AT_A_TIME, &runs, "t")
                .expect("found")
                .median,
            80.74
        );
        assert_eq!(
            spread_figure(AT_ONCE, &runs, "t").expect("found").median,
            95.84
        );
    }

    #[test]
    fn the_note_names_reruns_and_runs_kept_above_the_ceiling() {
        let kept = |rerun, above| Kept {
            runs: Vec::new(),
            rerun,
            above,
        };
        assert_eq!(discarded_note(&kept(0, 0)), "");
        assert!(discarded_note(&kept(1, 0)).contains("one run above"));
        let both = discarded_note(&kept(5, 2));
        assert!(both.contains("5 runs above"), "{both}");
        assert!(both.contains("2 runs stayed above"), "{both}");
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

    #[test]
    fn every_timed_line_is_tabulated_with_its_spread() {
        let runs = [
            "primes below 3000000: 216816\n1 thread              0.242 s\n2 threads (halves)    0.156 s  1.55x\nrayon, 2 threads      0.120 s  2.02x\n",
            "primes below 3000000: 216816\n1 thread              0.250 s\n2 threads (halves)    0.150 s  1.67x\nrayon, 2 threads      0.125 s  2.00x\n",
            "primes below 3000000: 216816\n1 thread              0.240 s\n2 threads (halves)    0.160 s  1.50x\nrayon, 2 threads      0.130 s  1.85x\n",
        ]
        .map(String::from);
        let table = every_line(&[("rust", &runs)]).render();
        assert!(
            table.contains("| rust | 1 thread | 0.242 s (0.240–0.250) | — |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| rust | rayon, 2 threads | 0.125 s (0.120–0.130) | 2.00x (1.85–2.02) |"
            ),
            "{table}"
        );
    }
}
