//! No sentence the committed figures contradict.
//!
//! A sentence that compares measured things ("Python's two threads are no
//! faster than one", "tokio uses a quarter of asyncio's CPU") carries, right
//! after it, an HTML comment that states the comparison against the files
//! `cargo book bench` writes to `src/measured/`:
//!
//! ```text
//! … no faster than one. <!-- check: cpu.md[Python `threading.Thread` ×2][speedup vs own serial] <= 1.05 -->
//! ```
//!
//! The comment is invisible on the page. This test evaluates every one; when a
//! re-run of the bench makes one false, the failure quotes the sentence, the
//! check and the figures, so the reader knows which sentence to change. A
//! second test finds paragraphs that compare speed or cost next to a measured
//! figure without any check, so that new claims cannot slip in unchecked.
//!
//! The grammar of a check (CONTRIBUTING.md has it too):
//!
//! ```text
//! check    := operand OP operand [within N%]      OP: < <= > >= ≈
//!           | operand between NUMBER and NUMBER
//! operand  := [NUMBER *] figure | NUMBER
//! figure   := FILE.md[ROW KEY, …][COLUMN]          a cell of a markdown table
//!           | FILE.md/REGEX/                       the regex's first group
//! ```
//!
//! `<!-- check: none, because … -->` marks a paragraph that uses a comparing
//! word without comparing measured figures; the reason is for the reviewer.
//!
//! A row is the first table row (of any table in the file) having a cell equal
//! to every key; the column is matched against the header. `≈` means within
//! 10 % unless `within N%` says otherwise. A cell's value is its first number
//! (`1,083.5 µs` → 1083.5).

use std::fmt;
use std::path::{Path, PathBuf};

