//! Where a Run executes: inside a sandbox when this machine can make one,
//! and within caps everywhere.
//!
//! On Linux with [bubblewrap](https://github.com/containers/bubblewrap)
//! (`bwrap`), each Run gets
//! - its own PID namespace, torn down with the run: nothing it starts
//!   outlives it, not even a child that left its session with `setsid`;
//! - its own network namespace with only a loopback device: no connection
//!   leaves it, not even to this server;
//! - the whole filesystem read-only, except its own directory: a small
//!   in-memory filesystem holding the example's binary, gone with the run;
//! - a fresh environment (no variable of the server's).
//!
//! Everywhere, the shell that starts the example caps its address space
//! (`RLIMIT_AS`), CPU time (`RLIMIT_CPU`) and file size (`RLIMIT_FSIZE`). The
//! number of processes is capped by a pids cgroup when the server may make
//! one (as root on most Linux machines), else by `RLIMIT_NPROC` inside the
//! sandbox's user namespace (which counts only the sandbox's processes);
//! as root without a writable cgroup nothing caps it, and the server says so.
//!
//! Where no sandbox can be made (no bubblewrap, user namespaces disabled,
//! not Linux), examples run with the caps and in their own process group,
//! and the server says so at startup and under each Run's output.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one Run may use. A book example stays far below each; a runaway
/// (an endless allocation, a fork loop, a file written forever) meets one.
#[derive(Debug, Clone)]
pub struct Caps {
    /// Address space of each process (`RLIMIT_AS`), in bytes.
    pub memory: u64,
    /// Processes and threads the run may have at once.
    pub processes: u64,
    /// The largest file, and the room in the run's directory, in bytes.
    pub file_size: u64,
    /// CPU time of each process (`RLIMIT_CPU`).
    pub cpu_time: Duration,
}

const MIB: u64 = 1024 * 1024;

impl Default for Caps {
    fn default() -> Self {
        Caps {
            memory: 1024 * MIB,
            processes: 512,
            file_size: 64 * MIB,
            cpu_time: Duration::from_secs(30),
        }
    }
}

/// How a Run is contained on this machine, found once at startup.
#[derive(Debug)]
pub struct Sandbox {
    caps: Caps,
    /// `bwrap`, when it made a working sandbox here; else why not.
    bwrap: Result<PathBuf, String>,
    /// Whether the sandbox has a user namespace of its own (not so with a
    /// setuid bubblewrap where user namespaces are disabled): only then does
    /// `RLIMIT_NPROC` count the sandbox's processes alone.
    own_user_namespace: bool,
    /// The cgroup under which each run gets a pids cgroup, when writable.
    pids_parent: Option<PathBuf>,
}

/// Numbers the cgroups this process makes (several servers may share it).
static CGROUPS: AtomicU64 = AtomicU64::new(0);

/// A name for a new cgroup of this process.
fn cgroup_name(what: &str) -> String {
    let n = CGROUPS.fetch_add(1, Ordering::Relaxed);
    format!("bookctl-{what}-{}-{n}", std::process::id())
}

/// A command ready to run one example, and what to clean up after it.
pub struct Contained {
    pub command: Command,
    /// The run's pids cgroup, removed when dropped.
    pub cgroup: Option<RunCgroup>,
}

impl Sandbox {
    /// Finds out what this machine allows: bubblewrap is tried once with the
    /// very options each Run uses.
    pub fn detect(caps: Caps) -> Sandbox {
        let probed = find_bwrap().and_then(|bwrap| probe(&bwrap).map(|own| (bwrap, own)));
        let own_user_namespace = probed.as_ref().is_ok_and(|(_, own)| *own);
        let bwrap = probed.map(|(bwrap, _)| bwrap);
        let pids_parent = if bwrap.is_ok() {
            pids_cgroup_parent()
        } else {
            None
        };
        Sandbox {
            caps,
            bwrap,
            own_user_namespace,
            pids_parent,
        }
    }

    /// No sandbox, only the caps (for comparison in tests).
    pub fn unconfined(caps: Caps, why: &str) -> Sandbox {
        Sandbox {
            caps,
            bwrap: Err(why.to_owned()),
            own_user_namespace: false,
            pids_parent: None,
        }
    }

    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// Whether Runs execute inside bubblewrap.
    pub fn is_sandboxed(&self) -> bool {
        self.bwrap.is_ok()
    }

    /// Why Runs are not sandboxed here, if they are not.
    pub fn why_not(&self) -> Option<&str> {
        self.bwrap.as_ref().err().map(String::as_str)
    }

