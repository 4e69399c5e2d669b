//! The programs the book shows Rust rejecting: every `listings/*/*/main.rs`
//! without a `Cargo.toml` must fail to compile with exactly the error in the
//! `main.stderr` beside it, which is what the book shows.
//!
//! After a compiler upgrade changes a message, rewrite the snapshots with
//! `TRYBUILD=overwrite cargo test -p book-tests --test compile_fail`.

use std::path::Path;

use bookctl::listings::{self, ListingKind};

#[test]
fn rejected_programs_fail_with_the_errors_the_book_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the book's root");
    let cases = trybuild::TestCases::new();
    let mut count = 0;
    for listing in listings::discover(root).expect("the listings directory is readable") {
        if let ListingKind::CompileFail = listing.kind {
            cases.compile_fail(listing.dir.join("main.rs"));
            count += 1;
        }
    }
    assert!(count > 0, "no compile-fail listing found under listings/");
}
