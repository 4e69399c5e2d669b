//! Finding the book's listings and reading how their output is checked.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use crate::error::BookError;

/// One folder under `listings/<chapter>/`.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Absolute path of the folder.
    pub dir: PathBuf,
    /// `<chapter>/<folder>`, the way chapters refer to it.
    pub id: String,
    pub kind: ListingKind,
    /// Built by a `cargo build` of its own (`build = "alone"`), not with the
    /// other listings, because its dependencies' features must not reach
    /// them (see [`crate::outputs::build`]).
    pub builds_alone: bool,
}

#[derive(Debug, Clone)]
pub enum ListingKind {
    /// A Cargo package whose `output.txt` is checked against a real run.
    Program { package: String, check: OutputCheck },
    /// A Python extension module (a `cdylib` built with PyO3, Part 6) that
    /// Python imports as `module`; the `*.py` programs beside it use it, and
    /// each program's `<name>.output.txt` is checked against a real run.
    Extension {
        package: String,
        module: String,
        check: OutputCheck,
    },
    /// A `main.rs` that must fail to compile with the error in `main.stderr`.
    CompileFail,
}

/// How a program's output is compared with its `output.txt`.
#[derive(Debug, Clone)]
pub struct OutputCheck {
    pub unordered: bool,
    pub masks: Vec<Regex>,
}

#[derive(Deserialize)]
struct Manifest {
    package: Package,
    #[serde(default)]
    lib: Lib,
}

/// The `[lib]` table: a `cdylib` named here is a Python extension module.
#[derive(Deserialize, Default)]
struct Lib {
    name: Option<String>,
    #[serde(default, rename = "crate-type")]
    crate_type: Vec<String>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    book: BookMetadata,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BookMetadata {
    #[serde(default)]
    output: OutputMode,
    #[serde(default)]
    mask: Vec<String>,
    #[serde(default)]
    build: BuildMode,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "lowercase")]
enum BuildMode {
    #[default]
    Together,
    Alone,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "lowercase")]
enum OutputMode {
    #[default]
    Exact,
    Unordered,
}

/// Every listing under `<root>/listings`, sorted by id.
pub fn discover(root: &Path) -> Result<Vec<Listing>, BookError> {
    let listings_dir = root.join("listings");
    let mut listings = Vec::new();
    for chapter in sorted_dirs(&listings_dir)? {
        for dir in sorted_dirs(&chapter)? {
            let id = format!("{}/{}", file_name(&chapter), file_name(&dir));
            let manifest = dir.join("Cargo.toml");
            let (kind, builds_alone) = if manifest.is_file() {
                read_program(&manifest)?
            } else if dir.join("main.rs").is_file() {
                (ListingKind::CompileFail, false)
            } else {
                continue;
            };
            listings.push(Listing {
                dir,
                id,
                kind,
                builds_alone,
            });
        }
    }
    Ok(listings)
}

/// What the package at `manifest` is, and whether it builds alone.
fn read_program(manifest: &Path) -> Result<(ListingKind, bool), BookError> {
    let text = std::fs::read_to_string(manifest).map_err(|e| BookError::io("read", manifest, e))?;
    let malformed = |reason: String| BookError::ListingMetadata {
        manifest: manifest.to_path_buf(),
        reason,
    };
    let parsed: Manifest = toml::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    let book = parsed.package.metadata.book;
    let masks = book
        .mask
        .iter()
        .map(|pattern| Regex::new(pattern).map_err(|e| malformed(e.to_string())))
        .collect::<Result<_, _>>()?;
    let check = OutputCheck {
        unordered: book.output == OutputMode::Unordered,
        masks,
    };
    let builds_alone = book.build == BuildMode::Alone;
    let package = parsed.package.name;
    if parsed.lib.crate_type.iter().any(|kind| kind == "cdylib") {
        let module = parsed.lib.name.unwrap_or_else(|| package.replace('-', "_"));
        let kind = ListingKind::Extension {
            package,
            module,
            check,
        };
        return Ok((kind, builds_alone));
    }
    Ok((ListingKind::Program { package, check }, builds_alone))
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>, BookError> {
    let entries = std::fs::read_dir(dir).map_err(|e| BookError::io("read", dir, e))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| BookError::io("read", dir, e))?.path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
