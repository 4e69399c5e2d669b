//! Every listing program is run and its output compared with the
//! `output.txt` the book shows: exactly, or by the invariant its `Cargo.toml`
//! declares (see CONTRIBUTING.md). Regenerate them all with
//! `cargo book outputs --bless`.
//!
//! A listing whose executable and folder are unchanged since it last passed
//! is not run again (`bookctl::results`, kept under `target/`;
//! `BOOK_TEST_CACHE=off` runs them all, as CI does).

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use bookctl::listings::{self, Listing, ListingKind};
use bookctl::outputs::{self, Outcome};
use bookctl::results::{self, Key, KeyBuilder, Passed};

#[test]
fn every_listing_prints_what_the_book_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the book's root");
    let programs: Vec<_> = listings::discover(root)
        .expect("the listings are readable")
        .into_iter()
        .filter(|listing| matches!(listing.kind, ListingKind::Program { .. }))
        .collect();
    assert!(
        !programs.is_empty(),
        "no listing package found under listings/"
    );
    let executables = outputs::build(root)
        .expect("the listings build")
        .executables;
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/listings"));

    // Four listings at a time: most of them wait more than they compute, and
    // their timings are masked, so sharing the cores changes no comparison.
    let next = AtomicUsize::new(0);
    let problems = Mutex::new(Vec::new());
    let ran = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(listing) = programs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ListingKind::Program { package, .. } = &listing.kind else {
                        continue;
                    };
                    let executable = &executables[package];
                    let key = key(listing, executable);
                    if key.as_ref().is_some_and(|key| passed.contains(key)) {
                        continue;
                    }
                    ran.fetch_add(1, Ordering::Relaxed);
                    let problem = match outputs::check(listing, executable, false) {
                        Outcome::Matches | Outcome::Blessed => {
                            if let Some(key) = &key {
                                passed.insert(key);
                            }
                            continue;
                        }
                        Outcome::Differs { expected, actual } => format!(
                            "{package}: output differs\n--- output.txt\n{expected}--- this run\n{actual}"
                        ),
                        Outcome::Failed(reason) => format!("{package}: {reason}"),
                    };
                    problems.lock().expect("no checker panicked").push(problem);
                }
            });
        }
    });
    if passed.is_on() {
        let _ = writeln!(
            std::io::stderr(),
            "listing outputs: {} of {} run, the others unchanged since they passed ({}=off runs all)",
            ran.into_inner(),
            programs.len(),
            results::SWITCH
        );
    }
    let problems = problems.into_inner().expect("no checker panicked");
    assert!(
        problems.is_empty(),
        "{}\n(if the change is intended: cargo book outputs --bless)",
        problems.join("\n\n")
    );
}

/// What a listing's check depends on: its executable (cargo rewrites it, with
/// a new modification time, whenever it rebuilds it) and every file in its
/// folder (`output.txt`, the masks in `Cargo.toml`, anything it reads).
/// `None` (always run) if one of them cannot be read.
fn key(listing: &Listing, executable: &Path) -> Option<Key> {
    let key = KeyBuilder::new("listing output v1")
        .part(executable.to_string_lossy().as_bytes())
        .file_stamp(executable)?;
    results::hash_tree(key, &listing.dir)
        .ok()
        .map(KeyBuilder::finish)
}
