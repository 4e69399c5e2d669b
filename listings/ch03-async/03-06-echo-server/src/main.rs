//! Listing 3-6: an echo server with many concurrent clients and a graceful
//! shutdown.
//!
//! `cargo run -p ch03-06-echo-server` runs a demo: a server on a free port,
//! 100 clients at once, then shutdown. With an address, for example
//! `cargo run -p ch03-06-echo-server -- 127.0.0.1:7007`, it only serves, until
//! you press Ctrl-C; try it with `nc 127.0.0.1 7007`.

use std::io;
use std::time::Duration;

use ch03_06_echo_server::{Summary, echo_client, serve};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

const CLIENTS: usize = 100;
/// How long open connections may take to finish once shutdown has begun.
const GRACE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> io::Result<()> {
    match std::env::args().nth(1) {
        Some(addr) => serve_until_ctrl_c(&addr).await,
        None => demo().await,
    }
}

// ANCHOR: ctrl_c
/// Completes on Ctrl-C, or when `stop` fires (or its sender is dropped).
async fn ctrl_c_or(mut stop: oneshot::Receiver<()>) {
    tokio::select! {
        signal = tokio::signal::ctrl_c() => {
            if let Err(error) = signal {
                // Without a signal handler, only `stop` can end the server.
                eprintln!("cannot listen for Ctrl-C: {error}");
                let _ = (&mut stop).await;
            }
        }
        _ = &mut stop => {}
    }
}
// ANCHOR_END: ctrl_c

async fn serve_until_ctrl_c(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "echoing on {}; press Ctrl-C to stop",
        listener.local_addr()?
    );
    // Keep the sender alive: only Ctrl-C stops this server.
    let (_keep, stop) = oneshot::channel();
    let summary = serve(listener, ctrl_c_or(stop), GRACE).await;
    report(&summary);
    Ok(())
}

// ANCHOR: demo
async fn demo() -> io::Result<()> {
    // Port 0: the operating system picks a free port.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_server, stop) = oneshot::channel();
    let server = tokio::spawn(serve(listener, ctrl_c_or(stop), GRACE));

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
    let _ = stop_server.send(());
    let summary = server.await.map_err(io::Error::other)?;
    report(&summary);
    assert_eq!(summary.accepted, CLIENTS);
    Ok(())
}
// ANCHOR_END: demo

fn report(summary: &Summary) {
    println!(
        "server stopped: {} connections accepted, {} finished, {} bytes echoed, {} cut off",
        summary.accepted, summary.finished, summary.bytes, summary.cut_off
    );
}
