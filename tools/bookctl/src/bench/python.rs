//! The CPython interpreters the Python rows run on, and what each has
//! installed (gevent, uvloop). None of them is required: a missing
//! interpreter or package turns its rows into a visible note.
//!
//! By default the suite measures `python3` and every pyenv CPython 3.x at or
//! above 3.11 (one per version); `--python PATH` (repeatable) names the
//! interpreters instead, such as a free-threaded `python3.14t`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::runner::Program;
use super::stamp::command_output;

/// The oldest CPython found by default (asyncio's costs changed in 3.12).
const OLDEST_DEFAULT: (u32, u32) = (3, 11);

/// What the probe prints: one JSON line about the interpreter it runs on.
const PROBE: &str = r#"
import json, sys, sysconfig
def version_of(name):
    try:
        module = __import__(name)
    except Exception:
        return None
    return getattr(module, "__version__", "unknown version")
gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)
gil_at_start = gil_enabled()
gevent = version_of("gevent")
gil_with_gevent = gil_enabled()
print(json.dumps({
    "version": "%d.%d.%d" % sys.version_info[:3],
    "implementation": sys.implementation.name,
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "gil_at_start": gil_at_start,
    "gil_with_gevent": gil_with_gevent,
    "gevent": gevent,
    "uvloop": version_of("uvloop"),
}))
"#;

/// One interpreter and the packages it can import.
#[derive(Debug, Clone, PartialEq)]
pub struct Interpreter {
    /// The executable, as given or found (`python3` for the one on the PATH).
    pub path: PathBuf,
    /// `3.12.1`.
    pub version: String,
    /// A free-threaded build (`Py_GIL_DISABLED`, the `t` of `python3.14t`).
    pub free_threaded: bool,
    /// Whether the GIL was on at start-up (a free-threaded build can be
    /// told to keep it, with `PYTHON_GIL=1`).
    pub gil_at_start: bool,
    /// Whether the GIL was on once gevent was imported: a free-threaded
    /// build turns it back on for an extension not marked safe without it.
    pub gil_with_gevent: bool,
    /// gevent's version, or `None` if it cannot be imported.
    pub gevent: Option<String>,
    /// uvloop's version, or `None` if it cannot be imported.
    pub uvloop: Option<String>,
}

/// A package some Python rows need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    Gevent,
    Uvloop,
}

impl Package {
    pub fn name(self) -> &'static str {
        match self {
            Package::Gevent => "gevent",
            Package::Uvloop => "uvloop",
        }
    }
}

impl Interpreter {
    /// Runs the probe with `path`; `None` if it is not a CPython 3 that runs.
    pub fn probe(path: &Path) -> Option<Interpreter> {
        let path_text = path.to_str()?;
        let output = command_output(path_text, &["-c", PROBE])?;
        let record: serde_json::Value = serde_json::from_str(output.lines().last()?).ok()?;
        if record["implementation"] != "cpython" {
            return None;
        }
        let text = |field: &str| record[field].as_str().map(str::to_owned);
        Some(Interpreter {
            path: path.to_owned(),
            version: text("version")?,
            free_threaded: record["free_threaded"].as_bool().unwrap_or(false),
            gil_at_start: record["gil_at_start"].as_bool().unwrap_or(true),
            gil_with_gevent: record["gil_with_gevent"].as_bool().unwrap_or(true),
            gevent: text("gevent"),
            uvloop: text("uvloop"),
        })
    }

    /// `3.12.1`, or `3.14.0t` for a free-threaded build: the tag rows carry.
    pub fn tag(&self) -> String {
        if self.free_threaded {
            format!("{}t", self.version)
        } else {
            self.version.clone()
        }
    }

    /// `Python 3.12.1`, or `Python 3.14.0t`: the suffix of every Python row.
    pub fn name(&self) -> String {
        format!("Python {}", self.tag())
    }

    /// `(major, minor)` of the version.
    pub fn minor(&self) -> Option<(u32, u32)> {
        version_pair(&self.version)
    }

    /// Whether `package` can be imported here.
    pub fn has(&self, package: Package) -> bool {
        match package {
            Package::Gevent => self.gevent.is_some(),
            Package::Uvloop => self.uvloop.is_some(),
        }
    }

    /// `<interpreter> <script>`, run in `root` (scripts are relative to it).
    pub fn script(&self, root: &Path, script: &str) -> Program {
        Program::new(&self.path).arg(script).in_dir(root)
    }

