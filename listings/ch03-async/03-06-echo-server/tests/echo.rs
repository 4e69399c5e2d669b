//! The echo server over loopback, on a port the operating system picks. No
//! test sleeps for a fixed time: each waits for the event it needs, with a
//! timeout so that a bug fails the test instead of hanging it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ch03_06_echo_server::{Limits, Summary, echo_client, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// Long enough for any step of a healthy test, short enough to fail fast.
const PATIENCE: Duration = Duration::from_secs(10);

/// Starts a server on 127.0.0.1 with room for 1,000 connections.
async fn start(grace: Duration) -> (SocketAddr, CancellationToken, JoinHandle<Summary>) {
    start_with(Limits {
        max_connections: 1_000,
        idle: PATIENCE,
        grace,
    })
    .await
}

/// Starts a server on 127.0.0.1 and returns its address, the token that
/// shuts it down, and the task that reports its summary.
async fn start_with(limits: Limits) -> (SocketAddr, CancellationToken, JoinHandle<Summary>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, shutdown.clone(), limits));
    (addr, shutdown, server)
}

async fn stop(shutdown: CancellationToken, server: JoinHandle<Summary>) -> Summary {
    shutdown.cancel();
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
    let (addr, shutdown, server) = start(PATIENCE).await;
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
    let summary = stop(shutdown, server).await;
    assert_eq!(
        summary,
        Summary {
            accepted: 200,
            finished: 200,
            bytes: total,
            ..summary
        }
    );
    assert_eq!((summary.failed, summary.cut_off), (0, 0));
}

#[tokio::test]
async fn shutdown_stops_accepting_but_lets_open_connections_finish() {
    let (addr, shutdown, server) = start(PATIENCE).await;
    let mut open = TcpStream::connect(addr).await.expect("connect");
    open.write_all(b"before ").await.expect("write");
    let mut reply = [0; 7];
    open.read_exact(&mut reply).await.expect("read");
    assert_eq!(&reply, b"before ");

    shutdown.cancel();
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
            failed: 0,
            bytes: 12,
            cut_off: 0,
            idle: 0,
            accept_errors: 0,
            peak_tasks: 1,
        }
    );
}

#[tokio::test]
async fn connections_still_open_after_the_grace_period_are_cut_off() {
    let (addr, shutdown, server) = start(Duration::from_millis(50)).await;
    // A client that connects, is accepted, and then never closes.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"x").await.expect("write");
    let mut byte = [0; 1];
    idle.read_exact(&mut byte).await.expect("the server echoes");

    let summary = stop(shutdown, server).await;
    assert_eq!(summary.accepted, 1);
    assert_eq!(summary.finished, 0);
    assert_eq!(summary.cut_off, 1);
    // The server closed its side politely: the client reads the end of the stream.
    let mut rest = Vec::new();
    timeout(PATIENCE, idle.read_to_end(&mut rest))
        .await
        .expect("the server closed the connection")
        .expect("a clean end of stream");
    assert!(rest.is_empty(), "{rest:?}");
}

#[tokio::test]
async fn an_empty_message_gets_an_empty_reply() {
    let (addr, shutdown, server) = start(PATIENCE).await;
    let reply = echo_client(addr, b"").await.expect("echo");
    assert!(reply.is_empty());
    let summary = stop(shutdown, server).await;
    assert_eq!((summary.accepted, summary.bytes), (1, 0));
}

/// Clients that arrive one after another, as fast as they can, from this many
/// tasks at once: the listener almost always has a client waiting.
const STEADY_CLIENTS: usize = 16;

#[tokio::test]
async fn finished_connections_are_reaped_while_clients_keep_arriving() {
    const CAP: usize = 4;
    let (addr, shutdown, server) = start_with(Limits {
        max_connections: CAP,
        idle: PATIENCE,
        grace: PATIENCE,
    })
    .await;
    let mut clients = JoinSet::new();
    for id in 0..STEADY_CLIENTS {
        clients.spawn(async move {
            for round in 0..25 {
                let message = format!("client {id}, round {round}");
                let reply = echo_client(addr, message.as_bytes()).await.expect("echo");
                assert_eq!(reply, message.as_bytes());
            }
        });
    }
    while let Some(client) = timeout(PATIENCE, clients.join_next())
        .await
        .expect("the clients finish")
    {
        client.expect("a client succeeds");
    }
    let summary = stop(shutdown, server).await;
    assert_eq!(summary.accepted, STEADY_CLIENTS * 25);
    assert_eq!(summary.finished, STEADY_CLIENTS * 25);
    // On this one-thread runtime, a new connection is spawned only after
    // every finished one has been reaped, and the unfinished ones hold the
    // other slots: the set never holds more tasks than there are slots.
    assert!(
        summary.peak_tasks <= CAP,
        "the set grew to {} tasks",
        summary.peak_tasks
    );
}

