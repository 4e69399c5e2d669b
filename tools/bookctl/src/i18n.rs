//! The Chinese edition (简体中文): a gettext catalogue, `po/zh-CN.po`, of the
//! English chapters' prose, the way Comprehensive Rust and Rust by Example
//! are translated, with mdbook-i18n-helpers' extraction and translation used
//! as a library.
//!
//! What is translated: every paragraph, heading, list item, table cell,
//! quotation and HTML text of the chapters as written, and every chapter and
//! part title. What is not: code blocks (the code is shared, and so are its
//! tests), the files `{{#include}}` brings in (listings, their recorded
//! outputs and the bench's generated tables), and messages with no Latin
//! letter outside code (numbers, the glossary's Chinese cells). The chapters
//! are translated *before* mdBook expands their includes, so an include
//! directive reaches the Chinese page as it was written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mdbook_driver::book::BookItem;
use polib::catalog::Catalog;
use polib::message::{Message, MessageView};
use polib::metadata::CatalogMetadata;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use regex::Regex;

use crate::error::BookError;

pub mod search;

/// The edition's language tag (`book.language`, `<html lang>`) and the
/// directory under the English book that holds it.
pub const LANGUAGE: &str = "zh-CN";

/// The catalogue, relative to the book's root.
pub fn catalogue_path(root: &Path) -> PathBuf {
    root.join("po").join(format!("{LANGUAGE}.po"))
}

/// One message the translation must cover: its text as mdbook-i18n-helpers
/// extracts it (the msgid), and where the English uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub msgid: String,
    /// `src/threads/index.md:12`, one per use, in book order.
    pub places: Vec<String>,
}

/// Every message of the English book, in book order, each once.
pub fn template(items: &[&BookItem], source_dir: &str) -> Result<Vec<Source>, BookError> {
    let mut order: Vec<Source> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut add = |msgid: String, place: String| match index.get(&msgid) {
        Some(&at) => order[at].places.push(place),
        None => {
            index.insert(msgid.clone(), order.len());
            order.push(Source {
                msgid,
                places: vec![place],
            });
        }
    };
    let summary = format!("{source_dir}/SUMMARY.md");
    for item in items {
        match item {
            BookItem::Chapter(chapter) => {
                for (_, msgid) in messages_of(&chapter.name, "a chapter title")? {
                    add(msgid, summary.clone());
                }
                let Some(path) = &chapter.path else { continue };
                let file = format!("{source_dir}/{}", path.display());
                for (line, msgid) in messages_of(&chapter.content, &file)? {
                    add(msgid, format!("{file}:{line}"));
                }
                for (line, msgid) in html_texts(&chapter.content) {
                    add(msgid, format!("{file}:{line}"));
                }
            }
            BookItem::PartTitle(title) => {
                for (_, msgid) in messages_of(title, "a part title")? {
                    add(msgid, summary.clone());
                }
            }
            BookItem::Separator => {}
        }
    }
    Ok(order)
}

/// Adds the labels of every diagram source under `source_dir` to `sources`
/// (`src/<part>/diagrams/<name>.dot:LINE`).
pub fn add_diagram_labels(
    sources: &mut Vec<Source>,
    source_dir: &Path,
    shown_dir: &str,
) -> Result<(), BookError> {
    let mut index: HashMap<String, usize> = sources
        .iter()
        .enumerate()
        .map(|(at, source)| (source.msgid.clone(), at))
        .collect();
    for path in diagram_sources(source_dir) {
        let dot = std::fs::read_to_string(&path).map_err(|e| BookError::io("read", &path, e))?;
        let relative = path.strip_prefix(source_dir).unwrap_or(&path);
        for (line, msgid) in diagram_labels(&dot) {
            let place = format!("{shown_dir}/{}:{line}", relative.display());
            match index.get(&msgid) {
                Some(&at) => sources[at].places.push(place),
                None => {
                    index.insert(msgid.clone(), sources.len());
                    sources.push(Source {
                        msgid,
                        places: vec![place],
                    });
                }
            }
        }
    }
    Ok(())
}

/// The messages of one Markdown text that need a translation, with their
/// line numbers: not those inside a code block, and not those without a
/// Latin word (two letters or more) outside code spans, link targets and
/// HTML tags: `1.5x`, `—` and the glossary's Chinese cells stay as they are.
pub fn messages_of(markdown: &str, what: &str) -> Result<Vec<(usize, String)>, BookError> {
    let extracted =
        mdbook_i18n_helpers::extract_messages(markdown).map_err(|error| BookError::I18n {
            what: what.to_owned(),
            reason: error.to_string(),
        })?;
    let code = code_block_lines(markdown);
    Ok(extracted
        .into_iter()
        .filter(|(line, _)| !code.iter().any(|lines| lines.contains(line)))
        .map(|(line, message)| (line, message.message))
        .filter(|(_, msgid)| needs_translation(msgid))
        .collect())
}

