//! Loading, expanding and rendering the book with mdBook's own library.

use std::path::{Path, PathBuf};

use mdbook_driver::MDBook;
use mdbook_driver::book::BookItem;
use mdbook_driver::builtin_renderers::MarkdownRenderer;

use crate::diagnostics::capture_warnings;
use crate::error::BookError;
use crate::i18n;
use crate::includes;
use polib::catalog::Catalog;

/// The Chinese edition's title and description (`book.toml` holds the
/// English ones; gettext translates chapters, not configuration).
const TITLE_ZH: &str = "写给 Python 程序员的 Rust 并发";
const DESCRIPTION_ZH: &str = "线程、进程、asyncio 和 gevent，以及在 Rust 中如何用 std::thread、rayon、tokio 和 may 做同样的事。每个示例都经过编译、运行和测试。";

/// A chapter after mdBook's link preprocessor ran: every `{{#include}}` and
/// `{{#rustdoc_include}}` replaced by what the reader sees.
#[derive(Debug, Clone)]
pub struct ExpandedChapter {
    /// Path relative to `src/`, as in `SUMMARY.md`.
    pub path: PathBuf,
    pub content: String,
}

/// A loaded book whose includes have been checked.
pub struct Book {
    root: PathBuf,
    mdbook: MDBook,
}

impl Book {
    /// Loads the book at `root` (the directory holding `book.toml`) and checks
    /// that every include helper points at a file and anchor that exist.
    pub fn open(root: impl AsRef<Path>) -> Result<Book, BookError> {
        let root = root.as_ref().to_path_buf();
        if !root.join("book.toml").is_file() {
            return Err(BookError::NoBookToml(root));
        }
        let mdbook = mdbook_step(
            "loading the book",
            || MDBook::load(&root),
            |reason| BookError::Load {
                root: root.clone(),
                reason,
            },
        )?;
        let book = Book { root, mdbook };
        for chapter in book.source_chapters() {
            includes::check(&book.source_dir(), &chapter.path, &chapter.content)?;
        }
        Ok(book)
    }

    /// The directory holding `book.toml`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The chapters' directory (`src/` unless `book.toml` says otherwise).
    pub fn source_dir(&self) -> PathBuf {
        self.mdbook.source_dir()
    }

    /// Every chapter with a file, as written (drafts have no file and are skipped).
    pub fn source_chapters(&self) -> Vec<ExpandedChapter> {
        chapters_of(self.mdbook.iter())
    }

    /// Every chapter with a file, as mdBook's preprocessors leave it for rendering.
    pub fn expanded_chapters(&self) -> Result<Vec<ExpandedChapter>, BookError> {
        let (book, _context) = mdbook_step(
            "expanding includes",
            || self.mdbook.preprocess_book(&MarkdownRenderer::new()),
            |reason| BookError::Load {
                root: self.root.clone(),
                reason,
            },
        )?;
        Ok(chapters_of(book.iter()))
    }

    /// Every message of the English chapters, titles and diagrams that the
    /// Chinese edition's catalogue must translate, in book order.
    pub fn messages(&self) -> Result<Vec<i18n::Source>, BookError> {
        let items: Vec<&BookItem> = self.mdbook.iter().collect();
        let source_dir = self.mdbook.config.book.src.display().to_string();
        let mut sources = i18n::template(&items, &source_dir)?;
        i18n::add_diagram_labels(&mut sources, &self.source_dir(), &source_dir)?;
        Ok(sources)
    }

    /// The Chinese edition: the chapters and titles translated by
    /// `catalogue` (before mdBook expands their includes, so that included
    /// code and tables reach the page as they are), with `<html lang="zh-CN">`;
    /// `cargo book build` renders it into `zh-CN/` under the English book.
    pub fn translated(mut self, mut catalogue: Catalog) -> Result<Book, BookError> {
        mdbook_i18n_helpers::gettext::add_stripped_summary_translations(&mut catalogue);
        let mut failures = Vec::new();
        self.mdbook.book.for_each_mut(|item| {
            let result = match item {
                BookItem::Chapter(chapter) => i18n::translate_markdown(
                    &i18n::translate_html_texts(
                        &i18n::pin_heading_ids(&chapter.content),
                        &catalogue,
                    ),
                    &catalogue,
                )
                .map(|content| chapter.content = content)
                .and_then(|()| i18n::translate_markdown(&chapter.name, &catalogue))
                .map(|name| chapter.name = name)
                // The titles above the chapter (the search results' path).
                .and_then(|()| {
                    chapter.parent_names.iter_mut().try_for_each(|parent| {
                        i18n::translate_markdown(parent, &catalogue).map(|t| *parent = t)
                    })
                }),
                BookItem::PartTitle(title) => {
                    i18n::translate_markdown(title, &catalogue).map(|t| *title = t)
                }
                BookItem::Separator => Ok(()),
            };
            failures.extend(result.err());
        });
        if let Some(failure) = failures.into_iter().next() {
            return Err(failure);
        }
        self.mdbook.config.book.language = Some(i18n::LANGUAGE.to_owned());
        self.mdbook.config.book.title = Some(TITLE_ZH.to_owned());
        self.mdbook.config.book.description = Some(DESCRIPTION_ZH.to_owned());
        Ok(self)
    }

