//! The reader's view of `cargo book serve`, in headless Chromium: Run buttons
//! of a std, a tokio and a may example show their output, an edited chapter
//! reloads, and no page logs a JavaScript error (tests/browser/run-buttons.mjs).
//!
//! It needs Chromium, Node.js and `npm ci` in tests/browser (`.ci/run` sets
//! them up). Without them the test is skipped, and says so; with
//! `BOOK_BROWSER_TEST_REQUIRED` set (as in CI) it fails instead. Once it
//! passed, it runs again only when something it depends on changed
//! ([`inputs`]; `BOOK_TEST_CACHE=off` runs it every time, as CI does).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use bookctl::results::{self, KeyBuilder};

mod common;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why the browser test cannot run here, if it cannot.
fn missing_prerequisite(chromium: &Path) -> Option<String> {
    if !chromium.is_file() {
        return Some(format!(
            "no Chromium at {} (install Debian's `chromium`, or set CHROMIUM)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no `node` on the PATH".to_owned());
    }
    if !workspace()
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        return Some("playwright-core is not installed (run `npm ci` in tests/browser)".to_owned());
    }
    None
}

/// Copies the book's sources, without build output, so that the test can
/// edit a chapter without touching the repository.
fn copy_book(to: &Path) {
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("a directory entry");
            let (source, target) = (entry.path(), to.join(entry.file_name()));
            if entry.file_type().expect("file type").is_dir() {
                if entry.file_name() != "target" {
                    copy_tree(&source, &target);
                }
            } else {
                std::fs::copy(&source, &target).expect("copy");
            }
        }
    }
    let root = workspace();
    std::fs::copy(root.join("book.toml"), to.join("book.toml")).expect("copy book.toml");
    for dir in ["src", "theme", "listings"] {
        copy_tree(&root.join(dir), &to.join(dir));
    }
}

/// What the test's outcome depends on besides its own executable and the
/// machine: the tool it serves the book with, the book it copies, the
/// scripts that drive Chromium, Chromium and Node themselves, and the
/// versions of the crates a Run compiles against. `None` if one cannot be
/// read (then the test runs).
fn inputs(chromium: &Path, key: KeyBuilder) -> Option<KeyBuilder> {
    let root = workspace();
    let mut key = key
        .file_stamp(Path::new(env!("CARGO_BIN_EXE_bookctl")))?
        .file_stamp(chromium)?;
    let node = Command::new("node").arg("--version").output().ok()?;
    key = key.part(&node.stdout);
    for file in [
        "book.toml",
        "Cargo.lock",
        "tests/browser/package-lock.json",
        "tests/browser/run-buttons.mjs",
    ] {
        key = key
            .part(file.as_bytes())
            .part(&std::fs::read(root.join(file)).ok()?);
    }
    for dir in ["src", "theme", "listings"] {
        key = results::hash_tree(key.part(dir.as_bytes()), &root.join(dir)).ok()?;
    }
    Some(key)
}

/// The server, stopped when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        // SIGTERM, as Ctrl-C: the server removes its rendered book and exits.
        let pid = rustix::process::Pid::from_child(&self.0);
        if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_err() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

#[test]
fn run_buttons_and_live_reload_work_in_chromium() {
    let chromium =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    if let Some(why) = missing_prerequisite(&chromium) {
        // CI installs everything, and must not pass by skipping.
        if std::env::var_os("BOOK_BROWSER_TEST_REQUIRED").is_some() {
            panic!("the browser test cannot run: {why}");
        }
        // Straight to stderr: libtest hides the `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "SKIPPED browser test: {why}");
        return;
    }
    common::unless_passed_given(
        "run_buttons_and_live_reload_work_in_chromium",
        |key| inputs(&chromium, key),
        || run_buttons_and_live_reload_work(&chromium),
    );
}

fn run_buttons_and_live_reload_work(chromium: &Path) {
    let book = tempfile::tempdir().expect("a temporary directory");
    copy_book(book.path());

    let mut child = Command::new(env!("CARGO_BIN_EXE_bookctl"))
        .arg("--root")
        .arg(book.path())
        .args(["serve", "--port", "0", "--crates-from"])
        .arg(workspace())
        .stdout(Stdio::piped())
        .spawn()
        .expect("bookctl starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let server = Serving(child);
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert_ne!(
            stdout.read_line(&mut line).expect("read"),
            0,
            "bookctl exited before serving"
        );
        if let Some(url) = line.trim().strip_prefix("Serving the book on ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));

    let output = Command::new("node")
        .arg(workspace().join("tests/browser/run-buttons.mjs"))
        .arg(&url)
        .arg(book.path())
        .env("CHROMIUM", chromium)
        .output()
        .expect("node runs");
    drop(server);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    // What the reader would have seen, and how long it took.
    let _ = write!(std::io::stderr(), "{stdout}");
}
