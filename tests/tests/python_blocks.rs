//! Every ```` ```python ```` block of the rendered book runs.
//!
//! The rules are CONTRIBUTING.md's:
//! - a block is a whole program once its hidden lines (those starting with
//!   `~`, which mdBook hides on the page) are shown, and it must exit with
//!   status 0 within [`TIME_LIMIT`];
//! - it runs on the oldest CPython found (3.11 or newer: `python3`,
//!   `python3.N` on the PATH, pyenv's), and with `BOOK_EVERY_PYTHON=1` (as
//!   `.ci/run` sets it) on the newest too, the two ends the book promises;
//! - an exception that escapes a thread, an asyncio task or callback whose
//!   failure nobody retrieves, and an exception Python can only print
//!   ("Exception ignored in …") fail the block, although CPython exits with
//!   status 0 after printing them: [`PRELUDE`] sees to that;
//! - `python,requires=3.14` runs it on the oldest (and the newest)
//!   interpreter that is at least that version, `requires=gevent` on those
//!   that import that module; it is skipped visibly where there is none;
//! - `python,no_run` is only compiled (`py_compile`);
//! - `python,output` (or `output=unordered`) compares what it prints with the
//!   first ```` ```text ```` block after it.
//!
//! A block that passed on an interpreter is not run there again until its
//! text, its expected output, the interpreter or the modules installed in it
//! change (`bookctl::results`, kept under `target/`; `BOOK_TEST_CACHE=off`
//! runs them all, as CI does). A failure is never recorded.
//! `BOOK_TEST_TIMES=1` prints how long each block took.
//!
//! Without any CPython 3.11+ the test is skipped, and says so; CI sets
//! `BOOK_PYTHON_REQUIRED=1`, under which a missing interpreter or a missing
//! module fails instead. (A block that needs a newer Python than the machine
//! has is always skipped visibly: no machine can have every version.)

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bookctl::Book;
use bookctl::results::{self, KeyBuilder, Passed};

/// Long enough for any block on a loaded 2-core machine; a block that needs
/// more belongs in a listing or in `cargo book bench`.
const TIME_LIMIT: Duration = Duration::from_secs(30);

/// Most blocks sleep rather than compute, so running several at once costs
/// little CPU and saves most of the wall-clock time.
const PARALLEL_RUNS: usize = 8;

/// The oldest CPython the book supports.
const OLDEST_SUPPORTED: (u32, u32) = (3, 11);

/// The status with which [`PRELUDE`] ends a block whose failure CPython
/// would only have printed.
const FAILED_QUIETLY: i32 = 70;

/// Loaded by every block as `sitecustomize` (its directory goes first on
/// `PYTHONPATH`), before the block's first line.
///
/// Why hooks, and not a search of stderr for "Traceback": a block may print
/// a traceback on purpose (one it caught), and a hook sees exactly the
/// failures CPython reports and nothing else. Why `os._exit`: such a failure
/// may be reported from any thread, or while the interpreter shuts down,
/// where raising does nothing and `sys.exit` only ends a thread.
/// The hooks chain to CPython's own, so the traceback is printed as usual.
/// A block that installs its own hook (or asyncio exception handler) has
/// taken charge of its failures, and is left alone.
const PRELUDE: &str = r#"# sitecustomize for the book's Python blocks (tests/tests/python_blocks.rs).
import os
import sys
import _thread

FAILED_QUIETLY = 70


def _fail(what):
    try:
        print(f"\n[python_blocks] {what}: the block fails", file=sys.stderr, flush=True)
    except Exception:
        pass
    finally:
        os._exit(FAILED_QUIETLY)


# An exception that escapes a thread's run(). threading takes its hook from
# _thread when it is imported; set both in case it already is.
_print_thread_exception = _thread._excepthook


def _thread_excepthook(args):
    _print_thread_exception(args)
    if not issubclass(args.exc_type, SystemExit):
        name = args.thread.name if args.thread is not None else "?"
        _fail(f"an exception escaped the thread {name!r}")


_thread._excepthook = _thread_excepthook
if "threading" in sys.modules:
    sys.modules["threading"].excepthook = _thread_excepthook

# "Exception ignored in ...": an exception in __del__, a callback, a
# generator being closed, a flush at exit.
_print_unraisable = sys.unraisablehook


def _unraisablehook(unraisable):
    _print_unraisable(unraisable)
    _fail("an exception Python could not raise (printed above)")


