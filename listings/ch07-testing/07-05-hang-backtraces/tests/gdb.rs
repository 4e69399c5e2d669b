//! Runs the deadlocked program, attaches gdb, and checks that the backtraces
//! show both clerks waiting for a lock inside `transfer`. Skipped, saying
//! so, where gdb is missing (`BOOK_GDB_TEST_REQUIRED=1` makes that a failure).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Far longer than any healthy step takes; a broken one fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);

/// Kills the child when the test ends, whether it passes or panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command to its end, killing it if it takes longer than `PATIENCE`.
fn output_within_patience(command: &mut Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(PATIENCE) {
        Ok(output) => output.expect("the command's output is readable"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the command ran longer than {PATIENCE:?}; killed");
        }
    }
}

fn gdb_available() -> bool {
    Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

// ANCHOR: test
#[test]
fn gdb_shows_both_clerks_waiting_for_a_lock() {
    if !gdb_available() {
        assert!(
            std::env::var_os("BOOK_GDB_TEST_REQUIRED").is_none(),
            "gdb is required here but not installed"
        );
        eprintln!("SKIPPED gdb test: gdb is not installed");
        return;
    }
    let mut program = Command::new(env!("CARGO_BIN_EXE_ch07-05-hang-backtraces"))
        .arg("--hang")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let stdout = program.stdout.take().expect("piped");
    let program = KillOnDrop(program);

    // Wait, with a limit, until the program says both clerks are stuck.
    let (lines, received) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + PATIENCE;
    while !received
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .expect("the program reports the deadlock")
        .starts_with("attach with")
    {}

    // The clerks may still be on their way into `lock()`: look again until
    // gdb sees both waiting (in practice the first look does).
    let mut backtraces = String::new();
    for _attempt in 0..5 {
        let gdb = output_within_patience(Command::new("gdb").args([
            "-batch",
            "-nx",
            "-iex",
            "set debuginfod enabled off",
            "-ex",
            "thread apply all bt",
            "-p",
            &program.0.id().to_string(),
        ]));
        backtraces = String::from_utf8_lossy(&gdb.stdout).into_owned();
        let waiting = backtraces
            .split("\nThread ")
            .filter(|thread| thread.contains("\"clerk-"))
            .filter(|thread| thread.contains("lock_contended") && thread.contains("transfer"))
            .count();
        if waiting == 2 {
            return;
        }
    }
    panic!("gdb did not show both clerks waiting in transfer:\n{backtraces}");
}
// ANCHOR_END: test
