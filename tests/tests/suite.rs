//! The book's checks, one module per file, in one test program.
//!
//! One program rather than one per file, for a first `cargo test`'s sake:
//! cargo runs test programs one after another, while the tests inside a
//! program run side by side (two at a time on two cores). Several of these
//! checks leave a core idle for long stretches (the extension modules'
//! single-threaded Python programs, the Python blocks that sleep, the
//! Chromium layout check), and here the others fill it; one program also
//! links the book's tool once instead of eight times.
//!
//! Run one module's checks with a filter: `cargo test -p book-tests --test
//! suite python_blocks::`.

mod book;
mod diagrams;
mod extensions;
mod layout;
mod listing_outputs;
mod python_blocks;
mod python_twins;
mod skeptic;
mod translations;

/// `autotests = false` in this package's manifest: a new file under
/// `tests/tests/` is compiled only as a module here or as a `[[test]]`
/// target there, and would otherwise never run, silently.
#[test]
fn every_file_of_the_suite_is_compiled() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("the manifest reads");
    let modules = include_str!("suite.rs");
    let files = std::fs::read_dir(root.join("tests")).expect("tests/tests lists");
    let mut left_out = Vec::new();
    for file in files {
        let name = file.expect("tests/tests lists").file_name();
        let name = name.to_string_lossy();
        let Some(stem) = name.strip_suffix(".rs") else {
            continue;
        };
        let as_module = format!("\nmod {stem};");
        let as_target = format!("path = \"tests/{name}\"");
        if !modules.contains(&as_module) && !manifest.contains(&as_target) {
            left_out.push(name.into_owned());
        }
    }
    assert!(
        left_out.is_empty(),
        "never compiled: {}; add `mod …;` to tests/tests/suite.rs, or a [[test]] to tests/Cargo.toml",
        left_out.join(", ")
    );
}
