//! The Python programs kept beside the listings (the "Python twins" whose
//! timings the book quotes) must compute what their Rust listings compute.
//! Without `python3` on the PATH the check is skipped, and says so; so are
//! Part 4's gevent twins where python3 has no gevent.

use std::io::Write;
use std::path::Path;
use std::process::Command;

fn listing(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../listings")
        .join(path)
}

#[test]
fn no_gil_py_counts_the_same_primes_as_listing_1_3() {
    let Some(stdout) = run_twin("ch01-threads/01-03-no-gil/no_gil.py", &["20000"]) else {
        return;
    };
    assert_prime_count(&stdout, 20_000);
    assert_has_lines(&stdout, &["1 thread ", "2 threads (halves) "]);
}

#[test]
fn primes_pool_py_counts_the_same_primes_as_listing_2_3() {
    let script = "ch02-processes/02-03-primes-on-processes/primes_pool.py";
    let Some(stdout) = run_twin(script, &["20000", "50", "500"]) else {
        return;
    };
    assert_prime_count(&stdout, 20_000);
    assert_has_lines(
        &stdout,
        &["1 thread ", "2 processes, 64 jobs ", "process pool "],
    );
}

#[test]
fn blocking_py_wakes_every_sleeper_in_both_arrangements() {
    let Some(stdout) = run_twin("ch03-async/03-07-blocking/blocking.py", &["150"]) else {
        return;
    };
    assert_has_lines(
        &stdout,
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
}

#[test]
fn scale_py_wakes_every_task() {
    let Some(stdout) = run_twin("ch03-async/03-08-scale/scale.py", &["1000", "10"]) else {
        return;
    };
    assert_has_lines(&stdout, &["all 1000 woke after ", "peak memory "]);
}

#[test]
fn switching_py_wakes_every_sleeper_behind_every_hog() {
    let script = "ch04-green/04-05-switching/switching.py";
    let Some(stdout) = run_gevent_twin(script, &["100"]) else {
        return;
    };
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
}

#[test]
fn limits_py_parks_and_finishes_every_greenlet() {
    let Some(stdout) = run_gevent_twin("ch04-green/04-07-limits/limits.py", &["500"]) else {
        return;
    };
    assert_has_lines(
        &stdout,
        &[
            "500 greenlets running and parked",
            "spawn: ",
            "memory: ",
            "500 greenlets finished",
        ],
    );
}

/// [`run_twin`] for a twin that imports gevent: skipped, saying so, where
/// python3 has no gevent, unless `BOOK_PYTHON_REQUIRED=1` (CI) makes that a
/// failure.
fn run_gevent_twin(script: &str, args: &[&str]) -> Option<String> {
    let has_gevent = Command::new("python3")
        .args(["-c", "import gevent"])
        .output()
        .is_ok_and(|output| output.status.success());
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
/// speed) and returns what it printed, or `None` when there is no python3.
fn run_twin(script: &str, args: &[&str]) -> Option<String> {
    let output = match Command::new("python3")
        .arg(listing(script))
        .args(args)
        .output()
    {
        Ok(output) => output,
        Err(error) => {
            // Straight to stderr: libtest would hide an `eprintln!` of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {script}: python3 is not available ({error})"
            );
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(stdout)
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