/// The text inside HTML that mdbook-i18n-helpers leaves alone (it skips
/// HTML blocks): a `<details>` block's `<summary>` and an image's `alt`,
/// with their line numbers; not inside code blocks.
pub fn html_texts(markdown: &str) -> Vec<(usize, String)> {
    let code = code_block_lines(markdown);
    let mut texts = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        let number = index + 1;
        if code.iter().any(|lines| lines.contains(&number)) {
            continue;
        }
        for found in html_text_pattern().captures_iter(line) {
            let text = found
                .name("summary")
                .or_else(|| found.name("alt"))
                .map_or("", |m| m.as_str());
            if needs_translation(text) {
                texts.push((number, text.to_owned()));
            }
        }
    }
    texts
}

fn html_text_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r#"<summary>(?P<summary>.*?)</summary>|<img\b[^>]*?\balt="(?P<alt>[^"]*)""#)
            .expect("a valid pattern")
    })
}

/// The chapter with each [`html_texts`] text the catalogue translates
/// replaced by its translation.
pub fn translate_html_texts(markdown: &str, catalogue: &Catalog) -> String {
    let code = code_block_lines(markdown);
    let mut translated = String::with_capacity(markdown.len());
    for (index, line) in markdown.split_inclusive('\n').enumerate() {
        if code.iter().any(|lines| lines.contains(&(index + 1))) {
            translated.push_str(line);
            continue;
        }
        let replaced = html_text_pattern().replace_all(line, |found: &regex::Captures<'_>| {
            let whole = &found[0];
            let Some(text) = found.name("summary").or_else(|| found.name("alt")) else {
                return whole.to_owned();
            };
            let chinese = catalogue
                .find_message(None, text.as_str(), None)
                .filter(|message| message.is_translated() && !message.is_fuzzy())
                .and_then(|message| message.msgstr().ok());
            match chinese {
                Some(chinese) => {
                    let start = text.start() - found.get(0).map_or(0, |m| m.start());
                    format!(
                        "{}{chinese}{}",
                        &whole[..start],
                        &whole[start + text.as_str().len()..]
                    )
                }
                None => whole.to_owned(),
            }
        });
        translated.push_str(
            &diagram_src_pattern()
                .replace_all(&replaced, format!("${{1}}.{LANGUAGE}.svg\"").as_str()),
        );
    }
    translated
}

/// An image of a diagram (`src="diagrams/<name>.svg"`), whose Chinese
/// picture is `<name>.zh-CN.svg`.
fn diagram_src_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r#"(<img\b[^>]*?\bsrc="(?:[^"]*/)?diagrams/[^"/]+)\.svg""#)
            .expect("a valid pattern")
    })
}

/// The texts of a Graphviz diagram source (`label="…"`, with `\n` as a line
/// break; and each cell of an HTML-like `label=<…>` table), with their line
/// numbers.
pub fn diagram_labels(dot: &str) -> Vec<(usize, String)> {
    let mut labels = Vec::new();
    for (index, line) in dot.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for found in diagram_label_pattern().captures_iter(line) {
            let Some(text) = found.name("quoted").or_else(|| found.name("cell")) else {
                continue;
            };
            let text = text.as_str().replace("\\n", "\n").replace("\\\"", "\"");
            if needs_translation(&text) {
                labels.push((index + 1, text));
            }
        }
    }
    labels
}

fn diagram_label_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r#"\blabel\s*=\s*"(?P<quoted>(?:[^"\\]|\\.)*)"|<TD\b[^>]*>(?P<cell>.*?)</TD>"#)
            .expect("a valid pattern")
    })
}

/// The diagram source with each label the catalogue translates replaced by
/// its translation (line breaks written back as `\n`, quotes escaped).
pub fn translate_diagram(dot: &str, catalogue: &Catalog) -> String {
    diagram_label_pattern()
        .replace_all(dot, |found: &regex::Captures<'_>| {
            let whole = &found[0];
            let Some(text) = found.name("quoted").or_else(|| found.name("cell")) else {
                return whole.to_owned();
            };
            let msgid = text.as_str().replace("\\n", "\n").replace("\\\"", "\"");
            let Some(chinese) = catalogue
                .find_message(None, &msgid, None)
                .filter(|message| message.is_translated() && !message.is_fuzzy())
                .and_then(|message| message.msgstr().ok())
            else {
                return whole.to_owned();
            };
            let written = if found.name("quoted").is_some() {
                chinese.replace('"', "\\\"").replace('\n', "\\n")
            } else {
                chinese.to_owned()
            };
            let start = text.start() - found.get(0).map_or(0, |m| m.start());
            format!(
                "{}{written}{}",
                &whole[..start],
                &whole[start + text.as_str().len()..]
            )
        })
        .into_owned()
}