use bookctl::Book;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_checked_claim_holds_against_the_measured_files() {
    let book = Book::open(root()).expect("the book loads");
    let measured = MeasuredFiles::read(&book.source_dir().join("measured"));
    let mut problems = Vec::new();
    let mut checked = 0;
    for chapter in book.source_chapters() {
        for claim in claims_in(&chapter.content) {
            if claim.check.starts_with("none") {
                continue; // the sentence says it compares nothing measured
            }
            checked += 1;
            let place = format!("src/{}:{}", chapter.path.display(), claim.line);
            match Check::parse(&claim.check).and_then(|check| check.evaluate(&measured)) {
                Ok(Verdict { holds: true, .. }) => {}
                Ok(Verdict { holds: false, detail }) => problems.push(format!(
                    "{place}: the figures contradict this sentence:\n    «{}»\n  \
                     check: {}\n  measured: {detail}\n  \
                     (re-measured? rewrite the sentence to say what the figures say, and its check with it)",
                    claim.sentence, claim.check
                )),
                Err(error) => problems.push(format!(
                    "{place}: cannot evaluate the check `{}`: {error}",
                    claim.check
                )),
            }
        }
    }
    assert!(checked > 0, "no <!-- check: … --> found in the book");
    assert!(
        problems.is_empty(),
        "{} of {checked} checked claims fail:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Words that compare speed or cost. A paragraph that uses one next to a
/// measured figure (a decimal with a unit, or a link into the Measured
/// chapter) must carry a check.
const COMPARING: &[&str] = &[
    "faster",
    "slower",
    "quicker",
    "as fast",
    "cheaper",
    "costlier",
    "more expensive",
    "times as",
    "beats",
    "outperform",
];

#[test]
fn every_paragraph_comparing_measured_figures_carries_a_check() {
    let book = Book::open(root()).expect("the book loads");
    let figure =
        regex::Regex::new(r"\d[\d,]*\.\d+ ?(?:ms|µs|ns|s|MiB|KiB|GiB|x)\b|\]\([^)]*measured/")
            .expect("a valid pattern");
    let mut unchecked = Vec::new();
    for chapter in book.source_chapters() {
        if chapter.path.starts_with("measured") && !chapter.path.ends_with("index.md") {
            continue; // the tables themselves
        }
        let all = paragraphs(&chapter.content);
        let shows_figures = |section: usize| {
            all.iter()
                .any(|p| p.section == section && p.text.contains("{{#include ../measured/"))
        };
        for paragraph in &all {
            let lower = paragraph.text.to_lowercase();
            let compares = COMPARING.iter().any(|word| lower.contains(word));
            let near_figures = figure.is_match(&paragraph.text) || shows_figures(paragraph.section);
            if compares && near_figures && !paragraph.text.contains("<!-- check:") {
                unchecked.push(format!(
                    "src/{}:{}: «{}»",
                    chapter.path.display(),
                    paragraph.line,
                    shorten(&paragraph.text, 160)
                ));
            }
        }
    }
    assert!(
        unchecked.is_empty(),
        "paragraphs that compare measured figures without a <!-- check: … --> \
         (see tests/tests/claims.rs for the syntax):\n{}",
        unchecked.join("\n")
    );
}

/// A `<!-- check: … -->` comment and the sentence it follows.
struct Claim {
    line: usize,
    check: String,
    sentence: String,
}

fn claims_in(markdown: &str) -> Vec<Claim> {
    let mut claims = Vec::new();
    for paragraph in paragraphs(markdown) {
        let mut rest = paragraph.text.as_str();
        let mut before = String::new();
        while let Some(start) = rest.find("<!-- check:") {
            before.push_str(&rest[..start]);
            let after = &rest[start + "<!-- check:".len()..];
            let Some(end) = after.find("-->") else {
                break;
            };
            let offset = paragraph.text.len() - rest.len() + start;
            claims.push(Claim {
                line: paragraph.line + paragraph.text[..offset].matches('\n').count(),
                check: after[..end].trim().to_string(),
                sentence: claim_text(&before),
            });
            rest = &after[end + 3..];
        }
    }
    claims
}

/// The paragraph (or list item) a check follows, on one line, without
/// Markdown emphasis: a list item starts with its claim, and the sentences
/// after it say why, so the whole item is what to reread.
fn claim_text(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = flat.replace("**", "");
    let flat = flat.strip_prefix("- ").unwrap_or(&flat);
    shorten(flat.trim_end_matches([' ', ':']), 400)
}

fn shorten(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        flat
    } else {
        flat.chars().take(chars).collect::<String>() + "…"
    }
}

struct Paragraph {
    /// First line, 1-based.
    line: usize,
    /// Which heading-delimited section of the chapter it is in.
    section: usize,
    text: String,
}

/// Blank-line separated blocks of a chapter, list items counted as blocks
/// of their own; a fenced code block is one block, so that a section's
/// `{{#include ../measured/…}}` is seen.
fn paragraphs(markdown: &str) -> Vec<Paragraph> {
    let mut found = Vec::new();
    let mut current: Option<Paragraph> = None;
    let mut fence: Option<String> = None;
    let mut section = 0;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
                found.extend(current.take());
            } else if let Some(block) = current.as_mut() {
                block.text.push('\n');
                block.text.push_str(line);
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let marker: String = trimmed
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .collect();
            fence = Some(marker);
            found.extend(current.take());
            current = Some(Paragraph {
                line: index + 1,
                section,
                text: String::new(),
            });
            continue;
        }
        if trimmed.starts_with('#') {
            section += 1;
        }
        let starts_item = trimmed.starts_with("- ") || trimmed.starts_with("* ");
        if trimmed.is_empty() || starts_item {
            found.extend(current.take());
        }
        if trimmed.is_empty() {
            continue;
        }
        match current.as_mut() {
            Some(paragraph) => {
                paragraph.text.push('\n');
                paragraph.text.push_str(line);
            }
            None => {
                current = Some(Paragraph {
                    line: index + 1,
                    section,
                    text: line.to_string(),
                })
            }
        }
    }
    found.extend(current);
    found
}

/// The measured files, by name (`cpu.md`).
struct MeasuredFiles(Vec<(String, String)>);

