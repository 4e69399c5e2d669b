//! What `outputs`, `bench` and `serve` share: a nested `cargo build` whose
//! artifacts are read from cargo's JSON messages, and reading a child's pipe
//! without letting it block.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// Runs `cargo build <args>` in `root` with JSON messages on stdout and
/// cargo's own progress and diagnostics on the terminal. Returns cargo's exit
/// status and every JSON message it printed; the caller decides what a
/// failure means to its user.
pub fn build(root: &Path, args: &[&str]) -> std::io::Result<(ExitStatus, Vec<serde_json::Value>)> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let messages = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    Ok((output.status, messages))
}

/// [`build`], with a failed build as an error: every JSON message of a build
/// that succeeded.
pub fn build_successfully(root: &Path, args: &[&str]) -> std::io::Result<Vec<serde_json::Value>> {
    let (status, messages) = build(root, args)?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "cargo build exited with {status}"
        )));
    }
    Ok(messages)
}

/// The workspace's default members, by package name: what a bare
/// `cargo test` or `cargo build` in `root` builds.
pub fn default_members(root: &Path) -> std::io::Result<Vec<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "cargo metadata exited with {}",
            output.status
        )));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(std::io::Error::other)?;
    let default_ids = metadata["workspace_default_members"]
        .as_array()
        .ok_or_else(|| std::io::Error::other("cargo metadata lists no default members"))?;
    let names = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| default_ids.contains(&package["id"]))
        .filter_map(|package| package["name"].as_str().map(str::to_owned))
        .collect();
    Ok(names)
}

/// Every executable among `messages`, by target name.
pub fn executables(messages: &[serde_json::Value]) -> HashMap<String, PathBuf> {
    messages
        .iter()
        .filter_map(|message| {
            let executable = message["executable"].as_str()?;
            let name = message["target"]["name"].as_str()?;
            Some((name.to_owned(), PathBuf::from(executable)))
        })
        .collect()
}

/// Reads `pipe` to its end on a thread of its own, so that a child which
/// fills one pipe cannot block while the caller waits on the other.
pub fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error ends the text early; what was read is still shown.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The text a [`drain`] thread read (empty if the thread panicked).
pub fn drained(handle: JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

/// Gives the child of `command` the default action for SIGINT and SIGPIPE,
/// whatever this process inherited.
///
/// A process started with SIGINT ignored (a background job of a
/// non-interactive shell, `nohup`, some CI runners) passes that on to every
/// child through `exec`, and CPython, finding SIGINT ignored at startup,
/// installs no `KeyboardInterrupt` handler: a program that interrupts itself
/// then runs on. Every test that starts a program the book shows goes
/// through here, so that the program behaves as it does in a terminal.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn default_signals(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;

    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe functions may be called: it calls signal(2),
    // which is one, and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGPIPE] {
                if libc::signal(signal, libc::SIG_DFL) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        })
    }
}

/// Elsewhere a child inherits nothing of the kind.
#[cfg(not(unix))]
pub fn default_signals(command: &mut Command) -> &mut Command {
    command
}