sys.unraisablehook = _unraisablehook


# asyncio (and uvloop) report a task or future whose exception nobody
# retrieved, and an exception in a callback, through the logger
# "asyncio" at level ERROR, from the loop's default exception handler.
# A filter on that logger sees each record first: it lets the record be
# printed as usual, then fails. asyncio is not imported here (it is slow
# to import, and gevent must patch the standard library first): the filter
# is added when asyncio.log, which creates the logger, is imported.
def _fail_after_asyncio_errors(module):
    logger = module.logger

    def fail_on_error(record):
        if record.levelno >= 40 and not getattr(record, "_python_blocks_seen", False):
            record._python_blocks_seen = True
            logger.handle(record)
            _fail("asyncio reported an error nobody handled")
        return True

    logger.addFilter(fail_on_error)


class _AfterImport:
    """Runs a function on a module as soon as it is first imported."""

    def __init__(self, patches):
        self._patches = patches

    def find_spec(self, name, path=None, target=None):
        patch = self._patches.pop(name, None)
        if patch is None:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


class _PatchingLoader:
    def __init__(self, loader, patch):
        self._loader = loader
        self._patch = patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


sys.meta_path.insert(0, _AfterImport({"asyncio.log": _fail_after_asyncio_errors}))
"#;

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
    let interpreters = interpreters();
    let (Some(oldest), Some(newest)) = (interpreters.oldest(), interpreters.newest()) else {
        assert!(
            !required,
            "BOOK_PYTHON_REQUIRED=1 but no CPython {}.{} or newer is on the PATH or under pyenv",
            OLDEST_SUPPORTED.0, OLDEST_SUPPORTED.1
        );
        skipped(&format!(
            "{} Python blocks: no CPython {}.{} or newer (python3, python3.N, pyenv) is available",
            blocks.len(),
            OLDEST_SUPPORTED.0,
            OLDEST_SUPPORTED.1
        ));
        return;
    };
    let prelude = Prelude::write();
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/python"));
    let show_times = std::env::var_os("BOOK_TEST_TIMES").is_some_and(|v| v == "1");
    // Both ends of the supported range in CI; the oldest alone by default,
    // which halves the number of runs on a machine with several versions.
    let both_ends = std::env::var_os("BOOK_EVERY_PYTHON").is_some_and(|v| v == "1");
    let on = if newest.version == oldest.version {
        oldest.describe()
    } else if both_ends {
        format!("{} and {}", oldest.describe(), newest.describe())
    } else {
        format!(
            "{} (BOOK_EVERY_PYTHON=1 adds {})",
            oldest.describe(),
            newest.describe()
        )
    };

    // Which interpreters each block runs on, or why it is skipped there.
    let mut runs: Vec<(&PythonBlock, &Interpreter)> = Vec::new();
    let mut skips: Vec<(String, String)> = Vec::new();
    for block in &blocks {
        match interpreters.for_block(block, both_ends) {
            Ok((chosen, not_here)) => {
                runs.extend(chosen.into_iter().map(|python| (block, python)));
                skips.extend(not_here.into_iter().map(|why| (block.describe(), why)));
            }
            Err(why) => skips.push((block.describe(), why)),
        }
    }

    let failures = Mutex::new(Vec::new());
    let ran = Mutex::new(0_usize);
    let next = Mutex::new(runs.iter());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_RUNS {
            scope.spawn(|| {
                loop {
                    let Some(&(block, python)) = next.lock().expect("no panic while held").next()
                    else {
                        break;
                    };
                    let started = Instant::now();
                    let (outcome, cached) = check_recorded(block, python, &prelude, &passed);
                    if !cached {
                        *ran.lock().expect("no panic while held") += 1;
                        if show_times {
                            let _ = writeln!(
                                std::io::stderr(),
                                "TIME {:6.2} s  {} on Python {}.{}",
                                started.elapsed().as_secs_f64(),
                                block.describe(),
                                python.version.0,
                                python.version.1
                            );
                        }
                    }
                    if let Outcome::Failed(why) = outcome {
                        failures.lock().expect("no panic while held").push(format!(
                            "{} on {}: {why}",
                            block.describe(),
                            python.describe()
                        ));
                    }
                }
            });
        }
    });

    let mut failures = failures.into_inner().expect("no panic while held");
    for (block, why) in &skips {
        skipped(&format!("{block}: {why}"));
        if required && !why.starts_with("needs Python ") {
            failures.push(format!(
                "{block}: skipped under BOOK_PYTHON_REQUIRED=1: {why}"
            ));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "python blocks: {} blocks, {} runs on {on}; {} run now{}",
        blocks.len(),
        runs.len(),
        ran.into_inner().expect("no panic while held"),
        if passed.is_on() {
            format!(
                ", the others unchanged since they passed ({}=off runs all)",
                results::SWITCH
            )
        } else {
            String::new()
        }
    );
    assert!(
        failures.is_empty(),
        "{} of {} Python block runs failed:\n\n{}",
        failures.len(),
        runs.len(),
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
    Failed(String),
}

/// [`PRELUDE`], written once as `sitecustomize.py` in a directory of its own.
struct Prelude {
    dir: tempfile::TempDir,
}

impl Prelude {
    fn write() -> Prelude {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("sitecustomize.py"), PRELUDE)
            .expect("the prelude is written");
        Prelude { dir }
    }

    /// `PYTHONPATH` with the prelude's directory first.
    fn python_path(&self) -> std::ffi::OsString {
        let mut path = self.dir.path().as_os_str().to_owned();
        if let Some(existing) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(existing);
        }
        path
    }
}

