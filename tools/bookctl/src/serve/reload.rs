//! Rebuilding the book when its sources change, and telling pages about it.
//!
//! Changes are reported by the operating system through [notify] (inotify on
//! Linux, FSEvents on macOS), or found by polling where such events are
//! unreliable (network and container file systems: `--poll`, or when the
//! system refuses to watch). Each build renders into a new temporary
//! directory, so a page being served never sees a half-written book; a
//! failed build keeps the last good one and carries the error to the pages.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::watch;

use crate::book::render_editions;

/// How often sources are scanned when polling.
const POLL: Duration = Duration::from_millis(100);
/// An editor saves a file in several steps (write, rename, change its
/// attributes): a change is acted on once this long has passed without another.
const SETTLE: Duration = Duration::from_millis(30);
/// How often the watching thread checks whether the server is stopping.
const STOP_CHECK: Duration = Duration::from_millis(100);

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
    let html = render_editions(root, Some(&dir.path().join("book")), |book| match index {
        SearchIndex::Empty => book.with_empty_search_index(),
        SearchIndex::Full => Ok(book),
    })?;
    Ok(Site { html, _dir: dir })
}

/// The book's sources, watched from the moment this is made: a change made
/// while the first build runs is not missed.
pub struct Sources {
    root: PathBuf,
    changes: mpsc::Receiver<notify::Result<notify::Event>>,
    /// Stops watching when dropped.
    _watcher: Box<dyn Watcher + Send>,
    /// "file system events" or "polling …", for the terminal.
    pub how: String,
}

/// The trees whose changes trigger a rebuild, under the book's root; and
/// `book.toml`, watched through the root itself (non-recursively) so that
/// an editor replacing the file is seen too.
const WATCHED: [&str; 4] = ["src", "listings", "theme", "po"];

impl Sources {
    /// Starts watching the book at `root`, with file system events unless
    /// `poll` (or unless the system refuses them: then by polling).
    pub fn watch(root: &Path, poll: bool) -> anyhow::Result<Sources> {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let (sender, changes) = mpsc::channel();
        let events = if poll {
            Err(anyhow::anyhow!("--poll"))
        } else {
            notify::recommended_watcher(sender.clone())
                .map_err(anyhow::Error::from)
                .and_then(|watcher| watch_all(watcher, &root))
        };
        let (watcher, how): (Box<dyn Watcher + Send>, String) = match events {
            Ok(watcher) => (watcher, "file system events".to_owned()),
            Err(why) => {
                let config = notify::Config::default().with_poll_interval(POLL);
                let poller = notify::PollWatcher::new(sender, config)
                    .context("cannot watch the book's sources")?;
                let poller = watch_all(poller, &root)?;
                let how = format!("polling every {} ms ({why:#})", POLL.as_millis());
                (poller, how)
            }
        };
        Ok(Sources {
            root,
            changes,
            _watcher: watcher,
            how,
        })
    }

    /// Whether `event` changes the book (rather than reading it, or
    /// touching build output or an editor's hidden files).
    fn matters(&self, event: &notify::Event) -> bool {
        if matches!(event.kind, EventKind::Access(_)) {
            return false;
        }
        event.paths.iter().any(|path| {
            let Ok(relative) = path.strip_prefix(&self.root) else {
                return false;
            };
            let mut parts = relative.components().map(|c| match c {
                Component::Normal(part) => part.to_str().unwrap_or_default(),
                _ => "",
            });
            match parts.next() {
                Some("book.toml") => parts.next().is_none(),
                Some(top) if WATCHED.contains(&top) => {
                    parts.all(|part| part != "target" && !part.starts_with('.'))
                }
                _ => false,
            }
        })
    }
}

/// Watches the book's trees and root with `watcher`.
fn watch_all<W: Watcher + Send + 'static>(
    mut watcher: W,
    root: &Path,
) -> anyhow::Result<Box<dyn Watcher + Send>> {
    for tree in WATCHED {
        let path = root.join(tree);
        if path.is_dir() {
            watcher
                .watch(&path, RecursiveMode::Recursive)
                .with_context(|| format!("cannot watch {}", path.display()))?;
        }
    }
    watcher
        .watch(root, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", root.display()))?;
    Ok(Box::new(watcher))
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
            while !this.stopping.load(Ordering::Relaxed) {
                let event = match sources.changes.recv_timeout(STOP_CHECK) {
                    Ok(Ok(event)) => event,
                    // A watch error (a removed directory, say) is no change.
                    Ok(Err(_)) | Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                if !sources.matters(&event) {
                    continue;
                }
                // Let the save finish: everything until a quiet moment is one change.
                while sources.changes.recv_timeout(SETTLE).is_ok() {}
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (bounded) for a change that matters; whether one came.
    fn sees_a_change(sources: &Sources) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match sources.changes.recv_timeout(left) {
                Ok(Ok(event)) if sources.matters(&event) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    /// A chapter saved after watching started is seen, and nothing before it.
    fn a_saved_chapter_is_seen(poll: bool) {
        let book = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(book.path().join("src")).expect("mkdir");
        let sources = Sources::watch(book.path(), poll).expect("watching starts");
        assert_eq!(sources.how.starts_with("polling"), poll, "{}", sources.how);
        std::thread::sleep(3 * POLL);
        assert!(
            !sources
                .changes
                .try_iter()
                .flatten()
                .any(|e| sources.matters(&e)),
            "{}: a change before any",
            sources.how
        );
        std::fs::write(book.path().join("src/one.md"), "# One\n").expect("write");
        assert!(sees_a_change(&sources), "{}: no change seen", sources.how);
    }

    #[test]
    fn a_saved_chapter_is_seen_with_events() {
        a_saved_chapter_is_seen(false);
    }

    #[test]
    fn a_saved_chapter_is_seen_by_polling() {
        a_saved_chapter_is_seen(true);
    }

    #[test]
    fn only_changes_to_the_sources_matter() {
        let book = tempfile::tempdir().expect("a temporary directory");
        let sources = Sources::watch(book.path(), true).expect("watching starts");
        let change = |relative: &str, kind| notify::Event {
            kind,
            paths: vec![sources.root.join(relative)],
            attrs: Default::default(),
        };
        let modified = EventKind::Modify(notify::event::ModifyKind::Any);
        let read = EventKind::Access(notify::event::AccessKind::Any);
        assert!(sources.matters(&change("src/one.md", modified)));
        assert!(sources.matters(&change("book.toml", modified)));
        assert!(sources.matters(&change("listings/a/src/main.rs", modified)));
        assert!(!sources.matters(&change("src/one.md", read)), "reading");
        assert!(!sources.matters(&change("Cargo.lock", modified)));
        assert!(!sources.matters(&change("listings/a/target/x", modified)));
        assert!(!sources.matters(&change("src/.one.md.swp", modified)));
    }
}
