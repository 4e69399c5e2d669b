//! Every ```` ```python ```` block of the rendered book runs.
//!
//! The rules are CONTRIBUTING.md's:
//! - a block is a whole program once its hidden lines (those starting with
//!   `~`, which mdBook hides on the page) are shown, and it must exit with
//!   status 0 within [`TIME_LIMIT`];
//! - `python,requires=3.14` runs it on the oldest interpreter found that is at
//!   least that version, `requires=gevent` only where that module imports;
//!   either is skipped visibly otherwise;
//! - `python,no_run` is only compiled (`py_compile`);
//! - `python,output` (or `output=unordered`) compares what it prints with the
//!   first ```` ```text ```` block after it.
//!
//! Without `python3` the test is skipped, and says so; CI sets
//! `BOOK_PYTHON_REQUIRED=1`, under which a missing `python3` or a missing
//! module fails instead. (A block that needs a newer Python than the machine
//! has is always skipped visibly: no machine can have every version.)

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bookctl::Book;

/// Long enough for any block on a loaded 2-core machine; a block that needs
/// more belongs in a listing or in `cargo book bench`.
const TIME_LIMIT: Duration = Duration::from_secs(30);

/// Most blocks sleep rather than compute, so running several at once costs
/// little CPU and saves most of the wall-clock time.
const PARALLEL_RUNS: usize = 8;