/// Every diagram source under `dir` (`…/diagrams/<name>.dot`), sorted.
pub fn diagram_sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(diagram_sources(&path));
        } else if path.extension().is_some_and(|ext| ext == "dot")
            && dir.file_name().is_some_and(|name| name == "diagrams")
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The Chinese edition's picture of a diagram: `<name>.zh-CN.svg` beside
/// `<name>.dot`, drawn by `cargo book translations update`.
pub fn translated_picture(source: &Path) -> PathBuf {
    source.with_extension(format!("{LANGUAGE}.svg"))
}

/// The lines (1-based) that fenced and indented code blocks occupy.
fn code_block_lines(markdown: &str) -> Vec<Range<usize>> {
    let line_of = |offset: usize| markdown[..offset].matches('\n').count() + 1;
    let mut blocks = Vec::new();
    for (event, range) in Parser::new_ext(markdown, Options::all()).into_offset_iter() {
        if let Event::Start(Tag::CodeBlock(_)) = event {
            blocks.push(line_of(range.start)..line_of(range.end) + 1);
        }
    }
    blocks
}

fn needs_translation(msgid: &str) -> bool {
    static NOT_WORDS: OnceLock<Regex> = OnceLock::new();
    let not_words = NOT_WORDS.get_or_init(|| {
        // Code spans, link targets, HTML tags and mdBook's directives.
        Regex::new(r"(?s)<!--.*?-->|`[^`]*`|\]\([^)]*\)|<[^>]*>|\{\{#[^}]*\}\}")
            .expect("a valid pattern")
    });
    static WORD: OnceLock<Regex> = OnceLock::new();
    let word = WORD.get_or_init(|| Regex::new("[A-Za-z]{2,}").expect("a valid pattern"));
    word.is_match(&not_words.replace_all(msgid, " "))
}

/// The chapter with each heading's id written out as mdBook derives it from
/// the English text (`## Why {#why}`), so that the translated heading keeps
/// the English edition's anchor and every `page.md#anchor` link still
/// resolves in the other edition.
pub fn pin_heading_ids(markdown: &str) -> String {
    let mut used = HashSet::new();
    let mut insertions = Vec::new();
    let mut heading: Option<(usize, String)> = None;
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { id: None, .. }) => {
                let line = markdown[range.clone()].trim_end();
                heading = Some((range.start + line.len(), String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, words)) = heading.as_mut() {
                    words.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((end, words)) = heading.take() {
                    let id = unique_id(&id_from_content(&words), &mut used);
                    insertions.push((end, format!(" {{#{id}}}")));
                }
            }
            _ => {}
        }
    }
    let mut pinned = markdown.to_owned();
    for (at, id) in insertions.into_iter().rev() {
        pinned.insert_str(at, &id);
    }
    pinned
}

/// mdBook's heading id (`mdbook-html`'s `id_from_content`, which is not
/// public): lower case, letters, digits, `_` and `-` kept, whitespace as `-`.
fn id_from_content(content: &str) -> String {
    content
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c)
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// mdBook's rule for a repeated id on one page: `-1`, `-2`, … appended.
fn unique_id(id: &str, used: &mut HashSet<String>) -> String {
    if used.insert(id.to_owned()) {
        return id.to_owned();
    }
    (1..)
        .map(|n| format!("{id}-{n}"))
        .find(|candidate| used.insert(candidate.clone()))
        .expect("some suffix is free")
}

/// A chapter (or title) in Chinese: each message the catalogue translates
/// replaced by its translation (mdbook-i18n-helpers' grouping and lookup),
/// then written back as Markdown with `*` for emphasis, which renders next
/// to Chinese characters.
pub fn translate_markdown(markdown: &str, catalogue: &Catalog) -> Result<String, BookError> {
    let failed = |reason: String| BookError::I18n {
        what: "translating the chapters".to_owned(),
        reason,
    };
    let events = mdbook_i18n_helpers::extract_events(markdown, None);
    let translated = mdbook_i18n_helpers::translate_events(&events, catalogue)
        .map_err(|error| failed(error.to_string()))?;
    let events: Vec<Event<'_>> = translated.into_iter().map(|(_, event)| event).collect();
    let options = pulldown_cmark_to_cmark::Options {
        code_block_token_count: pulldown_cmark_to_cmark::calculate_code_block_token_count(
            events.iter(),
        )
        .unwrap_or(3),
        list_token: '-',
        emphasis_token: '*',
        strong_token: "**",
        ..pulldown_cmark_to_cmark::Options::default()
    };
    let mut written = String::new();
    pulldown_cmark_to_cmark::cmark_with_options(events.iter(), &mut written, options)
        .map_err(|error| failed(error.to_string()))?;
    Ok(written)
}

