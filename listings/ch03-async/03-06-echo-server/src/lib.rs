//! A TCP echo server and client on tokio, with a connection cap and a
//! graceful shutdown.
//!
//! The server is told to stop through a `CancellationToken`, so that `main`
//! can cancel it on Ctrl-C and the tests can cancel it directly: the server
//! does not care what tells it to stop.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// How long the server waits before it tries `accept` again after an error.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// How many connections the server serves at once, how long a client may
/// stay silent before the server closes its connection, and how long open
/// connections may take to finish once shutdown has begun.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub idle: Duration,
    pub grace: Duration,
}

/// What the server did, reported when it has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Connections accepted.
    pub accepted: usize,
    /// Connections that ended on their own: the client closed, or an error.
    pub finished: usize,
    /// Connections that ended with an error (counted in `finished` too).
    pub failed: usize,
    /// Bytes echoed by the connections that finished.
    pub bytes: u64,
    /// Connections still open when the grace period ran out, closed by the server.
    pub cut_off: usize,
    /// Connections the server closed because the client sent nothing, or
    /// took nothing back, for `Limits::idle`.
    pub idle: usize,
    /// Times `accept` failed (a client that gave up, no file descriptor left).
    pub accept_errors: usize,
    /// The most connection tasks the server held at once, finished or not.
    pub peak_tasks: usize,
}

/// How one connection ended.
enum Ended {
    /// The client closed its side; this many bytes were echoed.
    Closed(u64),
    /// The client went quiet for too long; this many bytes were echoed.
    Idle(u64),
    /// The server closed it at the end of the grace period.
    CutOff,
}

// ANCHOR: serve
/// Accepts connections and echoes each one on its own task, at most
/// `limits.max_connections` at a time, until `shutdown` is cancelled. Then it
/// stops accepting, gives the open connections `limits.grace` to finish,
/// tells the ones that are left to close, and reports.
pub async fn serve(listener: TcpListener, shutdown: CancellationToken, limits: Limits) -> Summary {
    let mut summary = Summary::default();
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Cancelled when the grace period is over: every connection watches it.
    let cut_off = CancellationToken::new();
    loop {
        tokio::select! {
            // Polled in this order. Reaping comes first: while clients keep
            // arriving, `accept` is always ready and would starve it.
            biased;
            Some(done) = connections.join_next() => summary.record(done),
            () = shutdown.cancelled() => break,
            (slot, accepted) = next_client(&listener, &slots) => match accepted {
                Ok(stream) => {
                    summary.accepted += 1;
                    // The task owns its slot and frees it when it ends.
                    connections.spawn(echo(stream, slot, limits.idle, cut_off.clone()));
                    summary.peak_tasks = summary.peak_tasks.max(connections.len());
                }
                Err(error) => {
                    summary.accept_errors += 1;
                    eprintln!("accept failed: {error}");
                    // A client that gave up before it was accepted is gone:
                    // take the next one at once. After an error such as
                    // EMFILE (no file descriptor left) the listener stays
                    // readable, and trying again at once would spin: wait a
                    // little, unless shutdown comes first.
                    if !client_gave_up(&error) {
                        shutdown.run_until_cancelled(tokio::time::sleep(ACCEPT_BACKOFF)).await;
                    }
                }
            },
        }
    }
    // Closing the listener refuses new clients from here on.
    drop(listener);
    let drain = async {
        while let Some(done) = connections.join_next().await {
            summary.record(done);
        }
    };
    if timeout(limits.grace, drain).await.is_err() {
        // Time is up: tell the rest to close, and wait for them to do it.
        cut_off.cancel();
        while let Some(done) = connections.join_next().await {
            summary.record(done);
        }
    }
    summary
}

/// Waits for a free slot, then for a client. Cancel safe: dropped while it
/// waits, it gives the slot back and loses no client.
async fn next_client(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (OwnedSemaphorePermit, io::Result<TcpStream>) {
    let slot = Arc::clone(slots)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    let accepted = listener.accept().await.map(|(stream, _peer)| stream);
    (slot, accepted)
}

/// Errors that concern one client only, which the next `accept` does not meet.
fn client_gave_up(error: &io::Error) -> bool {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
// ANCHOR_END: serve

impl Summary {
    fn record(&mut self, done: Result<io::Result<Ended>, JoinError>) {
        match done {
            Ok(Ok(Ended::Closed(bytes))) => {
                self.finished += 1;
                self.bytes += bytes;
            }
            Ok(Ok(Ended::Idle(bytes))) => {
                self.idle += 1;
                self.bytes += bytes;
            }
            Ok(Ok(Ended::CutOff)) => self.cut_off += 1,
            // A failed connection is the client's problem, not the server's:
            // count it and say so, then carry on.
            Ok(Err(error)) => {
                self.finished += 1;
                self.failed += 1;
                eprintln!("connection failed: {error}");
            }
            Err(error) => {
                self.finished += 1;
                self.failed += 1;
                eprintln!("connection task failed: {error}");
            }
        }
    }
}

// ANCHOR: echo
/// Sends back everything the client sends, until it closes its side, goes
/// quiet for `idle`, or `cut_off` is cancelled. `_slot` is held until the
/// connection ends.
async fn echo(
    mut stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    cut_off: CancellationToken,
) -> io::Result<Ended> {
    let (mut reader, mut writer) = stream.split();
    let ended = tokio::select! {
        ended = copy_until_idle(&mut reader, &mut writer, idle) => ended?,
        () = cut_off.cancelled() => Ended::CutOff,
    };
    // Tell the client we are done too (the `writer.close()` of asyncio).
    writer.shutdown().await?;
    Ok(ended)
}

/// Copies `reader` to `writer` until the reader reaches its end, or a read
/// or a write waits longer than `idle`: a client that connects and then sends
/// nothing, or never reads its replies, must not keep its slot for ever.
async fn copy_until_idle(
    reader: &mut (impl AsyncRead + Unpin),
    writer: &mut (impl AsyncWrite + Unpin),
    idle: Duration,
) -> io::Result<Ended> {
    let mut buffer = vec![0; 8 * 1024];
    let mut echoed = 0;
    loop {
        let Ok(read) = timeout(idle, reader.read(&mut buffer)).await else {
            return Ok(Ended::Idle(echoed));
        };
        let received = &buffer[..read?];
        if received.is_empty() {
            return Ok(Ended::Closed(echoed));
        }
        let Ok(written) = timeout(idle, writer.write_all(received)).await else {
            return Ok(Ended::Idle(echoed));
        };
        written?;
        echoed += received.len() as u64;
    }
}
// ANCHOR_END: echo

// ANCHOR: client
/// Connects to `addr`, sends `message`, closes the sending side and returns
/// everything the server sent back.
pub async fn echo_client(addr: SocketAddr, message: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    let (mut reader, mut writer) = stream.split();
    let send = async {
        writer.write_all(message).await?;
        writer.shutdown().await
    };
    let mut reply = Vec::with_capacity(message.len());
    // Send and receive at the same time: a large message would otherwise fill
    // the socket buffers both ways, and client and server would wait forever.
    tokio::try_join!(send, reader.read_to_end(&mut reply))?;
    Ok(reply)
}
// ANCHOR_END: client
