//! `cargo book serve` runs code on the reader's machine: each safety rule of
//! its runner has a test here. The examples use only `std`, so no crates are
//! built; the server runs in this process with small limits.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use bookctl::serve::runner::{Crates, Edition, Limits, Outcome, RunStatus, Runner};
use bookctl::serve::{CratesFrom, Options, Server};
use common::{all_gone, small_book, started, unique_seconds, without_sandbox_note};

mod common;

fn server(limits: Limits) -> (Server, tempfile::TempDir) {
    let book = small_book();
    let mut options = Options::new(book.path().to_path_buf());
    options.crates = CratesFrom::StdOnly;
    options.port = 0;
    options.limits = limits;
    (Server::start(options).expect("the server starts"), book)
}

/// Sends `head` (request line and headers, without the blank line) and
/// `body`, and returns the status and the body of the response.
fn send(address: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    let head = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    // The server may answer (413) and stop reading before the body is sent.
    let _ = stream.write_all(body);
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned());
    (status, body.unwrap_or_default())
}

fn evaluate_body(code: &str) -> Vec<u8> {
    serde_json::json!({ "version": "stable", "optimize": "0", "edition": "2021", "code": code })
        .to_string()
        .into_bytes()
}

/// POSTs an example to the run endpoint as the served page would.
fn run_example(server: &Server, code: &str) -> (u16, serde_json::Value) {
    let address = server.address();
    let head = format!(
        "POST /__bookctl/evaluate.json HTTP/1.1\r\nHost: {address}\r\nOrigin: http://{address}\r\n\
         Content-Type: application/json"
    );
    let (status, body) = send(address, &head, &evaluate_body(code));
    let mut json: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    if let Some(result) = json["result"].as_str() {
        json["result"] = without_sandbox_note(result).into();
    }
    (status, json)
}

#[test]
fn the_served_page_runs_an_example() {
    common::unless_passed("the_served_page_runs_an_example", || {
        let (server, _book) = server(Limits::default());
        let (status, json) = run_example(
            &server,
            "fn main() { println!(\"hello\"); eprintln!(\"world\"); }",
        );
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["result"], "hello\nworld\n");
        assert_eq!(json["error"], serde_json::Value::Null);
    });
}

#[test]
fn a_request_from_another_origin_is_forbidden() {
    common::unless_passed("a_request_from_another_origin_is_forbidden", || {
        let (server, _book) = server(Limits::default());
        let address = server.address();
        let head = format!(
            "POST /__bookctl/evaluate.json HTTP/1.1\r\nHost: {address}\r\nOrigin: http://evil.example"
        );
        let (status, _) = send(address, &head, &evaluate_body("fn main() {}"));
        assert_eq!(status, 403);
    });
}

#[test]
fn a_request_for_another_host_is_forbidden() {
    common::unless_passed("a_request_for_another_host_is_forbidden", || {
        // DNS rebinding: a foreign name that resolves to 127.0.0.1 sends its own Host.
        let (server, _book) = server(Limits::default());
        let address = server.address();
        let host = format!("evil.example:{}", address.port());
        let head = format!(
            "POST /__bookctl/evaluate.json HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}"
        );
        let (status, _) = send(address, &head, &evaluate_body("fn main() {}"));
        assert_eq!(status, 403);
        let (status, _) = send(address, &format!("GET / HTTP/1.1\r\nHost: {host}"), b"");
        assert_eq!(status, 403, "pages too");
        let (status, _) = send(address, &format!("GET / HTTP/1.1\r\nHost: {address}"), b"");
        assert_eq!(status, 200, "the served address itself is fine");
    });
}

#[test]
fn a_body_over_64_kib_is_refused() {
    common::unless_passed("a_body_over_64_kib_is_refused", || {
        let (server, _book) = server(Limits::default());
        let address = server.address();
        let head = format!("POST /__bookctl/evaluate.json HTTP/1.1\r\nHost: {address}");
        let code = format!("fn main() {{}} // {}", "x".repeat(64 * 1024));
        let (status, _) = send(address, &head, &evaluate_body(&code));
        assert_eq!(status, 413);
    });
}