/// An empty catalogue for the template, with gettext's header.
pub fn template_catalogue(sources: &[Source]) -> Catalog {
    let mut metadata = CatalogMetadata::new();
    metadata.project_id_version = "Concurrency in Rust for Python Programmers".to_owned();
    metadata.mime_version = "1.0".to_owned();
    metadata.content_type = "text/plain; charset=UTF-8".to_owned();
    metadata.content_transfer_encoding = "8bit".to_owned();
    metadata.language = LANGUAGE.to_owned();
    let mut catalogue = Catalog::new(metadata);
    for source in sources {
        catalogue.append_or_update(
            Message::build_singular()
                .with_source(source.places.join(" "))
                .with_msgid(source.msgid.clone())
                .with_msgstr(String::new())
                .done(),
        );
    }
    catalogue
}

/// Reads a catalogue.
pub fn load(path: &Path) -> Result<Catalog, BookError> {
    if !path.is_file() {
        return Err(BookError::I18n {
            what: path.display().to_string(),
            reason: "no such file (`cargo book translations update` creates it)".to_owned(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| BookError::io("read", path, e))?;
    // polib panics on a header without one of these fields: name it instead.
    let header = text
        .split("\n\n")
        .find(|entry| entry.contains("msgid \"\""));
    if let Some(missing) = HEADER_FIELDS
        .iter()
        .find(|field| !header.is_some_and(|h| h.contains(&format!("\"{field}:"))))
    {
        return Err(BookError::I18n {
            what: path.display().to_string(),
            reason: format!("the header (the entry msgid \"\") has no {missing} field"),
        });
    }
    polib::po_file::parse(path).map_err(|error| BookError::I18n {
        what: path.display().to_string(),
        reason: error.to_string(),
    })
}

/// The header fields polib requires.
const HEADER_FIELDS: [&str; 9] = [
    "Project-Id-Version",
    "POT-Creation-Date",
    "PO-Revision-Date",
    "Language-Team",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Language",
    "Plural-Forms",
];

/// What stops a catalogue from translating the whole book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// A message of the English with no entry in the catalogue.
    Missing,
    /// An entry with an empty translation.
    Untranslated,
    /// An entry marked fuzzy (its English changed since it was translated).
    Fuzzy,
}

/// One message the catalogue does not translate, and where the English uses it.
#[derive(Debug, Clone)]
pub struct Untranslated {
    pub gap: Gap,
    pub place: String,
    pub msgid: String,
}

impl fmt::Display for Untranslated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gap = match self.gap {
            Gap::Missing => "not in the catalogue",
            Gap::Untranslated => "untranslated",
            Gap::Fuzzy => "fuzzy",
        };
        let mut msgid: String = self.msgid.chars().take(70).collect();
        if msgid.len() < self.msgid.len() {
            msgid.push('…');
        }
        write!(f, "{}: {gap}: {msgid:?}", self.place)
    }
}

/// Every message of `sources` the catalogue does not translate.
pub fn gaps(sources: &[Source], catalogue: &Catalog) -> Vec<Untranslated> {
    let entries: HashMap<&str, &dyn MessageView> = catalogue
        .messages()
        .map(|message| (message.msgid(), message))
        .collect();
    sources
        .iter()
        .filter_map(|source| {
            let gap = match entries.get(source.msgid.as_str()) {
                None => Gap::Missing,
                Some(entry) if entry.is_fuzzy() => Gap::Fuzzy,
                Some(entry) if !entry.is_translated() => Gap::Untranslated,
                Some(_) => return None,
            };
            Some(Untranslated {
                gap,
                place: source.places[0].clone(),
                msgid: source.msgid.clone(),
            })
        })
        .collect()
}

/// What a translation must keep of its English's Markdown: its emphasis
/// and strong emphasis (as many of each), its link targets and its code
/// spans (the same ones, in any order; a repeated one may appear once, as
/// where the English glosses a quotation of the Chinese tutorial).
fn markup(markdown: &str) -> (usize, usize, Vec<String>, Vec<String>) {
    let (mut emphasis, mut strong) = (0, 0);
    let (mut links, mut code) = (Vec::new(), Vec::new());
    for event in Parser::new_ext(markdown, Options::all()) {
        match event {
            Event::Start(Tag::Emphasis) => emphasis += 1,
            Event::Start(Tag::Strong) => strong += 1,
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.into_string()),
            Event::Code(text) => code.push(text.into_string()),
            _ => {}
        }
    }
    links.sort();
    links.dedup();
    code.sort();
    code.dedup();
    (emphasis, strong, links, code)
}

