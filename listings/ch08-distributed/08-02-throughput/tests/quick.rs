//! `--quick --only rust`: the Rust rows run on a real broker and print their
//! figures (the figures mean nothing here). The Python rows start a dozen
//! interpreters, seconds on a busy machine, so `cargo test` leaves them to
//! CI, which runs `--quick` whole (`.ci/run`); the Python worker itself is
//! tested by Listing 8-1's tests.

use std::io::Write;
use std::process::Command;

#[test]
fn the_quick_run_prints_the_rust_rows() {
    let required = std::env::var_os("BOOK_REDIS_REQUIRED").is_some_and(|v| v == "1");
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            !required,
            "redis-server is missing and BOOK_REDIS_REQUIRED=1"
        );
        // Straight to stderr: the harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED broker test the_quick_run_prints_the_rust_rows: redis-server is not installed"
        );
        return;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_ch08-02-throughput"))
        .args(["--quick", "--only", "rust"])
        .output()
        .expect("the driver starts");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = printed.lines().collect();
    assert_eq!(
        rows.len(),
        2,
        "two workloads, one kind of worker:\n{printed}"
    );
    for (row, workload) in rows.iter().zip(["cpu rust ", "io rust "]) {
        assert!(row.starts_with(workload), "{row}");
        assert!(
            row.contains(" jobs/s, CPU ") && row.ends_with(" ms/job"),
            "{row}"
        );
    }
}
