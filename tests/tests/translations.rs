//! The Chinese edition is kept in step with the English: every message of
//! the English chapters has a translation in `po/zh-CN.po` that is neither
//! empty nor fuzzy, each translation uses the glossary's Chinese for the
//! glossary terms its English uses and keeps its English's emphasis, links
//! and code spans, and translating leaves every code block exactly as the
//! English has it (the code, and so its tests, are shared).
//!
//! After editing the English, `cargo book translations update` adds the new
//! and changed messages to the catalogue; `cargo book translations check`
//! lists what is left to translate, as this test does.

use std::path::Path;

use bookctl::results::{self, Key, KeyBuilder, Passed};
use bookctl::{Book, i18n};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the book's root")
}

/// What every test here depends on: this test's executable (rebuilt with
/// bookctl), `book.toml`, the chapters and the catalogue. `None` (always
/// run) if one cannot be read.
fn inputs(test: &str) -> Option<Key> {
    let mut key = KeyBuilder::new(&format!("translations: {test} v1"))
        .running_executable()?
        .part(&std::fs::read(root().join("book.toml")).ok()?);
    for dir in ["src", "po"] {
        key = results::hash_tree(key.part(dir.as_bytes()), &root().join(dir)).ok()?;
    }
    Some(key.finish())
}

/// Runs `check` unless it passed with the same inputs before
/// (`bookctl::results`; `BOOK_TEST_CACHE=off` runs it every time, as CI does).
fn unless_passed(test: &str, check: impl FnOnce()) {
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/translations"));
    let key = inputs(test);
    if key.as_ref().is_some_and(|key| passed.contains(key)) {
        return;
    }
    check();
    if let Some(key) = key {
        passed.insert(&key);
    }
}

fn listed<T: std::fmt::Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(40).map(ToString::to_string).collect();
    let more = items.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!("\n… and {more} more")
    } else {
        String::new()
    };
    format!("{}{tail}", shown.join("\n"))
}

#[test]
fn every_message_is_translated_and_none_is_fuzzy() {
    unless_passed("every message", every_message_translated);
}

fn every_message_translated() {
    let sources = Book::open(root())
        .and_then(|book| book.messages())
        .expect("the book loads");
    let catalogue =
        i18n::load(&i18n::catalogue_path(root())).expect("po/zh-CN.po is a valid catalogue");
    let gaps = i18n::gaps(&sources, &catalogue);
    assert!(
        gaps.is_empty(),
        "{} of {} messages of the English have no translation in po/zh-CN.po \
         (run `cargo book translations update`, then translate them):\n{}",
        gaps.len(),
        sources.len(),
        listed(&gaps)
    );
}

#[test]
fn translations_use_the_glossary_terms() {
    unless_passed("glossary", glossary_terms_used);
}

fn glossary_terms_used() {
    let sources = Book::open(root())
        .and_then(|book| book.messages())
        .expect("the book loads");
    let path = i18n::catalogue_path(root());
    let text = std::fs::read_to_string(&path).expect("po/zh-CN.po is readable");
    let catalogue = i18n::load(&path).expect("po/zh-CN.po is a valid catalogue");
    let glossary = std::fs::read_to_string(root().join("src/appendix/glossary.md"))
        .expect("the glossary is readable");
    let terms = i18n::glossary(&glossary);
    assert!(terms.len() >= 40, "the glossary's tables were not read");
    let found = i18n::glossary_gaps(&text, &sources, &catalogue, &terms);
    assert!(
        found.is_empty(),
        "{} translations lack the glossary's Chinese for a term their English uses \
         (where the English uses the word in its ordinary sense, say so in a \
         translator comment on the entry: `# glossary: WORD`):\n{}",
        found.len(),
        listed(&found)
    );
}

#[test]
fn translations_keep_the_markdown_of_their_english() {
    unless_passed("markdown", markdown_kept);
}

fn markdown_kept() {
    let sources = Book::open(root())
        .and_then(|book| book.messages())
        .expect("the book loads");
    let catalogue =
        i18n::load(&i18n::catalogue_path(root())).expect("po/zh-CN.po is a valid catalogue");
    let found = i18n::misformatted(&sources, &catalogue);
    assert!(
        found.is_empty(),
        "{} translations whose emphasis, links or code spans differ from their English \
         (emphasis next to Chinese characters is written `*…*`, not `_…_`):\n{}",
        found.len(),
        listed(&found)
    );
}

/// The code blocks of a chapter, in order.
fn code_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::all()) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => current = Some(String::new()),
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    block.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn translating_leaves_every_code_block_as_it_is_and_translates_the_rest() {
    unless_passed("code blocks and HTML", code_blocks_untouched);
}

fn code_blocks_untouched() {
    let english = Book::open(root()).expect("the book loads");
    let catalogue =
        i18n::load(&i18n::catalogue_path(root())).expect("po/zh-CN.po is a valid catalogue");
    let english_texts: std::collections::HashSet<String> = english
        .source_chapters()
        .iter()
        .flat_map(|chapter| i18n::html_texts(&chapter.content))
        .map(|(_, text)| text)
        .collect();
    let chinese = Book::open(root())
        .and_then(|book| book.translated(catalogue))
        .expect("the book translates");
    let chinese = chinese.source_chapters();
    let english = english.source_chapters();
    assert_eq!(english.len(), chinese.len());
    for (en, zh) in english.iter().zip(&chinese) {
        assert_eq!(en.path, zh.path);
        assert_eq!(
            code_blocks(&en.content),
            code_blocks(&zh.content),
            "a code block of {} differs in the Chinese edition",
            en.path.display()
        );
        // The summaries and alt texts are translated too, and diagrams are
        // shown with their Chinese labels.
        for (line, text) in i18n::html_texts(&zh.content) {
            assert!(
                !english_texts.contains(&text),
                "{}:{line}: {text:?} is still in English in the Chinese edition",
                zh.path.display()
            );
        }
        for line in zh.content.lines().filter(|l| l.contains("diagrams/")) {
            assert!(
                !line.contains("src=\"diagrams/") || line.contains(".zh-CN.svg\""),
                "{}: an English diagram in the Chinese edition: {line}",
                zh.path.display()
            );
        }
    }
}
