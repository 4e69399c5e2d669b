//! `cargo book bench`: runs the book's benchmark programs in release mode,
//! Rust and Python side by side on the same machine in the same run, and
//! writes the stamped tables (and SVG charts) under `src/measured/` that the
//! chapters include.
//!
//! Each suite is a module with one `run` function that returns the files it
//! measured; they are written only once the whole suite has succeeded, each
//! atomically, so a failed run never leaves a half-written table behind.
//!
//! Around each suite the tool samples what else used the CPU ([`quiet`]):
//! for 2 s before it, and during it. A suite disturbed beyond the stated
//! limits is never written into `src/measured/` (its files go to
//! `target/bench-refused/` for inspection, and the run ends with an error
//! naming them, to be resumed with `--resume` on a quiet machine); into any
//! other directory it is written with a warning in its stamp. Beside each
//! suite's tables goes `<suite>.runs.json`: every run's raw result, the
//! interference samples and how the process trees were accounted.

mod chapters;
mod markdown;
mod python;
mod quiet;
mod runner;
mod stamp;
mod stats;
mod suite_cpu;
mod suite_echo;
mod suite_pyo3;
mod suite_sleepers;
mod svg;
mod tree;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use self::python::{Interpreter, Python};
use self::runner::Program;
use self::stamp::Machine;
use self::svg::{Bar, Scale};

/// What `cargo book bench` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A short smoke run: small sizes, one run each, output under
    /// `target/bench-quick/` unless `out` says otherwise.
    pub quick: bool,
    /// Only these suites (all if empty).
    pub only: Vec<String>,
    /// Runs per figure (default: 5, echo 3; `--quick`: 1).
    pub runs: Option<usize>,
    /// Where to write the files (default: `src/measured/`).
    pub out: Option<PathBuf>,
    /// Skip the suites an earlier run into `out` finished.
    pub resume: bool,
    /// The Python interpreters to measure (default: `python3` and pyenv's
    /// CPython 3.11 and later, one per version).
    pub pythons: Vec<PathBuf>,
}

/// One file a suite measured: its name under the output directory and text.
pub struct Output {
    pub file: String,
    pub contents: String,
}

impl Output {
    pub fn new(file: impl Into<String>, contents: impl Into<String>) -> Self {
        Output {
            file: file.into(),
            contents: contents.into(),
        }
    }
}

/// A suite: a name for `--only`, the packages it runs, and how.
struct Suite {
    name: &'static str,
    packages: &'static [&'static str],
    run: fn(&Bench, &'static str) -> Result<Vec<Output>>,
}

const SUITES: &[Suite] = &[
    Suite {
        name: "cpu",
        packages: &[],
        run: suite_cpu::run,
    },
    Suite {
        name: "sleepers",
        packages: &[],
        run: suite_sleepers::run,
    },
    Suite {
        name: "echo",
        packages: &[],
        run: suite_echo::run,
    },
    Suite {
        name: "no-gil",
        packages: &["ch01-03-no-gil"],
        run: chapters::no_gil,
    },
    Suite {
        name: "false-sharing",
        packages: &["ch01-12-false-sharing"],
        run: chapters::false_sharing,
    },
    Suite {
        name: "process-pool",
        packages: &["ch02-03-primes-on-processes"],
        run: chapters::process_pool,
    },
    Suite {
        name: "blocking",
        packages: &["ch03-07-blocking"],
        run: chapters::blocking,
    },
    Suite {
        name: "scale",
        packages: &["ch03-08-scale"],
        run: chapters::scale,
    },
    Suite {
        name: "switching",
        packages: &["ch04-05-switching"],
        run: chapters::switching,
    },
    Suite {
        name: "may-limits",
        packages: &["ch04-07-limits"],
        run: chapters::may_limits,
    },
    Suite {
        name: "pyo3",
        // The extension module is a library, not a program: the suite
        // builds it itself (and `primes`, which book-bench always builds).
        packages: &[],
        run: suite_pyo3::run,
    },
    Suite {
        name: "distributed",
        packages: &["ch08-02-throughput"],
        run: chapters::distributed,
    },
];

