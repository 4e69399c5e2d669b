// ANCHOR: all
//! Listing 4-6: an echo server on may's coroutines, with 50 clients at once.
//!
//! `cargo run -p ch04-06-echo-server` starts a server on a free port of
//! 127.0.0.1, runs 50 clients on coroutines at the same time, checks every
//! echo, and stops the server.

use std::io;
use std::time::Duration;

use ch04_06_echo_server::{Summary, echo_client, start};
use may::go;

const CLIENTS: usize = 50;
/// How long the server waits on a silent connection, and a client on a
/// silent server: long for loopback, but it bounds every wait.
const PATIENCE: Duration = Duration::from_secs(5);

// ANCHOR: demo
fn main() -> io::Result<()> {
    // Port 0: the operating system picks a free port.
    let server = start("127.0.0.1:0", PATIENCE)?;
    let addr = server.local_addr();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            go!(move || {
                // Different sizes, so that a mixed-up reply would show.
                let message = format!("client {id} says hello\n").repeat(id + 1);
                let reply = echo_client(addr, message.as_bytes(), PATIENCE)?;
                Ok::<bool, io::Error>(reply == message.as_bytes())
            })
        })
        .collect();
    let mut echoed = 0;
    for client in clients {
        let ok = client
            .join()
            .map_err(|_| io::Error::other("a client panicked"))??;
        echoed += usize::from(ok);
    }
    println!("{CLIENTS} clients ran at once; {echoed} got their own bytes back");
    assert_eq!(echoed, CLIENTS, "every client gets its own bytes back");

    let summary = server.stop()?;
    report(&summary);
    assert_eq!(summary.accepted, CLIENTS);
    Ok(())
}
// ANCHOR_END: demo

fn report(summary: &Summary) {
    let Summary {
        accepted,
        failed,
        bytes,
    } = summary;
    println!(
        "server stopped: {accepted} connections accepted, {failed} failed, {bytes} bytes echoed"
    );
}
// ANCHOR_END: all
