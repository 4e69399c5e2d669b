//! Part 6's listings are Python extension modules (PyO3). Each is built with
//! cargo, copied where Python imports it from, and every Python program
//! beside it runs and prints what its `<name>.output.txt` shows (see
//! `bookctl::extensions`). No maturin and no virtual environment: `.ci/run`
//! checks the reader's `maturin develop` path separately. Without `python3`
//! the checks are skipped, and say so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::thread;

use bookctl::extensions;
use bookctl::listings::{self, Listing, ListingKind};
use bookctl::outputs::{self, Outcome};
use bookctl::results::{self, KeyBuilder, Passed};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the book's root")
}

fn extension_listings() -> Vec<Listing> {
    listings::discover(root())
        .expect("the listings are readable")
        .into_iter()
        .filter(|listing| matches!(listing.kind, ListingKind::Extension { .. }))
        .collect()
}

/// Builds the listings with cargo (all of them, as `cargo test` would: see
/// `outputs::build`): the built library of each extension, by module name.
fn build_modules() -> std::collections::HashMap<String, PathBuf> {
    outputs::build(root())
        .expect("the listings build")
        .libraries
}

/// Says on stderr that a check was skipped, and why (libtest hides an
/// `eprintln!` of a passing test, so straight to stderr).
fn skipped(what: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}: {reason}");
}

#[test]
fn every_extension_listing_runs_its_python_programs() {
    let listings = extension_listings();
    assert!(!listings.is_empty(), "no extension listing under listings/");
    if let Some(reason) = extensions::python_missing() {
        skipped("the Python programs of Part 6's extension modules", &reason);
        return;
    }
    let libraries = build_modules();
    let modules = tempfile::tempdir().expect("a temporary directory");
    // A program that passed with this module, this listing folder and this
    // interpreter is not run again (`BOOK_TEST_CACHE=off` runs everything).
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/extensions"));
    let python = python_identity();
    let mut programs = Vec::new();
    for listing in &listings {
        let ListingKind::Extension { module, .. } = &listing.kind else {
            continue;
        };
        let library = libraries
            .get(module)
            .unwrap_or_else(|| panic!("cargo built no library named {module}"));
        extensions::stage(modules.path(), module, library).expect("the module is copied");
        let found = extensions::programs(listing).expect("the listing is readable");
        assert!(!found.is_empty(), "{} has no Python program", listing.id);
        let listing_key = results::hash_tree(
            KeyBuilder::new("extension program v1")
                .part(python.as_bytes())
                .part(&std::fs::read(library).expect("the built library is readable")),
            &listing.dir,
        )
        .expect("the listing is readable");
        for program in found {
            let key = listing_key
                .clone()
                .part(file_name(&program).as_bytes())
                .finish();
            if !passed.contains(&key) {
                programs.push((listing, program, key));
            }
        }
    }

    // All at once: most of them wait (for a child, a timer, a thread) more
    // than they compute, and their timings are masked.
    let problems = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for (listing, program, key) in &programs {
            let (problems, modules, passed) = (&problems, modules.path(), &passed);
            scope.spawn(move || {
                let name = format!("{}/{}", listing.id, file_name(program));
                let problem = match check(listing, program, modules) {
                    Outcome::Matches | Outcome::Blessed => {
                        passed.insert(key);
                        return;
                    }
                    Outcome::Differs { expected, actual } => format!(
                        "{name}: output differs\n--- expected\n{expected}--- this run\n{actual}"
                    ),
                    Outcome::Failed(reason) => format!("{name}: {reason}"),
                };
                problems.lock().expect("no checker panicked").push(problem);
            });
        }
    });
    let problems = problems.into_inner().expect("no checker panicked");
    assert!(
        problems.is_empty(),
        "{}\n(if the change is intended: cargo book outputs --bless -p ch06)",
        problems.join("\n\n")
    );
}

/// The interpreter the programs run on, as the record of passes keys it:
/// its path and its full version.
fn python_identity() -> String {
    let output = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable, sys.version)"])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every CPython 3.11 or later with the GIL that this machine has: the
