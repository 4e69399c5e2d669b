//! `sleepers.md` + `sleepers.svg`: N tasks each sleep 1 s; wall time and
//! memory for tokio, may, OS threads, asyncio, gevent and Python threads.

use anyhow::{Result, bail};

use super::markdown::{Table, thousands};
use super::python::Package;
use super::runner::{self, Program, Progress, number, spread_of};
use super::stats::Spread;
use super::svg::{Bar, Scale, bar_chart};
use super::{Bench, Output};

/// Memory mappings may takes per coroutine (its stack and a guard page).
const MAPPINGS_PER_COROUTINE: u64 = 2;

/// The largest count of may coroutines this suite dares: two thirds of the
/// `vm.max_map_count` ceiling, rounded down to a multiple of 5,000 (at most
/// 100,000). Past the ceiling may panics ("failed to alloc sys stack") and
/// the process hangs, so the suite never goes near it.
pub fn safe_may_coroutines(max_map_count: u64) -> u64 {
    let ceiling = max_map_count / MAPPINGS_PER_COROUTINE;
    let safe = ceiling * 2 / 3;
    if safe >= 5_000 {
        (safe / 5_000 * 5_000).min(100_000)
    } else {
        safe / 1_000 * 1_000
    }
}

/// The kernel limit that caps the number of threads first on this machine,
/// described, and the number of threads it allows.
fn thread_limit(max_map_count: u64) -> (String, u64) {
    let read =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let mut limits = vec![(
        format!(
            "vm.max_map_count ({}; each thread's stack is a memory mapping plus a guard \
             page, two mappings, as for a may coroutine)",
            thousands(max_map_count as f64)
        ),
        max_map_count / MAPPINGS_PER_COROUTINE,
    )];
    if let Some(pid_max) = read("/proc/sys/kernel/pid_max") {
        limits.push((
            format!(
                "kernel.pid_max ({}; every thread takes an id from it, machine-wide)",
                thousands(pid_max as f64)
            ),
            pid_max,
        ));
    }
    if let Some(threads_max) = read("/proc/sys/kernel/threads-max") {
        limits.push((
            format!("kernel.threads-max ({})", thousands(threads_max as f64)),
            threads_max,
        ));
    }
    if let Some(per_user) =
        super::stamp::command_output("sh", &["-c", "ulimit -u"]).and_then(|u| u.parse().ok())
    {
        limits.push((
            format!(
                "the per-user limit on processes and threads (`ulimit -u`, {})",
                thousands(per_user as f64)
            ),
            per_user,
        ));
    }
    limits
        .into_iter()
        .min_by_key(|&(_, most)| most)
        .unwrap_or_else(|| ("no known limit".to_owned(), u64::MAX))
}

struct Row {
    label: String,
    tasks: u64,
    program: Program,
}

