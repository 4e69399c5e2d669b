//! Search in the Chinese edition. mdBook's search index splits text at
//! whitespace, as English is written; Chinese is written without spaces, so
//! a whole sentence would be one token (and, past 80 bytes, none), and no
//! word would be found. The Chinese edition's index is rebuilt from the
//! pages mdBook indexed, with [`tokens`]: Latin words as mdBook makes them,
//! and each run of Chinese characters as its overlapping pairs, so that any
//! word of two characters or more finds the sections that contain it.
//! `theme/language.js` splits a search the same way.

use std::path::{Path, PathBuf};

use elasticlunr::pipeline::Pipeline;
use elasticlunr::{IndexBuilder, Language};
use serde_json::Value;

use crate::error::BookError;

/// mdBook's longest indexed token, in bytes.
const LONGEST_TOKEN: usize = 80;

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// The tokens of `text`: lower-cased runs of letters, digits and `_` that are
/// not Chinese characters; and for each run of Chinese characters, its
/// overlapping pairs (a lone character as itself).
pub fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut han: Vec<char> = Vec::new();
    let flush_word = |word: &mut String, tokens: &mut Vec<String>| {
        if !word.is_empty() && word.len() <= LONGEST_TOKEN {
            tokens.push(word.to_lowercase());
        }
        word.clear();
    };
    let flush_han = |han: &mut Vec<char>, tokens: &mut Vec<String>| {
        match han.len() {
            0 => {}
            1 => tokens.push(han[0].to_string()),
            _ => tokens.extend(han.windows(2).map(|pair| pair.iter().collect::<String>())),
        }
        han.clear();
    };
    for c in text.chars() {
        if is_han(c) {
            flush_word(&mut word, &mut tokens);
            han.push(c);
        } else if c.is_alphanumeric() || c == '_' {
            flush_han(&mut han, &mut tokens);
            word.push(c);
        } else {
            flush_word(&mut word, &mut tokens);
            flush_han(&mut han, &mut tokens);
        }
    }
    flush_word(&mut word, &mut tokens);
    flush_han(&mut han, &mut tokens);
    tokens
}

/// The index's language: [`tokens`], and no pipeline (the search page runs
/// the index's pipeline on a search too, and elasticlunr.js's English
/// trimmer would strip Chinese characters from it).
struct Chinese;

impl Language for Chinese {
    fn name(&self) -> String {
        "Chinese".to_owned()
    }

    fn code(&self) -> String {
        "zh".to_owned()
    }

    fn tokenize(&self, text: &str) -> Vec<String> {
        tokens(text)
    }

    fn make_pipeline(&self) -> Pipeline {
        Pipeline { queue: Vec::new() }
    }
}

/// The `searchindex*.js` file of a rendered book, if it has one.
fn index_file(html: &Path) -> Result<Option<PathBuf>, BookError> {
    let entries = std::fs::read_dir(html).map_err(|e| BookError::io("read", html, e))?;
    for entry in entries {
        let path = entry.map_err(|e| BookError::io("read", html, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("searchindex") && name.ends_with(".js") {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// mdBook writes the index as `window.search = Object.assign(window.search,
/// JSON.parse('…'));` with `\` and `'` escaped by a backslash.
const PREFIX: &str = "window.search = Object.assign(window.search, JSON.parse('";
const SUFFIX: &str = "'));";

fn unescape(quoted: &str) -> String {
    let mut text = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            text.extend(chars.next());
        } else {
            text.push(c);
        }
    }
    text
}

/// Rebuilds the search index of the book rendered in `html` with Chinese
/// tokens, keeping its documents, options and URLs. A book rendered without
/// a search index is left as it is.
pub fn rebuild_index(html: &Path) -> Result<(), BookError> {
    let Some(path) = index_file(html)? else {
        return Ok(());
    };
    let malformed = |reason: String| BookError::I18n {
        what: path.display().to_string(),
        reason,
    };
    let script = std::fs::read_to_string(&path).map_err(|e| BookError::io("read", &path, e))?;
    let quoted = script
        .trim_end()
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .ok_or_else(|| malformed("not the search index mdBook writes".to_owned()))?;
    let mut search: Value =
        serde_json::from_str(&unescape(quoted)).map_err(|e| malformed(e.to_string()))?;
    let index = &search["index"];
    let fields: Vec<String> = index["fields"]
        .as_array()
        .ok_or_else(|| malformed("the index names no fields".to_owned()))?
        .iter()
        .filter_map(|field| field.as_str().map(str::to_owned))
        .collect();
    let docs = index["documentStore"]["docs"]
        .as_object()
        .ok_or_else(|| malformed("the index keeps no documents".to_owned()))?;
    let mut refs: Vec<&String> = docs.keys().collect();
    refs.sort_by_key(|r| r.parse::<u64>().unwrap_or(u64::MAX));
    let mut rebuilt = IndexBuilder::with_language(Box::new(Chinese))
        .save_docs(true)
        .add_fields(&fields)
        .build();
    for doc_ref in refs {
        let doc = &docs[doc_ref];
        let values: Vec<&str> = fields
            .iter()
            .map(|field| doc[field].as_str().unwrap_or(""))
            .collect();
        rebuilt.add_doc(doc_ref, values);
    }
    search["index"] = serde_json::to_value(&rebuilt).map_err(|e| malformed(e.to_string()))?;
    let json = serde_json::to_string(&search).map_err(|e| malformed(e.to_string()))?;
    let script = format!(
        "{PREFIX}{}{SUFFIX}",
        json.replace('\\', "\\\\").replace('\'', "\\'")
    );
    std::fs::write(&path, script).map_err(|e| BookError::io("write", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_runs_become_pairs_and_latin_words_stay_whole() {
        assert_eq!(
            tokens("用 Tokio 写协程，std::thread 线程池。"),
            [
                "用", "tokio", "写协", "协程", "std", "thread", "线程", "程池"
            ]
        );
        assert_eq!(tokens("GIL释放"), ["gil", "释放"]);
    }

    #[test]
    fn a_rebuilt_index_finds_a_chinese_word() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut index = IndexBuilder::new()
            .save_docs(true)
            .add_fields(&["title", "body", "breadcrumbs"])
            .build();
        index.add_doc("0", ["线程", "主线程等待所有工作线程结束。", "线程"]);
        let search = serde_json::json!({ "doc_urls": ["threads/index.html"], "index": index });
        let json = serde_json::to_string(&search).expect("serialisable");
        let script = format!(
            "{PREFIX}{}{SUFFIX}",
            json.replace('\\', "\\\\").replace('\'', "\\'")
        );
        std::fs::write(dir.path().join("searchindex-0123.js"), script).expect("written");

        rebuild_index(dir.path()).expect("the index is rebuilt");

        let script =
            std::fs::read_to_string(dir.path().join("searchindex-0123.js")).expect("readable");
        let quoted = script
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_suffix(SUFFIX))
            .expect("still mdBook's form");
        let search: Value = serde_json::from_str(&unescape(quoted)).expect("valid JSON");
        let body = &search["index"]["index"]["body"]["root"];
        // 工作 ("work") is a pair of the body's text: the inverted index has
        // a path 工 → 作 that holds document 0.
        assert!(
            body["工"]["作"]["docs"]["0"].is_object(),
            "{}",
            serde_json::to_string_pretty(body).unwrap_or_default()
        );
        assert_eq!(search["index"]["pipeline"], serde_json::json!([]));
        assert_eq!(search["doc_urls"][0], "threads/index.html");
    }
}
