//! `scale.md` and `may-limits.md`: single figures of a listing and its
//! Python twin, each the median over several runs.

use anyhow::{Context, Result, bail};
use regex::Regex;

use super::{and_python, figure, outputs, spread_figure, versions};
use crate::bench::markdown::{self, Table};
use crate::bench::python::Package;
use crate::bench::runner::{Progress, measure, number, spread_of};
use crate::bench::{Bench, Output};

/// `scale.md`: Listing 3-8 (spawn and join_all) and `scale.py`.
pub fn scale(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let (tasks, nap) = bench.size(("100000", "1000"), ("10000", "100"));
    let mut progress = Progress::new(suite, 2 + bench.pythons().len());
    let scale = bench.exe("ch03-08-scale")?;
    let future_size = {
        let output = scale.clone().args(["1", "0"]).run()?;
        let pattern = Regex::new(r"future: (\d+) bytes").context("a valid pattern")?;
        figure(&pattern, &output).context("ch03-08-scale printed no future size")?
    };
    let mut variants = vec![
        (
            "tokio, `tokio::spawn` (multi-thread runtime)".to_owned(),
            scale.clone().args([tasks, nap, "spawn"]),
        ),
        (
            "tokio, `join_all` in one task".to_owned(),
            scale.clone().args([tasks, nap, "join_all"]),
        ),
    ];
    for python in bench.pythons() {
        variants.push((
            format!("asyncio, `asyncio.gather`, {}", python.name()),
            bench
                .script(python, "listings/ch03-async/03-08-scale/scale.py")
                .args([tasks, nap]),
        ));
    }

    let mut table = Table::new(&[
        "variant",
        "spawning",
        "wall time",
        "peak memory",
        "memory per task",
    ]);
    let woke = Regex::new(r"woke after ([0-9.]+) s").context("a valid pattern")?;
    let wall_of =
        |output: &str| figure(&woke, output).map_or("done".into(), |s| format!("{s:.3} s"));
    for (label, program) in variants {
        progress.next();
        let runs = outputs(&progress, &label, &program, bench.runs, wall_of)?;
        let name = program.display();
        let secs = |s: f64| format!("{s:.3} s");
        let spawned = spread_figure(r"^spawned in ([0-9.]+) s$", &runs, &name)
            .map_or_else(|_| "—".to_owned(), |s| s.cell(secs));
        table.row(vec![
            label,
            spawned,
            spread_figure(r"^all \d+ woke after ([0-9.]+) s$", &runs, &name)?.cell(secs),
            spread_figure(r"^peak memory ([0-9.]+) MiB", &runs, &name)?
                .cell(|mib| format!("{mib:.1} MiB")),
            spread_figure(r" ([0-9.]+) KiB per task", &runs, &name)?
                .cell(|kib| format!("{kib:.2} KiB")),
        ]);
    }
    for note in bench.python.notes(&[]) {
        table.note(note);
    }
    let mut text = format!("{};\n{}\n", bench.machine.line(), versions(bench, &[], &[]));
    text += &format!(
        "{tasks} tasks each sleep {nap} ms. Each figure is the median over {} of\n\
         `cargo run --release -p ch03-08-scale -- {tasks} {nap} spawn` (or `join_all`){}.\n\
         One task's future (`nap_for`) is {future_size} bytes.\n\n",
        markdown::runs(bench.runs),
        and_python(!bench.python.is_empty(), &format!("scale.py {tasks} {nap}"))
    );
    text += &table.render();
    Ok(vec![Output::new("scale.md", text)])
}

/// A row of `may-limits.md`: its label, the pattern of its figure in the
/// listing's output, and how to show the median.
type Figure = (&'static str, &'static str, fn(f64) -> String);

