//! Generates one test per ```` ```rust ```` block of the rendered book.
//!
//! The chapters are expanded by mdBook's own link preprocessor (through
//! `bookctl`), so `{{#include}}` and `{{#rustdoc_include}}` come out exactly as
//! the reader sees them, hidden lines included. The expanded markdown goes to
//! skeptic, which writes `skeptic-tests.rs` for `tests/skeptic.rs` to include.

use std::path::{Path, PathBuf};

use bookctl::Book;
use bookctl::listings::{self, ListingKind};
use bookctl::snippets::split_compile_fail;

fn main() {
    if let Err(error) = generate() {
        eprintln!("error: cannot generate the book's snippet tests: {error}");
        std::process::exit(1);
    }
}

fn generate() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .ok_or("tests/ has no parent directory")?
        .to_path_buf();
    for input in ["book.toml", "src", "listings"] {
        println!("cargo::rerun-if-changed={}", root.join(input).display());
    }

    let compile_fail_listings = compile_fail_sources(&root)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?).join("chapters");
    std::fs::create_dir_all(&out_dir)?;

    let mut expanded = Vec::new();
    for chapter in Book::open(&root)?.expanded_chapters()? {
        let split = split_compile_fail(&chapter.content);
        for code in &split.compile_fail {
            if !compile_fail_listings
                .iter()
                .any(|source| source.trim_end() == code.trim_end())
            {
                return Err(format!(
                    "{}: a compile_fail block must include a compile-fail listing \
                     (listings/<chapter>/<folder>/main.rs) verbatim, so that trybuild checks it",
                    chapter.path.display()
                )
                .into());
            }
        }
        // skeptic names each test after the file: threads/channels.md -> threads_channels_…
        let flat_name = chapter.path.to_string_lossy().replace(['/', '\\'], "_");
        let path = out_dir.join(flat_name);
        write_if_changed(&path, &split.runnable)?;
        expanded.push(path);
    }
    // A chapter that was removed or renamed leaves no stale tests behind.
    for entry in std::fs::read_dir(&out_dir)? {
        let path = entry?.path();
        if !expanded.contains(&path) {
            std::fs::remove_file(&path)?;
        }
    }
    skeptic::generate_doc_tests(&expanded);
    Ok(())
}

/// skeptic asks cargo to rerun this script when a file it read changes, so an
/// unchanged chapter must keep its timestamp: rewriting it would rebuild the
/// tests (and miss skeptic's binary cache) on every run.
fn write_if_changed(path: &Path, content: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content)
}

/// The text of every compile-fail listing, as a chapter would include it.
fn compile_fail_sources(root: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut sources = Vec::new();
    for listing in listings::discover(root)? {
        if let ListingKind::CompileFail = listing.kind {
            sources.push(std::fs::read_to_string(listing.dir.join("main.rs"))?);
        }
    }
    Ok(sources)
}
