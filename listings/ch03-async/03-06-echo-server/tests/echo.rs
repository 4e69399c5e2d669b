//! The echo server over loopback, on a port the operating system picks. No
//! test sleeps for a fixed time: each waits for the event it needs, with a
//! timeout so that a bug fails the test instead of hanging it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ch03_06_echo_server::{Summary, echo_client, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

/// Long enough for any step of a healthy test, short enough to fail fast.
const PATIENCE: Duration = Duration::from_secs(10);

/// Starts a server on 127.0.0.1 and returns its address, the trigger that
/// shuts it down, and the task that reports its summary.
async fn start(grace: Duration) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<Summary>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (stop_server, stop) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stop.await;
    };
    let server = tokio::spawn(serve(listener, shutdown, grace));
    (addr, stop_server, server)
}

async fn stop(stop_server: oneshot::Sender<()>, server: JoinHandle<Summary>) -> Summary {
    let _ = stop_server.send(());
    timeout(PATIENCE, server)
        .await
        .expect("the server stops")
        .expect("the server task does not panic")
}

/// Tries to connect until the server refuses. A connection attempted just
/// before the listener closed may still succeed, so try again, briefly.
async fn wait_until_refused(addr: SocketAddr) {
    for _ in 0..1000 {
        match TcpStream::connect(addr).await {
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => return,
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    panic!("{addr} still accepts connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_clients_each_get_their_own_bytes_back() {
    let (addr, stop_server, server) = start(PATIENCE).await;
    let mut clients = JoinSet::new();
    let mut total = 0;
    for id in 0..200_usize {
        // Sizes from a few bytes to 256 KiB, more than a socket buffer holds.
        let message: Vec<u8> = (0..(id * 1311) % (256 * 1024) + 1)
            .map(|i| (i * 7 + id) as u8)
            .collect();
        total += message.len() as u64;
        clients.spawn(async move {
            let reply = echo_client(addr, &message).await.expect("echo");
            assert!(reply == message, "client {id} got other bytes back");
        });
    }
    while let Some(client) = timeout(PATIENCE, clients.join_next())
        .await
        .expect("the clients finish")
    {
        client.expect("a client succeeds");
    }
    let summary = stop(stop_server, server).await;
    assert_eq!(
        summary,
        Summary {
            accepted: 200,
            finished: 200,
            bytes: total,
            cut_off: 0
        }
    );
}

#[tokio::test]
async fn shutdown_stops_accepting_but_lets_open_connections_finish() {
    let (addr, stop_server, server) = start(PATIENCE).await;
    let mut open = TcpStream::connect(addr).await.expect("connect");
    open.write_all(b"before ").await.expect("write");
    let mut reply = [0; 7];
    open.read_exact(&mut reply).await.expect("read");
    assert_eq!(&reply, b"before ");

    let _ = stop_server.send(());
    wait_until_refused(addr).await;
    assert!(
        !server.is_finished(),
        "the server quit with a connection open"
    );

    // The open connection still works, and ends when the client closes it.
    open.write_all(b"after")
        .await
        .expect("write after shutdown");
    open.shutdown().await.expect("close the sending side");
    let mut rest = Vec::new();
    open.read_to_end(&mut rest)
        .await
        .expect("read after shutdown");
    assert_eq!(rest, b"after");

    let summary = timeout(PATIENCE, server)
        .await
        .expect("the server stops")
        .expect("the server task does not panic");
    assert_eq!(
        summary,
        Summary {
            accepted: 1,
            finished: 1,
            bytes: 12,
            cut_off: 0
        }
    );
}

#[tokio::test]
async fn connections_still_open_after_the_grace_period_are_cut_off() {
    let (addr, stop_server, server) = start(Duration::from_millis(50)).await;
    // A client that connects, is accepted, and then never closes.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"x").await.expect("write");
    let mut byte = [0; 1];
    idle.read_exact(&mut byte).await.expect("the server echoes");

    let summary = stop(stop_server, server).await;
    assert_eq!(summary.accepted, 1);
    assert_eq!(summary.finished, 0);
    assert_eq!(summary.cut_off, 1);
    // The server closed the socket: the client reads the end of the stream.
    let mut rest = Vec::new();
    let read = timeout(PATIENCE, idle.read_to_end(&mut rest))
        .await
        .expect("the server closed the connection");
    assert!(read.is_err() || rest.is_empty(), "{read:?} {rest:?}");
}

#[tokio::test]
async fn an_empty_message_gets_an_empty_reply() {
    let (addr, stop_server, server) = start(PATIENCE).await;
    let reply = echo_client(addr, b"").await.expect("echo");
    assert!(reply.is_empty());
    let summary = stop(stop_server, server).await;
    assert_eq!((summary.accepted, summary.bytes), (1, 0));
}
