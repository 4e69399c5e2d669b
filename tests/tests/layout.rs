//! The side-by-side panes at laptop and desktop widths (1280, 1366, 1400 and
//! 1920 px, sidebar open and closed), in headless Chromium: a pair shown side
//! by side never sits under mdBook's previous/next arrows and never clips its
//! code; one that would is stacked (theme/parallel.js).
//! tests/browser/layout.mjs measures the bounding boxes on every page that
//! has a pair.
//!
//! A pass is recorded under `target/` (`bookctl::results`) with a digest of
//! everything the layout depends on (the chapters, the theme, book.toml, the
//! script and the browser's path): a warm `cargo test` with none of them
//! changed does not measure again. A failure is never recorded, and
//! `BOOK_TEST_CACHE=off` (CI) always measures.
//!
//! It needs Chromium, Node.js and `npm ci` in tests/browser (`.ci/run` sets
//! them up). Without them the test is skipped, and says so; with
//! `BOOK_BROWSER_TEST_REQUIRED` set (as in CI) it fails instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use bookctl::Book;
use bookctl::results::{self, Key, KeyBuilder, Passed};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the book's root")
}

/// Why the layout test cannot run here, if it cannot.
fn missing_prerequisite(chromium: &Path) -> Option<String> {
    if !chromium.is_file() {
        return Some(format!(
            "no Chromium at {} (install Debian's `chromium`, or set CHROMIUM)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no `node` on the PATH".to_owned());
    }
    if !root()
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        return Some("playwright-core is not installed (run `npm ci` in tests/browser)".to_owned());
    }
    None
}

/// Everything the layout depends on: the chapters, the theme, book.toml, the
/// script and the browser; `None` if one cannot be read.
fn layout_inputs(chromium: &Path) -> Option<Key> {
    let mut key = KeyBuilder::new("layout v1")
        .part(chromium.as_os_str().as_encoded_bytes())
        .part(&std::fs::read(root().join("book.toml")).ok()?)
        .part(&std::fs::read(root().join("tests/browser/layout.mjs")).ok()?);
    for dir in ["src", "theme", "listings"] {
        key = results::hash_tree(key.part(dir.as_bytes()), &root().join(dir)).ok()?;
    }
    Some(key.finish())
}

#[test]
fn side_by_side_panes_fit_between_the_arrows_at_laptop_widths() {
    let chromium =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    if let Some(why) = missing_prerequisite(&chromium) {
        // CI installs everything, and must not pass by skipping.
        if std::env::var_os("BOOK_BROWSER_TEST_REQUIRED").is_some() {
            panic!("the layout test cannot run: {why}");
        }
        // Straight to stderr: libtest hides the `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "SKIPPED layout test: {why}");
        return;
    }
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/layout"));
    let inputs = layout_inputs(&chromium);
    if inputs.as_ref().is_some_and(|key| passed.contains(key)) {
        return;
    }
    let book = Book::open(root())
        .and_then(Book::without_search_index)
        .expect("the book loads");
    let dest = tempfile::tempdir().expect("a temporary directory");
    let html = book
        .render_html(Some(dest.path()))
        .expect("mdBook renders the book");

    let output = Command::new("node")
        .arg(root().join("tests/browser/layout.mjs"))
        .arg(&html)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "the side-by-side layout fails:\n{stdout}\n{stderr}"
    );
    // How many pairs stood side by side at each width.
    let _ = write!(std::io::stderr(), "{stdout}");
    if let Some(key) = inputs {
        passed.insert(&key);
    }
}
