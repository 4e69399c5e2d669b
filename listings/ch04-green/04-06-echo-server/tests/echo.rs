//! The echo server over loopback, on a port the operating system picks. No
//! test sleeps for a fixed time, and every read and write has a timeout, so
//! that a bug fails the test instead of hanging it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use ch04_06_echo_server::{Summary, echo_client, start};
use may::go;

/// Long enough for any step of a healthy test, short enough to fail fast.
const PATIENCE: Duration = Duration::from_secs(10);

#[test]
fn many_concurrent_clients_each_get_their_own_bytes() -> io::Result<()> {
    const CLIENTS: usize = 200;
    let server = start("127.0.0.1:0", PATIENCE)?;
    let addr = server.local_addr();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            go!(move || {
                let message = format!("{id:>4}|").repeat(id % 17 + 1);
                let reply = echo_client(addr, message.as_bytes(), PATIENCE)?;
                Ok::<_, io::Error>((message.len() as u64, reply == message.as_bytes()))
            })
        })
        .collect();
    let mut sent = 0;
    for client in clients {
        let (len, same) = client.join().expect("client does not panic")?;
        assert!(same, "a client got someone else's bytes");
        sent += len;
    }
    let summary = server.stop()?;
    assert_eq!(
        summary,
        Summary {
            accepted: CLIENTS,
            failed: 0,
            bytes: sent
        }
    );
    Ok(())
}

#[test]
fn a_large_message_comes_back_whole() -> io::Result<()> {
    let server = start("127.0.0.1:0", PATIENCE)?;
    // Larger than the socket buffers: it only gets through if the client
    // reads while it writes.
    let message: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    let reply = echo_client(server.local_addr(), &message, PATIENCE)?;
    assert!(reply == message, "the reply differs from the message");
    let summary = server.stop()?;
    assert_eq!(summary.bytes, message.len() as u64);
    Ok(())
}

#[test]
fn a_client_that_goes_quiet_is_closed_after_the_idle_timeout() -> io::Result<()> {
    let server = start("127.0.0.1:0", Duration::from_millis(100))?;
    let mut quiet = TcpStream::connect(server.local_addr())?;
    quiet.set_read_timeout(Some(PATIENCE))?;
    quiet.write_all(b"hello")?;
    // No shutdown: the server echoes, waits 100 ms for more, and gives up.
    let mut reply = Vec::new();
    quiet.read_to_end(&mut reply)?;
    assert_eq!(reply, b"hello");
    let summary = server.stop()?;
    assert_eq!((summary.accepted, summary.failed), (1, 1));
    Ok(())
}

#[test]
fn a_stopped_server_refuses_new_clients() -> io::Result<()> {
    let server = start("127.0.0.1:0", PATIENCE)?;
    let addr = server.local_addr();
    let summary = server.stop()?;
    assert_eq!(summary, Summary::default());
    let refused = TcpStream::connect_timeout(&addr, PATIENCE);
    assert!(refused.is_err(), "the listener is closed");
    Ok(())
}

#[test]
fn stop_waits_for_a_connection_in_progress() -> io::Result<()> {
    let server = start("127.0.0.1:0", PATIENCE)?;
    let mut open = TcpStream::connect(server.local_addr())?;
    open.set_read_timeout(Some(PATIENCE))?;
    // Make sure the server has accepted us before it is told to stop.
    open.write_all(b"ping")?;
    let mut pong = [0; 4];
    open.read_exact(&mut pong)?;
    let stopper = std::thread::spawn(move || server.stop());
    // The connection still works while the server is stopping.
    open.write_all(b"more")?;
    open.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    open.read_to_end(&mut rest)?;
    assert_eq!((&pong, rest.as_slice()), (b"ping", b"more".as_slice()));
    let summary = stopper.join().expect("stop does not panic")?;
    assert_eq!(
        summary,
        Summary {
            accepted: 1,
            failed: 0,
            bytes: 8
        }
    );
    Ok(())
}

#[test]
fn connections_that_end_while_the_server_runs_are_all_counted() -> io::Result<()> {
    // One client after another: each ends before the next is accepted, so
    // the accept loop records most of them as it goes, not at `stop`.
    const CLIENTS: usize = 300;
    let server = start("127.0.0.1:0", PATIENCE)?;
    let mut sent = 0;
    for id in 0..CLIENTS {
        let message = format!("client {id}");
        let reply = echo_client(server.local_addr(), message.as_bytes(), PATIENCE)?;
        assert_eq!(reply, message.as_bytes());
        sent += message.len() as u64;
    }
    let summary = server.stop()?;
    assert_eq!(
        summary,
        Summary {
            accepted: CLIENTS,
            failed: 0,
            bytes: sent
        }
    );
    Ok(())
}