/// A translation whose Markdown differs from its English's: emphasis that
/// does not render (`_强调_` between Chinese characters), a link or a code
/// span lost or changed.
#[derive(Debug, Clone)]
pub struct Misformatted {
    pub place: String,
    pub what: String,
    pub msgstr: String,
}

impl fmt::Display for Misformatted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut msgstr: String = self.msgstr.chars().take(60).collect();
        if msgstr.len() < self.msgstr.len() {
            msgstr.push('…');
        }
        write!(f, "{}: {}: {msgstr:?}", self.place, self.what)
    }
}

/// Every translated entry whose emphasis, links or code spans differ from
/// its English's.
pub fn misformatted(sources: &[Source], catalogue: &Catalog) -> Vec<Misformatted> {
    let places: HashMap<&str, &str> = sources
        .iter()
        .map(|source| (source.msgid.as_str(), source.places[0].as_str()))
        .collect();
    let mut found = Vec::new();
    for message in catalogue.messages() {
        let Some(place) = places.get(message.msgid()) else {
            continue;
        };
        let Ok(msgstr) = message.msgstr() else {
            continue;
        };
        if msgstr.is_empty() || message.is_fuzzy() {
            continue;
        }
        let (english, chinese) = (markup(message.msgid()), markup(msgstr));
        let mut what = Vec::new();
        if english.0 != chinese.0 {
            what.push(format!("{} emphasis, the English {}", chinese.0, english.0));
        }
        if english.1 != chinese.1 {
            what.push(format!("{} strong, the English {}", chinese.1, english.1));
        }
        if english.2 != chinese.2 {
            what.push(format!(
                "links {:?}, the English {:?}",
                chinese.2, english.2
            ));
        }
        if english.3 != chinese.3 {
            let lost: Vec<&String> = english
                .3
                .iter()
                .filter(|c| !chinese.3.contains(c))
                .collect();
            let added: Vec<&String> = chinese
                .3
                .iter()
                .filter(|c| !english.3.contains(c))
                .collect();
            what.push(format!("code spans lost {lost:?}, added {added:?}"));
        }
        if !what.is_empty() {
            found.push(Misformatted {
                place: (*place).to_owned(),
                what: what.join("; "),
                msgstr: msgstr.to_owned(),
            });
        }
    }
    found
}

/// A row of the glossary: its English words and the Chinese a translation
/// of a paragraph using one of them must contain (any of them).
#[derive(Debug, Clone)]
pub struct Term {
    pub english: Vec<String>,
    pub chinese: Vec<String>,
    /// Finds each English word in prose: as the glossary writes it (lower
    /// case, `I/O` and `CPU` as they are), with a plural `s` or `es`; or
    /// capitalised at the start of the text. A capitalised word elsewhere
    /// is a name (`Mutex`, `Event`), not the term.
    patterns: Vec<Regex>,
}

impl Term {
    fn new(english: Vec<String>, chinese: Vec<String>) -> Term {
        let patterns = english
            .iter()
            .map(|word| {
                let words: Vec<String> = word.split_whitespace().map(regex::escape).collect();
                let body = words.join(r"\s+");
                let mut first = word.chars();
                let capitalised: String = first
                    .next()
                    .map(|c| c.to_uppercase().chain(first).collect())
                    .unwrap_or_default();
                let capitalised: Vec<String> =
                    capitalised.split_whitespace().map(regex::escape).collect();
                Regex::new(&format!(
                    r"\b{body}(?:s|es)?\b|^\W*{}(?:s|es)?\b",
                    capitalised.join(r"\s+")
                ))
                .expect("an escaped word is a valid pattern")
            })
            .collect();
        Term {
            english,
            chinese,
            patterns,
        }
    }
}