impl MeasuredFiles {
    fn read(dir: &Path) -> MeasuredFiles {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("src/measured is readable") {
            let path = entry.expect("a readable directory entry").path();
            if path.extension().is_some_and(|ext| ext == "md") {
                let name = path
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).expect("a readable measured file");
                files.push((name, text));
            }
        }
        MeasuredFiles(files)
    }

    fn text(&self, name: &str) -> Result<&str, String> {
        self.0
            .iter()
            .find(|(file, _)| file == name)
            .map(|(_, text)| text.as_str())
            .ok_or_else(|| format!("src/measured/{name} does not exist"))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Number(f64),
    Cell {
        scale: f64,
        file: String,
        row: Vec<String>,
        column: String,
    },
    Pattern {
        scale: f64,
        file: String,
        regex: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    About,
}

#[derive(Debug, PartialEq)]
enum Check {
    Compare {
        left: Operand,
        op: Op,
        right: Operand,
        tolerance: f64,
    },
    Between {
        value: Operand,
        low: f64,
        high: f64,
    },
}

struct Verdict {
    holds: bool,
    detail: String,
}

impl Check {
    fn parse(text: &str) -> Result<Check, String> {
        let mut parser = Parser { rest: text.trim() };
        let left = parser.operand()?;
        parser.skip_space();
        if parser.eat_word("between") {
            let low = parser.number()?;
            if !parser.eat_word("and") {
                return Err("expected `and` after `between N`".into());
            }
            let high = parser.number()?;
            parser.end()?;
            return Ok(Check::Between {
                value: left,
                low,
                high,
            });
        }
        let op = parser.op()?;
        let right = parser.operand()?;
        let mut tolerance = 0.10;
        parser.skip_space();
        if parser.eat_word("within") {
            tolerance = parser.number()? / 100.0;
            parser.skip_space();
            if !parser.eat("%") {
                return Err("expected `%` after `within N`".into());
            }
        }
        parser.end()?;
        Ok(Check::Compare {
            left,
            op,
            right,
            tolerance,
        })
    }

    fn evaluate(&self, measured: &MeasuredFiles) -> Result<Verdict, String> {
        match self {
            Check::Between { value, low, high } => {
                let found = value.value(measured)?;
                Ok(Verdict {
                    holds: (*low..=*high).contains(&found),
                    detail: format!("{} = {found}, not between {low} and {high}", value),
                })
            }
            Check::Compare {
                left,
                op,
                right,
                tolerance,
            } => {
                let (a, b) = (left.value(measured)?, right.value(measured)?);
                let holds = match op {
                    Op::Less => a < b,
                    Op::LessOrEqual => a <= b,
                    Op::Greater => a > b,
                    Op::GreaterOrEqual => a >= b,
                    Op::About => (a - b).abs() <= tolerance * b.abs(),
                };
                Ok(Verdict {
                    holds,
                    detail: format!("{left} = {a}; {right} = {b}"),
                })
            }
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = |f: &mut fmt::Formatter<'_>, scale: f64| {
            if scale == 1.0 {
                Ok(())
            } else {
                write!(f, "{scale} * ")
            }
        };
        match self {
            Operand::Number(number) => write!(f, "{number}"),
            Operand::Cell {
                scale: s,
                file,
                row,
                column,
            } => {
                scale(f, *s)?;
                write!(f, "{file}[{}][{column}]", row.join(", "))
            }
            Operand::Pattern {
                scale: s,
                file,
                regex,
            } => {
                scale(f, *s)?;
                write!(f, "{file}/{regex}/")
            }
        }
    }
}

impl Operand {
    fn value(&self, measured: &MeasuredFiles) -> Result<f64, String> {
        match self {
            Operand::Number(number) => Ok(*number),
            Operand::Cell {
                scale,
                file,
                row,
                column,
            } => Ok(scale * cell(measured.text(file)?, row, column)?),
            Operand::Pattern { scale, file, regex } => {
                let pattern = regex::Regex::new(regex)
                    .map_err(|error| format!("bad regex /{regex}/: {error}"))?;
                let text = measured.text(file)?;
                let captures = pattern
                    .captures(text)
                    .ok_or_else(|| format!("/{regex}/ matches nothing in src/measured/{file}"))?;
                let group = captures
                    .get(1)
                    .ok_or_else(|| format!("/{regex}/ has no capture group"))?;
                Ok(scale * first_number(group.as_str())?)
            }
        }
    }
}

/// The first number in a table cell of `text`: the row having a cell equal to
/// every key, the column whose header equals `column`.
fn cell(text: &str, row_keys: &[String], column: &str) -> Result<f64, String> {
    let normalise = |cell: &str| cell.trim().replace('`', "");
    let mut header: Option<Vec<String>> = None;
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let cells: Vec<String> = line.trim_matches('|').split('|').map(normalise).collect();
        let Some(columns) = &header else {
            header = Some(cells);
            continue;
        };
        if cells
            .iter()
            .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
        {
            continue; // the separator row
        }
        let keys: Vec<String> = row_keys.iter().map(|key| normalise(key)).collect();
        let matches_row = keys_name_cells(&keys, &cells);
        // A file may hold several tables with the same row names: the row
        // counts only in a table that has the column.
        let index = columns
            .iter()
            .position(|header| *header == normalise(column));
        if let (true, Some(index)) = (matches_row, index) {
            let value = cells
                .get(index)
                .ok_or_else(|| format!("the row has no cell under `{column}`"))?;
            return first_number(value);
        }
    }
    Err(format!(
        "no table with a column `{column}` has a row with cells {row_keys:?}"
    ))
}