    /// For a stamp: `CPython 3.12.1 (gevent 26.9.0, uvloop 0.23.0)`, the
    /// packages only where `packages` says the file used them.
    pub fn stamp(&self, packages: &[Package]) -> String {
        let build = match self.free_threaded {
            false => "",
            true if self.gil_at_start => " free-threaded build, GIL on (PYTHON_GIL=1)",
            true if self.gil_with_gevent && packages.contains(&Package::Gevent) => {
                " free-threaded build, GIL re-enabled by importing gevent"
            }
            true => " free-threaded build",
        };
        let versions: Vec<String> = packages
            .iter()
            .filter_map(|&package| {
                let version = match package {
                    Package::Gevent => self.gevent.as_ref(),
                    Package::Uvloop => self.uvloop.as_ref(),
                }?;
                Some(format!("{} {version}", package.name()))
            })
            .collect();
        let packages = if versions.is_empty() {
            String::new()
        } else {
            format!(" ({})", versions.join(", "))
        };
        format!("CPython {}{build}{packages}", self.version)
    }
}

/// Every interpreter the Python rows run on, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Python {
    pub interpreters: Vec<Interpreter>,
}

pub const NO_PYTHON: &str =
    "Python rows skipped: no CPython 3 found (python3, pyenv, or --python PATH).";

impl Python {
    /// The interpreters named by `--python`, each of which must run; or, if
    /// none is named, `python3` and pyenv's CPython ≥ 3.11, one per version.
    pub fn detect(given: &[PathBuf]) -> Result<Self> {
        let mut interpreters: Vec<Interpreter> = Vec::new();
        if given.is_empty() {
            let mut candidates = vec![PathBuf::from("python3")];
            // `python3.14` on the PATH (tools/install-cpython-3.14.sh puts
            // one there), and any other `python3.N` a system has.
            candidates.extend(
                (OLDEST_DEFAULT.1..=20).map(|minor| PathBuf::from(format!("python3.{minor}"))),
            );
            candidates.extend(pyenv_pythons());
            for candidate in candidates {
                if let Some(found) = Interpreter::probe(&candidate)
                    && found.minor().is_some_and(|minor| minor >= OLDEST_DEFAULT)
                {
                    interpreters.push(found);
                }
            }
        } else {
            for path in given {
                let Some(found) = Interpreter::probe(path) else {
                    bail!(
                        "--python {}: not a CPython 3 interpreter that runs here",
                        path.display()
                    );
                };
                interpreters.push(found);
            }
        }
        interpreters
            .sort_by_key(|found| (found.minor(), found.version.clone(), found.free_threaded));
        // One row per build: `python3` is often one of pyenv's versions.
        interpreters.dedup_by(|a, b| a.tag() == b.tag());
        let python = Python { interpreters };
        python.warn();
        Ok(python)
    }

    fn warn(&self) {
        if self.interpreters.is_empty() {
            eprintln!("warning: {NO_PYTHON}");
        }
        for found in &self.interpreters {
            eprintln!(
                "python: {} at {}",
                found.stamp(&[Package::Gevent, Package::Uvloop]),
                found.path.display()
            );
        }
        for package in [Package::Gevent, Package::Uvloop] {
            let missing = self.missing(package);
            if !missing.is_empty() {
                eprintln!("warning: {}", missing_note(package, &missing));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.interpreters.is_empty()
    }

    /// The interpreters that lack `package`, by name.
    fn missing(&self, package: Package) -> Vec<String> {
        self.interpreters
            .iter()
            .filter(|found| !found.has(package))
            .map(Interpreter::name)
            .collect()
    }

    /// The notes a table using `packages` carries: no Python at all, or a
    /// package some interpreters lack.
    pub fn notes(&self, packages: &[Package]) -> Vec<String> {
        if self.is_empty() {
            return vec![NO_PYTHON.to_owned()];
        }
        packages
            .iter()
            .filter_map(|&package| {
                let missing = self.missing(package);
                (!missing.is_empty()).then(|| missing_note(package, &missing))
            })
            .collect()
    }

    /// The stamp's Python part: every interpreter with the packages used.
    pub fn stamps(&self, packages: &[Package]) -> Vec<String> {
        self.interpreters
            .iter()
            .map(|found| found.stamp(packages))
            .collect()
    }

    /// The interpreter whose output a file shows in full: `python3` where it
    /// is one of them, else the newest.
    pub fn shown(&self) -> Option<&Interpreter> {
        self.interpreters
            .iter()
            .find(|found| found.path == Path::new("python3"))
            .or_else(|| self.interpreters.last())
    }
}

/// `gevent rows skipped for Python 3.12.1: not installed (…)`.
fn missing_note(package: Package, missing: &[String]) -> String {
    format!(
        "{} rows skipped for {}: {} is not installed there \
         (`python -m pip install -r bench/python/requirements.txt`).",
        package.name(),
        missing.join(", "),
        package.name()
    )
}

/// pyenv's CPython 3 interpreters: `$(pyenv root)/versions/3.*/bin/python3`.
fn pyenv_pythons() -> Vec<PathBuf> {
    let root = command_output("pyenv", &["root"])
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    let Some(versions) = root.map(|root| root.join("versions")) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&versions) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            // `3.12.1`, `3.14.0t`; not `pypy3.10-…` or a virtualenv's name.
            let (major, _) = version_pair(name.trim_end_matches('t'))?;
            let python = entry.path().join("bin/python3");
            (major == 3 && python.is_file()).then_some(python)
        })
        .collect();
    found.sort();
    found
}