/// The glossary's terms, from its tables (`| 中文 | English | …`): the
/// Chinese cell's alternatives are separated by `、`, a parenthesis holds
/// another one (`全局解释器锁（GIL）`); the English cell's by `, `.
pub fn glossary(markdown: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    for line in markdown.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| 中文 | English | … |" splits into "", "中文", "English", …
        let (Some(chinese), Some(english)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        if !chinese.chars().any(is_han) || *chinese == "中文" {
            continue;
        }
        let mut alternatives = Vec::new();
        for part in chinese.split('、') {
            match part.split_once('（') {
                Some((before, inside)) => {
                    alternatives.push(before.trim().to_owned());
                    alternatives.push(inside.trim_end_matches('）').trim().to_owned());
                }
                None => alternatives.push(part.trim().to_owned()),
            }
        }
        terms.push(Term::new(
            english.split(", ").map(str::to_owned).collect(),
            alternatives,
        ));
    }
    terms
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Text compared for a glossary term: lower case, no spaces, `I/O` as `IO`.
fn normalised(text: &str) -> String {
    text.to_lowercase()
        .replace("i/o", "io")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The English words of `msgid` that a glossary term names, with code
/// spans, link targets and HTML tags left out.
fn english_uses<'t>(msgid: &str, terms: &'t [Term]) -> Vec<(&'t str, &'t Term)> {
    static NOT_PROSE: OnceLock<Regex> = OnceLock::new();
    let not_prose = NOT_PROSE.get_or_init(|| {
        Regex::new(r"(?s)<!--.*?-->|<code>.*?</code>|`[^`]*`|\]\([^)]*\)|<[^>]*>")
            .expect("a valid pattern")
    });
    let prose = not_prose.replace_all(msgid, " ");
    let mut uses = Vec::new();
    for term in terms {
        for (english, pattern) in term.english.iter().zip(&term.patterns) {
            if pattern.is_match(&prose) {
                uses.push((english.as_str(), term));
            }
        }
    }
    uses
}

/// A translation that lacks the glossary's Chinese for a term its English uses.
#[derive(Debug, Clone)]
pub struct Inconsistent {
    pub place: String,
    pub english: String,
    pub chinese: Vec<String>,
    pub msgstr: String,
}

impl fmt::Display for Inconsistent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut msgstr: String = self.msgstr.chars().take(40).collect();
        if msgstr.len() < self.msgstr.len() {
            msgstr.push('…');
        }
        write!(
            f,
            "{}: the English says {:?}, the translation {msgstr:?} has none of {}",
            self.place,
            self.english,
            self.chinese.join(" / ")
        )
    }
}

/// Every translated entry whose English uses a glossary term and whose
/// translation has none of the term's Chinese forms, unless a translator
/// comment on the entry says the word is used in its ordinary sense
/// (`# glossary: process` where "process" means "handle", not 进程).
pub fn glossary_gaps(
    catalogue_text: &str,
    sources: &[Source],
    catalogue: &Catalog,
    terms: &[Term],
) -> Vec<Inconsistent> {
    let exempt = glossary_exemptions(catalogue_text);
    let places: HashMap<&str, &str> = sources
        .iter()
        .map(|source| (source.msgid.as_str(), source.places[0].as_str()))
        .collect();
    let mut found = Vec::new();
    for message in catalogue.messages() {
        let Some(place) = places.get(message.msgid()) else {
            continue; // no longer in the English
        };
        let Ok(msgstr) = message.msgstr() else {
            continue;
        };
        if msgstr.is_empty() || message.is_fuzzy() {
            continue; // reported as a gap
        }
        let translation = normalised(msgstr);
        for (english, term) in english_uses(message.msgid(), terms) {
            let ordinary = exempt
                .get(message.msgid())
                .is_some_and(|words| words.iter().any(|w| w.eq_ignore_ascii_case(english)));
            let has = term
                .chinese
                .iter()
                .any(|chinese| translation.contains(&normalised(chinese)));
            if !has && !ordinary {
                found.push(Inconsistent {
                    place: (*place).to_owned(),
                    english: english.to_owned(),
                    chinese: term.chinese.clone(),
                    msgstr: msgstr.to_owned(),
                });
            }
        }
    }
    found
}

/// The `# glossary: WORD, WORD` translator comments of a PO file, by msgid.
/// (polib keeps only extracted `#.` comments, so these are read here.)
fn glossary_exemptions(po: &str) -> BTreeMap<String, Vec<String>> {
    let mut exempt = BTreeMap::new();
    for entry in po.split("\n\n") {
        let words: Vec<String> = entry
            .lines()
            .filter_map(|line| line.strip_prefix("# glossary:"))
            .flat_map(|list| list.split(','))
            .map(|word| word.trim().to_owned())
            .filter(|word| !word.is_empty())
            .collect();
        if words.is_empty() {
            continue;
        }
        if let Some(msgid) = msgid_of(entry) {
            exempt.insert(msgid, words);
        }
    }
    exempt
}

