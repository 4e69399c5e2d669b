//! Compiling and running one example for a Run button, with limits.
//!
//! The examples link the crates the test suite links: the dependencies of
//! `tests/Cargo.toml` (package `book-tests`), built once by [`Crates::build`]
//! with the workspace's `Cargo.lock`. Each run gets a fresh temporary
//! directory, its own process group (so that everything it starts can be
//! killed at once), a wall-time limit and an output cap; rustc runs as the
//! reader, and the example itself runs in the [`Sandbox`] with its [`Caps`].

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::os::unix::process::{CommandExt, ExitStatusExt};

use anyhow::{Context, Result, bail};
use rustix::process::Signal;

use super::sandbox::{Caps, Sandbox};

/// The limits of `cargo book serve`. Tests use smaller ones.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall time for running one example.
    pub wall_time: Duration,
    /// Wall time for compiling one example (rustc is not the reader's code,
    /// but a compile can still hang or be slow on a busy machine).
    pub compile_time: Duration,
    /// Output kept per run (compiler messages or the program's stdout+stderr).
    pub output_cap: usize,
    /// The largest request body accepted.
    pub body_cap: usize,
    /// Runs at the same time (one per CPU by default).
    pub parallel_runs: usize,
    /// Runs waiting for a free slot; one more gets "429 Too Many Requests".
    pub queue: usize,
    /// Where each run's temporary directory is made (the system's by default).
    pub temp_parent: Option<PathBuf>,
    /// What the example may use while it runs.
    pub caps: Caps,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_time: Duration::from_secs(10),
            compile_time: Duration::from_secs(30),
            output_cap: 1024 * 1024,
            body_cap: 64 * 1024,
            parallel_runs: std::thread::available_parallelism().map_or(1, usize::from),
            queue: 8,
            temp_parent: None,
            caps: Caps::default(),
        }
    }
}

/// A Rust edition an example may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edition(&'static str);

impl Edition {
    /// The editions rustc accepts on stable; anything else is refused.
    pub fn parse(text: &str) -> Option<Edition> {
        ["2015", "2018", "2021", "2024"]
            .into_iter()
            .find(|edition| *edition == text)
            .map(Edition)
    }
}

/// One crate an example may use: `--extern name=rlib`.
#[derive(Debug, Clone)]
pub struct Crate {
    /// The name code uses (`tokio`, `may`), with `_` for `-`.
    pub name: String,
    pub version: String,
    /// The compiled library (and its `.rmeta`, when cargo wrote one apart).
    pub files: Vec<PathBuf>,
}

/// The crates every example may use, beyond `std`.
#[derive(Debug, Clone, Default)]
pub struct Crates {
    pub crates: Vec<Crate>,
    /// `-L dependency=…`: where rustc finds the crates' own dependencies.
    pub deps_dir: Option<PathBuf>,
}

impl Crates {
    /// Only `std`: no build needed (quick to start, enough for the tests).
    pub fn std_only() -> Crates {
        Crates::default()
    }

