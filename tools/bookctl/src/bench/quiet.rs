//! Whether the machine was quiet: what else used the CPU while a suite ran.
//!
//! The load average cannot say (it counts runnable and uninterruptible tasks,
//! the benchmark's own among them, with a 15-minute memory). This module
//! takes two samples of the kernel's counters and compares them:
//!
//! - `/proc/stat`: the CPU time every process on the machine used (user,
//!   nice, system) and the time a hypervisor stole. From the
//!   busy time it subtracts the measured programs' own CPU time (their
//!   cgroups', see [`super::tree`]) and the bench tool's: the rest is *other
//!   processes' CPU time*, the evidence that something ran beside the bench;
//! - `/proc/pressure/cpu`: the time some runnable task waited for a CPU. The
//!   benchmark's own threads wait for one another too (two workers and the
//!   tool on two cores), so this is reported, not gated on.
//!
//! [`Interference::verdict`] is the gate: above [`OTHER_CPU_LIMIT`] of the
//! machine's CPU time used by others, or [`STEAL_LIMIT`] stolen, a suite's
//! figures are disturbed and `cargo book bench` refuses to write them into
//! `src/measured/`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The most CPU time other processes may use, as a share of the machine's,
/// before a suite counts as disturbed: an idle Linux machine's daemons use
/// well under 1 %, a compile beside the bench uses tens of percent.
pub const OTHER_CPU_LIMIT: f64 = 0.05;

/// The most CPU time a hypervisor may steal, as a share of the machine's.
pub const STEAL_LIMIT: f64 = 0.02;

/// CPU time (in nanoseconds) the measured programs used so far: every run
/// adds its process tree's, so that it can be told apart from other
/// processes' in `/proc/stat`.
static MEASURED_NS: AtomicU64 = AtomicU64::new(0);

/// Adds a measured program's CPU time.
pub fn add_measured(nanoseconds: u64) {
    MEASURED_NS.fetch_add(nanoseconds, Ordering::Relaxed);
}

/// One reading of the counters.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    /// `/proc/stat`'s first line, in clock ticks.
    cpu: Option<CpuTicks>,
    /// `/proc/pressure/cpu`'s `some total=`, in microseconds.
    pressure_us: Option<u64>,
    /// CPU time of the measured programs so far, and of this tool.
    measured_ns: u64,
    own_ns: Option<u64>,
    /// CPU time of the tool's children it has waited for (`cutime` +
    /// `cstime`): every measured program, whether or not a cgroup counted it.
    children_ns: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTicks {
    /// user + nice + system: time some process ran. Interrupt time (irq,
    /// softirq) is left out: it is no process's, and the benchmark's own
    /// loopback traffic (the echo suite) makes much of it.
    pub busy: u64,
    pub steal: u64,
    /// Every field: the machine's CPU time.
    pub total: u64,
}

impl Sample {
    pub fn take() -> Sample {
        Sample {
            at: Instant::now(),
            cpu: std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|text| parse_stat(&text)),
            pressure_us: std::fs::read_to_string("/proc/pressure/cpu")
                .ok()
                .and_then(|text| parse_pressure(&text)),
            measured_ns: MEASURED_NS.load(Ordering::Relaxed),
            own_ns: own_cpu_ns(),
            children_ns: super::tree::children_cpu_secs().map(|secs| (secs * 1e9) as u64),
        }
    }

    /// What happened between `self` (earlier) and `later`.
    pub fn until(&self, later: &Sample) -> Interference {
        let wall = later.at.duration_since(self.at).as_secs_f64();
        let hz = ticks_per_second();
        let cpu = match (self.cpu, later.cpu) {
            (Some(a), Some(b)) if b.total > a.total => Some((
                (b.busy.saturating_sub(a.busy)) as f64 / hz,
                (b.steal.saturating_sub(a.steal)) as f64 / hz,
                (b.total - a.total) as f64 / hz,
            )),
            _ => None,
        };
        // The cgroups' count, or the waited-for children's where it is larger
        // (a program no cgroup held, on a machine without them).
        let children = match (self.children_ns, later.children_ns) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
            _ => 0.0,
        };
        let measured = ((later.measured_ns - self.measured_ns) as f64 / 1e9).max(children);
        let own = match (self.own_ns, later.own_ns) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
            _ => 0.0,
        };
        Interference {
            wall_secs: wall,
            machine_cpu_secs: cpu.map(|(_, _, total)| total),
            other_cpu_secs: cpu.map(|(busy, _, _)| (busy - measured - own).max(0.0)),
            steal_secs: cpu.map(|(_, steal, _)| steal),
            pressure: match (self.pressure_us, later.pressure_us) {
                (Some(a), Some(b)) if wall > 0.0 => Some(b.saturating_sub(a) as f64 / 1e6 / wall),
                _ => None,
            },
        }
    }
}

