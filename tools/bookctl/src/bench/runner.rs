//! Running one benchmark program: its output, or an error that names it and
//! shows its stderr.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::quiet;
use super::tree::{self, Group, Usage};
use crate::cargo::{drain, drained};

/// A run that takes longer than this has hung (the slowest, Python's serial
/// prime count, takes about 16 s on a slow machine).
const TIME_LIMIT: Duration = Duration::from_secs(600);

/// A command line to run: the program and its arguments, and the directory
/// to run it in (where relative paths among the arguments start).
#[derive(Debug, Clone)]
pub struct Program {
    pub argv: Vec<OsString>,
    pub dir: Option<PathBuf>,
}

impl Program {
    pub fn new(program: impl Into<OsString>) -> Self {
        Program {
            argv: vec![program.into()],
            dir: None,
        }
    }

    /// The same program, run in `dir`.
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.argv.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    /// The same program, run through `prefix` (e.g. `taskset -c 0`).
    pub fn wrapped(self, prefix: &[OsString]) -> Self {
        Program {
            argv: prefix.iter().cloned().chain(self.argv).collect(),
            dir: self.dir,
        }
    }

    /// The command line as a reader would type it.
    pub fn display(&self) -> String {
        let words: Vec<_> = self
            .argv
            .iter()
            .map(|arg| {
                let arg = arg.to_string_lossy();
                let file = Path::new(arg.as_ref()).file_name();
                // Shorten absolute paths (the built executables) to their
                // names; a relative path (a script) is what a reader types.
                match file {
                    Some(name) if arg.starts_with('/') => name.to_string_lossy().into_owned(),
                    _ => arg.into_owned(),
                }
            })
            .collect();
        words.join(" ")
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.argv[0]);
        command.args(&self.argv[1..]);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Runs the program to its end and returns its standard output.
    pub fn run(&self) -> Result<String> {
        self.run_in_group().map(|(stdout, _)| stdout)
    }

