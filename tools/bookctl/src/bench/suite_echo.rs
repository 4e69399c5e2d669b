//! `echo.md` + `echo.svg`: loopback TCP ping-pong (64-byte messages) at
//! 100, 1,000 and 10,000 connections against six echo servers, one load
//! client for all. The figure that matters is the server's CPU time per
//! round trip: the client shares the machine, so round trips per second are
//! partly the client's.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::markdown::{Table, thousands};
use super::python::{NO_GEVENT, NO_PYTHON};
use super::runner::{Program, Progress, median_of, number};
use super::stamp::command_output;
use super::svg::{Bar, Scale, bar_chart};
use super::{Bench, Output};
use crate::cargo::{drain, drained};

/// File descriptors a process needs beyond one per connection.
const SPARE_FDS: u64 = 100;

struct Server {
    label: &'static str,
    program: Option<Program>,
}

/// The medians of one server at one number of connections.
struct Measured {
    label: &'static str,
    connections: u64,
    round_trips_per_second: f64,
    /// Server CPU time per round trip, in µs (`None` without `/proc`).
    cpu_us: Option<f64>,
}

/// `taskset -c CPU` when taskset exists and there are 2 CPUs or more, so the
/// server has one core and the client the other.
fn pinning(cores: usize) -> Option<[Vec<OsString>; 2]> {
    let available = command_output("taskset", &["-V"]).is_some() && cores >= 2;
    available.then(|| ["0", "1"].map(|cpu| vec!["taskset".into(), "-c".into(), cpu.into()]))
}

/// Raises the soft limit on open files to the hard limit, then runs the
/// program: 10,000 connections need 10,000 descriptors in each process.
fn with_fd_limit(prefix: &[OsString]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = [
        "sh",
        "-c",
        r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@""#,
        "sh",
    ]
    .map(OsString::from)
    .into();
    argv.extend(prefix.iter().cloned());
    argv
}

fn hard_fd_limit() -> Option<u64> {
    let limit = command_output("sh", &["-c", "ulimit -Hn"])?;
    if limit == "unlimited" {
        Some(u64::MAX)
    } else {
        limit.parse().ok()
    }
}