    /// Builds the dependencies of package `book-tests` in the Cargo workspace
    /// at `workspace` with cargo (its progress goes to the terminal) and
    /// returns them. They are built as a bare `cargo test` builds them, with
    /// the libraries of the workspace's default members and their
    /// dev-dependencies' features (`--examples`; see `outputs::build`), so
    /// that after `cargo test` this compiles nothing, and `cargo test` after
    /// this reuses it; on a fresh clone it compiles them once.
    pub fn build(workspace: &Path) -> Result<Crates> {
        let manifest = workspace.join("tests/Cargo.toml");
        let wanted = direct_dependencies(&manifest, &workspace.join("Cargo.toml"))?;
        let default_members = crate::cargo::default_members(workspace)
            .with_context(|| format!("cannot run cargo metadata in {}", workspace.display()))?;
        let mut args = vec!["--lib", "--examples"];
        for package in &default_members {
            args.extend(["--package", package.as_str()]);
        }
        let (status, messages) = crate::cargo::build(workspace, &args)
            .with_context(|| format!("cannot run cargo in {}", workspace.display()))?;
        if !status.success() {
            bail!(
                "cargo could not build the examples' crates and the workspace's default members \
                 ({status}); fix the error above, \
                 or start with --std-only to run only examples that need no crates"
            );
        }
        let mut crates = Crates::default();
        for message in &messages {
            if message["reason"] != "compiler-artifact" {
                continue;
            }
            let name = message["target"]["name"].as_str().unwrap_or_default();
            let is_lib = message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "lib"));
            let Some(version) = message["package_id"]
                .as_str()
                .and_then(|id| id.rsplit_once('@'))
                .map(|(_, version)| version.to_owned())
            else {
                continue;
            };
            if !is_lib
                || wanted
                    .get(name)
                    .is_none_or(|req| !version_matches(req, &version))
            {
                continue;
            }
            let files: Vec<PathBuf> = message["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|file| file.as_str().map(PathBuf::from))
                .collect();
            if crates.deps_dir.is_none() {
                crates.deps_dir = files
                    .first()
                    .and_then(|f| f.parent())
                    .map(Path::to_path_buf);
            }
            crates.crates.retain(|c: &Crate| c.name != name);
            crates.crates.push(Crate {
                name: name.to_owned(),
                version,
                files,
            });
        }
        let missing: Vec<&str> = wanted
            .keys()
            .map(String::as_str)
            .filter(|name| !crates.crates.iter().any(|c| c.name == *name))
            .collect();
        if !missing.is_empty() {
            bail!("cargo built no library for {}", missing.join(", "));
        }
        crates.crates.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(crates)
    }
}

/// The `[dependencies]` of a manifest: crate name (with `_`) → version
/// requirement, looked up in the workspace's manifest when inherited.
fn direct_dependencies(
    manifest: &Path,
    workspace_manifest: &Path,
) -> Result<BTreeMap<String, String>> {
    let read = |path: &Path| -> Result<toml::Table> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {}: pass --crates-from with the book's Cargo workspace, \
                 or --std-only",
                path.display()
            )
        })?;
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))
    };
    let table = |parent: &toml::Table, key: &str| {
        parent
            .get(key)
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default()
    };
    let package = read(manifest)?;
    let inherited = read(workspace_manifest)
        .map(|root| table(&table(&root, "workspace"), "dependencies"))
        .unwrap_or_default();
    let requirement = |spec: &toml::Value| match spec {
        toml::Value::String(req) => req.clone(),
        toml::Value::Table(t) => t
            .get("version")
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    Ok(table(&package, "dependencies")
        .iter()
        .map(|(name, spec)| {
            let inherits = spec.get("workspace").and_then(toml::Value::as_bool) == Some(true);
            let req = match inherited.get(name) {
                Some(root_spec) if inherits => requirement(root_spec),
                _ => requirement(spec),
            };
            (name.replace('-', "_"), req)
        })
        .collect())
}

/// Whether `version` has the major (and, for 0.x, minor) version of the
/// requirement `req` ("" matches anything): enough to tell the direct
/// dependency from another major version of the same crate deeper down.
fn version_matches(req: &str, version: &str) -> bool {
    let req = req.trim_start_matches(['^', '=', '~', ' ']);
    if req.is_empty() {
        return true;
    }
    let key = |v: &str| -> Vec<String> {
        let parts: Vec<String> = v.split('.').map(str::to_owned).collect();
        let n = if parts.first().is_some_and(|major| major == "0") {
            2
        } else {
            1
        };
        parts.into_iter().take(n).collect()
    };
    key(req) == key(version)
}

/// What one run produced, as the playground reports it.
#[derive(Debug)]
pub enum Outcome {
    /// The program ran (successfully or not); its stdout and stderr interleaved.
    Ran { output: String, status: RunStatus },
    /// rustc rejected the example: its own message.
    CompileError(String),
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunStatus {
    Exited(i32),
    Signalled(i32),
    /// Killed at the wall-time limit, with everything it started.
    TimedOut,
}

/// Compiles and runs examples within [`Limits`].
pub struct Runner {
    crates: Crates,
    limits: Limits,
    sandbox: Sandbox,
}

impl Runner {
    /// A runner that sandboxes examples if this machine can (see [`Sandbox::detect`]).
    pub fn new(crates: Crates, limits: Limits) -> Runner {
        let sandbox = Sandbox::detect(limits.caps.clone());
        Runner::with_sandbox(crates, limits, sandbox)
    }