/// The names `--only` accepts.
pub fn suite_names() -> Vec<&'static str> {
    SUITES.iter().map(|suite| suite.name).collect()
}

/// Everything a suite needs: the built programs, the machine, the options.
pub struct Bench {
    pub root: PathBuf,
    pub quick: bool,
    /// Runs per figure (echo too: five rounds, like every suite).
    pub runs: usize,
    pub echo_runs: usize,
    pub machine: Machine,
    pub python: Python,
    executables: HashMap<String, PathBuf>,
    /// Median lateness of every variant the lateness suites (blocking,
    /// switching) measured, for `lateness.svg`.
    lateness: RefCell<Vec<Bar>>,
    /// The book's Cargo.lock, for the crate versions in the stamps.
    lock_file: String,
}

impl Bench {
    /// A program built by this run, by its executable's name.
    pub fn exe(&self, name: &str) -> Result<Program> {
        self.executables
            .get(name)
            .map(Program::new)
            .with_context(|| format!("cargo built no executable named {name}"))
    }

    /// Every interpreter the Python rows run on, oldest first.
    pub fn pythons(&self) -> &[Interpreter] {
        &self.python.interpreters
    }

    /// `<interpreter> <script>` for a script under the book's root.
    pub fn script(&self, python: &Interpreter, script: &str) -> Program {
        python.script(&self.root, script)
    }

    /// Adds a bar to `lateness.svg`.
    pub fn lateness_bar(&self, bar: Bar) {
        self.lateness.borrow_mut().push(bar);
    }

    /// `tokio 1.54.1`: a crate's version as built here, for the stamps.
    pub fn crate_version(&self, name: &str) -> String {
        stamp::crate_version(&self.lock_file, name)
    }