#[test]
fn runs_beyond_the_queue_are_turned_away() {
    common::unless_passed("runs_beyond_the_queue_are_turned_away", || {
        // One run at a time and no queue: while one runs, the next gets 429.
        let limits = Limits {
            parallel_runs: 1,
            queue: 0,
            ..Limits::default()
        };
        let (server, _book) = server(limits);
        let release = tempfile::tempdir().expect("a temporary directory");
        let release = release.path().join("release");
        // The first example starts a `sleep` the test can see (examples cannot
        // write outside their own directory) and waits for the test's word
        // (which it can read).
        let seconds = unique_seconds();
        let waiting = format!(
            "fn main() {{
                let mut sleeper = std::process::Command::new(\"sleep\").arg(\"{seconds}\").spawn().unwrap();
                while !std::path::Path::new({release:?}).exists() {{
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }}
                sleeper.kill().unwrap();
                println!(\"released\");
            }}"
        );
        std::thread::scope(|scope| {
            let first = scope.spawn(|| run_example(&server, &waiting));
            assert!(started(&seconds), "the first example did not start");
            let (status, json) = run_example(&server, "fn main() {}");
            std::fs::write(&release, "").expect("release the first run");
            assert_eq!(status, 429, "{json}");
            let (status, json) = first.join().expect("the first run");
            assert_eq!((status, json["result"].as_str()), (200, Some("released\n")));
        });
        // With the slot free again, runs are accepted.
        assert_eq!(run_example(&server, "fn main() {}").0, 200);
    });
}

fn runner(limits: Limits) -> Runner {
    Runner::new(Crates::std_only(), limits)
}

fn edition() -> Edition {
    Edition::parse("2021").expect("a valid edition")
}

#[test]
fn the_wall_time_limit_kills_the_example_and_its_children() {
    common::unless_passed(
        "the_wall_time_limit_kills_the_example_and_its_children",
        || {
            let runner = runner(Limits {
                wall_time: Duration::from_secs(1),
                ..Limits::default()
            });
            let seconds = unique_seconds();
            let code = format!(
                r#"
            fn main() {{
                std::process::Command::new("sleep").arg("{seconds}").spawn().unwrap();
                println!("started");
                std::thread::sleep(std::time::Duration::from_secs(60));
            }}"#
            );
            let Outcome::Ran { output, status } = runner.run(&code, edition()).expect("runs")
            else {
                panic!("expected a run");
            };
            let output = without_sandbox_note(&output);
            assert_eq!(status, RunStatus::TimedOut, "{output}");
            assert!(output.starts_with("started\n"), "{output}");
            assert!(output.contains("killed after 1 s of running"), "{output}");
            // SIGKILL is delivered at once, but the kernel may take a moment to tear
            // the processes down: `all_gone` waits for that (bounded).
            assert!(all_gone(&seconds), "the example's child survived");
        },
    );
}

#[test]
fn output_over_the_cap_is_truncated() {
    common::unless_passed("output_over_the_cap_is_truncated", || {
        let runner = runner(Limits {
            output_cap: 10_000,
            ..Limits::default()
        });
        // Prints forever: the cap, not the time limit, ends it.
        let code = r#"fn main() { loop { println!("0123456789"); } }"#;
        let Outcome::Ran { output, .. } = runner.run(code, edition()).expect("runs") else {
            panic!("expected a run");
        };
        let output = without_sandbox_note(&output);
        assert!(output.starts_with("0123456789\n"));
        assert!(
            output.ends_with("[output truncated at 10000 bytes]"),
            "{}",
            &output[9_000..]
        );
        assert!(output.len() < 10_100);
    });
}

