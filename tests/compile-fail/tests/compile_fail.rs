//! The programs the book shows Rust rejecting: every `listings/*/*/main.rs`
//! (a listing folder without a `Cargo.toml`) must fail to compile with exactly
//! the error in the `main.stderr` beside it, which is what the book shows.
//!
//! After a compiler upgrade changes a message, rewrite the snapshots with
//! `TRYBUILD=overwrite cargo test -p book-compile-fail`.

use std::path::Path;

#[test]
fn rejected_programs_fail_with_the_errors_the_book_shows() {
    let listings = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../listings");
    let pattern = listings.join("*/*/main.rs");
    let pattern = pattern.to_str().expect("the checkout's path is UTF-8");
    let found = glob_count(&listings);
    assert!(
        found > 0,
        "no compile-fail listing under {}",
        listings.display()
    );
    trybuild::TestCases::new().compile_fail(pattern);
}

/// How many compile-fail listings exist, so that an empty glob fails loudly.
fn glob_count(listings: &Path) -> usize {
    let Ok(chapters) = std::fs::read_dir(listings) else {
        return 0;
    };
    chapters
        .flatten()
        .filter_map(|chapter| std::fs::read_dir(chapter.path()).ok())
        .flatten()
        .flatten()
        .filter(|listing| listing.path().join("main.rs").is_file())
        .count()
}
