//! Every listing program is run and its output compared with the
//! `output.txt` the book shows: exactly, or by the invariant its `Cargo.toml`
//! declares (see CONTRIBUTING.md). Regenerate them all with
//! `cargo book outputs --bless`.

use std::path::Path;

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

    let mut problems = Vec::new();
    for listing in &programs {
        let ListingKind::Program { package, .. } = &listing.kind else {
            continue;
        };
        let executable = &executables[package];
        match outputs::check(listing, executable, false) {
            Outcome::Matches | Outcome::Blessed => {}
            Outcome::Differs { expected, actual } => problems.push(format!(
                "{package}: output differs\n--- output.txt\n{expected}--- this run\n{actual}"
            )),
            Outcome::Failed(reason) => problems.push(format!("{package}: {reason}")),
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n(if the change is intended: cargo book outputs --bless)",
        problems.join("\n\n")
    );
}
