//! Preparing the expanded chapters for the snippet tests.
//!
//! skeptic compiles and runs every ```` ```rust ```` block. It knows no
//! `compile_fail`, so those blocks are taken out here and must each be a
//! compile-fail listing included verbatim, which trybuild checks instead.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// A chapter split for testing.
#[derive(Debug, Default)]
pub struct Split {
    /// The chapter with every `compile_fail` block removed.
    pub runnable: String,
    /// The code of each removed block.
    pub compile_fail: Vec<String>,
}

/// Removes the `rust,compile_fail` blocks from `markdown`.
pub fn split_compile_fail(markdown: &str) -> Split {
    let mut removed: Vec<Range<usize>> = Vec::new();
    let mut compile_fail = Vec::new();
    let mut current: Option<String> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if is_compile_fail(&info) => {
                current = Some(String::new());
                removed.push(range);
            }
            Event::Text(text) => {
                if let Some(code) = current.as_mut() {
                    code.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(code) = current.take() {
                    compile_fail.push(code);
                }
            }
            _ => {}
        }
    }
    let mut runnable = String::with_capacity(markdown.len());
    let mut kept_from = 0;
    for range in removed {
        runnable.push_str(&markdown[kept_from..range.start]);
        kept_from = range.end;
    }
    runnable.push_str(&markdown[kept_from..]);
    Split {
        runnable,
        compile_fail,
    }
}

fn is_compile_fail(info: &str) -> bool {
    let mut tokens = info.split(|c: char| !(c == '_' || c == '-' || c.is_alphanumeric()));
    tokens.any(|token| token == "compile_fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_out_compile_fail_blocks_only() {
        let markdown = "Intro\n\n```rust\nfn main() {}\n```\n\n```rust,compile_fail\nfn main() { x }\n```\n\nEnd\n";
        let split = split_compile_fail(markdown);
        assert_eq!(split.compile_fail, ["fn main() { x }\n"]);
        assert!(split.runnable.contains("fn main() {}"));
        assert!(!split.runnable.contains("{ x }"));
        assert!(split.runnable.contains("End"));
    }
}