pub fn run(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let nap_ms: u64 = bench.size(1_000, 50);
    let counts: Vec<u64> = bench.size(vec![10_000, 100_000], vec![1_000]);
    let small = counts[0];
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(65_530);
    let may_largest = safe_may_coroutines(max_map_count).min(*counts.last().unwrap_or(&small));

    let rust = |variant: &str, tasks: u64| -> Result<Program> {
        Ok(bench
            .exe("sleepers")?
            .args([variant.to_owned(), tasks.to_string(), nap_ms.to_string()]))
    };
    let mut rows = Vec::new();
    let mut row = |label: &str, tasks: u64, program: Program| {
        rows.push(Row {
            label: label.to_owned(),
            tasks,
            program,
        });
    };
    for (label, variant) in [
        ("tokio `spawn` (multi-thread)", "tokio-spawn"),
        ("tokio `spawn` (`current_thread`)", "tokio-spawn-current"),
        ("tokio `join_all` (one task)", "tokio-join-all"),
    ] {
        for &tasks in &counts {
            row(label, tasks, rust(variant, tasks)?);
        }
    }
    for (label, variant) in [
        ("may `go!` + `coroutine::sleep`", "may"),
        ("may `go!` + `coroutine::sleep` (1 worker)", "may-1"),
    ] {
        row(label, small, rust(variant, small)?);
        if may_largest > small {
            row(label, may_largest, rust(variant, may_largest)?);
        }
    }
    row("Rust threads", small, rust("threads", small)?);
    for python in bench.pythons() {
        let script = |variant: &str, tasks: u64| {
            bench.script(python, "bench/python/sleepers.py").args([
                variant.to_owned(),
                tasks.to_string(),
                nap_ms.to_string(),
            ])
        };
        let name = python.name();
        for &tasks in &counts {
            row(
                &format!("asyncio `gather`, {name}"),
                tasks,
                script("asyncio", tasks),
            );
        }
        if python.has(Package::Gevent) {
            for &tasks in &counts {
                row(
                    &format!("gevent `spawn` + `joinall`, {name}"),
                    tasks,
                    script("gevent", tasks),
                );
            }
        }
        row(
            &format!("Python threads, {name}"),
            small,
            script("threads", small),
        );
    }

    let mut progress = Progress::new(suite, rows.len());
    let measured: Vec<runner::Row<'_>> = rows
        .iter()
        .map(|row| runner::Row {
            what: format!("{} ×{}", row.label.replace('`', ""), row.tasks),
            program: &row.program,
        })
        .collect();
    let check = |index: usize, record: &serde_json::Value| {
        let tasks = number(record, "tasks")? as u64;
        if tasks != rows[index].tasks {
            bail!("it ran {tasks} sleepers instead of {}", rows[index].tasks);
        }
        Ok(())
    };
    let results = runner::measure_rounds(&mut progress, &measured, bench.runs, check)?;
    let mut table = Table::new(&[
        "variant",
        "sleepers",
        "wall time",
        "peak RSS",
        "memory per task",
        "with the kernel's share",
    ]);
    let mut bars = Vec::new();
    for (row, records) in rows.iter().zip(&results) {
        let secs = spread_of(records, "secs")?;
        // Memory needs Linux's /proc: elsewhere the programs print null,
        // and the cells say so rather than show a wrong figure.
        let unmeasured = || "not measured here".to_owned();
        let peak = spread_of(records, "peak_rss_kib").ok();
        let per_task = |peak_field: &str, base_field: &str| {
            let values = records
                .iter()
                .map(|r| Ok((number(r, peak_field)? - number(r, base_field)?) / row.tasks as f64))
                .collect::<Result<Vec<f64>>>()
                .ok()?;
            Spread::of(&values)
        };
        let rss_per_task = per_task("peak_rss_kib", "base_rss_kib");
        // The cgroup's peak over what the cgroup held before the sleepers
        // started (the program reads its own cgroup's counter).
        let tree_per_task = if super::tree::counts_kernel_memory() {
            per_task("tree_peak_kib", "base_cgroup_kib")
        } else {
            None // sampled RSS would not hold the kernel's share
        };
        let kib = |spread: Spread| spread.cell(|kib| format!("{kib:.2} KiB"));
        table.row(vec![
            row.label.clone(),
            thousands(row.tasks as f64),
            secs.cell(|s| format!("{s:.3} s")),
            peak.map_or_else(unmeasured, |peak| {
                peak.map(|kib| kib / 1024.0)
                    .cell(|mib| format!("{mib:.1} MiB"))
            }),
            rss_per_task.map_or_else(unmeasured, kib),
            tree_per_task.map_or_else(unmeasured, kib),
        ]);
        // Memory per task, comparable across counts (peak RSS is not).
        if let Some(per_task) = rss_per_task {
            bars.push(
                Bar::new(
                    format!(
                        "{} ×{}",
                        row.label.replace('`', ""),
                        thousands(row.tasks as f64)
                    ),
                    per_task.median,
                )
                .with_range(per_task.min, per_task.max),
            );
        }
    }
    for note in bench.python.notes(&[Package::Gevent]) {
        table.note(note);
    }
    table.note(format!(
        "may's largest count here is {}: vm.max_map_count here is {}, may takes {MAPPINGS_PER_COROUTINE} \
         memory mappings per coroutine, so a process tops out near {} live coroutines, and past that \
         may panics and the process hangs; the suite stays at most at two thirds of that ceiling.",
        thousands(may_largest as f64),
        thousands(max_map_count as f64),
        thousands((max_map_count / MAPPINGS_PER_COROUTINE) as f64),
    ));
    if let Some(&largest) = counts.last()
        && largest > small
    {
        let (limit, most) = thread_limit(max_map_count);
        table.note(format!(
            "Rust and Python threads run at {} only: {} threads would cross {limit}, which \
             lets at most about {} threads exist here, so the row would measure that limit, \
             not the threads.",
            thousands(small as f64),
            thousands(largest as f64),
            thousands(most as f64),
        ));
    }

    let mut tools = vec![bench.crate_version("tokio"), bench.crate_version("may")];
    tools.extend(bench.python.stamps(&[Package::Gevent]));
    let mut text = bench.machine.stamp(&tools);
    text += &format!(
        "\nN tasks each sleep {nap_ms} ms; wall time from the first spawn until the last has woken, \
         peak RSS of the process, and (peak − RSS before spawning) ÷ N per task (for may, RSS before may starts, so that \
         its pool of 1,000 ready stacks counts). RSS leaves out what the kernel keeps for each \
         thread (its kernel stack, task structures, page tables): the last column puts the peak \
         memory of the whole process tree, from a cgroup where the machine has one, which counts \
         that share too (and any page cache the run read first), over what the cgroup held \
         before the sleepers started ({}). asyncio and gevent run on one thread; tokio's \
         and may's default rows use a worker per core ({cores} here), and the `current_thread` and \
         1-worker rows run them on one thread too. {}, each running every row \
         once; each cell is the median, then the smallest and largest run in parentheses \
         (one row by hand: `cargo run --release -p book-bench --bin sleepers -- tokio-spawn \
         100000 1000`, or `python3 bench/python/sleepers.py asyncio 100000 1000`).\n\n",
        super::tree::accounting().name(),
        super::markdown::rounds(bench.runs),
        cores = bench.machine.cores,
    );
    text += &table.render();
    let svg = bar_chart(
        &format!("Memory per task (KiB of RSS), N tasks each sleeping {nap_ms} ms"),
        &bars,
        Scale::Linear,
        |v| format!("{v:.2} KiB"),
    )
    .map_err(anyhow::Error::msg)?;
    Ok(vec![
        Output::new("sleepers.md", text),
        Output::new("sleepers.svg", svg),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_thread_limit_is_the_smallest() {
        let (limit, most) = thread_limit(65_530);
        assert!(most <= 32_765, "{limit}: {most}");
        assert!(!limit.is_empty());
        let (limit, most) = thread_limit(2_000);
        assert_eq!(most, 1_000);
        assert!(limit.starts_with("vm.max_map_count (2,000;"), "{limit}");
    }

    #[test]
    fn may_stays_well_under_the_mapping_ceiling() {
        assert_eq!(safe_may_coroutines(65_530), 20_000);
        assert_eq!(safe_may_coroutines(262_144), 85_000);
        assert_eq!(safe_may_coroutines(10_000_000), 100_000);
        assert_eq!(safe_may_coroutines(4_000), 1_000);
    }
}
