//! The stamp every measured file starts with: when, on what, with what.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine and the Rust toolchain of this run.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The UTC date, `YYYY-MM-DD`.
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    /// Operating system and kernel, as `uname -sr` prints them.
    pub os: String,
    /// `rustc 1.95.0`.
    pub rustc: String,
    /// `KVM guest` where `lscpu` names a hypervisor: steal time and a
    /// neighbour's load can reach the figures there.
    pub hypervisor: Option<String>,
    /// `2026-12-06T05:20Z`: when this run started, in every stamp of it, so
    /// that files measured together can be told from files measured apart.
    pub run_id: String,
}

impl Machine {
    /// Looks everything up; what cannot be found reads "unknown …".
    pub fn detect() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let os = command_output("uname", &["-sr"]).unwrap_or_else(|| "unknown OS".to_owned());
        let rustc = command_output("rustc", &["--version"])
            .map(|version| version.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "rustc (unknown version)".to_owned());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let hypervisor = command_output("lscpu", &[]).and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("Hypervisor vendor:"))
                .map(|vendor| format!("{} guest", vendor.trim()))
        });
        Machine {
            date: utc_date(now),
            cpu,
            cores,
            os,
            rustc,
            hypervisor,
            run_id: format!(
                "{}T{:02}:{:02}Z",
                utc_date(now),
                now / 3600 % 24,
                now / 60 % 60
            ),
        }
    }

    /// `Measured on 2026-11-24: AMD EPYC, 2 cores, Linux 6.18.44, KVM
    /// guest`. (How busy the machine was is the next line's business: the
    /// quiet-machine check. The load average is not printed: it counts the
    /// benchmark's own threads, with a 15-minute memory, and proves nothing.)
    pub fn line(&self) -> String {
        let guest = self
            .hypervisor
            .as_ref()
            .map_or_else(String::new, |guest| format!(", {guest}"));
        format!(
            "Measured on {}: {}, {} cores{guest}, {}",
            self.date, self.cpu, self.cores, self.os
        )
    }

    /// The whole one-line stamp of a new suite's file: the machine, then
    /// rustc and the other `tools` (Python, gevent, …) that took part.
    pub fn stamp(&self, tools: &[String]) -> String {
        let mut versions = vec![format!("{} (release build)", self.rustc)];
        versions.extend(tools.iter().cloned());
        format!("{}; {}.", self.line(), versions.join(", "))
    }
}

/// `may 0.3.51`: the version of a crate in the book's `Cargo.lock` (the one
/// the benchmark programs were built with), or just its name if not found.
pub fn crate_version(lock_file: &str, name: &str) -> String {
    let lock: toml::Table = lock_file.parse().unwrap_or_default();
    lock.get("package")
        .and_then(toml::Value::as_array)
        .and_then(|packages| {
            packages
                .iter()
                .find(|package| package.get("name").and_then(toml::Value::as_str) == Some(name))
        })
        .and_then(|package| package.get("version")?.as_str())
        .map_or_else(|| name.to_owned(), |version| format!("{name} {version}"))
}

/// The trimmed standard output of a command that succeeded.
pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `YYYY-MM-DD` of a Unix time, in UTC (Howard Hinnant's `civil_from_days`).
pub fn utc_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_795_478_400), "2026-11-24");
    }

    #[test]
    fn crate_versions_come_from_the_lock_file() {
        let lock = "version = 4\n\n[[package]]\nname = \"may\"\nversion = \"0.3.51\"\n\n\
                    [[package]]\nname = \"tokio\"\nversion = \"1.54.1\"\n";
        assert_eq!(crate_version(lock, "tokio"), "tokio 1.54.1");
        assert_eq!(crate_version(lock, "may"), "may 0.3.51");
        assert_eq!(crate_version(lock, "rayon"), "rayon");
        assert_eq!(crate_version("not toml [", "may"), "may");
    }

    #[test]
    fn stamp_names_machine_and_versions() {
        let machine = Machine {
            date: "2026-11-24".into(),
            cpu: "AMD EPYC".into(),
            cores: 2,
            os: "Linux 6.18.44".into(),
            rustc: "rustc 1.95.0".into(),
            hypervisor: Some("KVM guest".into()),
            run_id: "2026-11-24T10:00Z".into(),
        };
        assert_eq!(
            machine.stamp(&["Python 3.11.7".into(), "gevent 26.9.0".into()]),
            "Measured on 2026-11-24: AMD EPYC, 2 cores, KVM guest, Linux 6.18.44; \
             rustc 1.95.0 (release build), Python 3.11.7, gevent 26.9.0."
        );
    }
}
