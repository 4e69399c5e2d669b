//! `cpu.md` + `cpu.svg`: a CPU-bound prime count, serial and on two workers,
//! in Rust (threads, rayon, the Part 2 process pool, may) and in Python
//! (threads, thread pool, two process pools).

use anyhow::{Result, bail};

use super::markdown::{Table, seconds};
use super::runner::{Program, Progress, Row, measure_once, measure_rounds, number, spread_of};
use super::stats::Spread;
use super::svg::{Bar, Scale, bar_chart};
use super::{Bench, Output};

/// The prime count below each size the suite uses: every run is checked.
fn expected_count(limit: u64) -> Option<u64> {
    match limit {
        100_000 => Some(9_592),
        2_000_000 => Some(148_933),
        3_000_000 => Some(216_816),
        _ => None,
    }
}

/// The workers every parallel variant uses.
const WORKERS: usize = 2;

/// The largest speedup the parallel rows can honestly reach: their workers,
/// or the cores this run may use if fewer (`sched_getaffinity` and cgroup
/// quotas, as `available_parallelism` reads them), with 2.5 % for timer
/// noise. A round above it had a disturbed serial run.
pub fn ceiling(cores: usize) -> f64 {
    WORKERS.min(cores.max(1)) as f64 * 1.025
}

/// Re-runs of a blamed serial row per round before the round is kept and
/// flagged instead.
const RERUNS: usize = 2;

struct Variant {
    label: String,
    /// Speedups are over the serial row of the same group (Rust, or one
    /// Python interpreter).
    group: String,
    program: Program,
}

