//! Rebuilding the book when its sources change, and telling pages about it.
//!
//! Change detection polls the modification times of the watched trees ten
//! times a second: no dependency, no platform differences, and cheap for a
//! book of a few hundred files (a walk takes a millisecond or two). Each build renders into a new temporary
//! directory, so a page being served never sees a half-written book; a
//! failed build keeps the last good one and carries the error to the pages.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::Book;

/// How often the sources are checked for changes.
const POLL: Duration = Duration::from_millis(100);

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

/// Whether a rendering builds the search index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchIndex {
    Full,
    /// The search bar stays but finds nothing: about three times quicker.
    Empty,
}

/// Renders the book at `root` into a new temporary directory under `workdir`.
pub fn render(root: &Path, workdir: &Path, index: SearchIndex) -> anyhow::Result<Site> {
    let dir = tempfile::Builder::new()
        .prefix("book-")
        .tempdir_in(workdir)?;
    let mut book = Book::open(root)?;
    if index == SearchIndex::Empty {
        book = book.with_empty_search_index()?;
    }
    let html = book.render_html(Some(&dir.path().join("book")))?;
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

/// Rebuilds the book in background threads, and stops them on request so
/// that the rendered books can be removed.
#[derive(Clone)]
pub struct Rebuilder {
    root: PathBuf,
    /// Where renderings go (removed by the server once this has stopped).
    workdir: PathBuf,
    state: Arc<watch::Sender<Arc<BuildState>>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    stopping: Arc<AtomicBool>,
}

impl Rebuilder {
    pub fn new(root: PathBuf, workdir: PathBuf, state: watch::Sender<Arc<BuildState>>) -> Self {
        Rebuilder {
            root,
            workdir,
            state: Arc::new(state),
            threads: Arc::default(),
            stopping: Arc::default(),
        }
    }

    fn spawn(&self, work: impl FnOnce() + Send + 'static) {
        let thread = std::thread::spawn(work);
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(thread);
    }

    /// Stops watching and waits for renderings under way to finish.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        // The watcher may add an indexing thread until it has stopped itself.
        loop {
            let next = self
                .threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match next {
                Some(thread) => {
                    let _ = thread.join();
                }
                None => break,
            }
        }
    }

    /// Watches the book's sources on a thread of its own and rebuilds it
    /// after every change since `sources` was taken, publishing each result.
    ///
    /// A rebuild first renders without the search index, so that open pages
    /// show the edit within a second, and then renders again with the index
    /// on another thread and swaps that in without reloading the pages
    /// (unless a newer edit has come in meanwhile).
    pub fn watch(&self, sources: Sources) {
        let this = self.clone();
        self.spawn(move || {
            let Sources { paths, mut seen } = sources;
            while !this.stopping.load(Ordering::Relaxed) {
                std::thread::sleep(POLL);
                let now = fingerprint(&paths);
                if now == seen {
                    continue;
                }
                seen = now;
                this.rebuild();
            }
        });
    }

    fn rebuild(&self) {
        println!("Change detected: rebuilding the book…");
        let started = Instant::now();
        let (previous, generation) = {
            let current = self.state.borrow();
            (Arc::clone(&current.site), current.generation)
        };
        let next = match render(&self.root, &self.workdir, SearchIndex::Empty) {
            Ok(site) => {
                let took = started.elapsed().as_secs_f32();
                println!("Rebuilt in {took:.1} s; open pages reload.");
                self.index_in_background(generation + 1);
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
        self.state.send_replace(Arc::new(next));
    }

    /// Renders the book with its search index and serves that in place of
    /// the build `generation`, if that is still the latest; pages do not reload.
    pub fn index_in_background(&self, generation: u64) {
        let this = self.clone();
        self.spawn(move || {
            let Ok(site) = render(&this.root, &this.workdir, SearchIndex::Full) else {
                return; // the next edit brings the error, or fixes it
            };
            this.state.send_if_modified(|current| {
                if current.generation == generation && current.error.is_none() {
                    *current = Arc::new(BuildState {
                        site: Arc::new(site),
                        generation,
                        error: None,
                    });
                }
                false // nothing for the pages to do
            });
        });
    }
}
