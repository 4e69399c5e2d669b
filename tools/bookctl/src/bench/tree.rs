//! CPU time and peak memory of a measured program's whole process tree.
//!
//! Where the machine allows, each run gets a cgroup of its own, and the
//! program joins it before it starts (`sh -c 'echo $$ > cgroup.procs; exec
//! …'`), so that every thread and child it makes is counted:
//!
//! - cgroup v2 (`/sys/fs/cgroup/cgroup.controllers` exists): `cpu.stat`
//!   `usage_usec` and `memory.peak` (kernel 5.19+);
//! - cgroup v1: `cpuacct.usage` (nanoseconds) and
//!   `memory.max_usage_in_bytes` (user memory, page cache it read first, and
//!   kernel memory: thread stacks, page tables, slab).
//!
//! Elsewhere (no cgroup, or no permission to make one) the fallback is the
//! CPU time of the tool's waited-for children (`cutime` + `cstime` of
//! `/proc/self/stat`, the same as `getrusage(RUSAGE_CHILDREN)`, in clock
//! ticks) and the resident memory of the tree, summed over `/proc` every
//! 20 ms (it misses kernel memory and peaks shorter than that). The stamp
//! says which one a file used.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// How this machine accounts a program's process tree.
#[derive(Debug, Clone)]
pub enum Accounting {
    V2 { parent: PathBuf, memory: bool },
    V1 { cpuacct: PathBuf, memory: PathBuf },
    Fallback { why: String },
}

/// What one run's tree used.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub cpu_secs: Option<f64>,
    pub peak_kib: Option<f64>,
}

pub fn accounting() -> &'static Accounting {
    static FOUND: OnceLock<Accounting> = OnceLock::new();
    FOUND.get_or_init(detect)
}

impl Accounting {
    /// For the stamps.
    pub fn describe(&self) -> &'static str {
        match self {
            Accounting::V2 { memory: true, .. } => {
                "CPU time and peak memory of each run's whole process tree from a cgroup (v2) of its own: \
                 CPU in microseconds, memory including kernel stacks, page tables and every child"
            }
            Accounting::V2 { memory: false, .. } => {
                "CPU time of each run's whole process tree from a cgroup (v2) of its own, in microseconds; \
                 memory sampled from /proc every 20 ms (no memory controller here: resident memory only, \
                 no kernel share)"
            }
            Accounting::V1 { .. } => {
                "CPU time and peak memory of each run's whole process tree from a cgroup (v1) of its own: \
                 CPU in nanoseconds, memory including kernel stacks, page tables and every child"
            }
            Accounting::Fallback { .. } => {
                "no cgroup could be made here: CPU time of the process tree from getrusage's children \
                 counters (10 ms clock ticks), memory the tree's resident memory sampled from /proc \
                 every 20 ms (no kernel share)"
            }
        }
    }

    pub fn name(&self) -> String {
        match self {
            Accounting::V2 { .. } => "cgroup v2".into(),
            Accounting::V1 { .. } => "cgroup v1".into(),
            Accounting::Fallback { why } => format!("fallback ({why})"),
        }
    }
}

fn detect() -> Accounting {
    if !cfg!(target_os = "linux") {
        return Accounting::Fallback {
            why: "not Linux".into(),
        };
    }
    let root = Path::new("/sys/fs/cgroup");
    let test = format!("book-bench.{}.probe", std::process::id());
    if root.join("cgroup.controllers").exists() {
        // v2: a child of the tool's own cgroup.
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("0::").map(str::to_owned))
            })
            .unwrap_or_default();
        let parent = root.join(own.trim_start_matches('/'));
        let probe = parent.join(&test);
        if std::fs::create_dir(&probe).is_ok() {
            let memory = probe.join("memory.peak").exists();
            let cpu = probe.join("cpu.stat").exists();
            let _ = std::fs::remove_dir(&probe);
            if cpu {
                return Accounting::V2 { parent, memory };
            }
        }
        return Accounting::Fallback {
            why: "cannot make a cgroup v2 here".into(),
        };
    }
    let (cpuacct, memory) = (root.join("cpuacct"), root.join("memory"));
    let usable = |dir: &Path, file: &str| {
        let probe = dir.join(&test);
        let ok = std::fs::create_dir(&probe).is_ok() && probe.join(file).exists();
        let _ = std::fs::remove_dir(&probe);
        ok
    };
    if usable(&cpuacct, "cpuacct.usage") && usable(&memory, "memory.max_usage_in_bytes") {
        return Accounting::V1 { cpuacct, memory };
    }
    Accounting::Fallback {
        why: "cannot make a cgroup here".into(),
    }
}

