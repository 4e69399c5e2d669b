//! Rebuilding the book when its sources change, and telling pages about it.
//!
//! Change detection polls the modification times of the watched trees four
//! times a second: no dependency, no platform differences, and cheap for a
//! book of a few hundred files. Each build renders into a new temporary
//! directory, so a page being served never sees a half-written book; a
//! failed build keeps the last good one and carries the error to the pages.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::Book;

/// How often the sources are checked for changes.
const POLL: Duration = Duration::from_millis(250);

/// A rendered book in a temporary directory, removed when dropped.
pub struct Site {
    /// The directory holding `index.html`.
    pub html: PathBuf,
    _dir: tempfile::TempDir,
}

/// The book being served, and how the latest build went.
pub struct BuildState {
    /// The rendered HTML of the last good build.
    pub site: Arc<Site>,
    /// Counts good builds: a page built from an older one reloads.
    pub generation: u64,
    /// The error of the latest build, if it failed.
    pub error: Option<String>,
}

/// Renders the book at `root` into a new temporary directory.
pub fn render(root: &Path) -> anyhow::Result<Site> {
    let dir = tempfile::Builder::new().prefix("bookctl-book-").tempdir()?;
    let html = Book::open(root)?.render_html(Some(&dir.path().join("book")))?;
    Ok(Site { html, _dir: dir })
}

/// The state of the watched sources, taken before a build so that a change
/// made while it runs is not missed.
pub struct Sources {
    paths: Vec<PathBuf>,
    seen: Vec<(PathBuf, u64, Option<SystemTime>)>,
}

impl Sources {
    pub fn of(root: &Path) -> Sources {
        let paths = watched(root);
        let seen = fingerprint(&paths);
        Sources { paths, seen }
    }
}

/// The files whose changes trigger a rebuild.
fn watched(root: &Path) -> Vec<PathBuf> {
    ["src", "listings", "theme", "book.toml"]
        .iter()
        .map(|name| root.join(name))
        .collect()
}

/// A summary of the watched trees that changes whenever a file is saved,
/// added, removed or renamed: each file's path, size and modification time.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            // Build output of the listings (and editors' swap directories) is not source.
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name == "target" || name.starts_with('.') {
                continue;
            }
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|entry| entry.path()));
            }
        } else {
            files.push((path, meta.len(), meta.modified().ok()));
        }
    }
    files.sort();
    files
}

/// Watches the book at `root` on a thread of its own and rebuilds it after
/// every change since `sources` was taken, publishing each result on `state`.
/// Returns at once.
pub fn watch_and_rebuild(root: PathBuf, sources: Sources, state: watch::Sender<Arc<BuildState>>) {
    std::thread::spawn(move || {
        let Sources { paths, mut seen } = sources;
        // Ends when the server (holding every receiver) has gone.
        while !state.is_closed() {
            std::thread::sleep(POLL);
            let now = fingerprint(&paths);
            if now == seen {
                continue;
            }
            seen = now;
            println!("Change detected: rebuilding the book…");
            let previous = state.borrow().site.clone();
            let generation = state.borrow().generation;
            let next = match render(&root) {
                Ok(site) => {
                    println!("Rebuilt; open pages reload.");
                    BuildState {
                        site: Arc::new(site),
                        generation: generation + 1,
                        error: None,
                    }
                }
                Err(error) => {
                    let error = format!("{error:#}");
                    eprintln!(
                        "error: the book did not build (still serving the last good one):\n{error}"
                    );
                    BuildState {
                        site: previous,
                        generation,
                        error: Some(error),
                    }
                }
            };
            state.send_replace(Arc::new(next));
        }
    });
}
