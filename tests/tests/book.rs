//! The book as a whole: it renders without a warning, its internal links
//! resolve, every listing is shown by a chapter, and every chapter file is in
//! SUMMARY.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bookctl::{Book, linkcheck, listings};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the book's root")
}

#[test]
fn renders_without_warnings_and_every_internal_link_resolves() {
    let book = Book::open(root())
        .and_then(Book::without_search_index)
        .expect("the book loads");
    let dest = tempfile::tempdir().expect("a temporary directory");
    let html = book
        .render_html(Some(dest.path()))
        .expect("mdBook renders the book without warnings");
    assert!(html.join("index.html").is_file());
    let broken = linkcheck::broken_links(&html).expect("the rendered pages are readable");
    assert!(broken.is_empty(), "broken internal links: {broken:#?}");
}

#[test]
fn every_listing_is_shown_by_some_chapter() {
    let book = Book::open(root()).expect("the book loads");
    let chapters: String = book
        .source_chapters()
        .into_iter()
        .map(|chapter| chapter.content)
        .collect();
    let unused: Vec<String> = listings::discover(root())
        .expect("the listings are readable")
        .into_iter()
        .filter(|listing| !chapters.contains(&format!("listings/{}/", listing.id)))
        .map(|listing| listing.id)
        .collect();
    assert!(
        unused.is_empty(),
        "listings no chapter includes: {unused:?}"
    );
}

#[test]
fn every_chapter_file_is_in_the_summary() {
    let book = Book::open(root()).expect("the book loads");
    let in_summary: BTreeSet<PathBuf> = book
        .source_chapters()
        .into_iter()
        .map(|chapter| chapter.path)
        .collect();
    let mut on_disk = BTreeSet::new();
    collect_markdown(&book.source_dir(), &book.source_dir(), &mut on_disk);
    on_disk.remove(Path::new("SUMMARY.md"));
    // Files that chapters include (measured tables) are not chapters themselves.
    on_disk.retain(|path| !path.starts_with("measured"));
    let missing: Vec<_> = on_disk.difference(&in_summary).collect();
    assert!(
        missing.is_empty(),
        "chapter files missing from SUMMARY.md: {missing:?}"
    );
}

fn collect_markdown(base: &Path, dir: &Path, found: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the chapter directory is readable") {
        let path = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            collect_markdown(base, &path, found);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            let relative = path
                .strip_prefix(base)
                .expect("inside the source directory");
            found.insert(relative.to_path_buf());
        }
    }
}

#[test]
fn every_listing_with_tests_of_its_own_runs_them_under_cargo_test() {
    // A bare `cargo test` covers only the workspace's default members.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("root Cargo.toml");
    let default_members = manifest
        .split_once("default-members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("the root Cargo.toml lists default-members");
    let missing: Vec<String> = listings::discover(root())
        .expect("the listings are readable")
        .into_iter()
        .filter(|listing| {
            listing.dir.join("tests").is_dir() || listing.dir.join("src/lib.rs").is_file()
        })
        .filter(|listing| !default_members.contains(&format!("\"listings/{}\"", listing.id)))
        .map(|listing| listing.id)
        .collect();
    assert!(
        missing.is_empty(),
        "listings with tests that `cargo test` would skip; add them to default-members: {missing:?}"
    );
}

#[test]
fn no_anchor_marker_shows_in_the_rendered_code() {
    // `{{#include file}}` of a whole file keeps its `// ANCHOR:` lines: a
    // listing shown whole must not carry anchors that no chapter uses.
    let book = Book::open(root()).expect("the book loads");
    let shown: Vec<String> = book
        .expanded_chapters()
        .expect("the chapters expand")
        .into_iter()
        .filter(|chapter| {
            chapter.content.contains("ANCHOR:") || chapter.content.contains("ANCHOR_END:")
        })
        .map(|chapter| chapter.path.display().to_string())
        .collect();
    assert!(
        shown.is_empty(),
        "chapters that show ANCHOR lines: {shown:?}"
    );
}
