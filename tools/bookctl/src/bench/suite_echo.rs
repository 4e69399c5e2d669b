//! `echo.md` and `echo.svg`: loopback TCP ping-pong
//! (64-byte messages) against four Rust echo servers and five Python ones on
//! every interpreter, one load client for all: saturated at 100, 1,000 and
//! 10,000 connections, and at a fixed offered load. The figure that matters
//! is the server's CPU time per round trip: the client shares the machine,
//! so round trips per second are partly the client's; and a saturated
//! server spreads each `epoll_wait` over many ready sockets, which an
//! under-loaded one pays per message, hence both loads.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::markdown::{Table, thousands};
use super::python::Package;
use super::runner::{Program, Progress, number, spread_of};
use super::stamp::command_output;
use super::stats::Spread;
use super::svg::{Bar, Scale, bar_chart};
use super::tree::Group;
use super::{Bench, Output};
use crate::cargo::{drain, drained};

/// File descriptors a process needs beyond one per connection.
const SPARE_FDS: u64 = 100;

struct Server {
    label: String,
    program: Program,
}

/// The medians of one server at one number of connections.
struct Measured {
    label: String,
    connections: u64,
    /// The offered load (round trips per second), `None` when saturated.
    offered: Option<f64>,
    round_trips_per_second: f64,
    rps: Spread,
    /// Server CPU time per round trip, in µs (`None` without `/proc`), and
    /// each round's value (for the paired ratio of the fixed-load table).
    cpu: Option<Spread>,
    cpu_by_round: Vec<Option<f64>>,
}