#[tokio::test]
async fn the_cap_holds_a_client_back_until_a_slot_is_free() {
    let (addr, shutdown, server) = start_with(Limits {
        max_connections: 2,
        idle: PATIENCE,
        grace: PATIENCE,
    })
    .await;
    let mut served = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"x").await.expect("write");
        let mut byte = [0; 1];
        stream.read_exact(&mut byte).await.expect("echoed");
        served.push(stream);
    }
    // The third client connects (the kernel queues it) but is not served
    // while both slots are taken, however long it waits.
    let mut third = TcpStream::connect(addr).await.expect("connect");
    third.write_all(b"y").await.expect("write");
    let mut byte = [0; 1];
    let early = timeout(Duration::from_millis(50), third.read_exact(&mut byte)).await;
    assert!(early.is_err(), "served beyond the cap");

    // A client leaves, and the third one is served.
    drop(served.pop());
    timeout(PATIENCE, third.read_exact(&mut byte))
        .await
        .expect("served once a slot is free")
        .expect("read");
    assert_eq!(&byte, b"y");
    drop((served, third));
    let summary = stop(shutdown, server).await;
    assert_eq!(summary.accepted, 3);
}

#[tokio::test]
async fn silent_clients_are_closed_and_free_their_slots() {
    let (addr, shutdown, server) = start_with(Limits {
        max_connections: 2,
        idle: Duration::from_millis(200),
        grace: PATIENCE,
    })
    .await;
    // Two clients take both slots and send nothing.
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(addr).await.expect("connect"));
    }
    // A third one is served all the same, once the server has closed them.
    let mut third = TcpStream::connect(addr).await.expect("connect");
    third.write_all(b"y").await.expect("write");
    let mut byte = [0; 1];
    timeout(PATIENCE, third.read_exact(&mut byte))
        .await
        .expect("served once the silent clients are closed")
        .expect("read");
    assert_eq!(&byte, b"y");
    // The silent ones see the server close their connections: end of file.
    for mut stream in silent {
        let mut rest = Vec::new();
        let read = timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(0))),
            "a silent client was not closed: {read:?}"
        );
    }
    drop(third);
    let summary = stop(shutdown, server).await;
    assert_eq!(summary.accepted, 3);
    // The third client may be closed as idle too before `stop`: at least two.
    assert!(summary.idle >= 2, "{summary:?}");
}

/// Linux resets a connection that is still in a listener's queue when the
/// listener closes: the client's `connect` succeeded, and its first read fails.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn clients_still_queued_at_shutdown_are_reset() {
    let (addr, shutdown, server) = start_with(Limits {
        max_connections: 1,
        idle: PATIENCE,
        grace: PATIENCE,
    })
    .await;
    let mut served = TcpStream::connect(addr).await.expect("connect");
    served.write_all(b"x").await.expect("write");
    let mut byte = [0; 1];
    served.read_exact(&mut byte).await.expect("echoed");
    // No slot is free: this one is queued by the kernel, never accepted.
    let mut queued = TcpStream::connect(addr)
        .await
        .expect("the kernel accepts it");
    queued.write_all(b"y").await.expect("write");

    shutdown.cancel();
    let mut reply = Vec::new();
    let read = timeout(PATIENCE, queued.read_to_end(&mut reply))
        .await
        .expect("the queued client hears back");
    assert_eq!(
        read.map_err(|error| error.kind()),
        Err(io::ErrorKind::ConnectionReset),
        "got {reply:?}"
    );
    // The open connection still finishes in the grace period.
    served
        .write_all(b"z")
        .await
        .expect("write during the grace period");
    served.read_exact(&mut byte).await.expect("echoed");
    assert_eq!(&byte, b"z");
    drop(served);
    let summary = stop(shutdown, server).await;
    assert_eq!((summary.accepted, summary.finished), (1, 1));
}