#[test]
fn temporary_files_are_removed() {
    common::unless_passed("temporary_files_are_removed", || {
        let temp = tempfile::tempdir().expect("a temporary directory");
        let runner = runner(Limits {
            wall_time: Duration::from_secs(1),
            temp_parent: Some(temp.path().to_path_buf()),
            ..Limits::default()
        });
        let is_empty = |dir: &Path| std::fs::read_dir(dir).expect("read_dir").next().is_none();
        // An example runs in its temporary directory, so what it writes goes too.
        let writes = r#"fn main() {
            std::fs::write("left-behind", "x").unwrap();
            println!("{}", std::env::current_dir().unwrap().display());
        }"#;
        let Outcome::Ran { output, .. } = runner.run(writes, edition()).expect("runs") else {
            panic!("expected a run");
        };
        let output = without_sandbox_note(&output);
        assert!(
            Path::new(output.trim()).starts_with(temp.path()),
            "ran in {output}"
        );
        assert!(is_empty(temp.path()), "files left after a successful run");
        // Whichever way a run ends: compile error, timeout.
        for code in [
            "fn main() { nope }",
            "fn main() { loop { std::thread::park(); } }",
        ] {
            runner.run(code, edition()).expect("runs");
            assert!(is_empty(temp.path()), "files left after {code}");
        }
    });
}

#[test]
fn a_compile_error_comes_back_as_the_compilers_message() {
    common::unless_passed(
        "a_compile_error_comes_back_as_the_compilers_message",
        || {
            let (server, _book) = server(Limits::default());
            let (status, json) = run_example(&server, "fn main() { let n: i32 = \"one\"; }");
            assert_eq!(status, 200);
            let result = json["result"].as_str().expect("a result");
            assert!(
                result.contains("error[E0308]: mismatched types"),
                "{result}"
            );
            assert!(result.contains("--> src/main.rs:1:"), "{result}");
        },
    );
}

#[test]
fn an_unknown_edition_is_refused() {
    common::unless_passed("an_unknown_edition_is_refused", || {
        let (server, _book) = server(Limits::default());
        let address = server.address();
        let head = format!("POST /__bookctl/evaluate.json HTTP/1.1\r\nHost: {address}");
        let body = br#"{"code": "fn main() {}", "edition": "2024 -o /etc/passwd"}"#;
        let (status, _) = send(address, &head, body);
        assert_eq!(status, 400);
    });
}

/// Sends raw bytes and returns the status of the answer (0 if none).
fn send_raw(address: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[test]
fn malformed_requests_get_a_client_error_and_the_server_goes_on() {
    common::unless_passed(
        "malformed_requests_get_a_client_error_and_the_server_goes_on",
        || {
            let (server, _book) = server(Limits::default());
            let address = server.address();
            let host = format!("Host: {address}");
            let huge_header = format!(
                "GET / HTTP/1.1\r\n{host}\r\nX: {}\r\n\r\n",
                "x".repeat(64 * 1024)
            );
            let cases: [(&str, Vec<u8>); 5] = [
            ("not HTTP", b"hello\r\n\r\n".to_vec()),
            (
                "no Host",
                b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
            ),
            ("a 64 KiB header", huge_header.into_bytes()),
            (
                "a bad Content-Length",
                format!(
                    "POST /__bookctl/evaluate.json HTTP/1.1\r\n{host}\r\nContent-Length: -1\r\n\r\n"
                )
                .into_bytes(),
            ),
            (
                "a body that is not JSON",
                format!(
                    "POST /__bookctl/evaluate.json HTTP/1.1\r\n{host}\r\nContent-Length: 3\r\n\
                     Connection: close\r\n\r\n{{{{x"
                )
                .into_bytes(),
            ),
        ];
            for (what, request) in cases {
                let status = send_raw(address, &request);
                assert!((400..500).contains(&status), "{what}: status {status}");
            }
            assert_eq!(run_example(&server, "fn main() {}").0, 200, "still serving");
        },
    );
}
