//! Helpers shared by the benchmark programs that `cargo book bench` runs.
//!
//! Every program prints its result as ONE line of JSON on standard output, so
//! the tool (and a reader running a program by hand) gets one record per run.

use std::time::{Duration, Instant};

/// The peak resident set size of this process so far, in KiB (`VmHWM` in
/// `/proc/self/status`), or `None` where there is no `/proc` (not Linux):
/// the JSON then says `null` and the tables "not measured here", rather
/// than a wrong 0.
pub fn peak_rss_kib() -> Option<u64> {
    status_field("VmHWM:")
}

/// The current resident set size of this process, in KiB (`VmRSS`).
pub fn rss_kib() -> Option<u64> {
    status_field("VmRSS:")
}

/// The memory charged to this process's cgroup now, in KiB: user memory,
/// kernel memory (thread stacks, page tables, slab) and page cache it read
/// first (`memory.usage_in_bytes` of cgroup v1, `memory.current` of v2).
/// `cargo book bench` runs each program in a cgroup of its own, so this is
/// the base its peak (`memory.max_usage_in_bytes`, `memory.peak`) is
/// compared with; `None` outside such a cgroup's reach.
pub fn cgroup_memory_kib() -> Option<u64> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let file = groups.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        if controllers.split(',').any(|c| c == "memory") {
            Some(format!("/sys/fs/cgroup/memory{path}/memory.usage_in_bytes"))
        } else if controllers.is_empty() {
            Some(format!("/sys/fs/cgroup{path}/memory.current"))
        } else {
            None
        }
    })?;
    let bytes: u64 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    Some(bytes / 1024)
}

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Runs `work` and returns its result with the wall-clock time it took.
pub fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = work();
    (result, start.elapsed())
}

/// The `n`th command-line argument (1-based) parsed as `T`, or `default`.
pub fn arg_or<T: std::str::FromStr>(n: usize, default: T) -> Result<T, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| format!("argument {n}: {text:?} is not a valid value")),
    }
}

/// Prints `record` as one line of JSON: the program's whole result.
pub fn emit(record: &serde_json::Value) {
    println!("{record}");
}
