//! Runs the deadlocked program, attaches gdb, and checks that the backtraces
//! show both clerks waiting for a lock inside `transfer`. Skipped, saying
//! so, where gdb is missing or may not attach to a process (Yama's
//! `kernel.yama.ptrace_scope` of 1 or more for a user without
//! CAP_SYS_PTRACE, or an attach refused); `BOOK_GDB_TEST_REQUIRED=1` makes
//! either a failure.

use std::io::{BufRead, BufReader, Write};
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

/// Why this test may not attach to a process here, if Yama says so. gdb and
/// the program are siblings (both children of the test), and Yama's scope 1,
/// Ubuntu's default, lets a process without CAP_SYS_PTRACE attach only to
/// its own descendants; scope 2 requires the capability, and 3 forbids all.
fn yama_forbids_attaching() -> Option<String> {
    let scope: u32 = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let capable = has_cap_sys_ptrace();
    match scope {
        0 => None,
        1 | 2 if capable => None,
        3 => Some("kernel.yama.ptrace_scope is 3: no process may attach".to_owned()),
        _ => Some(format!(
            "kernel.yama.ptrace_scope is {scope} and this user lacks CAP_SYS_PTRACE \
             (run as root, or `sudo sysctl kernel.yama.ptrace_scope=0`)"
        )),
    }
}

/// Whether this process holds CAP_SYS_PTRACE (capability 19) in its
/// effective set, as `/proc/self/status` reports it.
fn has_cap_sys_ptrace() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let hex = status
                .lines()
                .find_map(|line| line.strip_prefix("CapEff:"))?;
            u64::from_str_radix(hex.trim(), 16).ok()
        })
        .is_some_and(|effective| effective & (1 << CAP_SYS_PTRACE) != 0)
}

/// Skips the test, saying why, unless `BOOK_GDB_TEST_REQUIRED` is set, in
/// which case it fails: CI runs it where gdb can attach, and must not pass
/// by skipping.
fn skip(reason: &str) {
    assert!(
        std::env::var_os("BOOK_GDB_TEST_REQUIRED").is_none(),
        "the gdb test is required here but cannot run: {reason}"
    );
    // Straight to stderr: libtest hides an `eprintln!` of a passing test.
    let _ = writeln!(std::io::stderr(), "SKIPPED gdb test: {reason}");
}

// ANCHOR: test
#[test]
fn gdb_shows_both_clerks_waiting_for_a_lock() {
    if !gdb_available() {
        return skip("gdb is not installed");
    }
    if let Some(reason) = yama_forbids_attaching() {
        return skip(&reason);
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
    let (mut backtraces, mut complaints) = (String::new(), String::new());
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
        complaints = String::from_utf8_lossy(&gdb.stderr).into_owned();
        // Refused by something other than Yama (a container's seccomp
        // profile, a security module): gdb says so on stderr.
        if complaints.contains("ptrace: Operation not permitted") {
            return skip("attaching was refused: ptrace: Operation not permitted");
        }
        let waiting = backtraces
            .split("\nThread ")
            .filter(|thread| thread.contains("\"clerk-"))
            .filter(|thread| thread.contains("lock_contended") && thread.contains("transfer"))
            .count();
        if waiting == 2 {
            return;
        }
    }
    panic!(
        "gdb did not show both clerks waiting in transfer:\n{backtraces}\ngdb's stderr:\n{complaints}"
    );
}
// ANCHOR_END: test
