//! The Python programs kept beside the listings (the "Python twins" whose
//! timings the book quotes) must compute what their Rust listings compute.
//! Without `python3` on the PATH the check is skipped, and says so; so are
//! Part 4's gevent twins where python3 has no gevent.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bookctl::results::{self, Key, KeyBuilder, Passed};

/// Every twin finishes in a second or two with the small arguments below.
const LIMIT: Duration = Duration::from_secs(60);

fn listing(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../listings")
        .join(path)
}

#[test]
fn no_gil_py_counts_the_same_primes_as_listing_1_3() {
    let Some(twin) = run_twin("ch01-threads/01-03-no-gil/no_gil.py", &["20000"]) else {
        return;
    };
    let stdout = &twin.stdout;
    assert_prime_count(stdout, 20_000);
    assert_has_lines(stdout, &["1 thread ", "2 threads (halves) "]);
    twin.passed();
}

#[test]
fn primes_pool_py_counts_the_same_primes_as_listing_2_3() {
    let script = "ch02-processes/02-03-primes-on-processes/primes_pool.py";
    let Some(twin) = run_twin(script, &["20000", "50", "500"]) else {
        return;
    };
    let stdout = &twin.stdout;
    assert_prime_count(stdout, 20_000);
    assert_has_lines(
        stdout,
        &["1 thread ", "2 processes, 64 jobs ", "process pool "],
    );
    twin.passed();
}

#[test]
fn blocking_py_wakes_every_sleeper_in_both_arrangements() {
    let Some(twin) = run_twin("ch03-async/03-07-blocking/blocking.py", &["150"]) else {
        return;
    };
    let stdout = &twin.stdout;
    assert_has_lines(
        stdout,
        &[
            "asyncio, hog in a coroutine ",
            "asyncio, hog in asyncio.to_thread ",
        ],
    );
    let woke = stdout
        .lines()
        .filter(|line| line.contains(" 1000 woke, "))
        .count();
    assert_eq!(
        woke, 2,
        "both arrangements must wake all 1000 sleepers:\n{stdout}"
    );
    twin.passed();
}

#[test]
fn scale_py_wakes_every_task() {
    let Some(twin) = run_twin("ch03-async/03-08-scale/scale.py", &["1000", "10"]) else {
        return;
    };
    let stdout = &twin.stdout;
    assert_has_lines(stdout, &["all 1000 woke after ", "peak memory "]);
    twin.passed();
}

/// What a twin printed, and how to record that it passed.
struct Twin {
    stdout: String,
    key: Key,
    record: Passed,
}

impl Twin {
    /// Records the pass, so that a warm run skips the twin until its files
    /// or the interpreter change. Call it after every assert.
    fn passed(self) {
        self.record.insert(&self.key);
    }
}

#[test]
fn switching_py_wakes_every_sleeper_behind_every_hog() {
    let script = "ch04-green/04-05-switching/switching.py";
    let Some(twin) = run_gevent_twin(script, &["100"]) else {
        return;
    };
    let stdout = &twin.stdout;
    assert!(
        stdout.starts_with("100 greenlets sleep 50 ms; the hog works for 100 ms\n"),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "one row per hog, as Listing 4-5:\n{stdout}");
    for row in rows {
        assert!(
            row.starts_with("gevent, ") && row.contains(" 100 woke, "),
            "{row}"
        );
    }
    twin.passed();
}

#[test]
fn limits_py_parks_and_finishes_every_greenlet() {
    let Some(twin) = run_gevent_twin("ch04-green/04-07-limits/limits.py", &["500"]) else {
        return;
    };
    assert_has_lines(
        &twin.stdout,
        &[
            "500 greenlets running and parked",
            "spawn: ",
            "memory: ",
            "500 greenlets finished",
        ],
    );
    twin.passed();
}

/// The interpreter `python3` names, asked once for the whole test: where it
/// is, its version, and whether it has gevent. (pyenv's `python3` is a shell
/// script that looks up the real interpreter: asking it once, and then
/// starting the real one, saves that look-up for every twin.) gevent is
/// looked for with `find_spec`, which finds a module without importing it:
/// a gevent that is installed but broken fails its twins instead of
/// skipping them.
struct Python {
    executable: PathBuf,
    /// `sys.executable` and `sys.version`, part of every record's key.
    identity: Vec<u8>,
    has_gevent: bool,
}

