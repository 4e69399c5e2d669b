//! Tests that need a process of their own: one that runs out of file
//! descriptors, and the demo binary receiving Ctrl-C. Unix only: they use
//! `sh` to lower a limit and `kill` to send SIGINT.
#![cfg(unix)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ch03_06_echo_server::{ACCEPT_BACKOFF, Limits, echo_client, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Set in the child process that runs the out-of-descriptors scenario.
const CHILD: &str = "ECHO_SERVER_OUT_OF_DESCRIPTORS";
const PATIENCE: Duration = Duration::from_secs(10);
/// How long the server is left without a free descriptor.
const STARVED: Duration = Duration::from_millis(100);

#[test]
fn an_accept_error_backs_off_instead_of_spinning() {
    if std::env::var_os(CHILD).is_some() {
        return out_of_descriptors();
    }
    // Run this same test again in a child whose descriptor limit is 64, so
    // that running out cannot disturb the other tests.
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new("sh")
        .args(["-c", r#"ulimit -n 64 && exec "$@""#, "sh"])
        .arg(exe)
        .args([
            "an_accept_error_backs_off_instead_of_spinning",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
    assert!(stderr.contains("Too many open files"), "{stderr}");
}

/// Fills the descriptor table, lets one client connect into the listener's
/// queue, and checks that the server retries `accept` at its back-off pace,
/// then serves the client once a descriptor is free again.
fn out_of_descriptors() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let shutdown = CancellationToken::new();
        let limits = Limits {
            max_connections: 10,
            idle: PATIENCE,
            grace: PATIENCE,
        };
        let server = tokio::spawn(serve(listener, shutdown.clone(), limits));

        // Take every free descriptor, then give one back for the client.
        let mut hoard = Vec::new();
        while let Ok(file) = File::open("/dev/null") {
            hoard.push(file);
        }
        hoard.pop();
        let client = tokio::spawn(echo_client(addr, b"patience"));
        // The server's `accept` now fails with EMFILE, again and again.
        tokio::time::sleep(STARVED).await;
        hoard.clear();
        let reply = tokio::time::timeout(PATIENCE, client)
            .await
            .expect("served once descriptors are free")
            .expect("the client does not panic")
            .expect("echo");
        assert_eq!(reply, b"patience");

        shutdown.cancel();
        let summary = server.await.expect("the server does not panic");
        assert_eq!(summary.accepted, 1);
        // At least one failure, and no more than the back-off allows: without
        // it, the loop would have retried thousands of times.
        let most = (STARVED.as_millis() / ACCEPT_BACKOFF.as_millis()) as usize + 2;
        assert!(
            (1..=most).contains(&summary.accept_errors),
            "{} accept errors in {STARVED:?}",
            summary.accept_errors
        );
    });
}

#[test]
fn a_second_ctrl_c_quits_without_waiting_for_open_connections() {
    // A SIGINT that arrives before the server has installed its handler
    // kills it the default way; that is not what this test is about, so
    // start again in that case (rare: the handler is installed within
    // microseconds of the first echo).
    for _attempt in 0..5 {
        if let Some(status) = interrupt_twice() {
            assert_eq!(status.code(), Some(130));
            return;
        }
    }
    panic!("the server died of the first Ctrl-C five times");
}

/// Starts the server with a client connected, sends SIGINT until the server
/// says it is shutting down, then until it says it is quitting, and returns
/// its exit status; `None` if the first SIGINT killed it before its handler
/// was installed.
fn interrupt_twice() -> Option<ExitStatus> {
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ch03-06-echo-server"))
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server"),
    );
    let server = &mut server.0;
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout"));
    let mut banner = String::new();
    stdout.read_line(&mut banner).expect("the banner");
    let addr: SocketAddr = banner
        .split_whitespace()
        .nth(2)
        .and_then(|addr| addr.trim_end_matches(';').parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));
    // A client that stays connected, so the first Ctrl-C has to wait for
    // it; its echo shows the server is running.
    let mut open = TcpStream::connect(addr).expect("connect");
    open.set_read_timeout(Some(PATIENCE)).expect("timeout");
    open.write_all(b"x").expect("write");
    open.read_exact(&mut [0]).expect("echo");

    // Report each line the server writes to stderr as it comes.
    let stderr = server.stderr.take().expect("stderr");
    let (lines_sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_sender.send(line);
        }
    });
    let pid = server.id().to_string();
    // Sends SIGINT every 50 ms until the server writes `wanted`, because a
    // signal that comes before tokio listens for it again is not counted.
    let interrupt_until = |wanted: &str| -> bool {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // `kill` fails once the server has exited: the channel says so.
            Command::new("kill")
                .args(["-INT", &pid])
                .stderr(Stdio::null())
                .status()
                .expect("run kill");
            match lines.recv_timeout(Duration::from_millis(50)) {
                Ok(line) if line.contains(wanted) => return true,
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
            assert!(Instant::now() < deadline, "never saw {wanted:?}");
        }
    };
    if !interrupt_until("shutting down") {
        let status = server.wait().expect("wait");
        assert_eq!(status.signal(), Some(2), "it died otherwise: {status}");
        return None;
    }
    assert!(interrupt_until("quitting"), "the server quit silently");

    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not quit");
        thread::sleep(Duration::from_millis(5));
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read stdout");
    assert!(!rest.contains("server stopped"), "it waited: {rest}");
    drop(open);
    Some(status)
}

/// A child process that is killed if the test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Both fail harmlessly once the child has been waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
