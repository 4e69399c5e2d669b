//! Helpers shared by the tests of `cargo book serve`'s runner.

// Each test crate uses only some of them.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use bookctl::results::{Key, KeyBuilder, Passed};
use bookctl::serve::sandbox::{Caps, Sandbox};
use std::time::{Duration, Instant};

/// A word no other process on this machine has on its command line, for
/// finding the processes an example starts from outside its PID namespace.
pub fn unique_seconds() -> String {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("97.{}{call}{nanos:09}", std::process::id())
}

/// Processes (not zombies) running `sleep <seconds>`.
pub fn sleepers(seconds: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| {
            let dir = entry.path();
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let running = std::fs::read_to_string(dir.join("stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(") ")
                        .map(|(_, rest)| !rest.starts_with('Z'))
                })
                .unwrap_or(false);
            running && cmdline == format!("sleep\0{seconds}\0").as_bytes()
        })
        .count()
}

/// Waits (bounded) until no process runs `sleep <seconds>`; whether none does.
/// The bound is generous (the kernel tears a killed process down at once on a
/// quiet machine) so that it holds on a loaded one; it costs nothing when the
/// processes are gone.
pub fn all_gone(seconds: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while sleepers(seconds) > 0 {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Waits (bounded) until a process runs `sleep <seconds>`; whether one does.
pub fn started(seconds: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while sleepers(seconds) == 0 {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A Run's output without the line saying it was not sandboxed (where no
/// sandbox can be made; the sandbox tests check that line).
pub fn without_sandbox_note(output: &str) -> String {
    output
        .split_once("\n[not sandboxed: ")
        .map_or(output, |(kept, _)| kept)
        .to_owned()
}

/// A book of one chapter: enough to serve.
pub fn small_book() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"Test\"\n").expect("write");
    std::fs::write(
        dir.path().join("src/SUMMARY.md"),
        "# Summary\n\n- [One](one.md)\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("src/one.md"), "# One\n").expect("write");
    dir
}

/// What a runner test depends on besides its executable (rebuilt with
/// bookctl and by a new compiler): how this machine lets a run be contained
/// (bubblewrap, namespaces, cgroups) and who runs it.
fn machine() -> String {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    format!("{} | {uid}", Sandbox::detect(Caps::default()).describe())
}

fn key(test: &str, inputs: impl FnOnce(KeyBuilder) -> Option<KeyBuilder>) -> Option<Key> {
    let key = KeyBuilder::new(&format!("serve test {test} v1"))
        .running_executable()?
        .part(machine().as_bytes());
    Some(inputs(key)?.finish())
}

/// Runs a test of the runner (most compile an example, some wait out a time
/// limit) unless it passed before with the same executable on the same
/// machine (`bookctl::results`; `BOOK_TEST_CACHE=off` runs it every time, as
/// CI does).
pub fn unless_passed(test: &str, check: impl FnOnce()) {
    unless_passed_given(test, Some, check);
}

/// [`unless_passed`], for a test that depends on more than its executable
/// and the machine: `inputs` adds what (`None` when something cannot be
/// read, and then the test runs).
pub fn unless_passed_given(
    test: &str,
    inputs: impl FnOnce(KeyBuilder) -> Option<KeyBuilder>,
    check: impl FnOnce(),
) {
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/serve"));
    let key = key(test, inputs);
    if key.as_ref().is_some_and(|key| passed.contains(key)) {
        return;
    }
    check();
    if let Some(key) = key {
        passed.insert(&key);
    }
}