/// A fixed-load row counts as keeping up when it served this share of the
/// load offered.
const KEEPS_UP: f64 = 0.95;

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
    // The fixed offered load, at the middle number of connections: a rate
    // the slowest server sustains there (a row that falls behind says so).
    let (fixed_connections, fixed_rate): (u64, f64) = bench.size((1_000, 5_000.0), (100, 2_000.0));
    let (base_warmup_ms, measure_ms) = bench.size((1_000, 2_000), (100, 300));
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

    let mut servers = Vec::new();
    // The multi-thread runtime starts a worker per CPU the process may use.
    let multi_thread = if pins.is_some() {
        "tokio multi-thread (1 worker on its 1 CPU)"
    } else {
        "tokio multi-thread (a worker per CPU)"
    };
    for (label, style) in [
        ("tokio `current_thread`", "tokio"),
        (multi_thread, "tokio-multi"),
        ("may, 1 worker", "may"),
        ("Rust thread per connection", "threads"),
    ] {
        servers.push(Server {
            label: label.to_owned(),
            program: bench.exe("echo-server")?.arg(style),
        });
    }
    for python in bench.pythons() {
        for (label, style, package) in [
            ("asyncio streams", "asyncio", None),
            ("asyncio `Protocol`", "asyncio-protocol", None),
            (
                "uvloop `Protocol`",
                "uvloop-protocol",
                Some(Package::Uvloop),
            ),
            ("gevent `StreamServer`", "gevent", Some(Package::Gevent)),
            ("thread per connection", "threads", None),
        ] {
            if package.is_none_or(|package| python.has(package)) {
                servers.push(Server {
                    label: format!("{label}, {}", python.name()),
                    program: bench
                        .script(python, "bench/python/echo_server.py")
                        .arg(style),
                });
            }
        }
    }
    let client = bench.exe("echo-client")?;

    // Every server saturated at each number of connections, then every server
    // at the fixed offered load.
    let mut settings: Vec<(u64, Option<f64>)> = usable.iter().map(|&n| (n, None)).collect();
    if usable.contains(&fixed_connections) {
        settings.push((fixed_connections, Some(fixed_rate)));
    }
    let mut progress = Progress::new(suite, servers.len() * settings.len());
    // Interleaved rounds: each round runs every server at every setting once,
    // so that a machine whose speed drifts disturbs every row alike.
    let rows: Vec<(u64, Option<f64>, &Server)> = settings
        .iter()
        .flat_map(|&(conns, offered)| servers.iter().map(move |server| (conns, offered, server)))
        .collect();
    let mut records: Vec<Vec<serde_json::Value>> = rows.iter().map(|_| Vec::new()).collect();
    for run in 1..=bench.echo_runs {
        for (&(conns, offered, server), found) in rows.iter().zip(&mut records) {
            progress.next_of_round(run == 1);
            let load = offered.map_or_else(
                || "saturated".to_owned(),
                |rate| format!("{} rt/s offered", thousands(rate)),
            );
            let what = format!("{} ×{conns}, {load}", server.label.replace('`', ""));
            let record = one_round(
                &server.program.clone().wrapped(&server_prefix),
                &client_prefix,
                &client,
                [conns, warmup_for(conns), measure_ms],
                offered,
            )?;
            let rps = number(&record, "rps")?;
            progress.report(
                &what,
                run,
                bench.echo_runs,
                &format!("{} rps", thousands(rps)),
            );
            super::runner::keep_raw(&what, record.clone());
            found.push(record);
        }
    }
    let mut results: Vec<Measured> = Vec::new();
    for (&(conns, offered, server), records) in rows.iter().zip(&records) {
        let rps = spread_of(records, "rps")?;
        let cpu = spread_of(records, "server_cpu_us_per_round_trip").ok();
        results.push(Measured {
            label: server.label.clone(),
            connections: conns,
            offered,
            round_trips_per_second: rps.median,
            rps,
            cpu,
            cpu_by_round: records
                .iter()
                .map(|record| record["server_cpu_us_per_round_trip"].as_f64())
                .collect(),
        });
    }

    let cpu_text = |cpu: Option<Spread>| {
        cpu.map_or("not measured here".into(), |us| {
            us.cell(|us| format!("{us:.1} µs"))
        })
    };
    let mut saturated = Table::new(&[
        "server",
        "connections",
        "round trips/s",
        "server CPU per round trip",
    ]);
    let mut fixed = Table::new(&[
        "server",
        "round trips/s served",
        "server CPU per round trip",
        "÷ saturated, same connections",
    ]);
    let (mut saturated_bars, mut fixed_bars) = (Vec::new(), Vec::new());
    for result in &results {
        let label = result.label.replace('`', "");
        match result.offered {
            None => {
                saturated.row(vec![
                    result.label.clone(),
                    thousands(result.connections as f64),
                    result.rps.cell(thousands),
                    cpu_text(result.cpu),
                ]);
                if let Some(cpu) = result.cpu
                    && result.connections == fixed_connections
                {
                    saturated_bars.push(
                        Bar::new(format!("{label}, saturated"), cpu.median)
                            .with_range(cpu.min, cpu.max),
                    );
                }
            }
            Some(offered) => {
                let full = results.iter().find(|other| {
                    other.label == result.label
                        && other.connections == result.connections
                        && other.offered.is_none()
                });
                // Paired by round: that round's fixed-load CPU over that
                // round's saturated CPU, at the same connections.
                let ratios: Vec<f64> = full
                    .map(|full| {
                        result
                            .cpu_by_round
                            .iter()
                            .zip(&full.cpu_by_round)
                            .filter_map(|(cpu, full)| match (cpu, full) {
                                (Some(cpu), Some(full)) if *full > 0.0 => Some(cpu / full),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let ratio = Spread::of(&ratios).map_or_else(
                    || "not measured here".to_owned(),
                    |r| r.cell(|r| format!("{r:.2}")),
                );
                let mut served = result.rps.cell(thousands);
                if result.round_trips_per_second < KEEPS_UP * offered {
                    served += " (fell behind)";
                }
                fixed.row(vec![
                    result.label.clone(),
                    served,
                    cpu_text(result.cpu),
                    ratio,
                ]);
                if let Some(cpu) = result.cpu {
                    fixed_bars.push(
                        Bar::new(format!("{label}, {}/s", thousands(offered)), cpu.median)
                            .with_range(cpu.min, cpu.max),
                    );
                }
            }
        }
    }
    for note in bench.python.notes(&[Package::Uvloop, Package::Gevent]) {
        saturated.note(note);
    }
    for conns in skipped {
        saturated.note(format!(
            "{} connections skipped: the hard limit on open files is {fd_limit}; raise it (`ulimit -Hn`) to at least {}.",
            thousands(conns as f64),
            conns + SPARE_FDS
        ));
    }
    let fell_behind = results.iter().any(|result| {
        result
            .offered
            .is_some_and(|offered| result.round_trips_per_second < KEEPS_UP * offered)
    });
    if fell_behind {
        fixed.note(format!(
            "\"fell behind\": the server served less than {:.0} % of the load offered, so it \
             ran saturated after all.",
            KEEPS_UP * 100.0
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
    tools.extend(bench.python.stamps(&[Package::Gevent, Package::Uvloop]));
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
         (tokio) sends 64 bytes, reads them back, and repeats, at once (saturated) or paced \
         (a fixed offered load); {warmup} of warm-up, then {measure_ms} ms measured; {pinned}. \
         Every server runs on one CPU. Server CPU is the CPU time of its threads over the \
         measured interval (the sum of `/proc/<pid>/task/*/schedstat`, in nanoseconds), divided \
         by the round trips served. {} ({} servers at {} settings, every \
         row once per round); each cell is the median, then the smallest and largest run in \
         parentheses. {}\
         By hand: start `cargo run --release -p book-bench --bin echo-server -- tokio` (or \
         `python3 bench/python/echo_server.py asyncio`), then \
         `cargo run --release -p book-bench --bin echo-client -- PORT 1000 1000 2000 SERVER_PID` \
         (append a rate, such as `5000`, for a fixed offered load).\n\n",
        super::markdown::rounds(bench.echo_runs),
        servers.len(),
        settings.len(),
        if bench.echo_runs > 1 {
            format!(
                "Across rows, the median spread (half the range over the median) was ±{:.0} % \
                 for round trips/s and ±{:.0} % for CPU per round trip: compare rows that differ \
                 by more. ",
                median_spread(results.iter().map(|r| r.rps)) * 100.0,
                median_spread(results.iter().filter_map(|r| r.cpu)) * 100.0,
            )
        } else {
            "One round gives no spread: compare nothing from it. ".to_owned()
        },
    );
    text += &saturated.render();
    if settings.iter().any(|(_, offered)| offered.is_some()) {
        text += &format!(
            "\nAt a fixed offered load: {} connections together offered {} round trips per \
             second{}; the last column is the CPU per round trip divided by the same \
             server's, saturated.\n\n",
            thousands(fixed_connections as f64),
            thousands(fixed_rate),
            if fell_behind {
                ""
            } else {
                ", a rate every server here sustained"
            },
        );
        text += &fixed.render();
    }
    // One chart: each server saturated, then each at the fixed load, all
    // at the same number of connections.
    saturated_bars.extend(fixed_bars);
    let svg = bar_chart(
        &format!(
            "Echo server CPU per round trip (µs), {} connections",
            thousands(fixed_connections as f64)
        ),
        &saturated_bars,
        Scale::Linear,
        |v| format!("{v:.1} µs"),
    )
    .map_err(anyhow::Error::msg)?;
    Ok(vec![
        Output::new("echo.md", text),
        Output::new("echo.svg", svg),
    ])
}

/// The median relative spread of several rows (0 for none): the noise the
/// stamp states, measured rather than guessed.
fn median_spread(rows: impl Iterator<Item = Spread>) -> f64 {
    let spreads: Vec<f64> = rows.map(|row| row.relative()).collect();
    super::stats::median(&spreads).unwrap_or(0.0)
}

/// Starts the server, reads its port, runs the client against it, then
/// kills and reaps the server. Returns the client's JSON result.
fn one_round(
    server: &Program,
    client_prefix: &[OsString],
    client: &Program,
    [conns, warmup_ms, measure_ms]: [u64; 3],
    offered: Option<f64>,
) -> Result<serde_json::Value> {
    // The server runs in a cgroup of its own too, so that the quiet-machine
    // gate counts its CPU time as the benchmark's, not as another process's.
    let group = Group::new();
    let wrapped = match &group {
        Some(group) => server.clone().wrapped(&group.prefix()),
        None => server.clone(),
    };
    let mut child = wrapped
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
            .arg(offered.unwrap_or(0.0).to_string())
            .wrapped(client_prefix)
            .run_json()
    })();
    let _ = child.kill();
    let _ = child.wait();
    if let Some(cpu) = group.as_ref().and_then(|group| group.usage().cpu_secs) {
        super::quiet::add_measured((cpu * 1e9) as u64);
    }
    drop(group);
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