/// Whether the tree's peak memory includes the kernel's share (a cgroup's
/// memory counter does; sampled RSS does not).
pub fn counts_kernel_memory() -> bool {
    matches!(
        accounting(),
        Accounting::V1 { .. } | Accounting::V2 { memory: true, .. }
    )
}

/// A cgroup made for one run, removed when dropped.
pub struct Group {
    dirs: Vec<PathBuf>,
    /// The `cgroup.procs` files the program writes its pid into.
    pub procs: Vec<PathBuf>,
}

impl Group {
    /// A new cgroup for one run, or `None` where there is none.
    pub fn new() -> Option<Group> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "book-bench.{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dirs = match accounting() {
            Accounting::V2 { parent, .. } => vec![parent.join(&name)],
            Accounting::V1 { cpuacct, memory } => vec![cpuacct.join(&name), memory.join(&name)],
            Accounting::Fallback { .. } => return None,
        };
        for dir in &dirs {
            if std::fs::create_dir(dir).is_err() {
                return None;
            }
        }
        let procs = dirs.iter().map(|dir| dir.join("cgroup.procs")).collect();
        Some(Group { dirs, procs })
    }

    /// The argv prefix that moves the program into the group before it
    /// starts: `sh -c 'for f; … done' sh PROCS… -- PROGRAM ARGS…`.
    pub fn prefix(&self) -> Vec<std::ffi::OsString> {
        let mut argv: Vec<std::ffi::OsString> = vec![
            "/bin/sh".into(),
            "-c".into(),
            r#"while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@""#
                .into(),
            "sh".into(),
        ];
        argv.extend(self.procs.iter().map(|p| p.clone().into_os_string()));
        argv.push("--".into());
        argv
    }

    /// What the tree used, read after the program ended.
    pub fn usage(&self) -> Usage {
        let read = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(file)).ok();
        match accounting() {
            Accounting::V2 { memory, .. } => {
                let dir = &self.dirs[0];
                Usage {
                    cpu_secs: read(dir, "cpu.stat").and_then(|text| {
                        text.lines()
                            .find_map(|line| line.strip_prefix("usage_usec "))
                            .and_then(|usec| usec.trim().parse::<f64>().ok())
                            .map(|usec| usec / 1e6)
                    }),
                    peak_kib: memory
                        .then(|| read(dir, "memory.peak"))
                        .flatten()
                        .and_then(|bytes| bytes.trim().parse::<f64>().ok())
                        .map(|bytes| bytes / 1024.0),
                }
            }
            Accounting::V1 { .. } => Usage {
                cpu_secs: read(&self.dirs[0], "cpuacct.usage")
                    .and_then(|ns| ns.trim().parse::<f64>().ok())
                    .map(|ns| ns / 1e9),
                peak_kib: read(&self.dirs[1], "memory.max_usage_in_bytes")
                    .and_then(|bytes| bytes.trim().parse::<f64>().ok())
                    .map(|bytes| bytes / 1024.0),
            },
            Accounting::Fallback { .. } => Usage::default(),
        }
    }

    /// Whether the memory figure comes from the group (else: sampled).
    pub fn measures_memory(&self) -> bool {
        matches!(
            accounting(),
            Accounting::V1 { .. } | Accounting::V2 { memory: true, .. }
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // A child the program left behind (a fork server) can keep the group
        // busy for a moment after the program ended.
        for dir in &self.dirs {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

/// CPU time of the tool's waited-for children so far (the fallback).
pub fn children_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // cutime and cstime: fields 16 and 17 of stat(5), 13 and 14 here.
    let ticks: u64 = fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?;
    Some(ticks as f64 / super::quiet::ticks_per_second())
}

/// Resident memory of `pid` and every descendant, in KiB (the fallback's
/// sample).
pub fn tree_rss_kib(pid: u32) -> f64 {
    let mut total = 0.0;
    let mut stack = vec![pid];
    while let Some(pid) = stack.pop() {
        if let Ok(statm) = std::fs::read_to_string(format!("/proc/{pid}/statm"))
            && let Some(pages) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<f64>().ok())
        {
            total += pages * 4.0;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
                stack.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_counts_a_child_it_did_not_wait_for() {
        // The program forks a child that burns CPU; the parent waits for it.
        let Some(group) = Group::new() else {
            eprintln!("no cgroup here ({}): nothing to test", accounting().name());
            return;
        };
        let mut argv = group.prefix();
        argv.extend(
            [
                "/bin/sh",
                "-c",
                "(i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done) & wait",
            ]
            .map(Into::into),
        );
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .status()
            .expect("sh runs");
        assert!(status.success());
        let usage = group.usage();
        let cpu = usage.cpu_secs.expect("the group reports CPU time");
        assert!(cpu > 0.01, "the child's loop took CPU time: {cpu}");
        assert!(usage.peak_kib.is_some_and(|kib| kib > 100.0), "{usage:?}");
    }
}
