//! A record of the checks that passed, so that a warm `cargo test` runs again
//! only what changed.
//!
//! A check (a Python block on one interpreter, a listing's output) is named
//! by a [`Key`]: a SHA-256 of everything its outcome depends on (the
//! program's text or its executable, what it is compared with, the
//! interpreter and the modules installed in it). A check that passes leaves
//! an empty file named after its key; a later run finds it and skips the
//! check. A failure leaves nothing, so it runs, and fails, every time until
//! it is fixed. The record lives under `target/`, so a fresh clone (CI)
//! runs everything; `BOOK_TEST_CACHE=off` ignores it anywhere.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The environment variable that turns the record off (`off` or `0`).
pub const SWITCH: &str = "BOOK_TEST_CACHE";

/// Everything a check's outcome depends on, hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(String);

/// Builds a [`Key`] from parts; each part is length-prefixed, so that
/// `("ab", "c")` and `("a", "bc")` differ.
#[derive(Clone, Default)]
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    pub fn new(kind: &str) -> KeyBuilder {
        KeyBuilder::default().part(kind.as_bytes())
    }

    pub fn part(mut self, bytes: &[u8]) -> KeyBuilder {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// Adds the running executable's size and modification time: a test's
    /// executable is rebuilt whenever its code, bookctl or the compiler
    /// changes. `None` if it cannot be read (then nothing is recorded).
    pub fn running_executable(self) -> Option<KeyBuilder> {
        self.file_stamp(&std::env::current_exe().ok()?)
    }

    /// Adds the size and modification time of the file at `path` (an
    /// executable, which a build rewrites whole): cheaper than its contents.
    /// `None` if it cannot be read.
    pub fn file_stamp(self, path: &Path) -> Option<KeyBuilder> {
        let metadata = std::fs::metadata(path).ok()?;
        let modified = metadata
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(
            self.part(&metadata.len().to_le_bytes())
                .part(&modified.as_nanos().to_le_bytes()),
        )
    }

    pub fn finish(self) -> Key {
        let digest = self.0.finalize();
        Key(digest.iter().map(|byte| format!("{byte:02x}")).collect())
    }
}

/// The record of passed checks in one directory (none when turned off).
#[derive(Clone, Debug)]
pub struct Passed {
    dir: Option<PathBuf>,
}

impl Passed {
    /// The record in `dir`, unless [`SWITCH`] turns it off.
    pub fn open(dir: &Path) -> Passed {
        let off = std::env::var(SWITCH).is_ok_and(|value| value == "off" || value == "0");
        Passed::at(if off { None } else { Some(dir.to_path_buf()) })
    }

    /// The record in `dir`, or no record at all.
    pub fn at(dir: Option<PathBuf>) -> Passed {
        Passed { dir }
    }

    /// Whether a check with this key passed before.
    pub fn contains(&self, key: &Key) -> bool {
        self.dir
            .as_ref()
            .is_some_and(|dir| dir.join(&key.0).is_file())
    }

    /// Records that the check with this key passed. Only a pass is ever
    /// recorded; a record that cannot be written only costs a rerun.
    pub fn insert(&self, key: &Key) {
        if let Some(dir) = &self.dir
            && std::fs::create_dir_all(dir).is_ok()
        {
            let _ = std::fs::write(dir.join(&key.0), b"");
        }
    }

    /// Whether checks are recorded at all.
    pub fn is_on(&self) -> bool {
        self.dir.is_some()
    }
}

/// Every file under `dir` (recursively, `target` folders left out), with
/// its path relative to `dir` and its contents, in a stable order: what a
/// program run in `dir` may read.
pub fn hash_tree(mut key: KeyBuilder, dir: &Path) -> std::io::Result<KeyBuilder> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if entry.file_name() != "target" {
                    pending.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for file in files {
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        key = key
            .part(relative.to_string_lossy().as_bytes())
            .part(&std::fs::read(&file)?);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_kept_apart() {
        let split = |a: &str, b: &str| KeyBuilder::new("t").part(a.as_bytes()).part(b.as_bytes());
        assert_ne!(split("ab", "c").finish(), split("a", "bc").finish());
        assert_eq!(split("a", "bc").finish(), split("a", "bc").finish());
    }

    #[test]
    fn only_what_was_inserted_is_found_and_nothing_when_off() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let passed = Passed::at(Some(dir.path().join("record")));
        let (one, two) = (KeyBuilder::new("1").finish(), KeyBuilder::new("2").finish());
        assert!(!passed.contains(&one));
        passed.insert(&one);
        assert!(passed.contains(&one));
        assert!(!passed.contains(&two));

        let off = Passed::at(None);
        off.insert(&two);
        assert!(!off.contains(&two));
    }
}