/// Whether the keys, in order, name cells of the row. A row label may hold
/// commas itself ("asyncio, hog in a coroutine, Python 3.12.1"), so
/// consecutive keys joined by ", " may name one cell.
fn keys_name_cells(keys: &[String], cells: &[String]) -> bool {
    if keys.is_empty() {
        return true;
    }
    (1..=keys.len()).rev().any(|end| {
        let group = keys[..end].join(", ");
        cells.contains(&group) && keys_name_cells(&keys[end..], cells)
    })
}

fn first_number(text: &str) -> Result<f64, String> {
    let pattern = regex::Regex::new(r"-?\d[\d,]*(?:\.\d+)?").expect("a valid pattern");
    let found = pattern
        .find(text)
        .ok_or_else(|| format!("no number in `{text}`"))?;
    found
        .as_str()
        .replace(',', "")
        .parse()
        .map_err(|error| format!("`{}` is not a number: {error}", found.as_str()))
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_space();
        let boundary = self.rest[word.len().min(self.rest.len())..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        self.rest.starts_with(word) && boundary && self.eat(word)
    }

    fn end(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected `{}`", self.rest))
        }
    }

    fn number(&mut self) -> Result<f64, String> {
        self.skip_space();
        let length = self
            .rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(self.rest.len());
        let (number, rest) = self.rest.split_at(length);
        let value = number
            .parse()
            .map_err(|_| format!("expected a number at `{}`", self.rest))?;
        self.rest = rest;
        Ok(value)
    }

    fn op(&mut self) -> Result<Op, String> {
        self.skip_space();
        for (token, op) in [
            ("<=", Op::LessOrEqual),
            (">=", Op::GreaterOrEqual),
            ("<", Op::Less),
            (">", Op::Greater),
            ("≈", Op::About),
        ] {
            if self.eat(token) {
                return Ok(op);
            }
        }
        Err(format!("expected one of < <= > >= ≈ at `{}`", self.rest))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_space();
        let starts_number = self.rest.starts_with(|c: char| c.is_ascii_digit());
        let mut scale = 1.0;
        if starts_number {
            let number = self.number()?;
            self.skip_space();
            if !self.eat("*") {
                return Ok(Operand::Number(number));
            }
            scale = number;
            self.skip_space();
        }
        let name_end = self
            .rest
            .find(".md")
            .ok_or_else(|| format!("expected a number or FILE.md at `{}`", self.rest))?
            + 3;
        let (file, rest) = self.rest.split_at(name_end);
        self.rest = rest;
        if self.eat("/") {
            // A regex ends at the next `/` that is not escaped.
            let mut end = None;
            let mut escaped = false;
            for (at, c) in self.rest.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '/' if !escaped => {
                        end = Some(at);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end.ok_or("a regex without its closing `/`")?;
            let regex = self.rest[..end].to_string();
            self.rest = &self.rest[end + 1..];
            return Ok(Operand::Pattern {
                scale,
                file: file.to_string(),
                regex,
            });
        }
        let row = self.bracketed()?;
        let column = self.bracketed()?;
        Ok(Operand::Cell {
            scale,
            file: file.to_string(),
            row: row.split(", ").map(str::to_string).collect(),
            column,
        })
    }

    /// `[…]`, where the content may hold brackets in backticks.
    fn bracketed(&mut self) -> Result<String, String> {
        if !self.eat("[") {
            return Err(format!("expected `[` at `{}`", self.rest));
        }
        let mut depth = 0;
        let mut in_code = false;
        for (at, c) in self.rest.char_indices() {
            match c {
                '`' => in_code = !in_code,
                '[' if !in_code => depth += 1,
                ']' if !in_code && depth > 0 => depth -= 1,
                ']' if !in_code => {
                    let content = self.rest[..at].to_string();
                    self.rest = &self.rest[at + 1..];
                    return Ok(content);
                }
                _ => {}
            }
        }
        Err("a `[` without its `]`".into())
    }
}

