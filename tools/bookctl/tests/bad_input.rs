//! `cargo book` on broken input: a clear message, a non-zero exit, no panic,
//! and nothing of the reader's lost.

use std::path::Path;
use std::process::{Command, Output};

fn bookctl(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bookctl"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .expect("bookctl starts")
}

/// A small valid book: one chapter that includes one file.
fn small_book() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "book.toml",
        "[book]\ntitle = \"Test\"\n[build]\ncreate-missing = false\n",
    );
    write("src/SUMMARY.md", "# Summary\n\n- [Chapter](chapter.md)\n");
    write(
        "src/chapter.md",
        "# Chapter\n\n```rust\n{{#include ../code/main.rs:body}}\n```\n",
    );
    write(
        "code/main.rs",
        "// ANCHOR: body\nfn main() {}\n// ANCHOR_END: body\n",
    );
    dir
}

fn assert_fails_with(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "expected a failure, got success");
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains(expected),
        "stderr lacks {expected:?}:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "bookctl panicked:\n{stderr}");
}

#[test]
fn a_valid_book_builds() {
    let book = small_book();
    let output = bookctl(book.path(), &["build"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(book.path().join("book/chapter.html").is_file());
}

#[test]
fn a_directory_without_book_toml_is_refused() {
    let empty = tempfile::tempdir().expect("a temporary directory");
    assert_fails_with(&bookctl(empty.path(), &["build"]), "no book.toml in");
}

#[test]
fn a_chapter_missing_from_disk_is_reported() {
    let book = small_book();
    std::fs::remove_file(book.path().join("src/chapter.md")).expect("remove");
    assert_fails_with(&bookctl(book.path(), &["build"]), "chapter.md");
    // create-missing = false: the tool must not invent an empty chapter.
    assert!(!book.path().join("src/chapter.md").exists());
}

#[test]
fn a_missing_included_file_is_reported() {
    let book = small_book();
    std::fs::remove_file(book.path().join("code/main.rs")).expect("remove");
    assert_fails_with(&bookctl(book.path(), &["build"]), "cannot read");
}

#[test]
fn a_missing_anchor_is_reported() {
    let book = small_book();
    std::fs::write(book.path().join("code/main.rs"), "fn main() {}\n").expect("write");
    assert_fails_with(&bookctl(book.path(), &["build"]), "ANCHOR: body");
}

#[test]
fn a_malformed_book_toml_is_reported() {
    let book = small_book();
    std::fs::write(book.path().join("book.toml"), "[book\ntitle = ").expect("write");
    assert_fails_with(&bookctl(book.path(), &["build"]), "could not load the book");
}

#[test]
fn a_broken_link_is_reported() {
    let book = small_book();
    let chapter = book.path().join("src/chapter.md");
    std::fs::write(&chapter, "# Chapter\n\nSee [the other page](other.md).\n").expect("write");
    assert_fails_with(&bookctl(book.path(), &["build"]), "broken internal links");
    // The reader's source is untouched.
    let text = std::fs::read_to_string(&chapter).expect("read");
    assert!(text.contains("[the other page](other.md)"));
}

#[test]
fn outputs_without_listings_is_reported() {
    let book = small_book();
    assert_fails_with(&bookctl(book.path(), &["outputs"]), "listings");
}

#[test]
fn links_needs_a_rendered_book() {
    let empty = tempfile::tempdir().expect("a temporary directory");
    let path = empty.path().to_str().expect("a UTF-8 temporary path");
    assert_fails_with(&bookctl(empty.path(), &["links", path]), "no index.html");
}

#[test]
fn a_destination_that_is_not_a_book_is_left_alone() {
    let book = small_book();
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let precious = elsewhere.path().join("notes.txt");
    std::fs::write(&precious, "keep me").expect("write");
    let dest = elsewhere.path().to_str().expect("a UTF-8 temporary path");
    assert_fails_with(
        &bookctl(book.path(), &["build", "--dest", dest]),
        "not empty",
    );
    assert_eq!(
        std::fs::read_to_string(&precious).expect("still there"),
        "keep me"
    );
}

#[test]
fn rebuilding_into_an_earlier_output_works() {
    let book = small_book();
    for _ in 0..2 {
        let output = bookctl(book.path(), &["build"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn bench_rejects_an_unknown_suite_before_building_anything() {
    let book = small_book();
    let output = bookctl(book.path(), &["bench", "--quick", "--only", "nope"]);
    assert_fails_with(&output, "there is no benchmark suite \"nope\"");
    assert_fails_with(&output, "cpu, sleepers, echo, no-gil");
    assert!(!book.path().join("target").exists(), "it wrote output");
}

#[test]
fn bench_rejects_zero_runs() {
    let book = small_book();
    let output = bookctl(book.path(), &["bench", "--runs", "0", "--only", "cpu"]);
    assert_fails_with(&output, "--runs must be at least 1");
}

#[test]
fn bench_rejects_a_python_that_does_not_run_before_building_anything() {
    let book = small_book();
    let missing = book.path().join("no-such-python3");
    let output = bookctl(
        book.path(),
        &[
            "bench",
            "--quick",
            "--only",
            "cpu",
            "--python",
            missing.to_str().expect("a UTF-8 path"),
        ],
    );
    assert_fails_with(&output, "not a CPython 3 interpreter that runs here");
    assert!(
        !book.path().join("target").exists(),
        "it built or wrote output"
    );
}