    /// A full-size figure, or the `--quick` one.
    pub fn size<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// Runs the selected suites and writes their files.
pub fn run(root: &Path, options: &Options) -> Result<()> {
    let selected: Vec<&Suite> = if options.only.is_empty() {
        SUITES.iter().collect()
    } else {
        let mut selected = Vec::new();
        for name in &options.only {
            let Some(suite) = SUITES.iter().find(|suite| suite.name == name) else {
                bail!(
                    "there is no benchmark suite {name:?}; choose from: {}",
                    suite_names().join(", ")
                );
            };
            // `--only cpu --only cpu` measures cpu once.
            if !selected
                .iter()
                .any(|chosen: &&Suite| chosen.name == suite.name)
            {
                selected.push(suite);
            }
        }
        selected
    };
    if options.runs == Some(0) {
        bail!("--runs must be at least 1");
    }
    let out = match &options.out {
        Some(out) => out.clone(),
        None if options.quick => root.join("target/bench-quick"),
        None => root.join("src/measured"),
    };

    let python = Python::detect(&options.pythons)?;
    let mut packages = vec!["book-bench"];
    packages.extend(selected.iter().flat_map(|suite| suite.packages));
    let started = Instant::now();
    let executables = build(root, &packages)?;
    eprintln!("built in {:.0} s", started.elapsed().as_secs_f64());

    let bench = Bench {
        root: root.to_owned(),
        quick: options.quick,
        runs: options.runs.unwrap_or(if options.quick { 1 } else { 5 }),
        echo_runs: options.runs.unwrap_or(if options.quick { 1 } else { 5 }),
        machine: Machine::detect(),
        python,
        executables,
        lateness: RefCell::default(),
        lock_file: std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default(),
    };
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    // The gate guards the book's own directory, however it was named.
    let book_dir = root.join("src/measured");
    let gated = same_dir(&out, &book_dir);
    if gated && options.quick {
        bail!(
            "--quick figures never go into src/measured/: use --out DIR (or none: target/bench-quick/)"
        );
    }
    // Kept under target/, not beside the tables (src/measured/ is the book).
    let state = RunProgress::file(root, &out);
    let mut progress = RunProgress::load(&state, options.resume, &bench.machine.run_id);
    let refused_dir = root.join("target/bench-refused");
    let mut refused = Vec::new();
    eprintln!("process trees: {}", tree::accounting().name());
    let started = Instant::now();
    for suite in &selected {
        if progress.done.iter().any(|done| done == suite.name) {
            eprintln!(
                "{}: done by run {}, skipped (--resume)",
                suite.name, progress.run_id
            );
            continue;
        }
        // Is the machine quiet before the suite starts? (2 s of counters.)
        let idle_start = quiet::Sample::take();
        std::thread::sleep(std::time::Duration::from_secs(2));
        let before = quiet::Sample::take();
        let idle = idle_start.until(&before);
        let _ = runner::take_raw();
        let outputs = (suite.run)(&bench, suite.name).with_context(|| {
            format!("the {} suite failed; no file of it was written", suite.name)
        })?;
        let during = before.until(&quiet::Sample::take());
        let verdict = idle
            .verdict()
            .map_err(|why| format!("before the suite, {why}"))
            .and(
                during
                    .verdict()
                    .map_err(|why| format!("during the suite, {why}")),
            );
        let quiet_line = format!(
            "Quiet-machine check (run {}; process trees measured by {}): in the 2 s before \
             this suite, {}; during it, {}; {}",
            progress.run_id,
            tree::accounting().name(),
            idle.describe(),
            during.describe(),
            match &verdict {
                Ok(()) => format!(
                    "within the limits ({:.0} % of the CPU time for other processes, {:.0} % steal).",
                    quiet::OTHER_CPU_LIMIT * 100.0,
                    quiet::STEAL_LIMIT * 100.0
                ),
                Err(why) => format!("DISTURBED: {why}; these figures are not the book's."),
            }
        );
        let raw = serde_json::json!({
            "suite": suite.name,
            "run_id": progress.run_id,
            "machine": bench.machine.line(),
            "process_trees": tree::accounting().name(),
            "process_trees_how": tree::accounting().describe(),
            "before": idle.to_json(),
            "during": during.to_json(),
            "quiet": verdict.is_ok(),
            "runs": runner::take_raw(),
        });
        let mut outputs: Vec<Output> = outputs
            .into_iter()
            .map(|output| {
                if output.file.ends_with(".md") {
                    // The quiet-machine line goes right under the stamp.
                    let (stamp, rest) = output
                        .contents
                        .split_once('\n')
                        .unwrap_or((&output.contents, ""));
                    Output::new(output.file, format!("{stamp}\n{quiet_line}\n{rest}"))
                } else {
                    output
                }
            })
            .collect();
        outputs.push(Output::new(
            format!("{}.runs.json", suite.name),
            serde_json::to_string_pretty(&raw)? + "\n",
        ));
        let destination = match &verdict {
            Err(why) if gated => {
                eprintln!(
                    "refused: the {} suite was disturbed ({why}); its files go to {}, not to src/measured/",
                    suite.name,
                    refused_dir.display()
                );
                refused.push(suite.name);
                std::fs::create_dir_all(&refused_dir)?;
                &refused_dir
            }
            Err(why) => {
                eprintln!(
                    "warning: the {} suite was disturbed ({why}); its stamp says so",
                    suite.name
                );
                &out
            }
            Ok(()) => &out,
        };
        for output in outputs {
            let path = destination.join(&output.file);
            write_atomically(&path, &output.contents)?;
            println!("wrote {}", path.display());
        }
        if destination == &out {
            progress.finish(&state, suite.name)?;
        }
    }
    // lateness.svg draws both lateness suites: redraw it only when both ran,
    // so that `--only blocking` does not replace it with half a chart.
    let lateness = bench.lateness.take();
    let ran = |name: &str| selected.iter().any(|suite| suite.name == name);
    if ran("blocking") != ran("switching") {
        eprintln!("note: lateness.svg is redrawn only when blocking and switching run together");
    } else if !lateness.is_empty() {
        // One chart for both lateness suites: hogs in tokio and asyncio next
        // to hogs in may and gevent. Log scale: 1 ms sits next to 900 ms.
        let svg = svg::bar_chart(
            "Median lateness of sleepers behind a CPU hog (ms, log scale)",
            &lateness,
            Scale::Log { floor: 0.1 },
            |ms| format!("{ms:.1} ms"),
        )
        .map_err(anyhow::Error::msg)?;
        let path = out.join("lateness.svg");
        write_atomically(&path, &svg)?;
        println!("wrote {}", path.display());
    }
    eprintln!("measured in {:.0} s", started.elapsed().as_secs_f64());
    if !refused.is_empty() {
        bail!(
            "the machine was not quiet during {}: nothing of {} was written to src/measured/ \
             (see {}); stop what else runs and go on with `cargo book bench --resume`",
            refused.join(", "),
            if refused.len() == 1 { "it" } else { "them" },
            refused_dir.display()
        );
    }
    Ok(())
}

/// Whether two paths name the same directory (either may not exist yet).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Which suites a run into a directory finished, kept under
/// `target/bench-progress/` so that `--resume` can skip them.
struct RunProgress {
    run_id: String,
    done: Vec<String>,
}

impl RunProgress {
    /// `target/bench-progress/<out, as a file name>.json`.
    fn file(root: &Path, out: &Path) -> PathBuf {
        let out = out.canonicalize().unwrap_or_else(|_| out.to_owned());
        let name: String = out
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        root.join("target/bench-progress")
            .join(format!("{name}.json"))
    }