pub fn run(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let connections: Vec<u64> = bench.size(vec![100, 1_000, 10_000], vec![100]);
    let (base_warmup_ms, measure_ms) = bench.size((1_000, 4_000), (200, 500));
    // Servers that start a thread per connection need a while to accept
    // 10,000 of them: give every server time to settle before measuring.
    let warmup_for = |conns: u64| base_warmup_ms.max(conns * 3 / 10);
    let pins = pinning(bench.machine.cores);
    let (server_prefix, client_prefix) = match &pins {
        Some([server, client]) => (with_fd_limit(server), with_fd_limit(client)),
        None => (with_fd_limit(&[]), with_fd_limit(&[])),
    };
    let fd_limit = hard_fd_limit().unwrap_or(1_024);
    let (usable, skipped): (Vec<u64>, Vec<u64>) = connections
        .iter()
        .partition(|&&n| n + SPARE_FDS <= fd_limit);

    let rust =
        |style: &str| -> Result<Option<Program>> { Ok(Some(bench.exe("echo-server")?.arg(style))) };
    let python = |style: &str, needs_gevent: bool| {
        if needs_gevent && bench.python.gevent.is_none() {
            return None;
        }
        bench
            .python("bench/python/echo_server.py")
            .map(|p| p.arg(style))
    };
    let servers = [
        Server {
            label: "tokio `current_thread`",
            program: rust("tokio")?,
        },
        Server {
            label: "may, 1 worker",
            program: rust("may")?,
        },
        Server {
            label: "Rust thread per connection",
            program: rust("threads")?,
        },
        Server {
            label: "asyncio streams",
            program: python("asyncio", false),
        },
        Server {
            label: "gevent `StreamServer`",
            program: python("gevent", true),
        },
        Server {
            label: "Python thread per connection",
            program: python("threads", false),
        },
    ];
    let client = bench.exe("echo-client")?;

    let mut progress = Progress::new(suite, servers.len() * usable.len());
    let mut results: Vec<Measured> = Vec::new();
    for &conns in &usable {
        for server in &servers {
            progress.next();
            let Some(program) = &server.program else {
                continue;
            };
            let what = format!("{} ×{conns}", server.label.replace('`', ""));
            let mut records = Vec::new();
            for run in 1..=bench.echo_runs {
                let record = one_round(
                    &program.clone().wrapped(&server_prefix),
                    &client_prefix,
                    &client,
                    [conns, warmup_for(conns), measure_ms],
                )?;
                let rps = number(&record, "rps")?;
                progress.report(
                    &what,
                    run,
                    bench.echo_runs,
                    &format!("{} rps", thousands(rps)),
                );
                records.push(record);
            }
            results.push(Measured {
                label: server.label,
                connections: conns,
                round_trips_per_second: median_of(&records, "rps")?,
                cpu_us: median_of(&records, "server_cpu_us_per_round_trip").ok(),
            });
        }
    }

    let mut table = Table::new(&[
        "server",
        "connections",
        "round trips/s",
        "server CPU per round trip",
        "CPU ÷ asyncio's",
    ]);
    // The CPU per round trip of the server whose label starts with `name`.
    let cpu_of = |name: &str, conns: u64| {
        results
            .iter()
            .find(|r| r.label.starts_with(name) && r.connections == conns)
            .and_then(|r| r.cpu_us)
    };
    let mut bars = Vec::new();
    for result in &results {
        let (label, conns, cpu) = (result.label, result.connections, result.cpu_us);
        let ratio = match (cpu, cpu_of("asyncio", conns)) {
            (Some(cpu), Some(asyncio)) if asyncio > 0.0 => format!("{:.2}", cpu / asyncio),
            _ => "—".to_owned(),
        };
        table.row(vec![
            label.to_owned(),
            thousands(conns as f64),
            thousands(result.round_trips_per_second),
            cpu.map_or("—".into(), |us| format!("{us:.1} µs")),
            ratio,
        ]);
        if let Some(cpu) = cpu {
            bars.push(Bar::new(
                format!("{} ×{}", label.replace('`', ""), thousands(conns as f64)),
                cpu,
            ));
        }
    }
    let tokio_ratios: Vec<String> = usable
        .iter()
        .filter_map(|&conns| {
            Some(format!(
                "{:.2} at {}",
                cpu_of("tokio", conns)? / cpu_of("asyncio", conns)?,
                thousands(conns as f64)
            ))
        })
        .collect();
    if !tokio_ratios.is_empty() {
        table.note(format!(
            "tokio's server CPU per round trip ÷ asyncio's: {} connections (the book's target: at most 0.7).",
            tokio_ratios.join(", ")
        ));
    }
    if bench.python.version.is_none() {
        table.note(NO_PYTHON);
    } else if bench.python.gevent.is_none() {
        table.note(NO_GEVENT);
    }
    for conns in skipped {
        table.note(format!(
            "{} connections skipped: the hard limit on open files is {fd_limit}; raise it (`ulimit -Hn`) to at least {}.",
            thousands(conns as f64),
            conns + SPARE_FDS
        ));
    }

    let pinned = if pins.is_some() {
        "taskset pinned the server to CPU 0 and the client to CPU 1"
    } else {
        "the processes were not pinned (no taskset, or a single CPU)"
    };
    let warmup = match usable.last() {
        Some(&most) if warmup_for(most) > base_warmup_ms => format!(
            "{base_warmup_ms} ms ({} ms at {} connections)",
            warmup_for(most),
            thousands(most as f64)
        ),
        _ => format!("{base_warmup_ms} ms"),
    };
    let mut tools = vec![bench.crate_version("tokio"), bench.crate_version("may")];
    tools.extend(bench.python.versions(bench.python.gevent.is_some()));
    tools.push(
        if pins.is_some() {
            "server pinned to CPU 0 and client to CPU 1"
        } else {
            "not pinned"
        }
        .to_owned(),
    );
    let mut text = bench.machine.stamp(&tools);
    text += &format!(
        "\nLoopback TCP ping-pong, 64-byte messages: each connection of one Rust load client \
         (tokio, multi-thread) sends 64 bytes, reads them back, and repeats; {warmup} \
         of warm-up, then {measure_ms} ms measured; {pinned}. Server CPU is its user + system time \
         from `/proc/<pid>/stat` over the measured interval. Echo is noisy (±25 % on a shared machine): medians over {}. \
         By hand: start `cargo run --release -p book-bench --bin echo-server -- tokio` (or \
         `python3 bench/python/echo_server.py asyncio`), then \
         `cargo run --release -p book-bench --bin echo-client -- PORT 100 1000 4000 SERVER_PID`.\n\n",
        super::markdown::runs(bench.echo_runs)
    );
    text += &table.render();
    let svg = bar_chart(
        "Echo server CPU per round trip (µs), lower is better",
        &bars,
        Scale::Linear,
        |v| format!("{v:.1} µs"),
    )
    .map_err(anyhow::Error::msg)?;
    Ok(vec![
        Output::new("echo.md", text),
        Output::new("echo.svg", svg),
    ])
}

/// Starts the server, reads its port, runs the client against it, then
/// kills and reaps the server. Returns the client's JSON result.
fn one_round(
    server: &Program,
    client_prefix: &[OsString],
    client: &Program,
    [conns, warmup_ms, measure_ms]: [u64; 3],
) -> Result<serde_json::Value> {
    let mut child = server
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{}`", server.display()))?;
    let stderr = drain(child.stderr.take());
    let result = (|| {
        let port = read_port(&mut child)
            .with_context(|| format!("`{}` did not print its port", server.display()))?;
        client
            .clone()
            .args([
                port.to_string(),
                conns.to_string(),
                warmup_ms.to_string(),
                measure_ms.to_string(),
            ])
            .arg(child.id().to_string())
            .wrapped(client_prefix)
            .run_json()
    })();
    let _ = child.kill();
    let _ = child.wait();
    let stderr = drained(stderr);
    result.with_context(|| format!("the echo server's stderr:\n{}", stderr.trim_end()))
}

/// The first line the server prints: its port (waiting at most 20 s).
fn read_port(child: &mut Child) -> Result<u16> {
    let stdout = child.stdout.take().context("no stdout")?;
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = send.send(lines.next());
        // Keep reading so that the server can never block on a full pipe.
        lines.for_each(drop);
    });
    match receive.recv_timeout(Duration::from_secs(20)) {
        Ok(Some(Ok(line))) => line
            .trim()
            .parse()
            .with_context(|| format!("expected a port number, got {line:?}")),
        Ok(_) => bail!("it closed its output first"),
        Err(_) => bail!("it printed nothing for 20 s"),
    }
}
