//! The worker-count option of Listing 4-5: with `-- 100 2` the program runs
//! every hog on two workers, and every sleeper still wakes.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Five runs of at most a few hundred ms each; a minute means it hung.
const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn two_workers_run_every_hog_and_every_sleeper_wakes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ch04-05-switching"))
        .args(["100", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the listing starts");
    let start = Instant::now();
    // Poll rather than wait, so that a hang fails the test instead of
    // hanging it.
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the listing did not finish within {LIMIT:?} on two workers");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("the listing's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the listing failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("100 coroutines sleep 50 ms on 2 workers; the hog works for 100 ms")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5, "one row per hog: {stdout}");
    for row in rows {
        assert!(row.contains("100 woke"), "{row}");
    }
}

#[test]
fn zero_workers_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_ch04-05-switching"))
        .args(["100", "0"])
        .output()
        .expect("the listing starts");
    assert!(!output.status.success(), "zero workers must be refused");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("at least 1"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
