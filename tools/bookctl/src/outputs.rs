//! Running every listing and comparing what it prints with its `output.txt`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cargo;
use crate::error::BookError;
use crate::listings::{Listing, ListingKind, OutputCheck};

/// A listing that ran longer than this is reported as hanging.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// What happened when one listing was run and compared.
#[derive(Debug)]
pub enum Outcome {
    Matches,
    /// The output differs from `output.txt` (both shown as compared, masks applied).
    Differs {
        expected: String,
        actual: String,
    },
    /// `output.txt` was (re)written from this run.
    Blessed,
    /// The program failed, hung, or could not be started.
    Failed(String),
}

/// What [`build`] made: each program's executable, by package name, and each
/// extension's shared library, by module name.
#[derive(Debug, Default)]
pub struct Built {
    pub executables: HashMap<String, PathBuf>,
    pub libraries: HashMap<String, PathBuf>,
}

/// Builds every program and extension listing under `root` for running.
///
/// All of them, whichever the caller runs, and together with the workspace's
/// default members, so that this build shares a bare `cargo test`'s instead
/// of compiling its own. Cargo turns a dependency's features on for
/// everything one run builds, and a crate whose dependencies differ is a
/// different build: `cargo build -p <listing>` alone would resolve libc,
/// say, without the `extra_traits` that may (through nix) turns on in
/// `cargo test` (which builds the default members, dev-dependencies
/// included), and so compile tokio and everything above libc a second time;
/// so would two nested builds with different listings. `--examples` turns
/// the dev-dependencies on too (and builds the examples, as `cargo test`
/// does). After `cargo test` this compiles nothing it compiled.
///
/// A listing marked `build = "alone"` is built by a `cargo build` of its own
/// instead, for a feature that must not reach the others: Listing 7-4's
/// `deadlock_detection` would change parking_lot under may and under the
/// mdBook that the tests link, and so build those, and the book's tool,
/// once more (the tests' build script, which runs the same tool, would keep
/// the parking_lot without it). A default member cannot be built alone:
/// `cargo test` builds it with the rest whatever this says.
pub fn build(root: &Path) -> Result<Built, BookError> {
    let listings = crate::listings::discover(root)?;
    let package_of = |listing: &Listing| match &listing.kind {
        ListingKind::Program { package, .. } | ListingKind::Extension { package, .. } => {
            Some(package.clone())
        }
        ListingKind::CompileFail => None,
    };
    let default_members = cargo::default_members(root)
        .map_err(|e| BookError::io("run cargo metadata in", root, e))?;
    if let Some(listing) = listings.iter().find(|listing| {
        listing.builds_alone
            && package_of(listing).is_some_and(|package| default_members.contains(&package))
    }) {
        return Err(BookError::ListingMetadata {
            manifest: listing.dir.join("Cargo.toml"),
            reason: "`build = \"alone\"` on a default member of the workspace, which \
                     `cargo test` builds with all the others"
                .into(),
        });
    }
    let mut together: Vec<String> = default_members;
    for package in listings
        .iter()
        .filter(|listing| !listing.builds_alone)
        .filter_map(package_of)
    {
        if !together.contains(&package) {
            together.push(package);
        }
    }
    let mut built = Built::default();
    let mut add = |packages: &[String], targets: &[&str]| -> Result<(), BookError> {
        let mut args = vec!["--quiet"];
        args.extend(targets);
        for package in packages {
            args.extend(["--package", package.as_str()]);
        }
        let messages = cargo::build_successfully(root, &args)
            .map_err(|e| BookError::io("build the listings in", root, e))?;
        built.executables.extend(cargo::executables(&messages));
        built
            .libraries
            .extend(crate::extensions::libraries(&messages));
        Ok(())
    };
    add(&together, &["--lib", "--bins", "--examples"])?;
    for alone in listings.iter().filter(|listing| listing.builds_alone) {
        if let Some(package) = package_of(alone) {
            // Its library and programs, whichever it has.
            add(&[package], &[])?;
        }
    }
    Ok(built)
}

/// Runs one program listing and compares (or, with `bless`, records) its output.
pub fn check(listing: &Listing, executable: &Path, bless: bool) -> Outcome {
    let ListingKind::Program { check, .. } = &listing.kind else {
        return Outcome::Matches;
    };
    let mut command = Command::new(executable);
    command.current_dir(&listing.dir);
    match run(command) {
        Ok(actual) => compare(check, &listing.dir.join("output.txt"), &actual, bless),
        Err(reason) => Outcome::Failed(reason),
    }
}

/// Compares `actual` with the file `expected_path` as `check` says, or, with
/// `bless`, writes it there.
pub fn compare(check: &OutputCheck, expected_path: &Path, actual: &str, bless: bool) -> Outcome {
    if bless {
        return match std::fs::write(expected_path, actual) {
            Ok(()) => Outcome::Blessed,
            Err(e) => Outcome::Failed(format!("cannot write {}: {e}", expected_path.display())),
        };
    }
    let expected = match std::fs::read_to_string(expected_path) {
        Ok(text) => text,
        Err(e) => {
            return Outcome::Failed(format!(
                "cannot read {}: {e} (write it with `cargo book outputs --bless`)",
                expected_path.display()
            ));
        }
    };
    let (expected, actual) = (comparable(check, &expected), comparable(check, actual));
    if expected == actual {
        Outcome::Matches
    } else {
        Outcome::Differs { expected, actual }
    }
}

/// The text as compared: masks applied, lines sorted when order may vary.
pub fn comparable(check: &OutputCheck, text: &str) -> String {
    let masked = check
        .masks
        .iter()
        .fold(text.replace("\r\n", "\n"), |text, mask| {
            mask.replace_all(&text, "<…>").into_owned()
        });
    if check.unordered {
        let mut lines: Vec<&str> = masked.lines().collect();
        lines.sort_unstable();
        lines.join("\n") + "\n"
    } else {
        masked
    }
}

/// Runs `command` (its standard input closed, SIGINT and SIGPIPE at their
/// default actions: [`cargo::default_signals`]) and returns its standard
/// output, or why it failed; a run longer than [`TIME_LIMIT`] is killed.
pub fn run(mut command: Command) -> Result<String, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = cargo::default_signals(&mut command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    // Drain both pipes on their own threads so a chatty program cannot block.
    let stdout = cargo::drain(child.stdout.take());
    let stderr = cargo::drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {TIME_LIMIT:?}; killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for the program: {e}")),
        }
    };
    let (stdout, stderr) = (cargo::drained(stdout), cargo::drained(stderr));
    if status.success() {
        Ok(stdout)
    } else {
        Err(format!("exited with {status}; its stderr:\n{stderr}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn unordered_output_ignores_line_order_but_not_content() {
        let check = OutputCheck {
            unordered: true,
            masks: vec![],
        };
        assert_eq!(comparable(&check, "b\na\n"), comparable(&check, "a\nb\n"));
        assert_ne!(comparable(&check, "b\na\n"), comparable(&check, "a\na\n"));
    }

    #[test]
    fn masks_hide_timings_only() {
        let check = OutputCheck {
            unordered: false,
            masks: vec![Regex::new(r"\d+ ms").expect("valid")],
        };
        assert_eq!(
            comparable(&check, "count 7 in 12 ms\n"),
            comparable(&check, "count 7 in 340 ms\n")
        );
        assert_ne!(
            comparable(&check, "count 7 in 12 ms\n"),
            comparable(&check, "count 8 in 12 ms\n")
        );
    }
}
