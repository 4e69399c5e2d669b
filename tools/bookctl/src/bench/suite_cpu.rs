//! `cpu.md` + `cpu.svg`: a CPU-bound prime count, serial and on two workers,
//! in Rust (threads, rayon, the Part 2 process pool, may) and in Python
//! (threads, thread pool, two process pools).

use anyhow::{Result, bail};

use super::markdown::{Table, seconds};
use super::python::NO_PYTHON;
use super::runner::{Program, Progress, measure, median_of, number};
use super::svg::{Bar, Scale, bar_chart};
use super::{Bench, Output};

/// The prime count below each size the suite uses: every run is checked.
fn expected_count(limit: u64) -> Option<u64> {
    match limit {
        100_000 => Some(9_592),
        3_000_000 => Some(216_816),
        _ => None,
    }
}

struct Variant {
    label: &'static str,
    program: Option<Program>,
}

pub fn run(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let limit: u64 = bench.size(3_000_000, 100_000);
    let rust = |variant: &str| -> Result<Program> {
        Ok(bench
            .exe("primes")?
            .args([variant.to_owned(), limit.to_string()]))
    };
    let python = |variant: &str| {
        bench
            .python("bench/python/primes.py")
            .map(|p| p.args([variant.to_owned(), limit.to_string()]))
    };
    let rust_variants = [
        ("Rust serial", "serial"),
        ("Rust `thread::scope` ×2", "threads"),
        ("Rust rayon (global pool)", "rayon"),
        ("Rust process pool ×2 (Part 2)", "processes"),
        ("Rust may ×2", "may"),
    ];
    let python_variants = [
        ("Python serial", "serial"),
        ("Python `threading.Thread` ×2", "threads"),
        ("Python `ThreadPoolExecutor(2).map`", "thread-pool"),
        ("Python `multiprocessing.Pool(2).map`", "pool"),
        ("Python `ProcessPoolExecutor(2).map`", "process-pool"),
    ];
    let mut variants = Vec::new();
    for (label, variant) in rust_variants {
        variants.push(Variant {
            label,
            program: Some(rust(variant)?),
        });
    }
    for (label, variant) in python_variants {
        variants.push(Variant {
            label,
            program: python(variant),
        });
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
    let (mut rust_serial, mut python_serial) = (None, None);
    for variant in &variants {
        progress.next();
        let Some(program) = &variant.program else {
            continue;
        };
        let what = variant.label.replace('`', "");
        let records = measure(&progress, &what, program, bench.runs, check)?;
        let secs = median_of(&records, "secs")?;
        let rss_mib = median_of(&records, "peak_rss_kib")? / 1024.0;
        let is_rust = variant.label.starts_with("Rust");
        let serial = if is_rust {
            &mut rust_serial
        } else {
            &mut python_serial
        };
        let baseline = *serial.get_or_insert(secs);
        let speedup = baseline / secs;
        table.row(vec![
            variant.label.to_owned(),
            seconds(secs),
            format!("{speedup:.2}x"),
            format!("{rss_mib:.1} MiB"),
        ]);
        bars.push(Bar::new(variant.label.replace('`', ""), speedup));
    }
    if bench.python.version.is_none() {
        table.note(NO_PYTHON);
    }
    if let (Some(rust), Some(python)) = (rust_serial, python_serial) {
        table.note(format!(
            "Rust serial is {:.0}x as fast as Python serial ({} against {}).",
            python / rust,
            seconds(rust),
            seconds(python)
        ));
    }

    let mut tools = vec![bench.crate_version("rayon"), bench.crate_version("may")];
    tools.extend(bench.python.versions(false));
    let mut text = bench.machine.stamp(&tools);
    text += &format!(
        "\nPrimes below {limit} by trial division, split into 64 chunks that 2 workers take \
         one at a time; medians over {} of each variant, every run checked to count \
         {} primes (one row by hand: \
         `cargo run --release -p book-bench --bin primes -- rayon {limit}`, or \
         `python3 bench/python/primes.py pool {limit}`). Peak RSS is the parent \
         process's. The Python twin loops with `for divisor in range(…)`, idiomatic and about \
         1.7x as fast as the `while` loop of `no_gil.py`. A 2-core machine's ceiling is a 2.0x speedup.\n\n",
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