    /// Leaves the search index out of the next rendering. It is most of
    /// the rendering time and has no links, so the test suite's link check
    /// skips it; `cargo book build` always builds it.
    pub fn without_search_index(mut self) -> Result<Book, BookError> {
        self.mdbook
            .config
            .set("output.html.search.enable", false)
            .map_err(|error| BookError::Load {
                root: self.root.clone(),
                reason: format!("{error:#}"),
            })?;
        Ok(self)
    }

    /// Keeps every chapter out of the search index of the next rendering,
    /// while the pages keep their search bar. Building the index is most of
    /// the rendering time: `cargo book serve` shows an edit with this quick
    /// rendering first, and then renders again with the index.
    pub fn with_empty_search_index(mut self) -> Result<Book, BookError> {
        // A chapter setting applies to every chapter under its path, and
        // every path is under "".
        let no_chapter = toml::Table::from_iter([(
            String::new(),
            toml::Value::Table(toml::Table::from_iter([(
                "enable".to_owned(),
                toml::Value::Boolean(false),
            )])),
        )]);
        self.mdbook
            .config
            .set("output.html.search.chapter", no_chapter)
            .map_err(|error| BookError::Load {
                root: self.root.clone(),
                reason: format!("{error:#}"),
            })?;
        Ok(self)
    }

    /// Renders the HTML book into `destination` (or `book.toml`'s build
    /// directory), failing on any warning mdBook reports.
    pub fn render_html(mut self, destination: Option<&Path>) -> Result<PathBuf, BookError> {
        if let Some(destination) = destination {
            self.mdbook.config.build.build_dir = destination.to_path_buf();
        }
        let output = self.mdbook.build_dir_for("html");
        refuse_foreign_directory(&output)?;
        mdbook_step(
            "rendering HTML",
            || self.mdbook.build(),
            |reason| BookError::Render {
                root: self.root.clone(),
                reason,
            },
        )?;
        Ok(output)
    }
}

/// Renders the English book into `destination` (or `book.toml`'s build
/// directory) and then, if the book has `po/zh-CN.po`, the Chinese edition
/// into its `zh-CN/`, each loaded
/// afresh and passed through `adjust` (for example to leave out the search
/// index). Returns the English book's directory.
pub fn render_editions(
    root: &Path,
    destination: Option<&Path>,
    adjust: impl Fn(Book) -> Result<Book, BookError>,
) -> Result<PathBuf, BookError> {
    let catalogue_path = i18n::catalogue_path(root);
    // A book without a catalogue (a reader's own, the tests' small one) has
    // one edition.
    let catalogue = if catalogue_path.exists() {
        Some(i18n::load(&catalogue_path)?)
    } else {
        None
    };
    let html = adjust(Book::open(root)?)?.render_html(destination)?;
    if let Some(catalogue) = catalogue {
        let chinese = adjust(Book::open(root)?.translated(catalogue)?)?
            .render_html(Some(&html.join(i18n::LANGUAGE)))?;
        i18n::search::rebuild_index(&chinese)?;
    }
    Ok(html)
}

/// mdBook empties its output directory before it renders. Refuse to render
/// into a non-empty directory that is not an earlier mdBook output (those hold
/// a `.nojekyll` file), so that a mistyped `--dest` cannot delete anything.
fn refuse_foreign_directory(output: &Path) -> Result<(), BookError> {
    let Ok(mut entries) = std::fs::read_dir(output) else {
        return Ok(()); // missing: mdBook creates it
    };
    if entries.next().is_some() && !output.join(".nojekyll").exists() {
        return Err(BookError::ForeignOutputDir(output.to_path_buf()));
    }
    Ok(())
}

/// Runs one step of mdBook: the step fails on its error (wrapped by `fail`),
/// and also on any warning or error mdBook merely logged meanwhile.
fn mdbook_step<T>(
    stage: &'static str,
    work: impl FnOnce() -> anyhow::Result<T>,
    fail: impl FnOnce(String) -> BookError,
) -> Result<T, BookError> {
    let (result, warnings) = capture_warnings(work);
    let value = result.map_err(|error| fail(format!("{error:#}")))?;
    if !warnings.is_empty() {
        return Err(BookError::Diagnostics {
            stage,
            messages: warnings,
        });
    }
    Ok(value)
}

fn chapters_of<'a>(items: impl Iterator<Item = &'a BookItem>) -> Vec<ExpandedChapter> {
    items
        .filter_map(|item| match item {
            BookItem::Chapter(chapter) => chapter.path.as_ref().map(|path| ExpandedChapter {
                path: path.clone(),
                content: chapter.content.clone(),
            }),
            _ => None,
        })
        .collect()
}