#[cfg(test)]
mod grammar {
    use super::*;

    const TABLE: &str = "stamp\n\n| variant | speedup | time |\n|---|--:|--:|\n| Rust `rayon` | 1.96x | 0.160 s |\n| Python serial | 1.00x | 8.43 s |\n\n```text\nPython 2 threads 15.220 s  1.02x\n```\n";

    fn files() -> MeasuredFiles {
        MeasuredFiles(vec![("cpu.md".into(), TABLE.into())])
    }

    fn holds(check: &str) -> bool {
        Check::parse(check)
            .and_then(|check| check.evaluate(&files()))
            .unwrap_or_else(|error| panic!("{check}: {error}"))
            .holds
    }

    #[test]
    fn cells_regexes_and_numbers_compare() {
        assert!(holds("cpu.md[Rust `rayon`][speedup] >= 1.9"));
        assert!(!holds("cpu.md[Rust `rayon`][speedup] >= 2.0"));
        assert!(holds(
            "cpu.md[Rust rayon][time] < cpu.md[Python serial][time]"
        ));
        assert!(holds(
            "50 * cpu.md[Rust rayon][time] ≈ cpu.md[Python serial][time] within 6%"
        ));
        assert!(!holds(
            "50 * cpu.md[Rust rayon][time] ≈ cpu.md[Python serial][time] within 4%"
        ));
        assert!(holds(
            r"cpu.md/2 threads\s+\S+ s\s+([\d.]+)x/ between 0.9 and 1.05"
        ));
        assert!(!holds(r"cpu.md/2 threads\s+\S+ s\s+([\d.]+)x/ < 1"));
    }

    #[test]
    fn a_row_label_may_hold_commas() {
        let cells: Vec<String> = ["asyncio, hog in a task, Python 3.12.1", "908.9 ms"]
            .map(String::from)
            .to_vec();
        let keys = |text: &str| text.split(", ").map(String::from).collect::<Vec<_>>();
        assert!(keys_name_cells(
            &keys("asyncio, hog in a task, Python 3.12.1"),
            &cells
        ));
        assert!(!keys_name_cells(&keys("asyncio, hog in a task"), &cells));
        let echo: Vec<String> = ["may, 1 worker", "100", "5.2 µs"]
            .map(String::from)
            .to_vec();
        assert!(keys_name_cells(&keys("may, 1 worker, 100"), &echo));
        assert!(!keys_name_cells(&keys("may, 1 worker, 1,000"), &echo));
    }

    #[test]
    fn mistakes_are_errors_not_verdicts() {
        let fails = |check: &str| {
            Check::parse(check)
                .and_then(|c| c.evaluate(&files()))
                .is_err()
        };
        assert!(fails("cpu.md[Rust rayon][no such column] > 1"));
        assert!(fails("cpu.md[no such row][speedup] > 1"));
        assert!(fails("other.md[Rust rayon][speedup] > 1"));
        assert!(fails("cpu.md[Rust rayon][speedup] = 1"));
        assert!(fails("cpu.md/no match (\\d)/ > 1"));
    }

    #[test]
    fn a_claim_quotes_the_sentence_before_it() {
        let claims = claims_in(
            "Intro.\n\n- **Threads help.** They are 1.9x faster. <!-- check: cpu.md[Rust rayon][speedup] > 1.5 -->\n",
        );
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].line, 3);
        assert_eq!(claims[0].sentence, "Threads help. They are 1.9x faster.");
    }
}