    /// Runs the program to its end in a cgroup of its own (where the machine
    /// has them, see [`super::tree`]) and returns its standard output and
    /// what its whole process tree used.
    pub fn run_in_group(&self) -> Result<(String, Usage)> {
        let group = Group::new();
        let program = match &group {
            Some(group) => self.clone().wrapped(&group.prefix()),
            None => self.clone(),
        };
        let children_before = tree::children_cpu_secs();
        let mut child = program
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{}`", self.display()))?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let sample = group.as_ref().is_none_or(|group| !group.measures_memory());
        let (status, sampled_peak_kib) = wait(&mut child, TIME_LIMIT, sample);
        let (stdout, stderr) = (drained(stdout), drained(stderr));
        let mut usage = group.as_ref().map(Group::usage).unwrap_or_default();
        if usage.cpu_secs.is_none() {
            usage.cpu_secs = children_before
                .zip(tree::children_cpu_secs())
                .map(|(before, after)| after - before);
        }
        if usage.peak_kib.is_none() && sample {
            usage.peak_kib = Some(sampled_peak_kib);
        }
        quiet::add_measured((usage.cpu_secs.unwrap_or(0.0) * 1e9) as u64);
        drop(group);
        match status {
            Some(status) if status.code() == Some(125) && stderr.contains("cgroup.procs") => bail!(
                "`{}` could not join its cgroup; its stderr:\n{}",
                self.display(),
                stderr.trim_end()
            ),
            Some(status) if status.success() => Ok((stdout, usage)),
            Some(status) => bail!(
                "`{}` failed ({status}); its stderr:\n{}",
                self.display(),
                stderr.trim_end()
            ),
            None => bail!(
                "`{}` still ran after {} s and was killed; its stderr:\n{}",
                self.display(),
                TIME_LIMIT.as_secs(),
                stderr.trim_end()
            ),
        }
    }

    /// Runs the program and parses the JSON line it prints, to which it
    /// adds `tree_cpu_secs` and `tree_peak_kib`: what the whole process tree
    /// used (null where they could not be measured).
    pub fn run_json(&self) -> Result<serde_json::Value> {
        let (stdout, usage) = self.run_in_group()?;
        let mut record = json_line(&stdout)
            .with_context(|| format!("`{}` printed no result", self.display()))?;
        if let Some(fields) = record.as_object_mut() {
            fields.insert("tree_cpu_secs".into(), usage.cpu_secs.into());
            fields.insert("tree_peak_kib".into(), usage.peak_kib.into());
        }
        Ok(record)
    }
}

/// Waits up to `limit` for `child`; kills and reaps it after that. With
/// `sample`, also returns the largest resident memory of its process tree
/// seen every 20 ms (the fallback where no cgroup measures it).
fn wait(
    child: &mut Child,
    limit: Duration,
    sample: bool,
) -> (Option<std::process::ExitStatus>, f64) {
    let started = Instant::now();
    let mut peak_kib: f64 = 0.0;
    let mut polls = 0u32;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Some(status), peak_kib),
            Ok(None) if started.elapsed() < limit => {
                if sample && polls.is_multiple_of(4) {
                    peak_kib = peak_kib.max(tree::tree_rss_kib(child.id()));
                }
                polls += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return (None, peak_kib);
            }
        }
    }
}

/// The last line of `stdout` that is a JSON object: a program's result.
pub fn json_line(stdout: &str) -> Result<serde_json::Value> {
    stdout
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line.trim()).ok())
        .find(serde_json::Value::is_object)
        .with_context(|| format!("expected a line of JSON, got:\n{}", stdout.trim_end()))
}

/// A number field of a program's JSON result.
pub fn number(record: &serde_json::Value, field: &str) -> Result<f64> {
    record[field]
        .as_f64()
        .with_context(|| format!("the result {record} has no number `{field}`"))
}

/// Progress lines on stderr: `[cpu 3/10] rust rayon run 2/5 … 0.124 s`.
pub struct Progress {
    suite: &'static str,
    total: usize,
    done: usize,
}

impl Progress {
    pub fn new(suite: &'static str, total: usize) -> Self {
        Progress {
            suite,
            total,
            done: 0,
        }
    }

    /// Starts the next measurement (a row of the table).
    pub fn next(&mut self) {
        self.done += 1;
    }

    /// In interleaved rounds: counts rows during the first round only, and
    /// starts over at row 1 on each later one.
    pub fn next_of_round(&mut self, first_round: bool) {
        if first_round {
            self.done += 1;
        } else {
            self.done = self.done % self.total.max(1) + 1;
        }
    }

    pub fn report(&self, what: &str, run: usize, runs: usize, result: &str) {
        eprintln!(
            "[{} {}/{}] {what} run {run}/{runs} … {result}",
            self.suite, self.done, self.total
        );
    }
}

/// Every run's result this suite so far, for the raw JSON committed beside
/// its tables (`<suite>.runs.json`); [`take_raw`] empties it.
static RAW: std::sync::Mutex<Vec<serde_json::Value>> = std::sync::Mutex::new(Vec::new());

/// Keeps one run's result for the raw JSON.
pub fn keep_raw(row: &str, record: serde_json::Value) {
    let entry = serde_json::json!({ "row": row, "result": record });
    RAW.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(entry);
}

/// The runs kept since the last call.
pub fn take_raw() -> Vec<serde_json::Value> {
    std::mem::take(&mut *RAW.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

/// One row of an interleaved measurement: what it is and what runs it.
pub struct Row<'a> {
    pub what: String,
    pub program: &'a Program,
}

/// Measures `rows` in `runs` interleaved rounds (`check` gets the row's
/// index and a result), each round running every
/// row once in turn (as pyperf and the pyo3 suite do), so that a machine
/// whose speed drifts during the suite disturbs every row alike and the
/// ratios between rows stay fair. Returns each row's results, in row order.
pub fn measure_rounds(
    progress: &mut Progress,
    rows: &[Row<'_>],
    runs: usize,
    check: impl Fn(usize, &serde_json::Value) -> Result<()>,
) -> Result<Vec<Vec<serde_json::Value>>> {
    let mut results: Vec<Vec<serde_json::Value>> = rows.iter().map(|_| Vec::new()).collect();
    for round in 1..=runs {
        for (index, (row, found)) in rows.iter().zip(&mut results).enumerate() {
            progress.next_of_round(round == 1);
            let check = |record: &serde_json::Value| check(index, record);
            found.push(measure_once(
                progress,
                &row.what,
                row.program,
                round,
                runs,
                &check,
            )?);
        }
    }
    Ok(results)
}

/// One run of one row, checked, reported and kept.
pub fn measure_once(
    progress: &Progress,
    what: &str,
    program: &Program,
    run: usize,
    runs: usize,
    check: &impl Fn(&serde_json::Value) -> Result<()>,
) -> Result<serde_json::Value> {
    let record = program.run_json()?;
    check(&record).with_context(|| format!("`{}` gave a wrong result", program.display()))?;
    let secs = record["secs"]
        .as_f64()
        .map_or("done".into(), |s| format!("{s:.3} s"));
    progress.report(what, run, runs, &secs);
    keep_raw(what, record.clone());
    Ok(record)
}

/// The median and range of a number field over several results.
pub fn spread_of(records: &[serde_json::Value], field: &str) -> Result<super::stats::Spread> {
    let values = records
        .iter()
        .map(|record| number(record, field))
        .collect::<Result<Vec<f64>>>()?;
    super::stats::Spread::of(&values).with_context(|| format!("no runs to take `{field}` of"))
}

/// Runs `program` `runs` times for one row of a table, reporting each run,
/// and returns the JSON results. `check` rejects a wrong result (a wrong
/// prime count, say) with a message.
pub fn measure(
    progress: &Progress,
    what: &str,
    program: &Program,
    runs: usize,
    check: impl Fn(&serde_json::Value) -> Result<()>,
) -> Result<Vec<serde_json::Value>> {
    (1..=runs)
        .map(|run| measure_once(progress, what, program, run, runs, &check))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_takes_the_last_object() {
        let out = "starting\n{\"variant\":\"rayon\",\"secs\":0.123,\"count\":216816}\n";
        let record = json_line(out).expect("parses");
        assert_eq!(record["variant"], "rayon");
        assert_eq!(number(&record, "secs").expect("a number"), 0.123);
        assert!(number(&record, "missing").is_err());
    }

    #[test]
    fn json_line_rejects_other_output() {
        let error = json_line("1.5\nno json here\n").expect_err("no object");
        assert!(error.to_string().contains("no json here"), "{error}");
    }

    #[test]
    fn display_shortens_paths() {
        let program = Program::new("/x/target/release/primes").args(["rayon", "3000000"]);
        assert_eq!(program.display(), "primes rayon 3000000");
        let script = Program::new("python3")
            .arg("bench/python/primes.py")
            .in_dir("/book");
        assert_eq!(script.display(), "python3 bench/python/primes.py");
    }
}
