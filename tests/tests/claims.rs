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
//! (`1,083.5 µs` → 1083.5): the median of the runs; the smallest and largest
//! run follow it in parentheses (`0.138 s (0.135–0.141)`).
//!
//! Beyond holding, a check must bind its sentence:
//!
//! - **it can fail**: a check that every possible value satisfies (every
//!   figure replaced by 0, by a tiny and by a huge number, and it still
//!   holds) is rejected;
//! - **it holds across the spread**: where the cells carry the runs' range,
//!   the check must hold with every figure at whichever end of its range is
//!   worst for it, so that its tolerance is at least the measured spread;
//! - **"about N" is checked against N**: a sentence that says "about N×" or
//!   "about N times" needs a two-sided check (`≈`, or `between`) whose
//!   accepted ratio lies around N (within 25 % of it).
//!
//! **A reader's own figures**: `BOOK_MEASURED=DIR cargo test -p book-tests
//! --test claims` evaluates every check against the files `cargo book bench
//! --out DIR` wrote, and lists the sentences that reader's machine
//! contradicts. There a row that names an interpreter (`Python 3.13.0`)
//! matches the reader's interpreter of the same minor version (`Python
//! 3.13.5`), and a check whose row the reader's run has not measured is
//! listed apart, not failed.

use std::fmt;
use std::path::{Path, PathBuf};