/// `(3, 12)` from `3.12.1`; `None` unless it starts with two numbers.
fn version_pair(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

impl Interpreter {
    /// Runs `work` with this interpreter, naming it in any error.
    pub fn with_context<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        work().with_context(|| format!("on {} ({})", self.name(), self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interpreter(version: &str, free_threaded: bool) -> Interpreter {
        Interpreter {
            path: PathBuf::from("python3"),
            version: version.into(),
            free_threaded,
            gil_at_start: !free_threaded,
            gil_with_gevent: true,
            gevent: Some("26.9.0".into()),
            uvloop: None,
        }
    }

    /// A stand-in interpreter: a script that prints `record` whatever it is
    /// asked, as the probe's output.
    fn fake_python(dir: &Path, record: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("python3.14t");
        std::fs::write(&path, format!("#!/bin/sh\necho '{record}'\n")).expect("writes");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        wait_until_executable(&path);
        path
    }

    /// Waits (bounded) until the script just written at `path` can be run.
    /// Another test thread that forks while the file is still open for
    /// writing gives its child a copy of that descriptor, and until the
    /// child execs, the kernel refuses to run the file ("text file busy").
    fn wait_until_executable(path: &Path) {
        for _ in 0..500 {
            match std::process::Command::new(path).output() {
                Err(error) if error.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                _ => return,
            }
        }
        panic!("{} stayed busy for 5 s", path.display());
    }

    #[test]
    fn the_probe_recognises_a_free_threaded_build() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = fake_python(
            dir.path(),
            r#"{"version": "3.14.0", "implementation": "cpython", "free_threaded": true, "gil_at_start": false, "gil_with_gevent": true, "gevent": "26.9.0", "uvloop": null}"#,
        );
        let found = Interpreter::probe(&path).expect("a CPython");
        assert_eq!(found.tag(), "3.14.0t");
        assert!(found.has(Package::Gevent) && !found.has(Package::Uvloop));
        assert_eq!(found.stamp(&[]), "CPython 3.14.0 free-threaded build");
        assert_eq!(
            found.stamp(&[Package::Gevent]),
            "CPython 3.14.0 free-threaded build, GIL re-enabled by importing gevent (gevent 26.9.0)"
        );
        let pypy = fake_python(
            dir.path(),
            r#"{"version": "3.10.14", "implementation": "pypy", "free_threaded": false}"#,
        );
        assert_eq!(Interpreter::probe(&pypy), None);
        assert!(Python::detect(&[dir.path().join("missing")]).is_err());
    }

    #[test]
    fn versions_parse() {
        assert_eq!(version_pair("3.12.1"), Some((3, 12)));
        assert_eq!(version_pair("3.14"), Some((3, 14)));
        assert_eq!(version_pair("pypy3.10-7.3"), None);
    }

    #[test]
    fn tags_and_stamps_name_the_build() {
        let gil = interpreter("3.12.1", false);
        assert_eq!(gil.name(), "Python 3.12.1");
        assert_eq!(
            gil.stamp(&[Package::Gevent, Package::Uvloop]),
            "CPython 3.12.1 (gevent 26.9.0)"
        );
        assert_eq!(gil.stamp(&[]), "CPython 3.12.1");
        let free = interpreter("3.14.0", true);
        assert_eq!(free.name(), "Python 3.14.0t");
        assert_eq!(free.stamp(&[]), "CPython 3.14.0 free-threaded build");
        assert_eq!(
            free.stamp(&[Package::Gevent]),
            "CPython 3.14.0 free-threaded build, GIL re-enabled by importing gevent (gevent 26.9.0)"
        );
    }

    #[test]
    fn notes_name_the_interpreters_without_a_package() {
        let python = Python {
            interpreters: vec![interpreter("3.12.1", false)],
        };
        assert!(python.notes(&[Package::Gevent]).is_empty());
        let notes = python.notes(&[Package::Gevent, Package::Uvloop]);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("uvloop rows skipped for Python 3.12.1"),
            "{}",
            notes[0]
        );
        assert_eq!(Python::default().notes(&[]), vec![NO_PYTHON.to_owned()]);
    }
}