/// pyenv interpreters and `python3.N` on the PATH, one per version.
fn cpythons_from_3_11() -> Vec<(String, PathBuf)> {
    let mut candidates: Vec<PathBuf> = (11..=20)
        .map(|minor| PathBuf::from(format!("python3.{minor}")))
        .collect();
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    if let Some(Ok(entries)) = pyenv.map(|root| std::fs::read_dir(root.join("versions"))) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path().join("bin/python3")))
            .collect();
        found.sort();
        candidates.extend(found);
    }
    let mut pythons: Vec<(String, PathBuf)> = Vec::new();
    for python in candidates {
        // The version, or nothing for an interpreter that is missing, older
        // than 3.11 or free-threaded (abi3 does not load there before 3.15).
        let Ok(output) = Command::new(&python)
            .args([
                "-c",
                "import sys, sysconfig\n\
                 if sys.version_info >= (3, 11) and not sysconfig.get_config_var('Py_GIL_DISABLED'):\n\
                 \x20   print('%d.%d.%d' % sys.version_info[:3])",
            ])
            .output()
        else {
            continue;
        };
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success()
            && !version.is_empty()
            && !pythons.iter().any(|(seen, _)| *seen == version)
        {
            pythons.push((version, python));
        }
    }
    pythons
}

#[test]
fn the_abi3_modules_run_on_every_cpython_from_3_11_here() {
    // One abi3 build per module (`abi3-py311`) is the promise of Part 6's
    // first page: the same library imports on 3.11, 3.12, 3.13 and 3.14.
    // The test above runs the programs on `python3`; this one runs them on
    // every other CPython 3.11+ it finds, against the same outputs.
    // Every program on every interpreter takes minutes: `.ci/run` asks for
    // it, a plain `cargo test` does not.
    if std::env::var_os("BOOK_EVERY_PYTHON").is_none_or(|value| value != "1") {
        skipped(
            "the abi3 modules on every CPython 3.11+",
            "set BOOK_EVERY_PYTHON=1 to run them (.ci/run does)",
        );
        return;
    }
    if let Some(reason) = extensions::python_missing() {
        panic!("BOOK_EVERY_PYTHON is set, but {reason}");
    }
    let listings = extension_listings();
    // `python3` ran them in the test above.
    let python3 = Command::new(extensions::PYTHON)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    let pythons: Vec<(String, PathBuf)> = cpythons_from_3_11()
        .into_iter()
        .filter(|(version, _)| *version != python3)
        .collect();
    let versions: Vec<&str> = pythons
        .iter()
        .map(|(version, _)| version.as_str())
        .collect();
    let _ = writeln!(
        std::io::stderr(),
        "the abi3 modules run on CPython {} (python3 is {python3})",
        versions.join(", ")
    );
    let libraries = build_modules();
    let modules = tempfile::tempdir().expect("a temporary directory");
    let mut programs = Vec::new();
    for listing in &listings {
        let ListingKind::Extension { module, .. } = &listing.kind else {
            continue;
        };
        let library = libraries
            .get(module)
            .unwrap_or_else(|| panic!("cargo built no library named {module}"));
        extensions::stage(modules.path(), module, library).expect("the module is copied");
        let found = extensions::programs(listing).expect("the listing is readable");
        programs.extend(found.into_iter().map(|program| (listing, program)));
    }
    // One interpreter at a time, its programs at once (as above).
    let mut problems = Vec::new();
    for (version, python) in &pythons {
        let found = Mutex::new(Vec::new());
        thread::scope(|scope| {
            for (listing, program) in &programs {
                let (found, modules) = (&found, modules.path());
                scope.spawn(move || {
                    let name = format!("{}/{} on {version}", listing.id, file_name(program));
                    let ListingKind::Extension { check, .. } = &listing.kind else {
                        return;
                    };
                    let command = with_default_signals(extensions::command_with(
                        python.as_os_str(),
                        program,
                        modules,
                    ));
                    let outcome = match outputs::run(command) {
                        Ok(actual) => outputs::compare(
                            check,
                            &extensions::output_file(program),
                            &actual,
                            false,
                        ),
                        Err(reason) => Outcome::Failed(reason),
                    };
                    let problem = match outcome {
                        Outcome::Matches | Outcome::Blessed => return,
                        Outcome::Differs { expected, actual } => format!(
                            "{name}: output differs\n--- expected\n{expected}--- this run\n{actual}"
                        ),
                        Outcome::Failed(reason) => format!("{name}: {reason}"),
                    };
                    found.lock().expect("no checker panicked").push(problem);
                });
            }
        });
        problems.extend(found.into_inner().expect("no checker panicked"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// `extensions::check`, with the program started at default signal
/// dispositions (see [`with_default_signals`]).
fn check(listing: &Listing, program: &Path, modules: &Path) -> Outcome {
    let ListingKind::Extension { check, .. } = &listing.kind else {
        return Outcome::Matches;
    };
    let command = with_default_signals(extensions::command(program, modules));
    match outputs::run(command) {
        Ok(actual) => outputs::compare(check, &extensions::output_file(program), &actual, false),
        Err(reason) => Outcome::Failed(reason),
    }
}

/// The signals a shell or `nohup` may leave ignored for its children.
const RESET_SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP];

/// Starts `command`'s program with the signals above at their default
/// action, whatever this test process inherited. A signal ignored at
/// `exec` stays ignored, and CPython installs its SIGINT handler (the one
/// that raises `KeyboardInterrupt`) only if SIGINT was at its default when
/// it started: run as `bash -c "trap '' INT; cargo test"`, or as a
/// background job of a script, `ctrl_c.py` would count for minutes. The
/// reset is done in the child, between `fork` and `exec`, so that this
/// process and its other threads keep their own dispositions.
fn with_default_signals(mut command: Command) -> Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before `exec`, where
    // only async-signal-safe functions may be called; `signal` is one
    // (POSIX.1-2017, 2.4.3), and the closure allocates nothing.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(|| {
            for signal in RESET_SIGNALS {
                if libc::signal(signal, libc::SIG_DFL) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether `python` runs here as a free-threaded interpreter.
fn is_free_threaded(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import sys; assert not sys._is_gil_enabled()"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// A free-threaded CPython that PyO3 0.30 builds for (3.14t or later) on
/// the PATH; or why there is none.
fn free_threaded_python() -> Result<PathBuf, String> {
    if let Some(python) = ["python3.15t", "python3.14t"]
        .into_iter()
        .find(|python| is_free_threaded(python))
    {
        return Ok(PathBuf::from(python));
    }
    // PyO3 0.29 dropped 3.13t: its build script refuses a free-threaded
    // interpreter older than 3.14.
    Err(if is_free_threaded("python3.13t") {
        "python3.13t is the only free-threaded CPython on the PATH, and PyO3 0.30 \
         builds for the free-threaded 3.14 and later only"
            .to_owned()
    } else {
        "no free-threaded CPython (python3.14t or later) on the PATH".to_owned()
    })
}

#[test]
fn a_free_threaded_python_imports_primes_rs_without_the_gil() {
    // `#[pymodule(gil_used = false)]` is a promise that a free-threaded
    // interpreter checks on import: a module without it turns the GIL back
    // on (with a RuntimeWarning). The stable ABI (abi3) is not available
    // on free-threaded builds before 3.15, so PyO3 builds a
    // version-specific module for that interpreter, in a target directory
    // of its own so that the abi3 build above is not rebuilt every time.
    let python = match free_threaded_python() {
        Ok(python) => python,
        Err(reason) => {
            skipped("the free-threaded import of primes_rs", &reason);
            return;
        }
    };
    let target = root().join("target/free-threaded");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root())
        .args(["build", "--quiet", "-p", "ch06-01-first-extension"])
        .arg("--target-dir")
        .arg(&target)
        .env("PYO3_PYTHON", &python)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the free-threaded build failed");
    let modules = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        target.join("debug/libprimes_rs.so"),
        modules.path().join("primes_rs.so"),
    )
    .expect("the module is copied");
    let output = Command::new(&python)
        // An import that re-enabled the GIL would only warn: make it fail.
        .args(["-W", "error::RuntimeWarning", "-c"])
        .arg(
            "import sys, primes_rs\n\
             assert not sys._is_gil_enabled(), 'importing primes_rs enabled the GIL'\n\
             assert primes_rs.count_primes(2, 100_000) == 9_592",
        )
        .env("PYTHONPATH", modules.path())
        .output()
        .expect("the free-threaded interpreter runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