/// [`check`], unless the same block passed on the same interpreter before;
/// records a pass. Returns the outcome and whether it came from the record.
fn check_recorded(
    block: &PythonBlock,
    python: &Interpreter,
    prelude: &Prelude,
    passed: &Passed,
) -> (Outcome, bool) {
    let mut key = KeyBuilder::new("python block v1")
        .part(PRELUDE.as_bytes())
        .part(python.fingerprint.as_bytes())
        .part(block.program.as_bytes());
    for (name, value) in &block.attributes {
        key = key.part(name.as_bytes()).part(value.as_bytes());
    }
    if let Some(text) = &block.following_text {
        key = key.part(text.as_bytes());
    }
    let key = key.finish();
    if passed.contains(&key) {
        return (Outcome::Passed, true);
    }
    let outcome = check(block, python, prelude);
    if let Outcome::Passed = outcome {
        passed.insert(&key);
    }
    (outcome, false)
}

fn check(block: &PythonBlock, python: &Interpreter, prelude: &Prelude) -> Outcome {
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
        .env("PYTHONPATH", prelude.python_path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let run = match run_bounded(command, TIME_LIMIT) {
        Ok(run) => run,
        Err(why) => return Outcome::Failed(why),
    };
    if !run.status_ok {
        let quietly = if run.code == Some(FAILED_QUIETLY) {
            " (a failure CPython would only have printed: see the last line)"
        } else {
            ""
        };
        return Outcome::Failed(format!(
            "exited with {}{quietly} after {:.1} s\n--- stderr\n{}",
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
                 --- the book shows\n{}\n--- it printed\n{}",
                if mode == "unordered" {
                    "compared as lines in any order"
                } else {
                    "compared exactly"
                },
                want.join("\n"),
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
    code: Option<i32>,
    status: String,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `command` to completion, or kills it at `limit`. The child gets the
/// default action for SIGINT whatever this test inherited
/// (`bookctl::cargo::default_signals`), as it would in a terminal.
fn run_bounded(mut command: Command, limit: Duration) -> Result<Run, String> {
    let started = Instant::now();
    let mut child = bookctl::cargo::default_signals(&mut command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    // Drain both pipes on their own threads, so that a chatty block cannot
    // fill a pipe and block before it exits.
    let stdout = bookctl::cargo::drain(child.stdout.take());
    let stderr = bookctl::cargo::drain(child.stderr.take());
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
        code: status.code(),
        status: status.to_string(),
        stdout: bookctl::cargo::drained(stdout),
        stderr: bookctl::cargo::drained(stderr),
        elapsed: started.elapsed(),
    })
}

/// A CPython 3.11 or newer, as found.
#[derive(Debug)]
struct Interpreter {
    /// The interpreter itself (`sys.executable`), not a pyenv shim: a shim
    /// costs a shell and a pyenv lookup on every run.
    path: PathBuf,
    version: (u32, u32),
    /// What a block's outcome may depend on: the executable, its full
    /// version, and every distribution installed in it (name and version).
    fingerprint: String,
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

/// Asked of each candidate: where it is, its version, whether it is a
/// free-threaded build, and what is installed in it.
const PROBE: &str = r#"import os, sys, sysconfig
print(sys.executable)
print(*sys.version_info[:2])
print(bool(sysconfig.get_config_var("Py_GIL_DISABLED")))
print(sys.version.replace("\n", " "))
for folder in sys.path:
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith((".dist-info", ".egg-info")):
                print(name)
"#;

/// Every CPython 3.11+ with the GIL found as `python3`, `python3.N` on the
/// PATH or under pyenv, one per version (the first found of each).
/// (A free-threaded build is a different interpreter for the book's
/// purposes: the pages that need one say so and test it themselves.)
struct Interpreters(Vec<Interpreter>);

impl Interpreters {
    fn discover() -> Interpreters {
        let pyenv_root = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
        // `python3` as the reader types it (through pyenv's shim, if that is
        // what the PATH holds); `python3.N` only where the PATH has the
        // interpreter itself: pyenv's shims for them lead to the versions
        // probed below, at the cost of a shell and a pyenv lookup each.
        let shims = pyenv_root.as_ref().map(|root| root.join("shims"));
        let mut candidates: Vec<PathBuf> = vec!["python3".into()];
        candidates.extend(
            (11..=20).filter_map(|minor| on_path(&format!("python3.{minor}"), shims.as_deref())),
        );
        if let Some(versions) = pyenv_root.map(|root| root.join("versions"))
            && let Ok(entries) = std::fs::read_dir(versions)
        {
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|entry| !too_old(&entry.file_name().to_string_lossy()))
                .map(|entry| entry.path().join("bin").join("python3"))
                .filter(|path| path.is_file())
                .collect();
            found.sort();
            candidates.extend(found);
        }
        // Asked all at once: a pyenv shim takes a while to answer.
        let probed: Vec<Option<Interpreter>> = std::thread::scope(|scope| {
            let asking: Vec<_> = candidates
                .iter()
                .map(|candidate| scope.spawn(|| probe(candidate)))
                .collect();
            asking
                .into_iter()
                .map(|handle| handle.join().ok().flatten())
                .collect()
        });
        let mut interpreters: Vec<Interpreter> = Vec::new();
        for found in probed.into_iter().flatten() {
            if interpreters
                .iter()
                .all(|known| known.version != found.version)
            {
                interpreters.push(found);
            }
        }
        Interpreters(interpreters)
    }

    fn oldest(&self) -> Option<&Interpreter> {
        self.0.iter().min_by_key(|found| found.version)
    }

    fn newest(&self) -> Option<&Interpreter> {
        self.0.iter().max_by_key(|found| found.version)
    }

    /// The interpreters `block` runs on (the oldest of those that meet its
    /// `requires`, and the newest with `both_ends`), with the reasons it does
    /// not run on the ends of the range without them (a module missing
    /// there); or why it runs on none.
    fn for_block(
        &self,
        block: &PythonBlock,
        both_ends: bool,
    ) -> Result<(Vec<&Interpreter>, Vec<String>), String> {
        let requirement = block.attributes.get("requires");
        let version = requirement.and_then(|wanted| parse_version(wanted));
        let fit: Vec<&Interpreter> = self
            .0
            .iter()
            .filter(|found| version.is_none_or(|wanted| found.version >= wanted))
            .collect();
        if fit.is_empty() {
            return Err(format!(
                "needs Python {}",
                requirement.map_or("", String::as_str)
            ));
        }
        let Some(module) = requirement.filter(|_| version.is_none()) else {
            return Ok((ends(&fit, both_ends), Vec::new()));
        };
        // An end of the range without the module is reported (CI installs it
        // in every interpreter, and fails on the report); the block runs on
        // the ends of those that have it, if any does. The others are asked
        // only then: each question imports the module once.
        let chosen = ends(&fit, both_ends);
        let not_here: Vec<String> = chosen
            .iter()
            .filter(|python| !python.imports(module))
            .map(|python| {
                format!(
                    "needs the module {module}, which {} cannot import",
                    python.describe()
                )
            })
            .collect();
        if not_here.is_empty() {
            return Ok((chosen, not_here));
        }
        let importing: Vec<&Interpreter> = fit
            .into_iter()
            .filter(|python| python.imports(module))
            .collect();
        Ok((ends(&importing, both_ends), not_here))
    }
}

/// The oldest interpreter of `pool`, and its newest too with `both_ends`.
fn ends<'a>(pool: &[&'a Interpreter], both_ends: bool) -> Vec<&'a Interpreter> {
    let oldest = pool.iter().min_by_key(|found| found.version);
    let newest = pool.iter().max_by_key(|found| found.version);
    match (oldest, newest) {
        (Some(oldest), Some(newest)) if both_ends && newest.version != oldest.version => {
            vec![*oldest, *newest]
        }
        (Some(oldest), _) => vec![*oldest],
        _ => Vec::new(),
    }
}

/// The first `name` on the PATH, leaving out the directory `skip`.
fn on_path(name: &str, skip: Option<&Path>) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .filter(|dir| Some(dir.as_path()) != skip)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// Whether a pyenv version's folder (`3.10.13`, `2.7.18`) is older than the
/// oldest supported CPython; other names (virtual environments) are probed.
fn too_old(folder: &str) -> bool {
    let mut numbers = folder.split('.').map(str::parse::<u32>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) < OLDEST_SUPPORTED,
        _ => false,
    }
}

