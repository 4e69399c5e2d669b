//! The Python programs kept beside the listings (the "Python twins" whose
//! timings the book quotes) must compute what their Rust listings compute.
//! Without `python3` on the PATH the check is skipped, and says so.

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
    check_twin(
        "ch01-threads/01-03-no-gil/no_gil.py",
        &["1 thread ", "2 threads (halves) "],
    );
}

#[test]
fn primes_pool_py_counts_the_same_primes_as_listing_2_3() {
    check_twin(
        "ch02-processes/02-03-primes-on-processes/primes_pool.py",
        &["1 thread ", "2 processes, 64 jobs ", "process pool "],
    );
}

/// Runs a Python twin with a small limit (this checks the program, not its
/// speed): it must print the right prime count and the lines the book quotes.
fn check_twin(script: &str, labels: &[&str]) {
    let output = match Command::new("python3")
        .arg(listing(script))
        .arg("20000")
        .output()
    {
        Ok(output) => output,
        Err(error) => {
            // Straight to stderr: libtest would hide an `eprintln!` of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {script}: python3 is not available ({error})"
            );
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = format!("primes below 20000: {}\n", primes_below(20_000));
    assert!(
        stdout.starts_with(&expected),
        "expected {expected:?} in:\n{stdout}"
    );
    for label in labels {
        assert!(stdout.contains(label), "no {label:?} line in:\n{stdout}");
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