    pub fn with_sandbox(crates: Crates, limits: Limits, sandbox: Sandbox) -> Runner {
        Runner {
            crates,
            limits,
            sandbox,
        }
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn crates(&self) -> &[Crate] {
        &self.crates.crates
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles `code` and runs it. Blocks: call it from a blocking thread.
    /// An error here is the server's problem (no temporary directory, no
    /// rustc), never the example's.
    pub fn run(&self, code: &str, edition: Edition) -> Result<Outcome> {
        let dir = match &self.limits.temp_parent {
            Some(parent) => tempfile::Builder::new()
                .prefix("bookctl-run-")
                .tempdir_in(parent),
            None => tempfile::Builder::new().prefix("bookctl-run-").tempdir(),
        }
        .context("cannot create a temporary directory for the example")?;
        // Like the playground: messages say `src/main.rs`, not a temporary path.
        std::fs::create_dir(dir.path().join("src")).context("cannot write the example")?;
        std::fs::write(dir.path().join("src/main.rs"), code).context("cannot write the example")?;

        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let mut compile = Command::new(rustc);
        compile
            .current_dir(dir.path())
            .args([
                "--edition",
                edition.0,
                "--crate-type",
                "bin",
                "--crate-name",
                "example",
            ])
            .args([
                "--color",
                "never",
                "-C",
                "debuginfo=0",
                "-C",
                "strip=debuginfo",
            ])
            .args(["-o", "example", "src/main.rs"]);
        if let Some(deps) = &self.crates.deps_dir {
            compile
                .arg("-L")
                .arg(format!("dependency={}", deps.display()));
        }
        for krate in &self.crates.crates {
            for file in &krate.files {
                compile
                    .arg("--extern")
                    .arg(format!("{}={}", krate.name, file.display()));
            }
        }
        let (mut message, status) = self
            .supervise(compile, self.limits.compile_time)
            .context("cannot run rustc")?;
        if status != RunStatus::Exited(0) {
            if status == RunStatus::TimedOut {
                message.push_str(&timeout_note("compiling", self.limits.compile_time));
            }
            return Ok(Outcome::CompileError(message));
        }

        // The example runs in its temporary directory (in the sandbox, a
        // small in-memory one): files it writes go with it.
        let example = dir.path().join("example");
        let contained = self
            .sandbox
            .command(dir.path(), &example)
            .context("cannot prepare the example's sandbox")?;
        // Like the playground, a panic prints its message, not a backtrace:
        // the example's environment is a fresh one, without RUST_BACKTRACE.
        let (mut output, mut status) = self
            .supervise(contained.command, self.limits.wall_time)
            .context("cannot start the example")?;
        if self.sandbox.is_sandboxed() {
            // bubblewrap exits with 128 + N when the example was killed by signal N.
            if let RunStatus::Exited(code @ 129..=192) = status {
                status = RunStatus::Signalled(code - 128);
            }
        }
        let refused = contained
            .cgroup
            .as_ref()
            .map_or(0, |cgroup| cgroup.refusals());
        output.push_str(&self.limit_note(&output, &status, refused));
        if let Some(note) = self.sandbox.run_note() {
            output.push_str(&note);
        }
        // The cgroup goes once the run's last process has, and `dir` with
        // everything compiled and written in it when this returns.
        drop(contained.cgroup);
        Ok(Outcome::Ran { output, status })
    }

    /// A line saying which limit stopped the run, if one did.
    fn limit_note(&self, output: &str, status: &RunStatus, refused: u64) -> String {
        let caps = &self.limits.caps;
        let mib = |bytes: u64| bytes / (1024 * 1024);
        let mut note = String::new();
        match status {
            RunStatus::TimedOut => note.push_str(&timeout_note("running", self.limits.wall_time)),
            RunStatus::Signalled(signal) if *signal == Signal::XCPU.as_raw() => note.push_str(&format!(
                "\n[killed after {} s of CPU time: the CPU cap of `cargo book serve` (--cpu-cap)]",
                caps.cpu_time.as_secs()
            )),
            RunStatus::Signalled(signal) if *signal == Signal::XFSZ.as_raw() => note.push_str(&format!(
                "\n[killed for writing a file larger than {} MiB: the file-size cap of \
                 `cargo book serve` (--file-size-cap)]",
                mib(caps.file_size)
            )),
            _ => {}
        }
        if *status != RunStatus::Exited(0)
            && output.contains("memory allocation of")
            && output.contains("failed")
        {
            note.push_str(&format!(
                "\n[out of memory: an example may use {} MiB of address space under \
                 `cargo book serve` (--memory-cap)]",
                mib(caps.memory)
            ));
        }
        if refused > 0 {
            let attempts = if refused == 1 { "attempt" } else { "attempts" };
            note.push_str(&format!(
                "\n[{refused} {attempts} to start a process or thread refused: an example \
                 may have {} at once under `cargo book serve` (--process-cap)]",
                caps.processes
            ));
        }
        note
    }

    /// Runs `command` in its own process group with stdout and stderr on one
    /// pipe (so they interleave as printed), kills the whole group at the
    /// wall-time limit or when the output passes the cap, and always kills
    /// what is left of the group once the process itself has ended.
    fn supervise(
        &self,
        mut command: Command,
        wall_time: Duration,
    ) -> std::io::Result<(String, RunStatus)> {
        let (mut reader, writer) = std::io::pipe()?;
        // An example gets the default action for SIGINT and SIGPIPE even
        // when the server was started with them ignored (`nohup`).
        crate::cargo::default_signals(&mut command)
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .process_group(0);
        let mut child = command.spawn()?;
        // `command` holds our copies of the pipe's write end: drop them, or
        // the reader would never see the end of the output.
        drop(command);
        let group = rustix::process::Pid::from_child(&child);

        let cap = self.limits.output_cap;
        let overflowed = Arc::new(AtomicBool::new(false));
        let collector = {
            let overflowed = Arc::clone(&overflowed);
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut chunk = [0; 16 * 1024];
                while let Ok(n @ 1..) = reader.read(&mut chunk) {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                    if n > room {
                        overflowed.store(true, Ordering::Relaxed);
                        break;
                    }
                }
                kept
            })
        };

        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break run_status(status);
            }
            if started.elapsed() >= wall_time {
                kill_group(group);
                child.wait()?;
                break RunStatus::TimedOut;
            }
            if overflowed.load(Ordering::Relaxed) {
                kill_group(group);
                break run_status(child.wait()?);
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        // Whatever the program left running (a child, a grandchild) goes too,
        // which also closes the last copies of the pipe.
        kill_group(group);
        let kept = collector.join().unwrap_or_default();
        let mut output = String::from_utf8_lossy(&kept).into_owned();
        if overflowed.load(Ordering::Relaxed) {
            output.push_str(&format!("\n[output truncated at {} bytes]", cap));
        }
        Ok((output, status))
    }
}

fn timeout_note(doing: &str, limit: Duration) -> String {
    format!(
        "\n[killed after {} s of {doing}: the time limit of `cargo book serve`]",
        limit.as_secs_f32()
    )
}

fn run_status(status: ExitStatus) -> RunStatus {
    match (status.code(), status.signal()) {
        (Some(code), _) => RunStatus::Exited(code),
        (None, Some(signal)) => RunStatus::Signalled(signal),
        (None, None) => RunStatus::Exited(-1),
    }
}

/// SIGKILL to every process in the group; "no such group" is fine.
fn kill_group(group: rustix::process::Pid) {
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editions_are_validated() {
        assert!(Edition::parse("2024").is_some());
        assert!(Edition::parse("2015").is_some());
        assert!(Edition::parse("2027").is_none());
        assert!(Edition::parse("2021 --extern x=y").is_none());
    }

    #[test]
    fn requirements_pick_the_direct_dependency() {
        assert!(version_matches("1.54", "1.54.1"));
        assert!(version_matches("", "0.3.51"));
        assert!(version_matches("0.3.34", "0.3.34"));
        assert!(!version_matches("0.3", "0.1.31"));
        assert!(!version_matches("1", "2.0.0"));
    }
}