    fn load(state: &Path, resume: bool, run_id: &str) -> RunProgress {
        let earlier = resume
            .then(|| std::fs::read_to_string(state).ok())
            .flatten()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        match earlier {
            Some(earlier) => RunProgress {
                run_id: earlier["run_id"].as_str().unwrap_or(run_id).to_owned(),
                done: earlier["done"]
                    .as_array()
                    .map(|done| {
                        done.iter()
                            .filter_map(|name| name.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            None => RunProgress {
                run_id: run_id.to_owned(),
                done: Vec::new(),
            },
        }
    }

    fn finish(&mut self, state: &Path, suite: &str) -> Result<()> {
        self.done.push(suite.to_owned());
        let record = serde_json::json!({ "run_id": self.run_id, "done": self.done });
        if let Some(dir) = state.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_atomically(state, &(serde_json::to_string_pretty(&record)? + "\n"))
    }
}

/// Builds `packages` in release mode, cargo's progress shown, and returns
/// every executable it built by name.
fn build(root: &Path, packages: &[&str]) -> Result<HashMap<String, PathBuf>> {
    let mut args = vec!["--release"];
    for package in packages {
        args.extend(["--package", package]);
    }
    let (status, messages) = crate::cargo::build(root, &args).context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed (see above); fix the build and run again");
    }
    Ok(crate::cargo::executables(&messages))
}

/// Writes `path` by way of a temporary file and a rename, so that a reader
/// (or an interrupted run) never sees half of it.
fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let name = path.file_name().context("an output file needs a name")?;
    let temporary = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&temporary, contents)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot move {} to {}", temporary.display(), path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_skips_the_suites_a_run_finished_and_keeps_its_run_id() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = RunProgress::file(dir.path(), &dir.path().join("out"));
        let mut first = RunProgress::load(&state, false, "2026-12-06T06:00Z");
        first.finish(&state, "cpu").expect("written");
        first.finish(&state, "echo").expect("written");
        let resumed = RunProgress::load(&state, true, "2026-12-06T07:00Z");
        assert_eq!(resumed.run_id, "2026-12-06T06:00Z");
        assert_eq!(resumed.done, ["cpu", "echo"]);
        let fresh = RunProgress::load(&state, false, "2026-12-06T07:00Z");
        assert!(fresh.done.is_empty(), "without --resume a run starts over");
    }
}
