//! A TCP echo server for the loopback benchmark, in one of four styles:
//!
//! ```text
//! cargo run --release -p book-bench --bin echo-server -- tokio|tokio-multi|may|threads
//! ```
//!
//! `tokio`: the `current_thread` runtime, one task per connection;
//! `tokio-multi`: the multi-thread runtime (`#[tokio::main]`'s default, a
//! worker per CPU the process may use: one when pinned); `may`: may
//! with 1 worker, one coroutine per connection; `threads`: one OS thread per
//! connection. All three use one core for the event loop (the OS schedules the
//! threads of `threads` wherever it may, so the tool pins the process).
//! It binds 127.0.0.1:0, prints the port it got as the first line on
//! standard output, and serves until it is killed.

use std::io::{Read, Write};
use std::process::ExitCode;

use book_bench::arg_or;

const BUFFER: usize = 4096;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo-server: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let style: String = arg_or(1, "tokio".to_owned())?;
    let io = |e: std::io::Error| e.to_string();
    match style.as_str() {
        "tokio" => tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(io)?
            .block_on(serve_tokio())
            .map_err(io),
        "tokio-multi" => tokio::runtime::Builder::new_multi_thread()
            .enable_io()
            .build()
            .map_err(io)?
            .block_on(serve_tokio())
            .map_err(io),
        "may" => serve_may().map_err(io),
        "threads" => serve_threads().map_err(io),
        other => Err(format!(
            "unknown style {other:?}: use tokio, tokio-multi, may or threads"
        )),
    }
}

fn announce(port: u16) {
    println!("{port}");
    // The tool waits for this line: make sure it leaves now.
    let _ = std::io::stdout().flush();
}

async fn serve_tokio() -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    announce(listener.local_addr()?.port());
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut buffer = [0; BUFFER];
            while let Ok(n @ 1..) = stream.read(&mut buffer).await {
                if stream.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
        });
    }
}

fn serve_may() -> std::io::Result<()> {
    may::config().set_workers(1);
    let listener = may::net::TcpListener::bind("127.0.0.1:0")?;
    announce(listener.local_addr()?.port());
    for stream in listener.incoming() {
        let mut stream = stream?;
        stream.set_nodelay(true)?;
        may::go!(move || echo(&mut stream));
    }
    Ok(())
}

fn serve_threads() -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    announce(listener.local_addr()?.port());
    for stream in listener.incoming() {
        let mut stream = stream?;
        stream.set_nodelay(true)?;
        // Small stacks: 10,000 connections are 10,000 threads.
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || echo(&mut stream))?;
    }
    Ok(())
}

/// Blocking echo, for a coroutine or a thread: read what came, send it back.
fn echo(stream: &mut (impl Read + Write)) {
    let mut buffer = [0; BUFFER];
    while let Ok(n @ 1..) = stream.read(&mut buffer) {
        if stream.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
}