#[test]
fn every_python_block_of_the_book_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let book = Book::open(&root).expect("the book loads");
    let chapters = book.expanded_chapters().expect("the chapters expand");
    let blocks: Vec<PythonBlock> = chapters
        .iter()
        .flat_map(|chapter| python_blocks(&chapter.path, &chapter.content))
        .collect();
    assert!(!blocks.is_empty(), "the book has no ```python block at all");

    let required = std::env::var_os("BOOK_PYTHON_REQUIRED").is_some_and(|v| v == "1");
    let interpreters = Interpreters::discover();
    let Some(default) = interpreters.default() else {
        assert!(
            !required,
            "BOOK_PYTHON_REQUIRED=1 but python3 is not on the PATH"
        );
        skipped(&format!(
            "{} Python blocks: python3 is not available",
            blocks.len()
        ));
        return;
    };

    let failures = Mutex::new(Vec::new());
    let skips = Mutex::new(Vec::new());
    let next = Mutex::new(blocks.iter());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_RUNS {
            scope.spawn(|| {
                loop {
                    let Some(block) = next.lock().expect("no panic while held").next() else {
                        break;
                    };
                    match check(block, &interpreters, default) {
                        Outcome::Passed => {}
                        Outcome::Skipped(why) => skips
                            .lock()
                            .expect("no panic while held")
                            .push((block.describe(), why)),
                        Outcome::Failed(why) => failures
                            .lock()
                            .expect("no panic while held")
                            .push(format!("{}: {why}", block.describe())),
                    }
                }
            });
        }
    });

    let skips = skips.into_inner().expect("no panic while held");
    let mut failures = failures.into_inner().expect("no panic while held");
    for (block, why) in &skips {
        skipped(&format!("{block}: {why}"));
        if required && !why.starts_with("needs Python ") {
            failures.push(format!(
                "{block}: skipped under BOOK_PYTHON_REQUIRED=1: {why}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} Python blocks failed:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
}

/// One ```` ```python ```` block, with the ```` ```text ```` block after it.
#[derive(Debug)]
struct PythonBlock {
    chapter: PathBuf,
    /// Line of the opening fence in the expanded chapter (includes resolved).
    line: usize,
    attributes: BTreeMap<String, String>,
    /// The program, hidden lines shown.
    program: String,
    following_text: Option<String>,
}

impl PythonBlock {
    fn describe(&self) -> String {
        let first_line = self
            .program
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("");
        format!(
            "src/{} (the ```python block at line {} of the expanded chapter, starting `{first_line}`)",
            self.chapter.display(),
            self.line
        )
    }
}

/// The Python blocks of one expanded chapter, in order.
fn python_blocks(chapter: &Path, markdown: &str) -> Vec<PythonBlock> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

    let mut blocks: Vec<PythonBlock> = Vec::new();
    let mut open: Option<(String, usize, String)> = None; // (info, offset, text)
    // Python blocks since the last other code block: a text block after
    // them is the output of each (two twins may share one output).
    let mut awaiting_output: Vec<usize> = Vec::new();
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                open = Some((info.to_string(), range.start, String::new()));
            }
            Event::Text(text) => {
                if let Some((_, _, body)) = open.as_mut() {
                    body.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                // A text block after Python blocks, with prose but no other
                // code between them, is what they print.
                let Some((info, offset, body)) = open.take() else {
                    continue;
                };
                let mut words = info.split([' ', '\t', ',']).filter(|w| !w.is_empty());
                match words.next() {
                    Some("python") => blocks.push(PythonBlock {
                        chapter: chapter.to_path_buf(),
                        line: markdown[..offset].lines().count() + 1,
                        attributes: words
                            .map(|word| match word.split_once('=') {
                                Some((key, value)) => (key.to_string(), value.to_string()),
                                None => (word.to_string(), String::new()),
                            })
                            .collect(),
                        program: show_hidden_lines(&body),
                        following_text: None,
                    }),
                    Some("text") => {
                        for index in awaiting_output.drain(..) {
                            blocks[index].following_text = Some(body.clone());
                        }
                    }
                    _ => awaiting_output.clear(),
                }
                if info.split([' ', '\t', ',']).next() == Some("python") {
                    awaiting_output.push(blocks.len() - 1);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// What mdBook shows behind its "show hidden lines" button: a line whose
/// first non-blank character is `~` loses that `~` and keeps its indentation.
fn show_hidden_lines(code: &str) -> String {
    code.lines()
        .map(|line| {
            if line.trim_start().starts_with('~') {
                line.replacen('~', "", 1)
            } else {
                line.to_string()
            }
        })
        .map(|line| line + "\n")
        .collect()
}

enum Outcome {
    Passed,
    Skipped(String),
    Failed(String),
}

fn check(block: &PythonBlock, interpreters: &Interpreters, default: &Interpreter) -> Outcome {
    let mut python = default;
    if let Some(requirement) = block.attributes.get("requires") {
        if let Some(version) = parse_version(requirement) {
            match interpreters.at_least(version) {
                Some(found) => python = found,
                None => return Outcome::Skipped(format!("needs Python {requirement}")),
            }
        } else if !python.imports(requirement) {
            return Outcome::Skipped(format!(
                "needs the module {requirement}, which {} cannot import",
                python.path.display()
            ));
        }
    }

    let dir = tempfile::tempdir().expect("a temporary directory");
    let script = dir.path().join("block.py");
    std::fs::write(&script, &block.program).expect("the block is written");
    let mut command = Command::new(&python.path);
    if block.attributes.contains_key("no_run") {
        command.args(["-m", "py_compile"]);
    }
    command
        .arg(&script)
        .current_dir(dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let run = match run_bounded(command, TIME_LIMIT) {
        Ok(run) => run,
        Err(why) => return Outcome::Failed(why),
    };
    if !run.status_ok {
        return Outcome::Failed(format!(
            "{} exited with {} after {:.1} s\n--- stderr\n{}",
            python.describe(),
            run.status,
            run.elapsed.as_secs_f64(),
            tail(&run.stderr, 40)
        ));
    }
    if block.attributes.contains_key("no_run") {
        return Outcome::Passed;
    }
    if let Some(mode) = block.attributes.get("output") {
        let Some(expected) = &block.following_text else {
            return Outcome::Failed(
                "marked `output`, but no ```text block follows it in the chapter".into(),
            );
        };
        let mut want: Vec<&str> = expected.lines().map(str::trim_end).collect();
        let mut got: Vec<&str> = run.stdout.lines().map(str::trim_end).collect();
        trim_blank_ends(&mut want);
        trim_blank_ends(&mut got);
        match mode.as_str() {
            "" | "exact" => {}
            "unordered" => {
                want.sort_unstable();
                got.sort_unstable();
            }
            other => {
                return Outcome::Failed(format!(
                    "unknown output mode `{other}` (use `output` or `output=unordered`)"
                ));
            }
        }
        if want != got {
            return Outcome::Failed(format!(
                "prints something other than the ```text block after it shows ({})\n\
                 --- the book shows\n{}\n--- {} printed\n{}",
                if mode == "unordered" {
                    "compared as lines in any order"
                } else {
                    "compared exactly"
                },
                want.join("\n"),
                python.describe(),
                got.join("\n")
            ));
        }
    }
    Outcome::Passed
}

fn trim_blank_ends(lines: &mut Vec<&str>) {
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    while lines.first().is_some_and(|line| line.is_empty()) {
        lines.remove(0);
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

struct Run {
    status_ok: bool,
    status: String,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `command` to completion, or kills it at `limit`.
fn run_bounded(mut command: Command, limit: Duration) -> Result<Run, String> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Drain both pipes on their own threads, so that a chatty block cannot
    // fill a pipe and block before it exits.
    let read_all = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read_all(Box::new(stdout));
    let stderr = read_all(Box::new(stderr));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "still running after {} s: killed (a block must finish well within that)",
                    limit.as_secs()
                ));
            }
            Err(error) => return Err(format!("cannot wait for the block: {error}")),
        }
    };
    Ok(Run {
        status_ok: status.success(),
        status: status.to_string(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    })
}

/// A Python interpreter and its version.
#[derive(Debug)]
struct Interpreter {
    path: PathBuf,
    version: (u32, u32),
    importable: Mutex<BTreeMap<String, bool>>,
}

impl Interpreter {
    fn describe(&self) -> String {
        format!(
            "{} (Python {}.{})",
            self.path.display(),
            self.version.0,
            self.version.1
        )
    }

    /// Whether `import module` works, asked once per module: importing
    /// gevent takes a large part of a second, and many blocks need it.
    fn imports(&self, module: &str) -> bool {
        let mut known = self.importable.lock().expect("no panic while held");
        *known.entry(module.to_owned()).or_insert_with(|| {
            Command::new(&self.path)
                .args(["-c", &format!("import {module}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
    }
}

/// `python3` first (the default), then every other CPython 3 found on the
/// PATH as `python3.N` or under pyenv, for blocks that need a newer one.
struct Interpreters(Vec<Interpreter>);

impl Interpreters {
    fn discover() -> Interpreters {
        let mut candidates: Vec<PathBuf> = vec!["python3".into()];
        candidates.extend((11..=20).map(|minor| PathBuf::from(format!("python3.{minor}"))));
        candidates.extend((11..=20).map(|minor| PathBuf::from(format!("python3.{minor}t"))));
        let pyenv_root = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
        if let Some(versions) = pyenv_root.map(|root| root.join("versions"))
            && let Ok(entries) = std::fs::read_dir(versions)
        {
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("bin").join("python3"))
                .filter(|path| path.is_file())
                .collect();
            found.sort();
            candidates.extend(found);
        }
        let mut interpreters: Vec<Interpreter> = Vec::new();
        for path in candidates {
            let Some(version) = version_of(&path) else {
                continue;
            };
            if interpreters.iter().all(|known| known.version != version)
                || path == Path::new("python3")
            {
                interpreters.push(Interpreter {
                    path,
                    version,
                    importable: Mutex::default(),
                });
            }
        }
        Interpreters(interpreters)
    }

    /// `python3`, the one a reader types.
    fn default(&self) -> Option<&Interpreter> {
        self.0
            .iter()
            .find(|found| found.path == Path::new("python3"))
    }

    /// The oldest interpreter at least `wanted`.
    fn at_least(&self, wanted: (u32, u32)) -> Option<&Interpreter> {
        self.0
            .iter()
            .filter(|found| found.version >= wanted)
            .min_by_key(|found| found.version)
    }
}

fn version_of(python: &Path) -> Option<(u32, u32)> {
    let output = Command::new(python)
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut numbers = text.split_whitespace().map(str::parse::<u32>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(major)), Some(Ok(minor))) if major == 3 => Some((major, minor)),
        _ => None,
    }
}

fn parse_version(requirement: &str) -> Option<(u32, u32)> {
    let (major, minor) = requirement.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Straight to stderr: libtest hides the output of a passing test.
fn skipped(what: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}");
}

#[test]
fn hidden_lines_are_shown_as_mdbook_shows_them() {
    let shown = show_hidden_lines("~import time\nprint(1)\n    ~time.sleep(0)\n");
    assert_eq!(shown, "import time\nprint(1)\n    time.sleep(0)\n");
}

#[test]
fn blocks_take_their_attributes_and_the_text_block_after_them() {
    let chapter = "# T\n\n```python,output=unordered\nprint(1)\n```\n\n```python,output\nprint(1)\n```\n\nBoth print:\n\n```text\n1\n```\n\n```python,requires=3.14\n~import sys\nprint(2)\n```\n\n```rust\nfn main() {}\n```\n\n```text\nnot Python's\n```\n";
    let blocks = python_blocks(Path::new("t.md"), chapter);
    assert_eq!(blocks.len(), 3);
    assert_eq!(
        blocks[0].attributes.get("output").map(String::as_str),
        Some("unordered")
    );
    // Two twins before one text block share it.
    assert_eq!(blocks[0].following_text.as_deref(), Some("1\n"));
    assert_eq!(blocks[1].following_text.as_deref(), Some("1\n"));
    assert_eq!(blocks[0].line, 3);
    assert_eq!(
        blocks[2].attributes.get("requires").map(String::as_str),
        Some("3.14")
    );
    assert_eq!(blocks[2].program, "import sys\nprint(2)\n");
    // A Rust block in between: the text after it is not the Python's.
    assert!(blocks[2].following_text.is_none());
}
