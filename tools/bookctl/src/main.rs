//! `cargo book`: the book's command-line tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use bookctl::listings::{self, ListingKind};
use bookctl::outputs::{self, Outcome};
use bookctl::{Book, BookError, linkcheck, serve};
use bookctl::{bench, extensions, i18n};
use clap::{Parser, Subcommand};

/// Build and check "Concurrency in Rust for Python Programmers".
#[derive(Parser)]
#[command(name = "cargo book", bin_name = "cargo book", version)]
struct Cli {
    /// The book's root (the directory with book.toml); by default the nearest
    /// one at or above the current directory.
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the HTML book (into book/ unless --dest says otherwise) and check its links.
    Build {
        /// Where to write the HTML.
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
    },
    /// Serve the book on 127.0.0.1 with live reload, and run every example's
    /// Run button locally (offline, with the test suite's crates).
    Serve(serve::Args),
    /// The Chinese edition's catalogue (po/zh-CN.po).
    #[command(subcommand)]
    Translations(Translations),
    /// Check the internal links of an HTML book rendered elsewhere (e.g. by `mdbook build`).
    Links {
        /// The directory holding the rendered HTML.
        #[arg(value_name = "HTML_DIR")]
        html: PathBuf,
    },
    /// Run every listing and compare its output with its output.txt.
    Outputs {
        /// Rewrite each output.txt from a fresh run instead of comparing.
        #[arg(long)]
        bless: bool,
        /// Only the listings whose package name contains this text.
        #[arg(long, short = 'p', value_name = "TEXT")]
        package: Option<String>,
    },
    /// Measure the book's figures (Rust and Python, release builds) and write
    /// them under src/measured/, each table with the raw runs beside it as
    /// JSON. A suite during which other processes used the CPU (beyond the
    /// limits its stamp states) is not written into src/measured/.
    Bench {
        /// A short smoke run (small sizes, one run each) written to
        /// target/bench-quick/ unless --out says otherwise.
        #[arg(long)]
        quick: bool,
        /// Only this suite (repeatable): cpu, sleepers, echo, no-gil,
        /// false-sharing, process-pool, blocking, scale, switching,
        /// may-limits, pyo3, distributed.
        #[arg(long, value_name = "SUITE")]
        only: Vec<String>,
        /// Runs per figure, in interleaved rounds (default 5; --quick: 1).
        #[arg(long, value_name = "N")]
        runs: Option<usize>,
        /// Where to write the files (default: src/measured/). Elsewhere, a
        /// disturbed suite is written too, with a warning in its stamp.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Skip the suites that an earlier run into the same directory
        /// finished (it keeps a list under target/bench-progress/), so that
        /// an interrupted or refused run goes on where it stopped.
        #[arg(long)]
        resume: bool,
        /// A Python interpreter to measure the Python rows on (repeatable),
        /// e.g. a free-threaded python3.14t. Default: python3 and every
        /// pyenv CPython 3.11 or later, one per version.
        #[arg(long = "python", value_name = "PATH")]
        pythons: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Translations {
    /// Refresh po/zh-CN.po from the English: new messages are added
    /// untranslated, changed ones are marked fuzzy with their old
    /// translation (GNU gettext's msgmerge), translator comments are kept.
    Update,
    /// List every message the catalogue leaves untranslated or fuzzy, and
    /// every translation that lacks the glossary's Chinese for a term its
    /// English uses; exit 1 if there is any.
    Check {
        /// A catalogue other than po/zh-CN.po (a part of it, say): only the
        /// English messages it has entries for are checked.
        #[arg(long, value_name = "FILE")]
        po: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = || cli.root.clone().map_or_else(find_root, Ok);
    match cli.command {
        Command::Build { ref dest } => build(&root()?, dest.as_deref()),
        Command::Serve(ref args) => serve::run(root()?, args),
        Command::Links { ref html } => check_links(html),
        Command::Translations(Translations::Update) => update_translations(&root()?),
        Command::Translations(Translations::Check { ref po }) => {
            check_translations(&root()?, po.as_deref())
        }
        Command::Outputs { bless, ref package } => {
            check_outputs(&root()?, bless, package.as_deref())
        }
        Command::Bench {
            quick,
            ref only,
            runs,
            ref out,
            resume,
            ref pythons,
        } => bench::run(
            &root()?,
            &bench::Options {
                quick,
                only: only.clone(),
                runs,
                out: out.clone(),
                resume,
                pythons: pythons.clone(),
            },
        ),
    }
}

/// The nearest directory at or above the current one that holds book.toml.
fn find_root() -> Result<PathBuf> {
    let here = std::env::current_dir().context("cannot read the current directory")?;
    here.ancestors()
        .find(|dir| dir.join("book.toml").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| BookError::NoBookToml(here).into())
}

fn build(root: &Path, dest: Option<&Path>) -> Result<()> {
    let html = bookctl::book::render_editions(root, dest, Ok)?;
    check_links(&html)?;
    let index = html.join("index.html");
    println!("Built the book: open {}", index.display());
    println!(
        "and its Chinese edition: {}",
        html.join(bookctl::i18n::LANGUAGE)
            .join("index.html")
            .display()
    );
    println!(
        "(or serve it with `cargo book serve --open`: live reload, and Run buttons that work offline)"
    );
    Ok(())
}

fn update_translations(root: &Path) -> Result<()> {
    let sources = Book::open(root)?.messages()?;
    let template_dir = root.join("target").join("i18n");
    std::fs::create_dir_all(&template_dir)
        .with_context(|| format!("cannot create {}", template_dir.display()))?;
    let template = template_dir.join("messages.pot");
    polib::po_file::write(&i18n::template_catalogue(&sources), &template)
        .with_context(|| format!("cannot write {}", template.display()))?;
    let catalogue = i18n::catalogue_path(root);
    if !catalogue.exists() {
        std::fs::create_dir_all(catalogue.parent().expect("po/ has a parent"))?;
        std::fs::copy(&template, &catalogue)
            .with_context(|| format!("cannot create {}", catalogue.display()))?;
        println!(
            "Created {} with {} messages to translate",
            catalogue.display(),
            sources.len()
        );
        return Ok(());
    }
    let status = std::process::Command::new("msgmerge")
        .args([
            "--quiet",
            "--update",
            "--backup=none",
            "--no-wrap",
            "--sort-by-file",
        ])
        .arg(&catalogue)
        .arg(&template)
        .status()
        .context("cannot run msgmerge: install GNU gettext (apt-get install gettext)")?;
    if !status.success() {
        bail!("msgmerge failed ({status}) on {}", catalogue.display());
    }
    let merged = i18n::load(&catalogue)?;
    draw_translated_diagrams(root, &merged)?;
    let gaps = i18n::gaps(&sources, &merged);
    println!(
        "Updated {}: {} messages, {} to translate (`cargo book translations check` lists them)",
        catalogue.display(),
        sources.len(),
        gaps.len()
    );
    Ok(())
}

/// Draws each diagram's Chinese picture (`<name>.zh-CN.svg`) from its source
/// with the catalogue's labels, with Graphviz's `dot`.
fn draw_translated_diagrams(root: &Path, catalogue: &polib::catalog::Catalog) -> Result<()> {
    use std::io::Write as _;
    for source in i18n::diagram_sources(&Book::open(root)?.source_dir()) {
        let dot = std::fs::read_to_string(&source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let mut child = std::process::Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("cannot run dot: install Graphviz (apt-get install graphviz)")?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(i18n::translate_diagram(&dot, catalogue).as_bytes())?;
        let drawn = child.wait_with_output()?;
        if !drawn.status.success() {
            bail!(
                "dot failed on the translated {}: {}",
                source.display(),
                String::from_utf8_lossy(&drawn.stderr)
            );
        }
        let picture = i18n::translated_picture(&source);
        std::fs::write(&picture, &drawn.stdout)
            .with_context(|| format!("cannot write {}", picture.display()))?;
    }
    Ok(())
}

fn check_translations(root: &Path, part: Option<&Path>) -> Result<()> {
    let mut sources = Book::open(root)?.messages()?;
    let path = part.map_or_else(|| i18n::catalogue_path(root), Path::to_path_buf);
    let catalogue = i18n::load(&path)?;
    if part.is_some() {
        let covered: std::collections::HashSet<&str> =
            catalogue.messages().map(|m| m.msgid()).collect();
        sources.retain(|source| covered.contains(source.msgid.as_str()));
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let glossary_path = root.join("src/appendix/glossary.md");
    let glossary = std::fs::read_to_string(&glossary_path)
        .with_context(|| format!("cannot read {}", glossary_path.display()))?;
    let gaps = i18n::gaps(&sources, &catalogue);
    let inconsistent = i18n::glossary_gaps(&text, &sources, &catalogue, &i18n::glossary(&glossary));
    let misformatted = i18n::misformatted(&sources, &catalogue);
    for found in &misformatted {
        println!("{found}");
    }
    for gap in &gaps {
        println!("{gap}");
    }
    for found in &inconsistent {
        println!("{found}");
    }
    if gaps.is_empty() && inconsistent.is_empty() && misformatted.is_empty() {
        println!(
            "{}: all {} messages translated, glossary terms consistent, Markdown kept",
            path.display(),
            sources.len()
        );
        Ok(())
    } else {
        bail!(
            "{}: {} messages untranslated or fuzzy, {} translations without the glossary's \
             term, {} whose Markdown differs from the English",
            path.display(),
            gaps.len(),
            inconsistent.len(),
            misformatted.len()
        )
    }
}

fn check_links(html: &Path) -> Result<()> {
    if !html.join("index.html").is_file() {
        bail!(
            "{} has no index.html: pass the directory of a rendered book",
            html.display()
        );
    }
    let broken = linkcheck::broken_links(html)?;
    if !broken.is_empty() {
        let list: Vec<String> = broken.iter().map(ToString::to_string).collect();
        bail!("the book has broken internal links:\n{}", list.join("\n"));
    }
    Ok(())
}

fn check_outputs(root: &Path, bless: bool, filter: Option<&str>) -> Result<()> {
    let selected: Vec<_> = listings::discover(root)?
        .into_iter()
        .filter(|listing| match &listing.kind {
            ListingKind::Program { package, .. } | ListingKind::Extension { package, .. } => {
                filter.is_none_or(|f| package.contains(f))
            }
            ListingKind::CompileFail => false,
        })
        .collect();
    if selected.is_empty() {
        bail!("no listing package matches {filter:?}");
    }
    let (programs, extensions): (Vec<_>, Vec<_>) = selected
        .into_iter()
        .partition(|listing| matches!(listing.kind, ListingKind::Program { .. }));
    let mut failures = 0;
    let mut report = |name: &str, written: String, outcome: Outcome| match outcome {
        Outcome::Matches => println!("ok       {name}"),
        Outcome::Blessed => println!("wrote    {written}"),
        Outcome::Differs { expected, actual } => {
            failures += 1;
            println!("DIFFERS  {name}\n--- expected\n{expected}--- this run\n{actual}");
        }
        Outcome::Failed(reason) => {
            failures += 1;
            println!("FAILED   {name}: {reason}");
        }
    };
    // Every listing is built, as `cargo test` builds them (see
    // `outputs::build`), whichever were selected: after `cargo test`, nothing.
    let built = outputs::build(root)?;
    if !programs.is_empty() {
        let executables = &built.executables;
        for listing in &programs {
            let ListingKind::Program { package, .. } = &listing.kind else {
                continue;
            };
            let Some(executable) = executables.get(package) else {
                bail!("cargo built no executable for {package}");
            };
            let outcome = outputs::check(listing, executable, bless);
            report(package, format!("{}/output.txt", listing.id), outcome);
        }
    }
    if !extensions.is_empty() {
        if let Some(reason) = extensions::python_missing() {
            bail!("the extension listings need Python: {reason}");
        }
        let libraries = &built.libraries;
        let modules = tempfile::tempdir().context("cannot create a temporary directory")?;
        for listing in &extensions {
            let ListingKind::Extension {
                package, module, ..
            } = &listing.kind
            else {
                continue;
            };
            let Some(library) = libraries.get(module) else {
                bail!("cargo built no library for {package}");
            };
            extensions::stage(modules.path(), module, library)?;
            for program in extensions::programs(listing)? {
                let name = program.file_name().unwrap_or_default().to_string_lossy();
                let outcome = extensions::check(listing, &program, modules.path(), bless);
                let written = extensions::output_file(&program);
                let written = written.file_name().unwrap_or_default().to_string_lossy();
                report(
                    &format!("{package} {name}"),
                    format!("{}/{written}", listing.id),
                    outcome,
                );
            }
        }
    }
    if failures > 0 {
        bail!("{failures} listing(s) failed; see above");
    }
    Ok(())
}