pub fn run(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    // Two million, not three: the Python rows run on every interpreter, and
    // a full run has to stay within its time budget.
    let limit: u64 = bench.size(2_000_000, 100_000);
    let rust = |variant: &str| -> Result<Program> {
        Ok(bench
            .exe("primes")?
            .args([variant.to_owned(), limit.to_string()]))
    };
    let rust_variants = [
        ("Rust serial", "serial"),
        ("Rust `thread::scope` ×2", "threads"),
        ("Rust rayon ×2", "rayon"),
        ("Rust process pool ×2 (Part 2)", "processes"),
        ("Rust may ×2", "may"),
    ];
    let python_variants = [
        ("serial", "serial"),
        ("`threading.Thread` ×2", "threads"),
        ("`ThreadPoolExecutor(2).map`", "thread-pool"),
        ("`multiprocessing.Pool(2).map`", "pool"),
        ("`ProcessPoolExecutor(2).map`", "process-pool"),
    ];
    let mut variants = Vec::new();
    for (label, variant) in rust_variants {
        variants.push(Variant {
            label: label.to_owned(),
            group: "Rust".to_owned(),
            program: rust(variant)?,
        });
    }
    for python in bench.pythons() {
        for (label, variant) in python_variants {
            variants.push(Variant {
                label: format!("{} {label}", python.name()),
                group: python.name(),
                program: bench
                    .script(python, "bench/python/primes.py")
                    .args([variant.to_owned(), limit.to_string()]),
            });
        }
    }

    let check = |record: &serde_json::Value| {
        let count = number(record, "count")? as u64;
        match expected_count(limit) {
            Some(expected) if count != expected => {
                bail!("it counted {count} primes below {limit}, expected {expected}")
            }
            _ => Ok(()),
        }
    };
    let mut progress = Progress::new(suite, variants.len());
    let rows: Vec<Row<'_>> = variants
        .iter()
        .map(|variant| Row {
            what: variant.label.replace('`', ""),
            program: &variant.program,
        })
        .collect();
    let mut results = measure_rounds(&mut progress, &rows, bench.runs, |_, record| check(record))?;

    // Each round's speedups are paired: the group's serial run of that round
    // over the parallel run of that round. A round above the ceiling blames
    // its serial run (it was slowed; a parallel run cannot be too fast), so
    // that serial run is measured again, up to RERUNS times; a round still
    // above is kept, and the table says so.
    let ceiling = ceiling(bench.machine.cores);
    let serial_of = |group: &str| {
        variants
            .iter()
            .position(|v| v.group == group)
            .expect("every group has its serial row first")
    };
    let mut unstable = Vec::new();
    let mut reruns = 0;
    // `round` picks the same round out of two rows (the serial and this one).
    #[allow(clippy::needless_range_loop)]
    for round in 0..bench.runs {
        for (index, variant) in variants.iter().enumerate() {
            let serial = serial_of(&variant.group);
            if serial == index {
                continue;
            }
            let mut attempts = 0;
            loop {
                let speedup = number(&results[serial][round], "secs")?
                    / number(&results[index][round], "secs")?;
                if speedup <= ceiling || bench.quick {
                    break;
                }
                if attempts == RERUNS {
                    unstable.push(format!(
                        "{} (round {}: {speedup:.2}x)",
                        rows[index].what,
                        round + 1
                    ));
                    break;
                }
                attempts += 1;
                reruns += 1;
                eprintln!(
                    "{}: {speedup:.2}x in round {} is above the {ceiling:.2}x ceiling; \
                     measuring its serial row again",
                    rows[index].what,
                    round + 1
                );
                results[serial][round] = measure_once(
                    &progress,
                    &rows[serial].what,
                    &variants[serial].program,
                    round + 1,
                    bench.runs,
                    &check,
                )?;
            }
        }
    }

    let mut table = Table::new(&[
        "variant",
        "median time",
        "speedup vs own serial",
        "CPU time, process tree",
        "peak memory, process tree",
    ]);
    let mut bars = Vec::new();
    let mut serials: Vec<(String, f64)> = Vec::new();
    let mut startups = Vec::new();
    for (index, variant) in variants.iter().enumerate() {
        let records = &results[index];
        let secs = spread_of(records, "secs")?;
        let serial = serial_of(&variant.group);
        let ratios = (0..records.len())
            .map(|round| {
                Ok(number(&results[serial][round], "secs")? / number(&records[round], "secs")?)
            })
            .collect::<Result<Vec<f64>>>()?;
        let speedup = Spread::of(&ratios).expect("at least one run");
        if serial == index {
            serials.push((variant.group.clone(), secs.median));
        }
        let startup = spread_of(records, "startup_secs").ok();
        // Only the variants that start something (rayon's pool, may's
        // scheduler) take measurable time here.
        if let Some(startup) = startup.filter(|s| s.median >= 1e-4) {
            startups.push(format!(
                "{} {}",
                rows[index].what,
                startup.map(|s| s * 1e3).cell(|ms| format!("{ms:.1} ms"))
            ));
        }
        let cpu = spread_of(records, "tree_cpu_secs").ok();
        let memory = spread_of(records, "tree_peak_kib").ok();
        table.row(vec![
            variant.label.clone(),
            secs.cell(seconds),
            if serial == index {
                "1.00x".to_owned()
            } else {
                speedup.cell(|v| format!("{v:.2}x"))
            },
            cpu.map_or_else(|| "not measured here".to_owned(), |cpu| cpu.cell(seconds)),
            memory.map_or_else(
                || "not measured here".to_owned(),
                |kib| kib.map(|k| k / 1024.0).cell(|mib| format!("{mib:.1} MiB")),
            ),
        ]);
        bars.push(
            Bar::new(rows[index].what.clone(), speedup.median).with_range(speedup.min, speedup.max),
        );
    }
    for note in bench.python.notes(&[]) {
        table.note(note);
    }
    if let Some((_, rust)) = serials.first()
        && serials.len() > 1
    {
        let pythons: Vec<String> = serials[1..]
            .iter()
            .map(|(name, python)| {
                format!(
                    "{:.0}x as fast as {name} serial ({})",
                    python / rust,
                    seconds(*python)
                )
            })
            .collect();
        table.note(format!(
            "Rust serial ({}) is {}.",
            seconds(*rust),
            pythons.join(", ")
        ));
    }
    if !startups.is_empty() {
        table.note(format!(
            "Start-up, outside the timed region and not in the times above (median, range): {}.",
            startups.join("; ")
        ));
    }
    table.note(if unstable.is_empty() {
        format!(
            "Every round's speedup stayed under the {ceiling:.2}x ceiling ({} serial run{} measured again).",
            reruns,
            if reruns == 1 { " was" } else { "s were" }
        )
    } else {
        format!(
            "Unstable: these rounds stayed above the {ceiling:.2}x ceiling after {RERUNS} re-runs of \
             their serial row each, and are kept in the medians: {}.",
            unstable.join(", ")
        )
    });

    let mut tools = vec![bench.crate_version("rayon"), bench.crate_version("may")];
    tools.extend(bench.python.stamps(&[]));
    let mut text = bench.machine.stamp(&tools);
    text += &format!(
        "\nPrimes below {limit} by trial division, split into 64 chunks that {WORKERS} workers take \
         one at a time (every parallel variant uses {WORKERS} workers, rayon a pool of {WORKERS} \
         threads); {}, each running every row once, every run checked to count \
         {} primes (one row by hand: \
         `cargo run --release -p book-bench --bin primes -- rayon {limit}`, or \
         `python3 bench/python/primes.py pool {limit}`). Each cell is the median, then the \
         smallest and largest run in parentheses; a speedup is the median of the rounds' \
         paired ratios (that round's serial time over that round's parallel time). \
         {}. With {WORKERS} workers on the {} cores this run could use, the ceiling is \
         {ceiling:.2}x: a round above it had its serial row measured again.\n\n",
        super::markdown::rounds(bench.runs),
        expected_count(limit).map_or("the same".into(), |n| super::markdown::thousands(n as f64)),
        super::tree::accounting().describe(),
        bench.machine.cores,
    );
    text += &table.render();
    let svg = bar_chart(
        &format!("Speedup over serial, primes below {limit}, 2 workers"),
        &bars,
        Scale::Linear,
        |v| format!("{v:.2}x"),
    )
    .map_err(anyhow::Error::msg)?;
    Ok(vec![
        Output::new("cpu.md", text),
        Output::new("cpu.svg", svg),
    ])
}
