//! What contains a Run of `cargo book serve`, tried as a hostile example
//! would: each rule of the sandbox (see `src/serve/sandbox.rs`) has a test.
//!
//! They need a machine where bubblewrap can make a sandbox (Linux with
//! `bwrap` and user namespaces, or root). Elsewhere each test is skipped and
//! says so; with `BOOK_SANDBOX_TEST_REQUIRED` set (as in CI) it fails instead.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bookctl::serve::runner::{Crates, Edition, Limits, Outcome, RunStatus, Runner};
use bookctl::serve::sandbox::Caps;
use bookctl::serve::{CratesFrom, Options, Server};
use common::{all_gone, small_book, unique_seconds};

mod common;

/// A runner with `limits`, if this machine can sandbox (else the test is skipped).
fn sandboxed(limits: Limits) -> Option<Runner> {
    let runner = Runner::new(Crates::std_only(), limits);
    if runner.sandbox().is_sandboxed() {
        return Some(runner);
    }
    skip(runner.sandbox().why_not().unwrap_or_default());
    None
}

/// Says why a test does not run here; fails where it must run.
fn skip(why: &str) {
    if std::env::var_os("BOOK_SANDBOX_TEST_REQUIRED").is_some() {
        panic!("the sandbox test cannot run: {why}");
    }
    // Straight to stderr: libtest hides the `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "SKIPPED sandbox test: {why}");
}

fn run(runner: &Runner, code: &str) -> (String, RunStatus) {
    let edition = Edition::parse("2024").expect("a valid edition");
    match runner
        .run(code, edition)
        .expect("the server can run examples")
    {
        Outcome::Ran { output, status } => (output, status),
        Outcome::CompileError(message) => panic!("the example does not compile:\n{message}"),
    }
}

#[test]
fn a_child_that_leaves_the_session_does_not_outlive_the_run() {
    common::unless_passed(
        "a_child_that_leaves_the_session_does_not_outlive_the_run",
        || {
            let Some(runner) = sandboxed(Limits::default()) else {
                return;
            };
            let seconds = unique_seconds();
            // `setsid` takes the child out of the run's process group and session:
            // killing the group no longer reaches it, only the PID namespace does.
            let code = format!(
                r#"fn main() {{
                let child = std::process::Command::new("setsid")
                    .args(["sleep", "{seconds}"])
                    .spawn()
                    .expect("setsid starts");
                std::thread::sleep(std::time::Duration::from_millis(300));
                println!("started {{}}", child.id());
            }}"#
            );
            let (output, status) = run(&runner, &code);
            assert_eq!(status, RunStatus::Exited(0), "{output}");
            assert!(output.starts_with("started "), "{output}");
            assert!(all_gone(&seconds), "the example's `setsid sleep` survived");
        },
    );
}

#[test]
fn at_the_time_limit_everything_the_example_started_is_killed() {
    common::unless_passed(
        "at_the_time_limit_everything_the_example_started_is_killed",
        || {
            let Some(runner) = sandboxed(Limits {
                wall_time: Duration::from_secs(1),
                ..Limits::default()
            }) else {
                return;
            };
            let seconds = unique_seconds();
            let code = format!(
                r#"fn main() {{
                for _ in 0..3 {{
                    std::process::Command::new("setsid").args(["sleep", "{seconds}"]).spawn().unwrap();
                }}
                println!("started");
                std::thread::sleep(std::time::Duration::from_secs(60));
            }}"#
            );
            let (output, status) = run(&runner, &code);
            assert_eq!(status, RunStatus::TimedOut, "{output}");
            assert!(output.contains("killed after 1 s of running"), "{output}");
            assert!(all_gone(&seconds), "a child survived the time limit");
        },
    );
}

#[test]
fn a_2_gib_allocation_fails_with_a_clear_message() {
    common::unless_passed("a_2_gib_allocation_fails_with_a_clear_message", || {
        let Some(runner) = sandboxed(Limits::default()) else {
            return;
        };
        let code = r#"fn main() {
            let mut big: Vec<u8> = Vec::with_capacity(2 << 30);
            big.push(1);
            println!("allocated {} bytes", big.capacity());
        }"#;
        let (output, status) = run(&runner, code);
        assert_ne!(status, RunStatus::Exited(0), "{output}");
        assert!(
            output.contains("memory allocation of 2147483648 bytes failed"),
            "{output}"
        );
        assert!(
            output.contains("[out of memory: an example may use 1024 MiB"),
            "{output}"
        );
    });
}

#[test]
fn a_fork_loop_stops_at_the_process_cap() {
    common::unless_passed("a_fork_loop_stops_at_the_process_cap", || {
        let caps = Caps {
            processes: 40,
            ..Caps::default()
        };
        let Some(runner) = sandboxed(Limits {
            caps,
            ..Limits::default()
        }) else {
            return;
        };
        let Some(holder) = runner.sandbox().process_cap_holder() else {
            return skip(
                "nothing can cap the processes here (root without a writable pids cgroup)",
            );
        };
        let seconds = unique_seconds();
        let code = format!(
            r#"fn main() {{
                let mut children = Vec::new();
                while children.len() < 1000 {{
                    match std::process::Command::new("sleep").arg("{seconds}").spawn() {{
                        Ok(child) => children.push(child),
                        Err(error) => {{
                            println!("started {{}}, then: {{error}}", children.len());
                            return;
                        }}
                    }}
                }}
                println!("started {{}} without being stopped", children.len());
            }}"#
        );
        let (output, status) = run(&runner, &code);
        assert_eq!(status, RunStatus::Exited(0), "{output}");
        let started: usize = output
            .strip_prefix("started ")
            .and_then(|rest| rest.split([',', ' ']).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected output: {output}"));
        assert!(
            started < 40 && output.contains(", then: "),
            "{holder} let {started} children start: {output}"
        );
        assert!(all_gone(&seconds), "the children outlived the run");
    });
}