/// `may-limits.md`: Listing 4-7 with 20,000 parked coroutines, well under
/// the `vm.max_map_count` ceiling, and `limits.py` (gevent).
pub fn may_limits(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let coroutines = bench.size("20000", "2000");
    let gevents: Vec<_> = bench
        .pythons()
        .iter()
        .filter(|python| python.has(Package::Gevent))
        .collect();
    let mut progress = Progress::new(suite, 2 + gevents.len());
    progress.next();
    let rust = bench.exe("ch04-07-limits")?.arg(coroutines);
    let done = |_: &str| "done".to_owned();
    let runs = outputs(&progress, "may", &rust, bench.runs, done)?;
    // The same spawn measured as limits.py measures a greenlet's.
    progress.next();
    let like_gevent = bench.exe("may-spawn")?.arg(coroutines);
    let check = |record: &serde_json::Value| {
        let count = number(record, "coroutines")?;
        if count != coroutines.parse::<f64>()? {
            bail!("it spawned {count} coroutines instead of {coroutines}");
        }
        Ok(())
    };
    let records = measure(&progress, "may-spawn", &like_gevent, bench.runs, check)?;
    let like_gevent_us = spread_of(&records, "us_per_spawn")?;
    let mut python = Vec::new();
    for interpreter in gevents {
        progress.next();
        let program = bench
            .script(interpreter, "listings/ch04-green/04-07-limits/limits.py")
            .arg(coroutines);
        let what = format!("gevent, {}", interpreter.name());
        python.push((
            interpreter.name(),
            outputs(&progress, &what, &program, bench.runs, done)?,
        ));
    }
    let may = "ch04-07-limits";
    let mut table = Table::new(&["figure", "median"]);
    let rows: [Figure; 5] = [
        (
            "starting may: extra memory mappings",
            r"^starting may: \+([0-9]+) mappings",
            |v| format!("{v:.0}"),
        ),
        (
            "starting may: extra RSS",
            r"^starting may: .*\+([0-9]+) MiB RSS$",
            |v| format!("{v:.0} MiB"),
        ),
        (
            "may: spawn from a plain thread, a channel message each, until running and parked",
            r"^spawn: ([0-9.]+) µs per coroutine$",
            |v| format!("{v:.1} µs per coroutine"),
        ),
        (
            "may: RSS beyond the pool",
            r"^beyond the pool: ([0-9.]+) KiB RSS per coroutine$",
            |v| format!("{v:.1} KiB per coroutine"),
        ),
        (
            "may: memory mappings beyond the pool",
            r"^beyond the pool: ([0-9.]+) mappings per coroutine$",
            |v| format!("{v:.2} per coroutine"),
        ),
    ];
    for (label, pattern, format) in rows {
        table.row(vec![
            label.to_owned(),
            spread_figure(pattern, &runs, may)?.cell(format),
        ]);
    }
    table.row(vec![
        "may, 1 worker: spawn from a coroutine, counted in an atomic (as `limits.py` counts), \
         until running and parked"
            .to_owned(),
        like_gevent_us.cell(|us| format!("{us:.1} µs per coroutine")),
    ]);
    for (name, runs) in &python {
        let spawn = spread_figure(r"^spawn: ([0-9.]+) µs per greenlet$", runs, "limits.py")?;
        let rss = spread_figure(
            r"^memory: ([0-9.]+) KiB RSS per greenlet$",
            runs,
            "limits.py",
        )?;
        table.row(vec![
            format!("gevent, {name}: spawn, until running and parked"),
            spawn.cell(|us| format!("{us:.1} µs per greenlet")),
        ]);
        table.row(vec![
            format!("gevent, {name}: RSS"),
            rss.cell(|kib| format!("{kib:.1} KiB per greenlet")),
        ]);
    }
    for note in bench.python.notes(&[Package::Gevent]) {
        table.note(note);
    }
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned());
    let mut text = format!(
        "{},\nvm.max_map_count {max_map_count}; {}\n",
        bench.machine.line(),
        versions(bench, &["may"], &[Package::Gevent]),
    );
    text += &format!(
        "Medians over {} of `cargo run --release -p ch04-07-limits -- {coroutines}`, of\n\
         `cargo run --release -p book-bench --bin may-spawn -- {coroutines}`{}\n\
         (default configuration: stacks of 4,096 words, a pool of 1,000 coroutines).\n\n",
        markdown::runs(bench.runs),
        and_python(!python.is_empty(), &format!("limits.py {coroutines}"))
    );
    text += &table.render();
    Ok(vec![Output::new("may-limits.md", text)])
}
