//! An echo server and its client, run in turmoil's simulated network: two
//! hosts in one thread, a network whose delays come from a seeded random
//! number generator, and a clock that only moves when every host waits.
//! The same seed gives the same run, down to the millisecond.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout};
use turmoil::net::{TcpListener, TcpStream};

const PORT: u16 = 7000;
/// How long the client waits for one echo before it gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(200);

// ANCHOR: echo
/// Sends back everything it reads until the other side closes. Generic over
/// the stream, so the same function serves tokio's sockets and turmoil's.
pub async fn echo<S: AsyncRead + AsyncWrite>(stream: S) -> std::io::Result<u64> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let bytes = tokio::io::copy(&mut reader, &mut writer).await?;
    writer.shutdown().await?;
    Ok(bytes)
}
// ANCHOR_END: echo

/// What the simulated network does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Messages arrive, each after 5 to 40 ms.
    Healthy,
    /// Messages wait on the link until the request has timed out: a link so
    /// slow that it looks dead.
    Held,
    /// The hosts cannot reach each other.
    Partitioned,
}

/// The link during each request.
pub const SCRIPT: [Link; 6] = [
    Link::Healthy,
    Link::Healthy,
    Link::Held,
    Link::Partitioned,
    Link::Healthy,
    Link::Healthy,
];

/// What became of one request, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The echo came back, this long after the client started connecting.
    Echoed(Duration),
    /// No echo within [`REQUEST_TIMEOUT`].
    TimedOut,
    /// The connection failed.
    Failed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Echoed(took) => write!(f, "echoed in {} ms", took.as_millis()),
            Outcome::TimedOut => write!(f, "no echo within {} ms", REQUEST_TIMEOUT.as_millis()),
            Outcome::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

// ANCHOR: simulate
/// Runs the server and a client that sends one request per entry of
/// [`SCRIPT`], on a connection of its own, with the link as the entry says.
/// Every message takes between 5 and 40 ms, drawn from `seed`.
pub fn simulate(seed: u64) -> turmoil::Result<Vec<Outcome>> {
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .min_message_latency(Duration::from_millis(5))
        .max_message_latency(Duration::from_millis(40))
        .simulation_duration(Duration::from_secs(60))
        .build();

    sim.host("server", || async {
        let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
        loop {
            let (stream, _peer) = listener.accept().await?;
            tokio::spawn(echo(stream));
        }
    });

    let (report, outcomes) = std::sync::mpsc::channel();
    sim.client("client", async move {
        for (request, link) in SCRIPT.into_iter().enumerate() {
            match link {
                Link::Healthy => {}
                Link::Held => turmoil::hold("client", "server"),
                Link::Partitioned => turmoil::partition("client", "server"),
            }
            let message = format!("request {}", request + 1);
            let started = Instant::now();
            let outcome = match timeout(REQUEST_TIMEOUT, round_trip(message.as_bytes())).await {
                Ok(Ok(reply)) if reply == message.as_bytes() => Outcome::Echoed(started.elapsed()),
                Ok(Ok(reply)) => Outcome::Failed(format!("wrong echo: {reply:?}")),
                Ok(Err(error)) => Outcome::Failed(error.kind().to_string()),
                Err(_elapsed) => Outcome::TimedOut,
            };
            match link {
                Link::Healthy => {}
                Link::Held => turmoil::release("client", "server"),
                Link::Partitioned => turmoil::repair("client", "server"),
            }
            report.send(outcome)?;
        }
        Ok(())
    });

    sim.run()?;
    Ok(outcomes.try_iter().collect())
}
// ANCHOR_END: simulate

async fn round_trip(message: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(("server", PORT)).await?;
    stream.write_all(message).await?;
    stream.shutdown().await?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await?;
    Ok(reply)
}
