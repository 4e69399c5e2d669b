//! `cargo book serve` from the command line: what it prints, how it fails on
//! bad input, and how it carries on when the book breaks while it serves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::small_book;

mod common;

fn serve_command(root: &Path, port: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bookctl"));
    command
        .arg("--root")
        .arg(root)
        .args(["serve", "--std-only", "--port", port]);
    command
}

/// A running `bookctl serve`, stopped when dropped.
struct Serving {
    child: Child,
    url: String,
    stderr: Arc<Mutex<String>>,
    /// What it printed before serving.
    startup: String,
    /// The server's TMPDIR: where it keeps the rendered book.
    temp: tempfile::TempDir,
}

impl Serving {
    fn start(root: &Path) -> Serving {
        let temp = tempfile::tempdir().expect("a temporary directory");
        let mut child = serve_command(root, "0")
            .env("TMPDIR", temp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bookctl starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let mut startup = String::new();
        let url = loop {
            line.clear();
            let read = stdout.read_line(&mut line).expect("read stdout");
            startup.push_str(&line);
            if read == 0 {
                let _ = child.wait();
                panic!("bookctl exited before serving: {}", stderr.lock().unwrap());
            }
            if let Some(url) = line.trim().strip_prefix("Serving the book on ") {
                break url.to_owned();
            }
        };
        // Keep reading stdout so that the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Serving {
            child,
            url,
            stderr,
            startup,
            temp,
        }
    }

    /// Stops the server as Ctrl-C would (SIGTERM: the same clean exit).
    fn stop(&mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        self.child.wait().expect("the server exits")
    }

    fn host(&self) -> &str {
        self.url.trim_start_matches("http://").trim_end_matches('/')
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.host()).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.host()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, response)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // Only if a test failed before stopping it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The live-reload event stream: one `data:` line per build event.
struct Events(BufReader<TcpStream>);

impl Events {
    fn open(serving: &Serving) -> Events {
        let mut stream = TcpStream::connect(serving.host()).expect("connect");
        write!(
            stream,
            "GET /__bookctl/events HTTP/1.1\r\nHost: {}\r\n\r\n",
            serving.host()
        )
        .expect("send");
        Events(BufReader::new(stream))
    }

    fn next(&mut self) -> serde_json::Value {
        let mut line = String::new();
        loop {
            line.clear();
            assert_ne!(
                self.0.read_line(&mut line).expect("read"),
                0,
                "the stream ended"
            );
            if let Some(data) = line.strip_prefix("data: ") {
                return serde_json::from_str(data).expect("JSON");
            }
        }
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("address").port().to_string();
    let book = small_book();
    let output = serve_command(book.path(), &port)
        .output()
        .expect("bookctl runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use; pass another --port"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_broken_book_does_not_start() {
    let book = small_book();
    std::fs::write(book.path().join("src/one.md"), "{{#include missing.rs}}\n").expect("write");
    let output = serve_command(book.path(), "0")
        .output()
        .expect("bookctl runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the book does not build"), "{stderr}");
    assert!(stderr.contains("missing.rs"), "{stderr}");
}

#[test]
fn a_chapter_broken_while_serving_shows_its_error_and_serving_goes_on() {
    let book = small_book();
    let serving = Serving::start(book.path());
    let (status, page) = serving.get("/one.html");
    assert_eq!(status, 200);
    assert!(
        page.contains("window.bookctl"),
        "the page is marked as served by bookctl"
    );

    let mut events = Events::open(&serving);
    assert_eq!(events.next()["generation"], 0);

    let chapter = book.path().join("src/one.md");
    std::fs::write(&chapter, "# One\n\n{{#include missing.rs}}\n").expect("break the chapter");
    let failed = events.next();
    let error = failed["error"]
        .as_str()
        .expect("the error reaches the page");
    assert!(error.contains("missing.rs"), "{error}");
    assert_eq!(
        serving.get("/one.html").0,
        200,
        "the last good book is still served"
    );

    std::fs::write(&chapter, "# One, fixed\n").expect("fix the chapter");
    let fixed = events.next();
    assert_eq!(fixed["generation"], 1, "{fixed}");
    assert_eq!(fixed["error"], serde_json::Value::Null);
    assert!(serving.get("/one.html").1.contains("One, fixed"));
    assert!(
        serving.stderr.lock().unwrap().contains("missing.rs"),
        "and in the terminal"
    );
}

#[test]
fn stopping_the_server_removes_its_files() {
    let book = small_book();
    let mut serving = Serving::start(book.path());
    assert_eq!(serving.get("/one.html").0, 200);
    let rendered = std::fs::read_dir(serving.temp.path())
        .expect("read_dir")
        .count();
    assert!(rendered > 0, "the rendered book is under TMPDIR");
    let status = serving.stop();
    assert!(status.success(), "a clean exit: {status}");
    let left: Vec<_> = std::fs::read_dir(serving.temp.path())
        .expect("read_dir")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_cap_out_of_range_is_a_clear_error() {
    let book = small_book();
    for (option, value) in [
        ("--memory-cap", "0"),
        ("--process-cap", "many"),
        ("--time-limit", "100000"),
    ] {
        let output = serve_command(book.path(), "0")
            .args([option, value])
            .output()
            .expect("bookctl runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{option} {value}: {stderr}");
        assert!(stderr.contains(option), "{option} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_server_says_at_startup_what_contains_a_run() {
    let book = small_book();
    let mut serving = Serving::start(book.path());
    assert!(serving.stop().success());
    let said = format!("{}{}", serving.startup, serving.stderr.lock().unwrap());
    assert!(
        said.contains("Runs are sandboxed with bubblewrap")
            || said.contains("warning: Runs are NOT sandboxed"),
        "{said}"
    );
    assert!(
        said.contains("Each Run is capped at 1024 MiB of memory"),
        "{said}"
    );
}