/// The interpreter `candidate` names, if it runs and is a CPython 3.11+
/// with the GIL.
fn probe(candidate: &Path) -> Option<Interpreter> {
    let output = Command::new(candidate)
        .args(["-c", PROBE])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    let path = PathBuf::from(lines.next()?);
    let mut numbers = lines.next()?.split_whitespace().map(str::parse::<u32>);
    let version = match (numbers.next(), numbers.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        _ => return None,
    };
    let free_threaded = lines.next()? == "True";
    if version < OLDEST_SUPPORTED || version.0 != 3 || free_threaded || !path.is_file() {
        return None;
    }
    let fingerprint = format!("{}\n{text}", path.display());
    Some(Interpreter {
        path,
        version,
        fingerprint,
        importable: Mutex::default(),
    })
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

#[test]
fn a_block_runs_on_the_ends_of_the_interpreters_that_meet_its_requirement() {
    // Imports known in advance: nothing is started.
    let python = |minor: u32, has_gevent: bool| Interpreter {
        path: PathBuf::from(format!("/usr/bin/python3.{minor}")),
        version: (3, minor),
        fingerprint: String::new(),
        importable: Mutex::new(BTreeMap::from([("gevent".to_owned(), has_gevent)])),
    };
    let found = Interpreters(vec![python(11, false), python(12, true), python(13, true)]);
    let minors = |chosen: &[&Interpreter]| -> Vec<u32> {
        chosen.iter().map(|python| python.version.1).collect()
    };
    let mut plain = block("print(1)\n");
    let (chosen, _) = found.for_block(&plain, false).expect("runs");
    assert_eq!(minors(&chosen), [11]);
    let (chosen, _) = found.for_block(&plain, true).expect("runs");
    assert_eq!(minors(&chosen), [11, 13]);

    plain.attributes.insert("requires".into(), "3.12".into());
    let (chosen, _) = found.for_block(&plain, false).expect("runs");
    assert_eq!(minors(&chosen), [12]);
    plain.attributes.insert("requires".into(), "3.14".into());
    assert!(found.for_block(&plain, true).is_err());

    // The oldest lacks gevent: reported, and the block runs on the oldest
    // that has it rather than nowhere.
    plain.attributes.insert("requires".into(), "gevent".into());
    let (chosen, not_here) = found.for_block(&plain, false).expect("runs");
    assert_eq!(minors(&chosen), [12]);
    assert_eq!(not_here.len(), 1);
    assert!(not_here[0].contains("python3.11"), "{not_here:?}");
    let (chosen, _) = found.for_block(&plain, true).expect("runs");
    assert_eq!(minors(&chosen), [12, 13]);
}

/// The interpreters of this machine, found once for all the tests of this
/// file (each probe starts an interpreter).
fn interpreters() -> &'static Interpreters {
    static FOUND: std::sync::OnceLock<Interpreters> = std::sync::OnceLock::new();
    FOUND.get_or_init(Interpreters::discover)
}