#[test]
fn a_write_outside_the_run_directory_fails() {
    common::unless_passed("a_write_outside_the_run_directory_fails", || {
        let Some(runner) = sandboxed(Limits::default()) else {
            return;
        };
        let outside = tempfile::tempdir().expect("a temporary directory");
        let target = outside.path().join("written-by-the-example");
        let code = format!(
            r#"fn main() {{
                match std::fs::write({target:?}, "x") {{
                    Ok(()) => println!("wrote outside"),
                    Err(error) => println!("refused: {{error}}"),
                }}
                std::fs::write("inside", "x").expect("its own directory is writable");
                println!("wrote inside");
            }}"#
        );
        let (output, status) = run(&runner, &code);
        assert_eq!(status, RunStatus::Exited(0), "{output}");
        assert!(
            output.starts_with("refused: Read-only file system"),
            "{output}"
        );
        assert!(output.contains("wrote inside"), "{output}");
        assert!(!target.exists(), "the example wrote {}", target.display());
    });
}

#[test]
fn a_file_over_the_cap_cannot_be_written() {
    common::unless_passed("a_file_over_the_cap_cannot_be_written", || {
        let Some(runner) = sandboxed(Limits {
            caps: Caps {
                file_size: 1024 * 1024,
                ..Caps::default()
            },
            ..Limits::default()
        }) else {
            return;
        };
        let code = r#"fn main() {
            let result = std::fs::write("big", vec![0u8; 2 * 1024 * 1024]);
            println!("{result:?}");
        }"#;
        let (output, status) = run(&runner, code);
        // SIGXFSZ kills the writer, or the directory is full first.
        let stopped = matches!(status, RunStatus::Signalled(_))
            && output.contains("the file-size cap of `cargo book serve`");
        let refused =
            output.contains("No space left on device") || output.contains("File too large");
        assert!(stopped || refused, "{status:?}: {output}");
    });
}

/// POSTs an example as the served page would; the status and the JSON answer.
fn post_example(server: &Server, code: &str) -> (u16, serde_json::Value) {
    let address = server.address();
    let body = serde_json::json!({ "edition": "2024", "code": code }).to_string();
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "POST /__bookctl/evaluate.json HTTP/1.1\r\nHost: {address}\r\nOrigin: http://{address}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let json = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, json)
}

#[test]
fn no_connection_leaves_the_sandbox_and_the_server_keeps_serving() {
    common::unless_passed(
        "no_connection_leaves_the_sandbox_and_the_server_keeps_serving",
        || {
            if sandboxed(Limits::default()).is_none() {
                return;
            }
            let book = small_book();
            let mut options = Options::new(book.path().to_path_buf());
            options.crates = CratesFrom::StdOnly;
            options.port = 0;
            let server = Server::start(options).expect("the server starts");
            // The server itself, on the loopback device, and an address outside.
            let code = format!(
                r#"fn main() {{
                for address in ["{}", "1.1.1.1:80"] {{
                    let timeout = std::time::Duration::from_secs(2);
                    match std::net::TcpStream::connect_timeout(&address.parse().unwrap(), timeout) {{
                        Ok(_) => println!("{{address}}: connected"),
                        Err(error) => println!("{{address}}: {{error}}"),
                    }}
                }}
            }}"#,
                server.address()
            );
            let (status, json) = post_example(&server, &code);
            assert_eq!(status, 200, "{json}");
            let output = json["result"].as_str().expect("a result");
            assert!(!output.contains("connected"), "{output}");
            assert_eq!(output.lines().count(), 2, "{output}");
            // Hostile examples leave the server as it was.
            let (status, json) = post_example(&server, "fn main() { println!(\"still here\"); }");
            assert_eq!(
                (status, json["result"].as_str()),
                (200, Some("still here\n"))
            );
        },
    );
}

#[test]
fn without_a_sandbox_a_run_says_so_and_the_caps_hold() {
    common::unless_passed("without_a_sandbox_a_run_says_so_and_the_caps_hold", || {
        let runner = Runner::with_sandbox(
            Crates::std_only(),
            Limits::default(),
            bookctl::serve::sandbox::Sandbox::unconfined(Caps::default(), "for this test"),
        );
        let (output, status) = run(&runner, "fn main() { println!(\"hello\"); }");
        assert_eq!(status, RunStatus::Exited(0));
        assert!(
            output.starts_with("hello\n\n[not sandboxed: for this test;"),
            "{output}"
        );
        // The caps still hold (RLIMIT_AS cannot be set on macOS).
        if cfg!(target_os = "linux") {
            let (output, _) = run(
                &runner,
                "fn main() { let v: Vec<u8> = Vec::with_capacity(2 << 30); println!(\"{}\", v.capacity()); }",
            );
            assert!(output.contains("[out of memory: "), "{output}");
        }
    });
}
