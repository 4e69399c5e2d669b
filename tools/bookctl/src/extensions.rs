//! Part 6's listings are Python extension modules written with PyO3. A
//! reader builds one into a virtual environment with `maturin develop`; the
//! book's tests and benchmarks need neither maturin nor a virtual
//! environment: cargo builds the shared library, it is copied into a
//! directory under the name Python imports (`<module>.abi3.so`), and the
//! listing's Python programs run with that directory on `PYTHONPATH`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cargo;
use crate::error::BookError;
use crate::listings::{Listing, ListingKind};
use crate::outputs::{self, Outcome};

/// The interpreter that runs the listings' Python programs.
pub const PYTHON: &str = "python3";

/// Builds the extension `packages` with one `cargo build <extra_args>` and
/// returns the shared library of each, by module (library) name.
pub fn build(
    root: &Path,
    packages: &[&str],
    extra_args: &[&str],
) -> Result<HashMap<String, PathBuf>, BookError> {
    let mut args = extra_args.to_vec();
    for package in packages {
        args.extend(["--package", package]);
    }
    let messages = cargo::build_successfully(root, &args)
        .map_err(|e| BookError::io("build the extension modules in", root, e))?;
    Ok(libraries(&messages))
}

/// Every `cdylib` among cargo's JSON messages, by library name.
pub(crate) fn libraries(messages: &[serde_json::Value]) -> HashMap<String, PathBuf> {
    messages
        .iter()
        .filter(|message| {
            message["target"]["crate_types"]
                .as_array()
                .is_some_and(|types| types.iter().any(|kind| kind == "cdylib"))
        })
        .filter_map(|message| {
            let name = message["target"]["name"].as_str()?;
            let library = message["filenames"]
                .as_array()?
                .iter()
                .filter_map(serde_json::Value::as_str)
                .find(|file| {
                    [".so", ".dylib", ".dll"]
                        .iter()
                        .any(|ext| file.ends_with(ext))
                })?;
            Some((name.to_owned(), PathBuf::from(library)))
        })
        .collect()
}

/// Copies `library` into `dir` under the name Python imports as `module`,
/// by way of a temporary file and a rename, so that a Python program never
/// loads half a file.
pub fn stage(dir: &Path, module: &str, library: &Path) -> Result<PathBuf, BookError> {
    // `.abi3.so`: the name maturin gives a stable-ABI module on Linux and
    // macOS, one of the suffixes CPython tries on import.
    let target = dir.join(format!("{module}.abi3.so"));
    let temporary = dir.join(format!(".{module}.abi3.so.tmp"));
    std::fs::copy(library, &temporary).map_err(|e| BookError::io("copy", library, e))?;
    std::fs::rename(&temporary, &target).map_err(|e| BookError::io("write", &target, e))?;
    Ok(target)
}

/// The Python programs of an extension listing: its `*.py` files, sorted.
pub fn programs(listing: &Listing) -> Result<Vec<PathBuf>, BookError> {
    let entries =
        std::fs::read_dir(&listing.dir).map_err(|e| BookError::io("read", &listing.dir, e))?;
    let mut programs = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| BookError::io("read", &listing.dir, e))?
            .path();
        if path.extension().is_some_and(|ext| ext == "py") {
            programs.push(path);
        }
    }
    programs.sort();
    Ok(programs)
}

/// The file that holds what `program` prints: `first.py` → `first.output.txt`.
pub fn output_file(program: &Path) -> PathBuf {
    program.with_extension("output.txt")
}

/// `python3 <program>` in the listing's folder, with `modules` (where
/// [`stage`] put the libraries) first on `PYTHONPATH`.
pub fn command(program: &Path, modules: &Path) -> Command {
    command_with(PYTHON.as_ref(), program, modules)
}

/// [`command`], run by the interpreter `python` instead of `python3`.
pub fn command_with(python: &std::ffi::OsStr, program: &Path, modules: &Path) -> Command {
    let mut path = OsString::from(modules);
    if let Some(existing) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        path.push(":");
        path.push(existing);
    }
    let mut command = Command::new(python);
    command
        .arg(program.file_name().unwrap_or(program.as_os_str()))
        .current_dir(program.parent().unwrap_or(Path::new(".")))
        .env("PYTHONPATH", path)
        // The listings' folders stay free of __pycache__.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Runs one Python program of an extension listing and compares (or, with
/// `bless`, records) what it prints.
pub fn check(listing: &Listing, program: &Path, modules: &Path, bless: bool) -> Outcome {
    let ListingKind::Extension { check, .. } = &listing.kind else {
        return Outcome::Matches;
    };
    match outputs::run(command(program, modules)) {
        Ok(actual) => outputs::compare(check, &output_file(program), &actual, bless),
        Err(reason) => Outcome::Failed(reason),
    }
}

/// Whether `python3` runs here; the reason it does not, if not.
pub fn python_missing() -> Option<String> {
    match Command::new(PYTHON).arg("--version").output() {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "`{PYTHON} --version` exited with {}",
            output.status
        )),
        Err(e) => Some(format!("{PYTHON} is not available ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cdylib_among_cargo_messages() {
        let messages: Vec<serde_json::Value> = [
            r#"{"reason":"compiler-artifact","target":{"name":"rayon","crate_types":["lib"]},"filenames":["/t/librayon.rlib"]}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"primes_rs","crate_types":["cdylib"]},"filenames":["/t/libprimes_rs.so"]}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .iter()
        .map(|line| serde_json::from_str(line).expect("valid JSON"))
        .collect();
        let found = libraries(&messages);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found["primes_rs"], PathBuf::from("/t/libprimes_rs.so"));
    }

    #[test]
    fn output_files_sit_beside_their_programs() {
        assert_eq!(
            output_file(Path::new("/l/06-01/first.py")),
            PathBuf::from("/l/06-01/first.output.txt")
        );
    }
}