/// What else used the CPU over an interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interference {
    pub wall_secs: f64,
    /// CPU time the whole machine had (cores × wall), if `/proc/stat` exists.
    pub machine_cpu_secs: Option<f64>,
    /// Busy CPU time that was neither the measured programs' nor this tool's.
    pub other_cpu_secs: Option<f64>,
    pub steal_secs: Option<f64>,
    /// Share of the wall time some task waited for a CPU (PSI `some`).
    pub pressure: Option<f64>,
}

impl Interference {
    /// Other processes' share of the machine's CPU time.
    pub fn other_share(&self) -> Option<f64> {
        Some(self.other_cpu_secs? / self.machine_cpu_secs?.max(f64::EPSILON))
    }

    pub fn steal_share(&self) -> Option<f64> {
        Some(self.steal_secs? / self.machine_cpu_secs?.max(f64::EPSILON))
    }

    /// `Ok` if the interval was quiet, or what disturbed it. A machine
    /// without `/proc/stat` cannot prove itself quiet.
    pub fn verdict(&self) -> Result<(), String> {
        let (Some(other), Some(steal)) = (self.other_share(), self.steal_share()) else {
            return Err("this machine has no /proc/stat to show that it was quiet".into());
        };
        let mut problems = Vec::new();
        if other > OTHER_CPU_LIMIT {
            problems.push(format!(
                "other processes used {:.1} % of the machine's CPU time (the limit is {:.0} %)",
                other * 100.0,
                OTHER_CPU_LIMIT * 100.0
            ));
        }
        if steal > STEAL_LIMIT {
            problems.push(format!(
                "the hypervisor stole {:.1} % of it (the limit is {:.0} %)",
                steal * 100.0,
                STEAL_LIMIT * 100.0
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join(", and "))
        }
    }

    /// `other processes 0.4 % of the CPU time, steal 0.0 %, CPU pressure
    /// 12 %`, for stamps and warnings.
    pub fn describe(&self) -> String {
        let percent = |share: Option<f64>| {
            share.map_or_else(|| "unknown".to_owned(), |s| format!("{:.1} %", s * 100.0))
        };
        format!(
            "other processes used {} of the machine's CPU time, steal {}, CPU pressure (PSI some) {}, over {:.0} s",
            percent(self.other_share()),
            percent(self.steal_share()),
            percent(self.pressure),
            self.wall_secs
        )
    }

    /// For the raw JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "wall_secs": self.wall_secs,
            "machine_cpu_secs": self.machine_cpu_secs,
            "other_cpu_secs": self.other_cpu_secs,
            "steal_secs": self.steal_secs,
            "other_share": self.other_share(),
            "steal_share": self.steal_share(),
            "cpu_pressure_some": self.pressure,
            "limits": { "other_share": OTHER_CPU_LIMIT, "steal_share": STEAL_LIMIT },
        })
    }
}