    /// What caps the number of processes, or `None` if nothing does.
    pub fn process_cap_holder(&self) -> Option<&'static str> {
        if self.pids_parent.is_some() {
            Some("a pids cgroup")
        } else if self.nproc_holds() {
            Some("RLIMIT_NPROC in the sandbox's user namespace")
        } else {
            None
        }
    }

    /// Whether `RLIMIT_NPROC` counts the run's processes alone: in a user
    /// namespace of the run's own, and not as root (whom it does not limit).
    fn nproc_holds(&self) -> bool {
        self.is_sandboxed() && self.own_user_namespace && !rustix::process::geteuid().is_root()
    }

    /// One paragraph for the terminal at startup: what contains a Run here.
    pub fn describe(&self) -> String {
        let caps = &self.caps;
        let mut text = String::new();
        match &self.bwrap {
            Ok(_) => text.push_str(
                "Runs are sandboxed with bubblewrap: no network, the files read-only except \
                 the run's own directory, and nothing the example starts outlives it.",
            ),
            Err(why) => {
                let _ = write!(
                    text,
                    "warning: Runs are NOT sandboxed: {why}. An example can read and write \
                     your files, use the network, and leave behind processes that leave its \
                     session (setsid). {INSTALL}"
                );
            }
        }
        let processes = match self.process_cap_holder() {
            Some(holder) => format!("{} processes ({holder})", caps.processes),
            None if rustix::process::geteuid().is_root() => {
                "no cap on processes (as root RLIMIT_NPROC does not apply and no pids cgroup \
                 could be made; the time limit ends a fork loop)"
                    .to_owned()
            }
            None => "no cap on processes (RLIMIT_NPROC would count all of your own processes \
                     outside a user namespace of the run's own; the time limit ends a fork loop)"
                .to_owned(),
        };
        let _ = write!(
            text,
            "\nEach Run is capped at {} MiB of memory per process, {processes}, {} MiB of \
             files and {} s of CPU time per process (see `cargo book serve --help`).",
            caps.memory / MIB,
            caps.file_size / MIB,
            caps.cpu_time.as_secs(),
        );
        text
    }

    /// A line under each Run's output when it was not sandboxed.
    pub fn run_note(&self) -> Option<String> {
        self.bwrap.as_ref().err().map(|why| {
            format!(
                "\n[not sandboxed: {why}; `cargo book serve` said so at startup, with how \
                 to install bubblewrap]"
            )
        })
    }

    /// The command that runs `program` (the example's binary, inside `dir`)
    /// within the caps, in the sandbox when there is one. The caller puts it
    /// in a process group of its own and kills that group at the end.
    pub fn command(&self, dir: &Path, program: &Path) -> std::io::Result<Contained> {
        let Ok(bwrap) = &self.bwrap else {
            // No sandbox: the caps, and a fresh environment.
            let mut command = Command::new("/bin/sh");
            command
                .arg("-c")
                .arg(limits_script(&self.caps, false))
                .arg(program)
                .current_dir(dir);
            plain_environment(&mut command, dir);
            return Ok(Contained {
                command,
                cgroup: None,
            });
        };
        let cgroup = match &self.pids_parent {
            Some(parent) => Some(RunCgroup::create(
                &parent.join(cgroup_name("run")),
                self.caps.processes,
            )?),
            None => None,
        };
        // The shell joins the cgroup before bwrap starts, so that every
        // process of the run is counted; then it becomes bwrap.
        let mut command = match &cgroup {
            Some(cgroup) => {
                let mut command = Command::new("/bin/sh");
                command
                    .arg("-c")
                    .arg(r#"echo $$ > "$0/cgroup.procs" && exec "$@""#)
                    .arg(&cgroup.path)
                    .arg(bwrap);
                command
            }
            None => Command::new(bwrap),
        };
        let inside = dir.join("example");
        command
            .args(sandbox_options(dir, self.caps.file_size))
            .arg("--ro-bind")
            .arg(program)
            .arg(&inside)
            .arg("--")
            .args(["/bin/sh", "-c"])
            .arg(limits_script(&self.caps, self.nproc_holds()))
            .arg(&inside);
        plain_environment(&mut command, dir);
        Ok(Contained { command, cgroup })
    }
}

/// What to tell a reader who has no sandbox.
pub const INSTALL: &str = "Install bubblewrap to sandbox Runs (Debian, Ubuntu: `sudo apt install \
                           bubblewrap`; Fedora: `sudo dnf install bubblewrap`; Arch: `sudo \
                           pacman -S bubblewrap`); on macOS there is none";