use bookctl::Book;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_checked_claim_holds_against_the_measured_files() {
    let book = Book::open(root()).expect("the book loads");
    // A reader's own run (`cargo book bench --out DIR`), or the book's.
    let reader = std::env::var_os("BOOK_MEASURED").map(PathBuf::from);
    let dir = reader
        .clone()
        .unwrap_or_else(|| book.source_dir().join("measured"));
    let mut measured = MeasuredFiles::read(&dir);
    measured.any_patch_version = reader.is_some();
    let mut problems = Vec::new();
    let mut unmeasured = Vec::new();
    let mut checked = 0;
    for chapter in book.source_chapters() {
        for claim in claims_in(&chapter.content) {
            if claim.check.starts_with("none") {
                continue; // the sentence says it compares nothing measured
            }
            checked += 1;
            let place = format!("src/{}:{}", chapter.path.display(), claim.line);
            let check = match Check::parse(&claim.check) {
                Ok(check) => check,
                Err(error) => {
                    problems.push(format!(
                        "{place}: cannot parse the check `{}`: {error}",
                        claim.check
                    ));
                    continue;
                }
            };
            if let Err(why) = check.can_fail() {
                problems.push(format!(
                    "{place}: the check `{}` cannot fail: {why}; make it say what the sentence says:\n    «{}»",
                    claim.check, claim.sentence
                ));
            }
            if let Err(why) = check.binds_about(&claim.claimed) {
                problems.push(format!(
                    "{place}: the sentence says «{}» but its check `{}` {why}:\n    «{}»",
                    claim.claimed, claim.check, claim.sentence
                ));
            }
            match check.evaluate(&measured) {
                Ok(Verdict { holds: true, robust: true, .. }) => {}
                Ok(Verdict { holds: true, robust: false, detail }) => problems.push(format!(
                    "{place}: the runs' spread reaches across this check (it holds for the \
                     medians, not for every run):\n    «{}»\n  check: {}\n  measured: {detail}\n  \
                     (give the sentence a margin the spread cannot cross, or say it is within the noise)",
                    claim.sentence, claim.check
                )),
                Ok(Verdict { holds: false, detail, .. }) => problems.push(format!(
                    "{place}: the figures contradict this sentence:\n    «{}»\n  \
                     check: {}\n  measured: {detail}\n  \
                     (re-measured? rewrite the sentence to say what the figures say, and its check with it)",
                    claim.sentence, claim.check
                )),
                Err(error) if reader.is_some() => {
                    unmeasured.push(format!("{place}: `{}`: {error}", claim.check))
                }
                Err(error) => problems.push(format!(
                    "{place}: cannot evaluate the check `{}`: {error}",
                    claim.check
                )),
            }
        }
    }
    assert!(checked > 0, "no <!-- check: … --> found in the book");
    if !unmeasured.is_empty() {
        eprintln!(
            "{} checks need figures that {} does not hold (an interpreter or a suite your run \
             did not measure):\n{}",
            unmeasured.len(),
            dir.display(),
            unmeasured.join("\n")
        );
    }
    assert!(
        problems.is_empty(),
        "{} of {checked} checked claims fail against {}:\n\n{}",
        problems.len(),
        dir.display(),
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
    /// The text since the previous check of the paragraph: what this check
    /// binds (an "about N" in it must be checked against N).
    claimed: String,
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
            let since = &rest[..start];
            claims.push(Claim {
                line: paragraph.line + paragraph.text[..offset].matches('\n').count(),
                check: after[..end].trim().to_string(),
                sentence: claim_text(&before),
                claimed: since.split_whitespace().collect::<Vec<_>>().join(" "),
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
struct MeasuredFiles {
    files: Vec<(String, String)>,
    /// A reader's run: `Python 3.13.0` in a check matches `Python 3.13.5`.
    any_patch_version: bool,
}

impl MeasuredFiles {
    fn read(dir: &Path) -> MeasuredFiles {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
        for entry in entries {
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
        MeasuredFiles {
            files,
            any_patch_version: false,
        }
    }

    fn text(&self, name: &str) -> Result<&str, String> {
        self.files
            .iter()
            .find(|(file, _)| file == name)
            .map(|(_, text)| text.as_str())
            .ok_or_else(|| format!("the measured files have no {name}"))
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
    /// The check holds for the medians.
    holds: bool,
    /// It also holds with every figure at the worst end of its runs' range.
    robust: bool,
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
}

/// What a stated multiple asks of its check: "about N" a two-sided bound
/// near N, "more than N" a lower bound, "less than N" an upper bound.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Near,
    Lower,
    Upper,
}

/// A measured figure: the median, and the smallest and largest run where the
/// cell shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Figure {
    median: f64,
    range: Option<(f64, f64)>,
}

impl Figure {
    fn exact(value: f64) -> Figure {
        Figure {
            median: value,
            range: None,
        }
    }

    fn scaled(self, scale: f64) -> Figure {
        Figure {
            median: scale * self.median,
            range: self.range.map(|(a, b)| {
                let (a, b) = (scale * a, scale * b);
                (a.min(b), a.max(b))
            }),
        }
    }

    fn ends(&self) -> Vec<f64> {
        match self.range {
            Some((min, max)) => vec![min, max],
            None => vec![self.median],
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.range {
            Some((min, max)) => write!(f, "{} (runs {min}–{max})", self.median),
            None => write!(f, "{}", self.median),
        }
    }
}

/// Every combination of one value per slot.
fn combinations(slots: &[Vec<f64>]) -> Vec<Vec<f64>> {
    slots.iter().fold(vec![Vec::new()], |done, choices| {
        done.iter()
            .flat_map(|prefix| {
                choices.iter().map(move |&choice| {
                    let mut next = prefix.clone();
                    next.push(choice);
                    next
                })
            })
            .collect()
    })
}

impl Check {
    fn operands(&self) -> Vec<&Operand> {
        match self {
            Check::Between { value, .. } => vec![value],
            Check::Compare { left, right, .. } => vec![left, right],
        }
    }

    /// Whether the check holds for these operand values (scales applied).
    fn holds_with(&self, values: &[f64]) -> bool {
        match self {
            Check::Between { low, high, .. } => (*low..=*high).contains(&values[0]),
            Check::Compare { op, tolerance, .. } => {
                let (a, b) = (values[0], values[1]);
                match op {
                    Op::Less => a < b,
                    Op::LessOrEqual => a <= b,
                    Op::Greater => a > b,
                    Op::GreaterOrEqual => a >= b,
                    Op::About => (a - b).abs() <= tolerance * b.abs(),
                }
            }
        }
    }

    /// `Err` if every value the figures could take satisfies the check:
    /// each figure replaced by 0, a tiny and a huge number, in every
    /// combination.
    fn can_fail(&self) -> Result<(), String> {
        let slots: Vec<Vec<f64>> = self
            .operands()
            .iter()
            .map(|operand| match operand {
                Operand::Number(number) => vec![*number],
                Operand::Cell { scale, .. } | Operand::Pattern { scale, .. } => {
                    [0.0, 1e-9, 1e9].iter().map(|v| scale * v).collect()
                }
            })
            .collect();
        if combinations(&slots)
            .iter()
            .all(|values| self.holds_with(values))
        {
            Err("it holds whatever the figures are".into())
        } else {
            Ok(())
        }
    }

    /// The values the check accepts for its ratio: the value itself when it
    /// compares one figure with a number, first figure over second when it
    /// compares two. Either end may be open (0 or infinity).
    fn accepted(&self) -> (f64, f64) {
        let scale = |operand: &Operand| match operand {
            Operand::Number(number) => *number,
            Operand::Cell { scale, .. } | Operand::Pattern { scale, .. } => *scale,
        };
        match self {
            Check::Between { low, high, .. } => (*low, *high),
            Check::Compare {
                left,
                op,
                right,
                tolerance,
            } => {
                // kl·A op kr·B → A/B op kr/kl; kl·A op N → A op N/kl.
                let bound = scale(right) / scale(left);
                match op {
                    Op::About => (bound * (1.0 - tolerance), bound * (1.0 + tolerance)),
                    Op::Greater | Op::GreaterOrEqual => (bound, f64::INFINITY),
                    Op::Less | Op::LessOrEqual => (0.0, bound),
                }
            }
        }
    }

    /// `Err` unless the multiples the claimed text states are what the check
    /// checks: "about N×", "N times" (within 25 % of N, so two-sided), "more
    /// than N times" (a lower bound of at least 0.9 N), "dozens of times" (a
    /// lower bound of at least 20). Either way round: A/B or B/A.
    fn binds_about(&self, claimed: &str) -> Result<(), String> {
        let multiple = regex::Regex::new(
            r"(?i)\b(about |roughly |nearly |more than |over |at least |not |no more than |at most |less than |under |within about |within )?(\d+(?:\.\d+)?|two|three|four|five|six|ten|twice|dozens of)(?: ?x\b| ?×|\s+times\b|(?:^|\b)(?-i:))",
        )
        .expect("a valid pattern");
        let mut stated = Vec::new();
        for found in multiple.captures_iter(claimed) {
            let whole = found[0].trim_end();
            let word = found[2].to_lowercase();
            let is_multiple = whole.ends_with('x')
                || whole.ends_with('×')
                || whole.to_lowercase().ends_with("times")
                || word == "twice";
            if !is_multiple {
                continue;
            }
            let qualifier = found
                .get(1)
                .map_or("", |q| q.as_str())
                .trim()
                .to_lowercase();
            let upper_bound = matches!(
                qualifier.as_str(),
                "not"
                    | "no more than"
                    | "at most"
                    | "less than"
                    | "under"
                    | "within about"
                    | "within"
            );
            let (n, lower_bound) = match word.as_str() {
                "two" | "twice" => (2.0, false),
                "three" => (3.0, false),
                "four" => (4.0, false),
                "five" => (5.0, false),
                "six" => (6.0, false),
                "ten" => (10.0, false),
                "dozens of" => (24.0 / 0.9 * 0.75, true),
                number => match number.parse::<f64>() {
                    Ok(n) => (n, false),
                    Err(_) => continue,
                },
            };
            let lower_bound =
                lower_bound || matches!(qualifier.as_str(), "more than" | "over" | "at least");
            // "1.5x" alone in a sentence about a table is a figure, not a
            // claim: only "about N" and "N times" words are bound.
            if qualifier.is_empty() && !whole.to_lowercase().ends_with("times") && word != "twice" {
                continue;
            }
            let bound = if upper_bound {
                Bound::Upper
            } else if lower_bound {
                Bound::Lower
            } else {
                Bound::Near
            };
            stated.push((n, bound, whole.to_owned()));
        }
        if stated.is_empty() {
            return Ok(());
        }
        let (low, high) = self.accepted();
        let inverted = (
            1.0 / high.max(f64::MIN_POSITIVE),
            if low > 0.0 { 1.0 / low } else { f64::INFINITY },
        );
        let binds = |&(n, bound, _): &(f64, Bound, String)| {
            let fits = |(low, high): (f64, f64)| match bound {
                Bound::Lower => low >= 0.9 * n,
                // The multiple's side of the ratio (above 1), not its inverse.
                Bound::Upper => (1.0..=1.1 * n).contains(&high),
                Bound::Near => low >= 0.75 * n && high <= 1.25 * n,
            };
            fits((low, high)) || fits(inverted)
        };
        if stated.iter().any(binds) {
            Ok(())
        } else {
            let (n, bound, words) = &stated[0];
            Err(format!(
                "accepts a ratio from {low:.3} to {high:.3} (or its inverse), {} for «{words}»",
                match bound {
                    Bound::Lower => format!("a lower bound under {:.1}", 0.9 * n),
                    Bound::Upper => format!("no upper bound of at most {:.1}", 1.1 * n),
                    Bound::Near => format!("not within 25 % of {n}"),
                }
            ))
        }
    }

    fn evaluate(&self, measured: &MeasuredFiles) -> Result<Verdict, String> {
        let figures = self
            .operands()
            .iter()
            .map(|operand| operand.figure(measured))
            .collect::<Result<Vec<Figure>, String>>()?;
        let medians: Vec<f64> = figures.iter().map(|f| f.median).collect();
        let holds = self.holds_with(&medians);
        let ends: Vec<Vec<f64>> = figures.iter().map(Figure::ends).collect();
        let robust = combinations(&ends)
            .iter()
            .all(|values| self.holds_with(values));
        let detail = match self {
            Check::Between { value, low, high } => {
                format!("{value} = {}, to be between {low} and {high}", figures[0])
            }
            Check::Compare { left, right, .. } => {
                format!("{left} = {}; {right} = {}", figures[0], figures[1])
            }
        };
        Ok(Verdict {
            holds,
            robust,
            detail,
        })
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
    fn figure(&self, measured: &MeasuredFiles) -> Result<Figure, String> {
        match self {
            Operand::Number(number) => Ok(Figure::exact(*number)),
            Operand::Cell {
                scale,
                file,
                row,
                column,
            } => Ok(cell(measured, measured.text(file)?, row, column)?.scaled(*scale)),
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
                Ok(Figure::exact(first_number(group.as_str())?).scaled(*scale))
            }
        }
    }
}

/// The figure in a table cell of `text`: the row having a cell equal to
/// every key, the column whose header equals `column`; its first number is
/// the median, and a `(min–max)` after it the runs' range.
fn cell(
    measured: &MeasuredFiles,
    text: &str,
    row_keys: &[String],
    column: &str,
) -> Result<Figure, String> {
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
        let cells_matched: Vec<String> = if measured.any_patch_version {
            cells.iter().map(|c| any_patch(c)).collect()
        } else {
            cells.clone()
        };
        let keys: Vec<String> = if measured.any_patch_version {
            keys.iter().map(|k| any_patch(k)).collect()
        } else {
            keys
        };
        let matches_row = keys_name_cells(&keys, &cells_matched);
        // A file may hold several tables with the same row names: the row
        // counts only in a table that has the column.
        let index = columns
            .iter()
            .position(|header| *header == normalise(column));
        if let (true, Some(index)) = (matches_row, index) {
            let value = cells
                .get(index)
                .ok_or_else(|| format!("the row has no cell under `{column}`"))?;
            return Ok(Figure {
                median: first_number(value)?,
                range: range_of(value),
            });
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

/// `Python 3.13.0` → `Python 3.13.*`: a reader's interpreter of the same
/// minor version stands for the book's.
fn any_patch(text: &str) -> String {
    let pattern = regex::Regex::new(r"\b(3\.\d+)\.\d+\b").expect("a valid pattern");
    pattern.replace_all(text, "$1.*").into_owned()
}

/// The `(min–max)` after a cell's median, if it has one.
fn range_of(text: &str) -> Option<(f64, f64)> {
    let pattern = regex::Regex::new(r"\((-?[\d,]+(?:\.\d+)?)–(-?[\d,]+(?:\.\d+)?)\)")
        .expect("a valid pattern");
    let found = pattern.captures(text)?;
    let number = |i: usize| found[i].replace(',', "").parse::<f64>().ok();
    Some((number(1)?, number(2)?))
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
        MeasuredFiles {
            files: vec![("cpu.md".into(), TABLE.into())],
            any_patch_version: false,
        }
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

    const SPREAD: &str = "stamp\n\n| variant | speedup |\n|---|--:|\n| Python 3.13.0 pool | 1.90x (1.70–1.95) |\n| Rust rayon | 1.96x (1.94–1.98) |\n";

    fn spread_files(any_patch_version: bool) -> MeasuredFiles {
        MeasuredFiles {
            files: vec![("cpu.md".into(), SPREAD.into())],
            any_patch_version,
        }
    }

    #[test]
    fn a_check_that_cannot_fail_is_rejected() {
        let can_fail = |check: &str| Check::parse(check).expect("parses").can_fail().is_ok();
        assert!(!can_fail("cpu.md[Rust rayon][speedup] >= 0"));
        assert!(!can_fail("cpu.md[Rust rayon][speedup] < 1000000000000"));
        assert!(!can_fail(
            "cpu.md[Rust rayon][speedup] between 0 and 10000000000"
        ));
        assert!(can_fail("cpu.md[Rust rayon][speedup] > 0"));
        assert!(can_fail("cpu.md[Rust rayon][speedup] > 1.5"));
        assert!(can_fail(
            "cpu.md[Rust rayon][speedup] < cpu.md[Python serial][speedup]"
        ));
    }

    #[test]
    fn about_n_is_checked_against_n() {
        let binds = |check: &str, claimed: &str| {
            Check::parse(check)
                .expect("parses")
                .binds_about(claimed)
                .is_ok()
        };
        let claimed = "took about three times as long";
        assert!(!binds("cpu.md[a][b] > 1.5", claimed));
        assert!(!binds(
            "cpu.md[a][t] > 10 * cpu.md[c][t]",
            "dozens of times faster"
        ));
        assert!(binds(
            "cpu.md[a][t] > 20 * cpu.md[c][t]",
            "dozens of times faster"
        ));
        assert!(!binds(
            "cpu.md[a][t] > 3 * cpu.md[c][t]",
            "five times tokio's"
        ));
        assert!(binds(
            "cpu.md[a][t] > 4.5 * cpu.md[c][t]",
            "more than five times tokio's"
        ));
        assert!(binds("cpu.md[a][b] between 1.5 and 3", "1.9x on two cores"));
        assert!(binds(
            "cpu.md[a][b] between 1.2 and 1.8",
            "faster, but not twice as fast"
        ));
        assert!(!binds(
            "cpu.md[a][b] > 1.2",
            "faster, but not twice as fast"
        ));
        assert!(!binds("cpu.md[a][b] between 1.5 and 10", claimed));
        assert!(binds("cpu.md[a][b] between 2.5 and 3.5", claimed));
        assert!(binds("cpu.md[a][t] ≈ 3 * cpu.md[c][t] within 20%", claimed));
        assert!(binds("3 * cpu.md[a][t] ≈ cpu.md[c][t] within 20%", claimed));
        assert!(!binds("cpu.md[a][t] ≈ 2 * cpu.md[c][t]", claimed));
        assert!(binds("cpu.md[a][b] > 1.5", "ran faster"));
        assert!(binds("cpu.md[a][b] between 1.7 and 2.2", "about 2x"));
    }

    #[test]
    fn a_check_must_hold_across_the_spread() {
        let verdict = |check: &str| {
            Check::parse(check)
                .and_then(|c| c.evaluate(&spread_files(false)))
                .expect("evaluates")
        };
        // The medians are 1.90 and 1.96, but the runs overlap.
        let close = verdict("cpu.md[Python 3.13.0 pool][speedup] < cpu.md[Rust rayon][speedup]");
        assert!(close.holds && !close.robust);
        let clear = verdict("cpu.md[Python 3.13.0 pool][speedup] > 1.5");
        assert!(clear.holds && clear.robust);
        let tight = verdict("cpu.md[Python 3.13.0 pool][speedup] ≈ 1.9 within 5%");
        assert!(tight.holds && !tight.robust, "1.70 is 10.5 % below");
    }

    #[test]
    fn a_readers_interpreter_stands_for_the_same_minor_version() {
        let reader = "stamp\n\n| variant | speedup |\n|---|--:|\n| Python 3.13.5 pool | 1.80x |\n";
        let files = MeasuredFiles {
            files: vec![("cpu.md".into(), reader.into())],
            any_patch_version: true,
        };
        let check = Check::parse("cpu.md[Python 3.13.0 pool][speedup] > 1.5").expect("parses");
        assert!(check.evaluate(&files).expect("matches 3.13.5").holds);
        let book = MeasuredFiles {
            files: vec![("cpu.md".into(), reader.into())],
            any_patch_version: false,
        };
        assert!(
            check.evaluate(&book).is_err(),
            "the book's own files match exactly"
        );
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