/// The oldest interpreter, for the tests of the prelude and the record.
fn oldest_for_tests() -> Option<&'static Interpreter> {
    let oldest = interpreters().oldest();
    if oldest.is_none() {
        skipped("the prelude's tests: no CPython 3.11+ is available");
    }
    oldest
}

fn block(program: &str) -> PythonBlock {
    PythonBlock {
        chapter: PathBuf::from("test.md"),
        line: 1,
        attributes: BTreeMap::new(),
        program: program.to_owned(),
        following_text: None,
    }
}

/// Why `program` fails as a block, or `None` if it passes.
fn failure(program: &str) -> Option<String> {
    let python = oldest_for_tests()?;
    match check(&block(program), python, &Prelude::write()) {
        Outcome::Passed => None,
        Outcome::Failed(why) => Some(why),
    }
}

fn assert_fails_quietly(program: &str, reported: &str) {
    if oldest_for_tests().is_none() {
        return;
    }
    let why = failure(program).expect("the block passed, but it must fail");
    assert!(
        why.contains("a failure CPython would only have printed") && why.contains(reported),
        "failed, but not as expected:\n{why}"
    );
}

#[test]
fn an_exception_that_escapes_a_thread_fails_the_block() {
    assert_fails_quietly(
        "import threading\n\
         def use():\n    assert 1 + 1 == 3\n\
         thread = threading.Thread(target=use, name='user')\n\
         thread.start()\nthread.join()\nprint('main goes on')\n",
        "an exception escaped the thread 'user'",
    );
}