/// bubblewrap's options for a Run in `dir`: everything but the binary.
fn sandbox_options(dir: &Path, room: u64) -> Vec<OsString> {
    let mut options: Vec<OsString> = [
        // Every namespace: PID, network, IPC, UTS, cgroup, and a user
        // namespace where one can be made.
        "--unshare-all",
        // If the server dies, the run dies with it.
        "--die-with-parent",
        // No access to the server's terminal (TIOCSTI).
        "--new-session",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--size",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    options.push(room.to_string().into());
    options.push("--tmpfs".into());
    options.push(dir.into());
    options.push("--chdir".into());
    options.push(dir.into());
    options
}

/// A shell script that sets the caps and then becomes `$0`. Applied inside
/// the sandbox, so that `RLIMIT_NPROC` counts the sandbox's user namespace
/// only (`nproc`); without a sandbox it would count all of the reader's
/// processes, so it is left out. A limit the shell cannot set is already
/// lower (a hard limit): that is fine.
fn limits_script(caps: &Caps, nproc: bool) -> String {
    let mut script = format!(
        "ulimit -v {} 2>/dev/null\nulimit -t {} 2>/dev/null\nulimit -f {} 2>/dev/null\n",
        caps.memory / 1024,
        caps.cpu_time.as_secs().max(1),
        // POSIX shells count files in 512-byte blocks.
        caps.file_size / 512,
    );
    if nproc {
        // bash calls it -u, dash -p.
        let _ = writeln!(
            script,
            "ulimit -u {0} 2>/dev/null || ulimit -p {0} 2>/dev/null",
            caps.processes
        );
    }
    script.push_str("exec \"$0\"\n");
    script
}

/// Only what a program needs: no variable of the server's environment
/// (tokens, the reader's paths) reaches the example.
fn plain_environment(command: &mut Command, dir: &Path) {
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .env("LANG", "C.UTF-8");
}

/// `bwrap` on the PATH.
fn find_bwrap() -> Result<PathBuf, String> {
    if !cfg!(target_os = "linux") {
        return Err("bubblewrap sandboxes need Linux".to_owned());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("bwrap"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "bubblewrap (`bwrap`) is not installed".to_owned())
}

/// Makes one sandbox like a Run's and looks around in it: whether it has a
/// user namespace of its own.
fn probe(bwrap: &Path) -> Result<bool, String> {
    let dir = tempfile::Builder::new()
        .prefix("bookctl-probe-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
    let output = Command::new(bwrap)
        .args(sandbox_options(dir.path(), MIB))
        .args(["--", "/bin/sh", "-c", "readlink /proc/self/ns/user"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", bwrap.display()))?;
    if output.status.success() {
        let outside = std::fs::read_link("/proc/self/ns/user").unwrap_or_default();
        let inside = String::from_utf8_lossy(&output.stdout);
        return Ok(Path::new(inside.trim()) != outside);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "bubblewrap cannot make a sandbox here ({}; are unprivileged user namespaces \
         disabled?)",
        stderr.trim()
    ))
}

/// A directory where this process may create pids cgroups: its own pids
/// cgroup (cgroup v1) or its own cgroup when the pids controller is
/// delegated to its children (cgroup v2). Found by trying.
fn pids_cgroup_parent() -> Option<PathBuf> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut candidates = Vec::new();
    for line in membership.lines() {
        // "hierarchy-ID:controllers:path"
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let relative = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "pids") {
            candidates.push(Path::new("/sys/fs/cgroup/pids").join(relative));
        } else if controllers.is_empty() {
            candidates.push(Path::new("/sys/fs/cgroup").join(relative));
            candidates.push(Path::new("/sys/fs/cgroup/unified").join(relative));
        }
    }
    candidates.into_iter().find(|parent| {
        let probe = parent.join(cgroup_name("probe"));
        RunCgroup::create(&probe, 1).is_ok()
    })
}

/// One run's pids cgroup.
pub struct RunCgroup {
    path: PathBuf,
}

impl RunCgroup {
    fn create(path: &Path, max: u64) -> std::io::Result<RunCgroup> {
        std::fs::create_dir(path)?;
        let cgroup = RunCgroup {
            path: path.to_path_buf(),
        };
        // Dropping `cgroup` on an error removes the directory again.
        std::fs::write(path.join("pids.max"), max.to_string())?;
        Ok(cgroup)
    }

    /// How many times a process could not be started because of the cap.
    pub fn refusals(&self) -> u64 {
        std::fs::read_to_string(self.path.join("pids.events"))
            .ok()
            .and_then(|events| {
                events
                    .lines()
                    .find_map(|line| line.strip_prefix("max "))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        // The kernel removes a cgroup only once its last process is gone;
        // killed processes take a moment to exit.
        let deadline = Instant::now() + Duration::from_secs(2);
        while std::fs::remove_dir(&self.path).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_script_sets_every_cap_then_becomes_the_example() {
        let caps = Caps::default();
        let script = limits_script(&caps, true);
        assert!(script.contains("ulimit -v 1048576"), "{script}");
        assert!(script.contains("ulimit -t 30"), "{script}");
        assert!(script.contains("ulimit -f 131072"), "{script}");
        assert!(script.contains("ulimit -u 512"), "{script}");
        assert!(script.ends_with("exec \"$0\"\n"), "{script}");
        assert!(!limits_script(&caps, false).contains("ulimit -u"));
    }
}
