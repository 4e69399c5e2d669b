//! A check mdBook does not make: it logs an include of a missing file and
//! renders the raw `{{#include}}` text, and it silently renders nothing for an
//! anchor that does not exist. Here both are errors naming the chapter.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::BookError;

static HELPER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\\?)\{\{\s*#(include|rustdoc_include)\s+([^\s}]+)[^}]*\}\}")
        .expect("the include pattern is valid")
});

/// Checks every include helper in one chapter (`chapter` relative to `source_dir`).
pub fn check(source_dir: &Path, chapter: &Path, content: &str) -> Result<(), BookError> {
    let chapter_dir = source_dir.join(chapter.parent().unwrap_or(Path::new("")));
    for helper in HELPER.captures_iter(content) {
        if !helper[1].is_empty() {
            continue; // `\{{#include …}}` is an escaped, literal helper.
        }
        let (file, selector) = match helper[3].split_once(':') {
            Some((file, selector)) => (file, Some(selector)),
            None => (&helper[3], None),
        };
        let broken = |reason: String| BookError::BrokenInclude {
            chapter: chapter.to_path_buf(),
            helper: helper[0].to_owned(),
            reason,
        };
        let path = chapter_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| broken(format!("cannot read {}: {error}", path.display())))?;
        if let Some(anchor) = selector.filter(|s| is_anchor_name(s)) {
            let marker = Regex::new(&format!(r"ANCHOR:\s*{}\b", regex::escape(anchor)))
                .expect("an escaped anchor name is a valid pattern");
            if !marker.is_match(&text) {
                return Err(broken(format!(
                    "{} has no `ANCHOR: {anchor}` marker",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// `name` selects an anchor; `3`, `3:9`, `:9` and `3:` select lines.
fn is_anchor_name(selector: &str) -> bool {
    !selector.is_empty() && !selector.chars().all(|c| c.is_ascii_digit() || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chapter_with(listing: &str, markdown: &str) -> Result<(), BookError> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("main.rs"), listing).expect("write the listing");
        check(dir.path(), Path::new("chapter.md"), markdown)
    }

    #[test]
    fn accepts_existing_files_anchors_and_line_ranges() {
        let listing = "// ANCHOR: body\nfn main() {}\n// ANCHOR_END: body\n";
        let markdown =
            "{{#include main.rs}} {{#rustdoc_include main.rs:body}} {{#include main.rs:1:2}}";
        assert!(chapter_with(listing, markdown).is_ok());
    }

    #[test]
    fn rejects_a_missing_file() {
        let error = chapter_with("", "{{#include missing.rs}}").unwrap_err();
        assert!(error.to_string().contains("cannot read"), "{error}");
    }

    #[test]
    fn rejects_a_missing_anchor() {
        let error = chapter_with("fn main() {}", "{{#include main.rs:body}}").unwrap_err();
        assert!(error.to_string().contains("ANCHOR: body"), "{error}");
    }

    #[test]
    fn skips_escaped_helpers() {
        assert!(chapter_with("", r"\{{#include missing.rs}}").is_ok());
    }
}
