//! The book as a whole: it renders without a warning, its internal links
//! resolve, every listing is shown by a chapter, and every chapter file is in
//! SUMMARY.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bookctl::book::render_editions;
use bookctl::results::{self, Key, KeyBuilder, Passed};
use bookctl::{Book, linkcheck, listings};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the book's root")
}

/// What rendering the book depends on: this test (its executable, rebuilt
/// with bookctl and mdBook) and every file under `book.toml`, `src/`,
/// `theme/`, `listings/` (which chapters include) and `po/` (the Chinese
/// edition). `None` (always run)
/// if one cannot be read.
fn render_inputs() -> Option<Key> {
    let mut key = KeyBuilder::new("book renders v2")
        .running_executable()?
        .part(&std::fs::read(root().join("book.toml")).ok()?);
    for dir in ["src", "theme", "listings", "po"] {
        key = results::hash_tree(key.part(dir.as_bytes()), &root().join(dir)).ok()?;
    }
    Some(key.finish())
}

/// Both editions, the English and the Chinese under `zh-CN/`, whose
/// relative links must resolve as well.
/// Rendering is most of this binary's time: a render that passed is not
/// repeated until the book changes (`bookctl::results`;
/// `BOOK_TEST_CACHE=off` renders every time, as CI does).
#[test]
fn renders_without_warnings_and_every_internal_link_resolves() {
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/book"));
    let inputs = render_inputs();
    if inputs.as_ref().is_some_and(|key| passed.contains(key)) {
        return;
    }
    let dest = tempfile::tempdir().expect("a temporary directory");
    let html = render_editions(root(), Some(dest.path()), Book::without_search_index)
        .expect("mdBook renders both editions without warnings");
    assert!(html.join("index.html").is_file());
    assert!(html.join("zh-CN/index.html").is_file());
    let broken = linkcheck::broken_links(&html).expect("the rendered pages are readable");
    assert!(broken.is_empty(), "broken internal links: {broken:#?}");
    if let Some(key) = inputs {
        passed.insert(&key);
    }
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
        // An extension module's library is tested by its Python programs
        // (tests/tests/extensions.rs), which build it themselves.
        .filter(|listing| !matches!(listing.kind, listings::ListingKind::Extension { .. }))
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

/// Figures that look measured but are not: the ceiling of a parallel speedup
/// on a two-core machine, and the targets the measurements are held to.
const NOT_MEASURED: &[&str] = &["2.0x", "1.1 s"];

#[test]
fn every_measured_figure_in_the_prose_comes_from_src_measured() {
    // A figure with decimals and a unit ("1.083 s", "46.0 MiB", "1.98x") in a
    // chapter's prose is a measurement. It must appear in one of the files
    // `cargo book bench` writes, so that a re-run which changes it fails here
    // until the text is updated. Code blocks are skipped: they show programs
    // and their output, not claims.
    let book = Book::open(root()).expect("the book loads");
    let measured_dir = book.source_dir().join("measured");
    let mut measured = String::new();
    for entry in std::fs::read_dir(&measured_dir).expect("src/measured is readable") {
        let path = entry.expect("a readable directory entry").path();
        let is_table = path.extension().is_some_and(|ext| ext == "md")
            && path.file_name().is_some_and(|name| name != "index.md");
        if is_table {
            measured.push_str(&std::fs::read_to_string(&path).expect("a readable measured file"));
        }
    }
    let figure = regex::Regex::new(r"(\d[\d,]*\.\d+) ?(?:ms|µs|ns|s|MiB|KiB|GiB|x)\b")
        .expect("a valid pattern");
    let mut untraced = Vec::new();
    for chapter in book.source_chapters() {
        for text in prose_of(&chapter.content) {
            for found in figure.captures_iter(&text) {
                let (whole, number) = (&found[0], &found[1]);
                if !NOT_MEASURED.contains(&whole) && !holds_number(&measured, number) {
                    untraced.push(format!("{}: {whole}", chapter.path.display()));
                }
            }
        }
    }
    assert!(
        untraced.is_empty(),
        "figures in the prose that no file under src/measured/ holds \
         (re-measured? update the text): {untraced:#?}"
    );
}

/// Whether `text` holds `number` as a whole number: "1.4" is not in "11.45".
fn holds_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// The text of a chapter outside code blocks and inline code, one string per
/// paragraph-level run of text.
fn prose_of(markdown: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut runs = Vec::new();
    let mut current = String::new();
    let mut in_code_block = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(text) if !in_code_block => current.push_str(&text),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::End(_) => runs.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    runs.push(current);
    runs
}
