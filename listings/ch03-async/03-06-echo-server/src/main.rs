//! Listing 3-6: an echo server with many concurrent clients, a connection cap
//! and a graceful shutdown.
//!
//! `cargo run -p ch03-06-echo-server` runs a demo: a server on a free port,
//! 100 clients at once, then shutdown. With an address, for example
//! `cargo run -p ch03-06-echo-server -- 127.0.0.1:7007`, it only serves, until
//! you press Ctrl-C (twice to quit at once); try it with `nc 127.0.0.1 7007`.

use std::io::{self, Write};
use std::time::Duration;

use ch03_06_echo_server::{Limits, Summary, echo_client, serve};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

const CLIENTS: usize = 100;
const LIMITS: Limits = Limits {
    // More clients than this wait in the listener's queue for a free slot.
    max_connections: 1_000,
    // A client silent for this long is closed, and its slot freed.
    idle: Duration::from_secs(30),
    // How long open connections may take to finish once shutdown has begun.
    grace: Duration::from_secs(5),
};

#[tokio::main]
async fn main() -> io::Result<()> {
    match std::env::args().nth(1) {
        Some(addr) => serve_until_ctrl_c(&addr).await,
        None => demo().await,
    }
}

// ANCHOR: ctrl_c
/// Cancels `shutdown` on the first Ctrl-C, and ends the process on the second:
/// tokio keeps its Ctrl-C handler installed, so without this a second Ctrl-C
/// would do nothing while the server waits for slow clients.
async fn on_ctrl_c(shutdown: CancellationToken) {
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("cannot listen for Ctrl-C: {error}");
        return;
    }
    eprintln!("shutting down; press Ctrl-C again to quit at once");
    shutdown.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("quitting without waiting for open connections");
        // 130 = 128 + SIGINT, what a shell reports for a program Ctrl-C killed.
        std::process::exit(130);
    }
}

async fn serve_until_ctrl_c(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "echoing on {}; press Ctrl-C to stop",
        listener.local_addr()?
    );
    io::stdout().flush()?;
    let shutdown = CancellationToken::new();
    tokio::spawn(on_ctrl_c(shutdown.clone()));
    let summary = serve(listener, shutdown, LIMITS).await;
    report(&summary);
    Ok(())
}
// ANCHOR_END: ctrl_c

// ANCHOR: demo
async fn demo() -> io::Result<()> {
    // Port 0: the operating system picks a free port.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    tokio::spawn(on_ctrl_c(shutdown.clone()));
    let server = tokio::spawn(serve(listener, shutdown.clone(), LIMITS));

    let mut clients = JoinSet::new();
    for id in 0..CLIENTS {
        clients.spawn(async move {
            let message = format!("hello from client {id}\n").repeat(id + 1);
            let reply = echo_client(addr, message.as_bytes()).await?;
            Ok::<bool, io::Error>(reply == message.as_bytes())
        });
    }
    let mut correct = 0;
    while let Some(result) = clients.join_next().await {
        if result.map_err(io::Error::other)?? {
            correct += 1;
        }
    }
    println!("{CLIENTS} clients ran at once; {correct} got their own bytes back");
    assert_eq!(correct, CLIENTS, "some echoes were wrong");

    // Every client has closed its connection: shutdown finds nothing open.
    shutdown.cancel();
    let summary = server.await.map_err(io::Error::other)?;
    report(&summary);
    assert_eq!(summary.accepted, CLIENTS);
    Ok(())
}
// ANCHOR_END: demo

fn report(summary: &Summary) {
    println!(
        "server stopped: {} connections accepted, {} finished ({} failed), {} bytes echoed, {} idle, {} cut off",
        summary.accepted,
        summary.finished,
        summary.failed,
        summary.bytes,
        summary.idle,
        summary.cut_off
    );
}
