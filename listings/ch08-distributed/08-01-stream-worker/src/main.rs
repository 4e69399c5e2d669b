//! A worker process: `ch08-01-stream-worker <redis-url>`. It serves jobs
//! from the stream `jobs` until SIGINT (Ctrl-C) or SIGTERM, then finishes
//! or hands back the jobs in flight and prints what it did.

use std::time::Duration;

use ch08_01_stream_worker::{Config, run};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

const USAGE: &str = "\
usage: ch08-01-stream-worker <redis-url> [--consumer NAME] [--max-in-flight N]
                             [--claim-idle-ms MS] [--grace-ms MS]
Serves jobs from the Redis stream `jobs`, group `workers`, until SIGINT or
SIGTERM. Start a broker first, e.g. `redis-server --port 6379`, then
`cargo run -p ch08-01-stream-worker -- redis://127.0.0.1:6379/`.";

// ANCHOR: main
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some((url, config)) = parse_args(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let client = redis::Client::open(url)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let served = runtime.block_on(serve(client, config));
    // A CPU-bound job still running when the grace period ran out is on a
    // blocking thread, which nothing can cancel, and dropping the runtime
    // would wait for it. Its entry is still pending, for another worker:
    // leave the thread behind and exit now.
    runtime.shutdown_background();
    served
}

async fn serve(client: redis::Client, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    // SIGINT and SIGTERM cancel the token; `run` then stops reading and
    // gives the jobs in flight `--grace-ms` to finish.
    let shutdown = CancellationToken::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        on_signal.cancel();
    });

    let consumer = config.consumer.clone();
    let report = run(client, config, shutdown).await;
    println!("{consumer}: {report:?}");
    Ok(())
}
// ANCHOR_END: main

fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<(String, Config)>, Box<dyn std::error::Error>> {
    let Some(url) = args.next().filter(|a| !a.starts_with('-')) else {
        return Ok(None);
    };
    let mut config = Config::new(format!("rust-{}", std::process::id()));
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--consumer" => config.consumer = value,
            "--max-in-flight" => config.max_in_flight = value.parse()?,
            "--claim-idle-ms" => config.claim_idle = Duration::from_millis(value.parse()?),
            "--grace-ms" => config.grace = Duration::from_millis(value.parse()?),
            _ => return Err(format!("unknown option {flag}\n{USAGE}").into()),
        }
    }
    Ok(Some((url, config)))
}
