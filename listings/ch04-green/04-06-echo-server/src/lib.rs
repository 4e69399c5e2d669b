// ANCHOR: all
//! A TCP echo server and client on may: one coroutine accepts, one
//! coroutine per connection echoes, and every blocking call is may's own,
//! so it parks the coroutine instead of the worker thread.
//!
//! The server stops when you call [`Server::stop`], which the demo and the
//! tests do; every read and write has a timeout, so stopping never waits on
//! a silent client for longer than the idle timeout.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use may::coroutine::{self, JoinHandle};
use may::go;
use may::net::{TcpListener, TcpStream};
use may::sync::mpsc;

/// What the server did, reported when it has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Connections accepted.
    pub accepted: usize,
    /// Connections that failed: a timeout, a reset, an error.
    pub failed: usize,
    /// Bytes echoed by the connections that did not fail.
    pub bytes: u64,
}

/// A running server: its address, and what it takes to stop it.
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    acceptor: JoinHandle<Summary>,
}

// ANCHOR: start
/// Binds `addr` and serves it on may's coroutines until [`Server::stop`].
/// A connection that sends nothing for `idle` is closed as failed.
pub fn start(addr: &str, idle: Duration) -> io::Result<Server> {
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let stopping = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stopping);
    let acceptor = go!(move || accept_loop(listener, &flag, idle));
    Ok(Server {
        addr,
        stopping,
        acceptor,
    })
}

fn accept_loop(listener: TcpListener, stopping: &AtomicBool, idle: Duration) -> Summary {
    let mut summary = Summary::default();
    // Each connection reports its result on this channel when it ends, so
    // the loop keeps nothing per open connection and reaps in O(1) each.
    let (report, reports) = mpsc::channel();
    let mut reported = 0;
    for stream in listener.incoming() {
        // `stop` sets the flag, then connects to wake this loop up.
        if stopping.load(Ordering::Acquire) {
            break;
        }
        match stream {
            Ok(stream) => {
                summary.accepted += 1;
                let report = report.clone();
                go!(move || {
                    // If `echo` panics, nothing is sent: counted as failed.
                    let _ = report.send(echo(stream, idle));
                });
            }
            Err(error) => {
                // A client that gave up, or a full file table: neither
                // should stop the server, but don't spin on the error.
                eprintln!("accept failed: {error}");
                coroutine::sleep(Duration::from_millis(10));
            }
        }
        // Record the connections that have ended since the last pass.
        for result in reports.try_iter() {
            summary.record(result);
            reported += 1;
        }
    }
    // Dropping the listener refuses new clients. Then drop our sender and
    // wait for the open connections, each of which ends within `idle`: the
    // channel closes when the last connection's sender is dropped.
    drop(listener);
    drop(report);
    for result in reports.iter() {
        summary.record(result);
        reported += 1;
    }
    // A connection that panicked sent no report.
    summary.failed += summary.accepted - reported;
    summary
}
// ANCHOR_END: start

impl Server {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits for the open connections, and reports.
    pub fn stop(self) -> io::Result<Summary> {
        self.stopping.store(true, Ordering::Release);
        // The acceptor is parked in `accept`: a connection wakes it up, and
        // it sees the flag before it counts that connection. If the connect
        // fails, the acceptor has already stopped.
        let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(5));
        self.acceptor
            .join()
            .map_err(|_| io::Error::other("the accept loop panicked"))
    }
}

impl Summary {
    fn record(&mut self, result: io::Result<u64>) {
        match result {
            Ok(bytes) => self.bytes += bytes,
            Err(_) => self.failed += 1,
        }
    }
}

// ANCHOR: echo
/// Sends back everything the client sends, until it closes its side.
/// Returns the number of bytes echoed.
fn echo(mut stream: TcpStream, idle: Duration) -> io::Result<u64> {
    stream.set_read_timeout(Some(idle))?;
    stream.set_write_timeout(Some(idle))?;
    // On the heap: a coroutine's stack is small and cannot grow.
    let mut buffer = vec![0; 16 * 1024];
    let mut bytes = 0;
    loop {
        // Looks like blocking std code; may parks the coroutine until the
        // socket is ready and runs other coroutines meanwhile.
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        stream.write_all(&buffer[..read])?;
        bytes += read as u64;
    }
    // Tell the client we are done too.
    stream.shutdown(Shutdown::Write)?;
    Ok(bytes)
}
// ANCHOR_END: echo

// ANCHOR: client
/// Connects to `addr`, sends `message`, closes the sending side and returns
/// everything the server sent back. Gives up after `patience` without
/// progress.
pub fn echo_client(addr: SocketAddr, message: &[u8], patience: Duration) -> io::Result<Vec<u8>> {
    let mut reader = TcpStream::connect(addr)?;
    reader.set_read_timeout(Some(patience))?;
    let mut writer = reader.try_clone()?;
    writer.set_write_timeout(Some(patience))?;
    let message = message.to_vec();
    // Send on a second coroutine while this one receives: a large message
    // would otherwise fill the socket buffers both ways, and client and
    // server would wait on each other forever.
    let sender = go!(move || {
        writer.write_all(&message)?;
        writer.shutdown(Shutdown::Write)
    });
    let mut reply = Vec::new();
    let received = reader.read_to_end(&mut reply);
    sender
        .join()
        .map_err(|_| io::Error::other("the sending coroutine panicked"))??;
    received?;
    Ok(reply)
}
// ANCHOR_END: client
// ANCHOR_END: all
