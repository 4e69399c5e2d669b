//! `distributed.md`: Listing 8-2, jobs per second and CPU time per job of
//! Rust workers, plain redis-py worker processes and an arq worker on one
//! private `redis-server`, for a CPU-bound and an I/O-bound job. The
//! program starts its own broker and workers; the suite runs it whole,
//! `bench.runs` times, and tabulates each row's median and range.

use anyhow::{Context, Result};
use regex::Regex;

use super::outputs;
use crate::bench::markdown::{self, Table};
use crate::bench::runner::Progress;
use crate::bench::stamp::command_output;
use crate::bench::stats::Spread;
use crate::bench::{Bench, Output};

/// One row line of `ch08-02-throughput`, pinned by its `output.txt` and
/// `tests/quick.rs`: "cpu rust ×1, 2 in flight: 400 jobs in 1.234 s,
/// 324 jobs/s, CPU 3.456 ms/job".
const ROW: &str =
    r"^(\S+) (.+): (\d+) jobs in ([0-9.]+) s, ([0-9.]+) jobs/s, CPU ([0-9.]+) ms/job$";

/// A row the program skipped: "cpu redis-py ×2: skipped, python3 cannot …".
const SKIPPED: &str = r"^(\S+) (.+): skipped, (.+)$";

/// `distributed.md`: one table row per workload and workers.
pub fn distributed(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let package = "ch08-02-throughput";
    let size = bench.size("--full", "--quick");
    let redis_server = command_output("redis-server", &["--version"]);
    let python = command_output(
        "python3",
        &[
            "-c",
            "import platform, redis, arq; \
             print(platform.python_version(), redis.__version__, arq.VERSION)",
        ],
    );
    let mut versions = vec![bench.crate_version("redis"), bench.crate_version("tokio")];
    versions.push(match &redis_server {
        // "Redis server v=7.0.15 sha=… malloc=… bits=64 build=…"
        Some(line) => line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("v="))
            .map_or_else(
                || "redis-server".to_owned(),
                |v| format!("redis-server {v}"),
            ),
        None => "no redis-server".to_owned(),
    });
    if let Some(python) = &python {
        let mut words = python.split_whitespace();
        if let (Some(version), Some(redis), Some(arq)) = (words.next(), words.next(), words.next())
        {
            versions.push(format!(
                "CPython {version} (`python3`; redis {redis}, arq {arq})"
            ));
        }
    }
    let mut text = format!("{}\n", bench.machine.stamp(&versions));

    let Some(_) = redis_server else {
        // Every row needs a broker: say so in the file, as a missing Python
        // package does in the other suites, rather than fail the whole bench.
        eprintln!("[{suite}] skipped: redis-server not found");
        text += "All rows skipped: `redis-server` was not found on the PATH \
                 (`apt-get install redis-server`).\n";
        return Ok(vec![Output::new("distributed.md", text)]);
    };

    let mut progress = Progress::new(suite, 1);
    progress.next();
    let program = bench.exe(package)?.arg(size);
    let row = Regex::new(&format!("(?m){ROW}")).context("a valid pattern")?;
    let summary = |output: &str| {
        let rows = row.captures_iter(output).count();
        format!("{rows} rows")
    };
    let runs = outputs(&progress, "throughput", &program, bench.runs, summary)?;

    // The rows, in the order the program prints them, from the first run;
    // every run must print the same ones.
    let labels: Vec<(String, String, String)> = row
        .captures_iter(&runs[0])
        .map(|c| (c[1].to_owned(), c[2].to_owned(), c[3].to_owned()))
        .collect();
    let mut table = Table::new(&["workload: workers", "jobs", "jobs/s", "CPU per job"]);
    for (workload, workers, jobs) in &labels {
        let mut per_second = Vec::new();
        let mut cpu = Vec::new();
        for output in &runs {
            let found = row
                .captures_iter(output)
                .find(|c| &c[1] == workload && &c[2] == workers)
                .with_context(|| {
                    format!("`{package} {size}` printed no row {workload} {workers}:\n{output}")
                })?;
            per_second.push(found[5].parse::<f64>()?);
            cpu.push(found[6].parse::<f64>()?);
        }
        let per_second = Spread::of(&per_second).context("no runs")?;
        let cpu = Spread::of(&cpu).context("no runs")?;
        table.row(vec![
            format!("{workload}: {workers}"),
            jobs.clone(),
            per_second.cell(|v| format!("{v:.0}")),
            cpu.cell(|v| format!("{v:.3} ms")),
        ]);
    }
    let skipped = Regex::new(&format!("(?m){SKIPPED}")).context("a valid pattern")?;
    // One note per reason: "Rows skipped (cpu: redis-py ×2, …): python3 …".
    let mut reasons: Vec<(String, Vec<String>)> = Vec::new();
    for c in skipped.captures_iter(&runs[0]) {
        let row = format!("{}: {}", &c[1], &c[2]);
        match reasons.iter_mut().find(|(reason, _)| reason == &c[3]) {
            Some((_, rows)) => rows.push(row),
            None => reasons.push((c[3].to_owned(), vec![row])),
        }
    }
    for (reason, rows) in reasons {
        table.note(format!("Rows skipped ({}): {reason}.", rows.join("; ")));
    }

    text += &format!(
        "Each row fills a private `redis-server` with jobs, lets the workers take them \
         from the stream (arq: from its own queue), and stops when every result is \
         recorded. Jobs/s is the number of jobs over the time from the first job sent, \
         the workers already waiting, to the last result; CPU per job is the user and \
         system time of the worker processes, start-up included, the broker's excluded, \
         over the number of jobs. Each figure is the median over {} of \
         `cargo run --release -p {package} -- {size}`; the smallest and largest run \
         follow it in parentheses. `cpu` jobs count the primes below 2,000, `io` jobs \
         sleep 5 ms.\n\n",
        markdown::runs(bench.runs),
    );
    text += &table.render();
    Ok(vec![Output::new("distributed.md", text)])
}