#[test]
fn an_asyncio_task_that_fails_unobserved_fails_the_block() {
    assert_fails_quietly(
        "import asyncio\n\
         async def boom():\n    raise ValueError('nobody awaits me')\n\
         async def main():\n    task = asyncio.create_task(boom())\n    await asyncio.sleep(0.01)\n    del task\n\
         asyncio.run(main())\n",
        "asyncio reported an error nobody handled",
    );
}

#[test]
fn an_exception_python_cannot_raise_fails_the_block() {
    assert_fails_quietly(
        "class Leaky:\n    def __del__(self):\n        raise RuntimeError('in __del__')\n\
         Leaky()\n",
        "an exception Python could not raise",
    );
}

#[test]
fn failures_the_program_handles_pass() {
    if oldest_for_tests().is_none() {
        return;
    }
    let handled = "import asyncio, sys, threading\n\
         def quits():\n    sys.exit(0)\n\
         thread = threading.Thread(target=quits)\nthread.start()\nthread.join()\n\
         async def boom():\n    raise ValueError('awaited')\n\
         async def main():\n    try:\n        await asyncio.create_task(boom())\n    except ValueError:\n        print('caught')\n\
         asyncio.run(main())\n\
         import logging\nlogging.getLogger('asyncio').warning('a warning is not a failure')\n";
    assert_eq!(failure(handled), None);
}

/// `.ci/run` runs this test with SIGINT ignored too: CPython, finding SIGINT
/// ignored at startup, would install no `KeyboardInterrupt` handler, and a
/// block that teaches Ctrl-C would not show it.
#[test]
fn a_block_gets_ctrl_c_as_in_a_terminal() {
    if oldest_for_tests().is_none() {
        return;
    }
    let program = "import signal\n\
         handler = signal.getsignal(signal.SIGINT)\n\
         assert handler is signal.default_int_handler, handler\n\
         try:\n    signal.raise_signal(signal.SIGINT)\n\
         except KeyboardInterrupt:\n    print('interrupted')\n";
    assert_eq!(failure(program), None);
}

#[test]
fn the_record_of_passes_never_hides_a_failure() {
    let Some(python) = oldest_for_tests() else {
        return;
    };
    let record = tempfile::tempdir().expect("a temporary directory");
    let passed = Passed::at(Some(record.path().to_path_buf()));
    let prelude = Prelude::write();
    let failing = block("raise SystemExit(3)\n");
    for _ in 0..2 {
        let (outcome, cached) = check_recorded(&failing, python, &prelude, &passed);
        assert!(matches!(outcome, Outcome::Failed(_)) && !cached);
    }
    let passing = block("print('fine')\n");
    let (outcome, cached) = check_recorded(&passing, python, &prelude, &passed);
    assert!(matches!(outcome, Outcome::Passed) && !cached);
    let (outcome, cached) = check_recorded(&passing, python, &prelude, &passed);
    assert!(
        matches!(outcome, Outcome::Passed) && cached,
        "a pass is recorded"
    );
    // The same block, now expected to print something else: run again, and fails.
    let mut expecting = block("print('fine')\n");
    expecting.attributes.insert("output".into(), String::new());
    expecting.following_text = Some("different\n".into());
    let (outcome, cached) = check_recorded(&expecting, python, &prelude, &passed);
    assert!(matches!(outcome, Outcome::Failed(_)) && !cached);
}
