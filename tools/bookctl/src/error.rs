//! Errors that say what went wrong and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong while loading, checking or building the book.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error(
        "no book.toml in {}: run this from the book's root directory, or pass --root <DIR>",
        .0.display()
    )]
    NoBookToml(PathBuf),

    #[error("could not load the book in {}: {reason}", root.display())]
    Load { root: PathBuf, reason: String },

    #[error("could not render the book in {}: {reason}", root.display())]
    Render { root: PathBuf, reason: String },

    #[error(
        "{} is not empty and holds no earlier rendering of a book; rendering there would \
         delete its contents, so choose a new or empty directory",
        .0.display()
    )]
    ForeignOutputDir(PathBuf),

    #[error("{} in {}: {reason}", helper, chapter.display())]
    BrokenInclude {
        chapter: PathBuf,
        helper: String,
        reason: String,
    },

    #[error("mdBook reported problems while {stage}:\n{}", messages.join("\n"))]
    Diagnostics {
        stage: &'static str,
        messages: Vec<String>,
    },

    // `cause` rather than `source`: the message already says it, and
    // `anyhow`'s `{:#}` would print a `#[source]` a second time.
    #[error("could not {action} {}: {cause}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("{} has a malformed [package.metadata.book] table: {reason}", manifest.display())]
    ListingMetadata { manifest: PathBuf, reason: String },

    #[error("the Chinese edition: {what}: {reason}")]
    I18n { what: String, reason: String },
}

impl BookError {
    /// Wraps an I/O error with the action and the path it concerned.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        BookError::Io {
            action,
            path: path.into(),
            cause,
        }
    }
}