/// The `cpu` line of `/proc/stat`.
pub fn parse_stat(text: &str) -> Option<CpuTicks> {
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    // (guest time is already counted in user and nice).
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(CpuTicks {
        busy: field(0) + field(1) + field(2),
        steal: field(7),
        total: (0..8).map(field).sum(),
    })
}

/// `some … total=N` of `/proc/pressure/cpu`.
pub fn parse_pressure(text: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with("some "))?;
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("total="))?
        .parse()
        .ok()
}

/// This tool's own CPU time (the bench runs no threads of its own while a
/// program is measured, but it polls, parses and writes).
fn own_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((ticks as f64 / ticks_per_second() * 1e9) as u64)
}

/// USER_HZ, the unit of `/proc/stat` (100 on Linux almost everywhere).
pub fn ticks_per_second() -> f64 {
    static HZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *HZ.get_or_init(|| {
        super::stamp::command_output("getconf", &["CLK_TCK"])
            .and_then(|hz| hz.parse().ok())
            .filter(|&hz: &f64| hz > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interference(other: f64, steal: f64) -> Interference {
        Interference {
            wall_secs: 100.0,
            machine_cpu_secs: Some(200.0),
            other_cpu_secs: Some(other * 200.0),
            steal_secs: Some(steal * 200.0),
            pressure: Some(0.3),
        }
    }

    #[test]
    fn the_gate_passes_a_quiet_machine_and_refuses_a_busy_one() {
        assert!(interference(0.0, 0.0).verdict().is_ok());
        assert!(interference(0.049, 0.019).verdict().is_ok());
        let busy = interference(0.06, 0.0)
            .verdict()
            .expect_err("5 % is the limit");
        assert!(busy.contains("6.0 %"), "{busy}");
        let stolen = interference(0.0, 0.03)
            .verdict()
            .expect_err("2 % is the limit");
        assert!(stolen.contains("stole 3.0 %"), "{stolen}");
        // Three busy loops on two cores: others use most of the machine.
        assert!(interference(0.75, 0.0).verdict().is_err());
        // No /proc/stat: no proof of quiet.
        assert!(Interference::default().verdict().is_err());
    }

    #[test]
    fn pressure_alone_does_not_refuse() {
        let mut contended = interference(0.01, 0.0);
        contended.pressure = Some(0.9);
        assert!(contended.verdict().is_ok());
    }

    #[test]
    fn counters_parse() {
        let stat = "cpu  100 5 50 1000 7 3 2 11 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(
            parse_stat(stat),
            Some(CpuTicks {
                busy: 155,
                steal: 11,
                total: 1178
            })
        );
        let pressure = "some avg10=53.64 avg60=18.25 avg300=5.76 total=22507770\n\
                        full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(parse_pressure(pressure), Some(22_507_770));
        assert_eq!(parse_pressure(""), None);
    }

    #[test]
    fn others_are_the_busy_time_less_the_measured_and_own() {
        let hz = ticks_per_second();
        let start = Instant::now();
        let before = Sample {
            at: start,
            cpu: Some(CpuTicks {
                busy: 0,
                steal: 0,
                total: 0,
            }),
            pressure_us: Some(0),
            measured_ns: 0,
            own_ns: Some(0),
            children_ns: Some(0),
        };
        // 10 s on 2 cores; 12 s busy, of which 10 s measured and 1 s own.
        let after = Sample {
            at: start + std::time::Duration::from_secs(10),
            cpu: Some(CpuTicks {
                busy: (12.0 * hz) as u64,
                steal: 0,
                total: (20.0 * hz) as u64,
            }),
            pressure_us: Some(2_000_000),
            measured_ns: 10_000_000_000,
            own_ns: Some(1_000_000_000),
            children_ns: Some(9_000_000_000),
        };
        let seen = before.until(&after);
        let other = seen.other_share().expect("known");
        assert!((other - 0.05).abs() < 1e-9, "{other}");
        assert_eq!(seen.pressure, Some(0.2));
    }
}
