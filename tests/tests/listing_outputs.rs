//! Every listing program is run and its output compared with the
//! `output.txt` the book shows: exactly, or by the invariant its `Cargo.toml`
//! declares (see CONTRIBUTING.md). Regenerate them all with
//! `cargo book outputs --bless`.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use bookctl::listings::{self, ListingKind};
use bookctl::outputs::{self, Outcome};

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
    let executables = outputs::build(root, &programs).expect("the listings build");

    // Four listings at a time: most of them wait more than they compute, and
    // their timings are masked, so sharing the cores changes no comparison.
    let next = AtomicUsize::new(0);
    let problems = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(listing) = programs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ListingKind::Program { package, .. } = &listing.kind else {
                        continue;
                    };
                    let problem = match outputs::check(listing, &executables[package], false) {
                        Outcome::Matches | Outcome::Blessed => continue,
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
    let problems = problems.into_inner().expect("no checker panicked");
    assert!(
        problems.is_empty(),
        "{}\n(if the change is intended: cargo book outputs --bless)",
        problems.join("\n\n")
    );
}