/// The msgid of one PO entry, unescaped.
fn msgid_of(entry: &str) -> Option<String> {
    let mut lines = entry.lines().skip_while(|line| !line.starts_with("msgid "));
    let first = lines.next()?.strip_prefix("msgid ")?;
    let mut quoted = vec![first];
    quoted.extend(lines.take_while(|line| line.starts_with('"')));
    let mut msgid = String::new();
    for part in quoted {
        let inner = part.trim().strip_prefix('"')?.strip_suffix('"')?;
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                msgid.push(c);
                continue;
            }
            match chars.next()? {
                'n' => msgid.push('\n'),
                't' => msgid.push('\t'),
                'r' => msgid.push('\r'),
                other => msgid.push(other),
            }
        }
    }
    Some(msgid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "msgid \"\"\nmsgstr \"\"\n\"Project-Id-Version: t\\n\"\n\"POT-Creation-Date: \\n\"\n\"PO-Revision-Date: \\n\"\n\"Language-Team: \\n\"\n\"MIME-Version: 1.0\\n\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\"Content-Transfer-Encoding: 8bit\\n\"\n\"Language: zh-CN\\n\"\n\"Plural-Forms: nplurals=1; plural=0;\\n\"\n\n";

    /// The catalogue a PO file with this text holds, read by [`load`].
    fn catalogue_of(po: &str) -> Catalog {
        let path = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(path.path(), po).expect("written");
        load(path.path()).expect("a valid PO file")
    }

    #[test]
    fn a_header_without_a_field_is_an_error_not_a_panic() {
        let path = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(path.path(), "msgid \"\"\nmsgstr \"Language: zh-CN\\n\"\n")
            .expect("written");
        let Err(error) = load(path.path()) else {
            panic!("an incomplete header was accepted");
        };
        assert!(error.to_string().contains("Project-Id-Version"), "{error}");
        let Err(missing) = load(&path.path().with_extension("missing")) else {
            panic!("a missing file was accepted");
        };
        assert!(
            missing
                .to_string()
                .contains("cargo book translations update"),
            "{missing}"
        );
    }

    #[test]
    fn code_and_wordless_messages_are_not_extracted() {
        let markdown = "# Threads\n\nA thread runs `f`.\n\n```rust\n// a comment\nlet s = \"text\";\n```\n\n| 中文 | English |\n|---|---|\n| 线程 | thread |\n| 1.5x | `spawn` |\n\n{{#include ../measured/cpu.md}}\n";
        let found: Vec<String> = messages_of(markdown, "test")
            .expect("valid Markdown")
            .into_iter()
            .map(|(_, msgid)| msgid)
            .collect();
        assert_eq!(
            found,
            ["Threads", "A thread runs `f`.", "English", "thread"]
        );
    }

    #[test]
    fn emphasis_next_to_chinese_characters_renders() {
        let po =
            HEADER.to_owned() + "msgid \"The _default_ build.\"\nmsgstr \"这对*默认*构建成立。\"\n";
        let catalogue = catalogue_of(&po);
        let chinese = translate_markdown(
            "# T\n\nThe *default* build.\n\n```rust\nlet a = 1;\n```\n",
            &catalogue,
        )
        .expect("translated");
        assert!(chinese.contains("这对*默认*构建成立。"), "{chinese}");
        assert!(chinese.contains("```rust\nlet a = 1;\n```"), "{chinese}");
    }

    #[test]
    fn summaries_and_alt_texts_are_messages_and_get_translated() {
        let markdown = "<details>\n<summary>The whole program</summary>\n\n```html\n<summary>code</summary>\n```\n</details>\n\n<img class=\"diagram\" src=\"d.svg\" alt=\"A queue of jobs\">\n";
        assert_eq!(
            html_texts(markdown),
            [
                (2, "The whole program".to_owned()),
                (9, "A queue of jobs".to_owned())
            ]
        );
        let po = HEADER.to_owned()
            + "msgid \"The whole program\"\nmsgstr \"完整的程序\"\n\nmsgid \"A queue of jobs\"\nmsgstr \"作业队列\"\n";
        let catalogue = catalogue_of(&po);
        let chinese = translate_html_texts(markdown, &catalogue);
        assert!(
            chinese.contains("<summary>完整的程序</summary>"),
            "{chinese}"
        );
        assert!(chinese.contains("<summary>code</summary>"), "{chinese}");
        assert!(chinese.contains("alt=\"作业队列\">"), "{chinese}");
    }

    #[test]
    fn diagram_labels_are_messages_and_get_translated() {
        let dot = "// label=\"a comment\"\ndigraph g {\n    a [label=\"writer thread\\nstores 42\"];\n    b [label=<\n<TR><TD ALIGN=\"LEFT\">frame of fetch()</TD></TR>>];\n    a -> b [label=\" then\"];\n}\n";
        assert_eq!(
            diagram_labels(dot),
            [
                (3, "writer thread\nstores 42".to_owned()),
                (5, "frame of fetch()".to_owned()),
                (6, " then".to_owned())
            ]
        );
        let po = HEADER.to_owned()
            + "msgid \"writer thread\\nstores 42\"\nmsgstr \"写线程\\n存入 42\"\n\nmsgid \" then\"\nmsgstr \" 然后\"\n";
        let catalogue = catalogue_of(&po);
        let chinese = translate_diagram(dot, &catalogue);
        assert!(
            chinese.contains("[label=\"写线程\\n存入 42\"]"),
            "{chinese}"
        );
        assert!(chinese.contains("[label=\" 然后\"]"), "{chinese}");
        assert!(chinese.contains("frame of fetch()"), "{chinese}");
        let page = translate_html_texts(
            "<img class=\"diagram\" src=\"diagrams/claim.svg\" alt=\"x\">\n",
            &catalogue,
        );
        assert_eq!(
            page,
            "<img class=\"diagram\" src=\"diagrams/claim.zh-CN.svg\" alt=\"x\">\n"
        );
    }

    #[test]
    fn headings_keep_the_english_ids() {
        let pinned = pin_heading_ids(
            "# Why `Arc`?\n\nText.\n\n## Summary\n\n```rust\n# hidden\n```\n\n## Summary\n",
        );
        assert_eq!(
            pinned,
            "# Why `Arc`? {#why-arc}\n\nText.\n\n## Summary {#summary}\n\n```rust\n# hidden\n```\n\n## Summary {#summary-1}\n"
        );
    }

    #[test]
    fn glossary_rows_give_every_alternative() {
        let terms = glossary(
            "| 中文 | English | Python |\n|---|---|---|\n| 全局解释器锁（GIL） | global interpreter lock | x |\n| 锁、互斥锁 | lock, mutex | y |\n",
        );
        assert_eq!(terms.len(), 2);
        assert_eq!(terms[0].chinese, ["全局解释器锁", "GIL"]);
        assert_eq!(terms[1].english, ["lock", "mutex"]);
        assert_eq!(terms[1].chinese, ["锁", "互斥锁"]);
    }

    #[test]
    fn a_translation_without_the_term_is_named_unless_exempt() {
        let terms = glossary("| 线程 | thread | x |\n| 进程 | process | y |\n");
        let sources = vec![
            Source {
                msgid: "Two threads and a \"process\".".to_owned(),
                places: vec!["src/a.md:1".to_owned()],
            },
            Source {
                msgid: "We process `thread` names.".to_owned(),
                places: vec!["src/a.md:3".to_owned()],
            },
        ];
        let po = HEADER.to_owned()
            + "msgid \"Two threads and a \\\"process\\\".\"\nmsgstr \"两个线程和一个程序。\"\n\n# glossary: process\nmsgid \"We process `thread` names.\"\nmsgstr \"我们处理 `thread` 的名字。\"\n";
        let catalogue = catalogue_of(&po);
        let found = glossary_gaps(&po, &sources, &catalogue, &terms);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].english, "process");
        assert_eq!(found[0].place, "src/a.md:1");
    }

    #[test]
    fn a_capitalised_word_inside_a_sentence_is_a_name() {
        let terms = glossary("| 事件 | event | x |\n| 锁、互斥锁 | lock, mutex | y |\n");
        let uses = |text: &str| -> Vec<String> {
            english_uses(text, &terms)
                .into_iter()
                .map(|(english, _)| english.to_owned())
                .collect()
        };
        assert_eq!(uses("Sharing state: Arc and Mutex"), Vec::<String>::new());
        assert_eq!(uses("Event, Semaphore and Barrier"), ["event"]);
        assert_eq!(uses("Two locks and an event loop."), ["event", "lock"]);
        assert_eq!(uses("The `Mutex` and `lock()`."), Vec::<String>::new());
        assert_eq!(uses("A <code>lock()</code> call."), Vec::<String>::new());
        assert_eq!(
            uses("A check. <!-- check: a.md[lock] > b.md[event] -->"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn gaps_name_missing_untranslated_and_fuzzy_entries() {
        let sources: Vec<Source> = ["One.", "Two.", "Three.", "Four."]
            .iter()
            .enumerate()
            .map(|(line, msgid)| Source {
                msgid: (*msgid).to_owned(),
                places: vec![format!("src/a.md:{line}")],
            })
            .collect();
        let po = HEADER.to_owned()
            + "msgid \"One.\"\nmsgstr \"一。\"\n\nmsgid \"Two.\"\nmsgstr \"\"\n\n#, fuzzy\nmsgid \"Three.\"\nmsgstr \"三。\"\n";
        let catalogue = catalogue_of(&po);
        let found: Vec<Gap> = gaps(&sources, &catalogue)
            .into_iter()
            .map(|gap| gap.gap)
            .collect();
        assert_eq!(found, [Gap::Untranslated, Gap::Fuzzy, Gap::Missing]);
    }
}
