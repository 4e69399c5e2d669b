//! `cpu.md` + `cpu.svg`: a CPU-bound prime count, serial and on two workers,
//! in Rust (threads, rayon, the Part 2 process pool, may) and in Python
//! (threads, thread pool, two process pools).

use anyhow::{Result, bail};

use super::markdown::{Table, seconds};
use super::runner::{Program, Progress, measure, median_of, number};
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

/// The largest speedup two workers can honestly reach on two cores, with a
/// margin for timer noise; above it, the serial run was disturbed.
const CEILING: f64 = 2.05;

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
        ("Rust rayon (global pool)", "rayon"),
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
    let mut table = Table::new(&[
        "variant",
        "median time",
        "speedup vs own serial",
        "peak RSS",
    ]);
    let mut bars = Vec::new();
    // The serial time of each group, the first row of the group.
    let mut serials: Vec<(String, f64)> = Vec::new();
    for variant in &variants {
        progress.next();
        let what = variant.label.replace('`', "");
        let baseline = serials
            .iter()
            .find(|(group, _)| *group == variant.group)
            .map(|&(_, serial)| serial);
        // A speedup above the ceiling means a disturbed run: measure the row
        // once more, and stop if it is still impossible.
        let mut attempt = 0;
        let (secs, rss_mib, speedup) = loop {
            attempt += 1;
            let records = measure(&progress, &what, &variant.program, bench.runs, check)?;
            let secs = median_of(&records, "secs")?;
            let rss_mib = median_of(&records, "peak_rss_kib")? / 1024.0;
            let speedup = baseline.map_or(1.0, |serial| serial / secs);
            // A quick run's millisecond timings are noise: no ceiling there.
            if speedup <= CEILING || bench.quick {
                break (secs, rss_mib, speedup);
            }
            if attempt == 2 {
                bail!(
                    "{} ran {speedup:.2}x as fast as its serial row with 2 workers, above \
                     the ceiling of 2.0x, twice: the machine is too busy to measure; run \
                     again on a quiet machine",
                    variant.label
                );
            }
            eprintln!("{what}: {speedup:.2}x is above the 2.0x ceiling; measuring it again");
        };
        if baseline.is_none() {
            serials.push((variant.group.clone(), secs));
        }
        table.row(vec![
            variant.label.clone(),
            seconds(secs),
            format!("{speedup:.2}x"),
            format!("{rss_mib:.1} MiB"),
        ]);
        bars.push(Bar::new(variant.label.replace('`', ""), speedup));
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

    let mut tools = vec![bench.crate_version("rayon"), bench.crate_version("may")];
    tools.extend(bench.python.stamps(&[]));
    let mut text = bench.machine.stamp(&tools);
    text += &format!(
        "\nPrimes below {limit} by trial division, split into 64 chunks that 2 workers take \
         one at a time; medians over {} of each variant, every run checked to count \
         {} primes (two million rather than the chapters' three, for every language alike, so \
         that the Python rows fit in the run on every interpreter; one row by hand: \
         `cargo run --release -p book-bench --bin primes -- rayon {limit}`, or \
         `python3 bench/python/primes.py pool {limit}`). Peak RSS is the parent \
         process's. The Python twin loops with `for divisor in range(…)`, idiomatic and about \
         1.7x as fast as the `while` loop of `no_gil.py`. A 2-core machine's ceiling is a 2.0x speedup: the suite stops \
         rather than report a row above it.\n\n",
        super::markdown::runs(bench.runs),
        expected_count(limit).map_or("the same".into(), |n| super::markdown::thousands(n as f64)),
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
