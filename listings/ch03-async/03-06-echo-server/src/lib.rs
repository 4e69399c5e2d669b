//! A TCP echo server and client on tokio, with graceful shutdown.
//!
//! The server takes its shutdown signal as a plain future, so that `main` can
//! pass Ctrl-C and the tests can pass a channel: the server does not care what
//! tells it to stop.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// What the server did, reported when it has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Connections accepted.
    pub accepted: usize,
    /// Connections that ended on their own: the client closed, or an error.
    pub finished: usize,
    /// Bytes echoed by the connections that finished.
    pub bytes: u64,
    /// Connections still open when the grace period ran out, closed by the server.
    pub cut_off: usize,
}

// ANCHOR: serve
/// Accepts connections and echoes each one on its own task until `shutdown`
/// completes. Then it stops accepting, gives the open connections up to
/// `grace` to finish, closes the ones that are left, and reports.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> Summary {
    let mut summary = Summary::default();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            // Checked first, so that a pending shutdown wins over a waiting client.
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    summary.accepted += 1;
                    connections.spawn(echo(stream));
                }
                // A client that gave up before we accepted it, or a full file
                // table: neither should stop the server.
                Err(error) => eprintln!("accept failed: {error}"),
            },
            // Reap finished connections as we go, so the set does not grow.
            Some(done) = connections.join_next() => summary.record(done),
        }
    }
    // Closing the listener refuses new clients from here on.
    drop(listener);
    let drained = tokio::time::timeout(grace, async {
        while let Some(done) = connections.join_next().await {
            summary.record(done);
        }
    })
    .await;
    if drained.is_err() {
        summary.cut_off = connections.len();
        // Dropping a task's future closes its socket.
        connections.shutdown().await;
    }
    summary
}
// ANCHOR_END: serve

impl Summary {
    fn record(&mut self, done: Result<io::Result<u64>, tokio::task::JoinError>) {
        self.finished += 1;
        match done {
            Ok(Ok(bytes)) => self.bytes += bytes,
            Ok(Err(error)) => eprintln!("connection failed: {error}"),
            Err(error) => eprintln!("connection task failed: {error}"),
        }
    }
}

// ANCHOR: echo
/// Sends back everything the client sends, until it closes its side.
/// Returns the number of bytes echoed.
async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let (mut reader, mut writer) = stream.split();
    let bytes = tokio::io::copy(&mut reader, &mut writer).await?;
    // Tell the client we are done too (the `writer.close()` of asyncio).
    writer.shutdown().await?;
    Ok(bytes)
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
