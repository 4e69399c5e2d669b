//! `false-sharing.md`: Listing 1-12, two threads counting on one cache line
//! and on two. Rust only: Python gives a program no say over where its
//! objects sit in memory, so there is no twin to run.

use anyhow::Result;

use super::{outputs, spread_figure};
use crate::bench::markdown::{self, Table};
use crate::bench::runner::Progress;
use crate::bench::{Bench, Output};

/// `false-sharing.md`: the median time of each layout, and the median of
/// each run's ratio (a run's two layouts share its machine's load).
pub fn false_sharing(bench: &Bench, suite: &'static str) -> Result<Vec<Output>> {
    let increments = bench.size("50000000", "2000000");
    let package = "ch01-12-false-sharing";
    let mut progress = Progress::new(suite, 1);
    progress.next();
    let program = bench.exe(package)?.arg(increments);
    let ratio_of = |output: &str| {
        output
            .lines()
            .find(|line| line.starts_with("padded counters"))
            .and_then(|line| line.rsplit(' ').next())
            .unwrap_or("done")
            .to_owned()
    };
    let runs = outputs(&progress, "two counters", &program, bench.runs, ratio_of)?;

    let adjacent = spread_figure(r"^adjacent counters +([0-9.]+) s$", &runs, package)?;
    let padded = spread_figure(r"^padded counters +([0-9.]+) s ", &runs, package)?;
    let ratio = spread_figure(r"^padded counters .* ([0-9.]+)x$", &runs, package)?;
    let secs = |s: f64| format!("{s:.3} s");

    let mut table = Table::new(&["layout", "time", "adjacent / padded"]);
    table.row(vec![
        "adjacent: both counters on one cache line".to_owned(),
        adjacent.cell(secs),
        "—".to_owned(),
    ]);
    table.row(vec![
        "padded: each counter on its own line (`CachePadded`)".to_owned(),
        padded.cell(secs),
        ratio.cell(|r| format!("{r:.2}x")),
    ]);
    let mut text = format!(
        "{}\n",
        bench
            .machine
            .stamp(&[bench.crate_version("crossbeam-utils")])
    );
    text += &format!(
        "Two threads each add 1 to their own `AtomicU64` {} times. Each figure is\n\
         the median over {} of `cargo run --release -p {package} -- {increments}`;\n\
         the ratio is the median of each run's own ratio; the smallest and largest run\n\
         follow each median in parentheses.\n\n",
        markdown::thousands(increments.parse()?),
        markdown::runs(bench.runs),
    );
    text += &table.render();
    Ok(vec![Output::new("false-sharing.md", text)])
}
