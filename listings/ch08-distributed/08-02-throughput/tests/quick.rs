//! `--quick`: every row runs on a real broker and prints its figures (the
//! figures themselves mean nothing here; `cargo book bench` measures).

use std::process::Command;

#[test]
fn the_quick_run_prints_every_row() {
    let required = std::env::var_os("BOOK_REDIS_REQUIRED").is_some_and(|v| v == "1");
    if Command::new("redis-server").arg("--version").output().is_err() {
        assert!(!required, "redis-server is missing and BOOK_REDIS_REQUIRED=1");
        eprintln!("SKIPPED broker test the_quick_run_prints_every_row: redis-server is not installed");
        return;
    }
    // The driver starts the worker binary built beside it.
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "ch08-01-stream-worker"])
        .status()
        .expect("cargo runs");
    assert!(built.success());
    let output = Command::new(env!("CARGO_BIN_EXE_ch08-02-throughput"))
        .arg("--quick")
        .output()
        .expect("the driver starts");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = printed.lines().collect();
    assert_eq!(rows.len(), 6, "two workloads × three kinds of worker:\n{printed}");
    for row in rows {
        let measured = row.contains(" jobs/s, CPU ") && row.ends_with(" ms/job");
        let skipped = row.contains("skipped, python3 cannot import");
        assert!(measured || (skipped && !required), "{row}");
    }
}
