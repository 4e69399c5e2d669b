//! `cargo book bench`: runs the book's benchmark programs in release mode,
//! Rust and Python side by side on the same machine in the same run, and
//! writes the stamped tables (and SVG charts) under `src/measured/` that the
//! chapters include.
//!
//! Each suite is a module with one `run` function that returns the files it
//! measured; they are written only once the whole suite has succeeded, each
//! atomically, so a failed run never leaves a half-written table behind.

mod chapters;
mod markdown;
mod python;
mod runner;
mod stamp;
mod stats;
mod suite_cpu;
mod suite_echo;
mod suite_pyo3;
mod suite_sleepers;
mod svg;

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
];

/// The names `--only` accepts.
pub fn suite_names() -> Vec<&'static str> {
    SUITES.iter().map(|suite| suite.name).collect()
}

/// Everything a suite needs: the built programs, the machine, the options.
pub struct Bench {
    pub root: PathBuf,
    pub quick: bool,
    /// Runs per figure, and per echo figure (echo has the most rows).
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
        echo_runs: options.runs.unwrap_or(if options.quick { 1 } else { 3 }),
        machine: Machine::detect(),
        python,
        executables,
        lateness: RefCell::default(),
        lock_file: std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default(),
    };
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let started = Instant::now();
    for suite in &selected {
        let outputs = (suite.run)(&bench, suite.name).with_context(|| {
            format!("the {} suite failed; no file of it was written", suite.name)
        })?;
        for output in outputs {
            let path = out.join(&output.file);
            write_atomically(&path, &output.contents)?;
            println!("wrote {}", path.display());
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
    Ok(())
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