/// [`Python`], or why there is none.
fn python() -> Result<&'static Python, &'static str> {
    static PYTHON: OnceLock<Result<Python, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        // One value a line; `sys.version` may itself hold a newline.
        let script = "import sys, importlib.util\n\
            print(sys.executable)\n\
            print(importlib.util.find_spec('gevent') is not None)\n\
            print(sys.version.replace('\\n', ' '))";
        let output = match Command::new("python3").args(["-c", script]).output() {
            Ok(output) => output,
            Err(error) => return Err(format!("python3 is not available ({error})")),
        };
        assert!(
            output.status.success(),
            "python3 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let mut lines = text.splitn(3, '\n');
        let (Some(executable), Some(has_gevent), Some(version)) =
            (lines.next(), lines.next(), lines.next())
        else {
            panic!("python3 printed something else:\n{text}");
        };
        // An interpreter that cannot tell its own path is started by name.
        let executable = Some(PathBuf::from(executable))
            .filter(|path| path.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"));
        Ok(Python {
            identity: format!("{} {}", executable.display(), version.trim_end()).into_bytes(),
            executable,
            has_gevent: has_gevent == "True",
        })
    });
    found.as_ref().map_err(String::as_str)
}

/// [`run_twin`] for a twin that imports gevent: skipped, saying so, where
/// python3 has no gevent, unless `BOOK_PYTHON_REQUIRED=1` (CI) makes that a
/// failure.
fn run_gevent_twin(script: &str, args: &[&str]) -> Option<Twin> {
    let has_gevent = python().is_ok_and(|python| python.has_gevent);
    if !has_gevent {
        let required = std::env::var_os("BOOK_PYTHON_REQUIRED").is_some_and(|v| v == "1");
        assert!(
            !required,
            "BOOK_PYTHON_REQUIRED=1 but python3 cannot import gevent"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {script}: python3 cannot import gevent"
        );
        return None;
    }
    run_twin(script, args)
}

/// Runs a Python twin with small arguments (this checks the program, not its
/// speed) and returns what it printed; `None` when there is no python3, or
/// when this twin already passed with these files and this interpreter
/// (`bookctl::results`; `BOOK_TEST_CACHE=off` runs it anyway). A twin that
/// runs past `LIMIT` is killed and fails the test.
fn run_twin(script: &str, args: &[&str]) -> Option<Twin> {
    let path = listing(script);
    let python = match python() {
        Ok(python) => python,
        Err(reason) => {
            // Straight to stderr: libtest would hide an `eprintln!` of a passing test.
            let _ = writeln!(std::io::stderr(), "SKIPPED {script}: {reason}");
            return None;
        }
    };
    let record = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/twins"));
    let key = results::hash_tree(
        KeyBuilder::new("python twin v1")
            .part(&python.identity)
            .part(script.as_bytes())
            .part(args.join(" ").as_bytes()),
        path.parent().expect("a twin lives in a listing's folder"),
    )
    .expect("the listing is readable")
    .finish();
    if record.contains(&key) {
        return None;
    }
    let mut child = Command::new(&python.executable)
        .arg(&path)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{script} still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = String::from_utf8_lossy(&stdout.join().expect("the reader thread")).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().expect("the reader thread")).into_owned();
    assert!(status.success(), "{script} failed:\n{stdout}{stderr}");
    Some(Twin {
        stdout,
        key,
        record,
    })
}

/// Reads a child's pipe to its end on a thread of its own, so that a full
/// pipe cannot stop the child while the test waits for it.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes).expect("the pipe reads");
        }
        bytes
    })
}

fn assert_prime_count(stdout: &str, limit: usize) {
    let expected = format!("primes below {limit}: {}\n", primes_below(limit));
    assert!(
        stdout.starts_with(&expected),
        "expected {expected:?} in:\n{stdout}"
    );
}

fn assert_has_lines(stdout: &str, starts: &[&str]) {
    for start in starts {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(start)),
            "no line starting with {start:?} in:\n{stdout}"
        );
    }
}

/// An independent count (a sieve, not trial division) to compare against.
fn primes_below(limit: usize) -> usize {
    let mut is_prime = vec![true; limit];
    for flag in is_prime.iter_mut().take(2) {
        *flag = false;
    }
    let mut n = 2;
    while n * n < limit {
        if is_prime[n] {
            for multiple in (n * n..limit).step_by(n) {
                is_prime[multiple] = false;
            }
        }
        n += 1;
    }
    is_prime.iter().filter(|&&prime| prime).count()
}
