//! Every diagram is drawn from the text source beside it.
//!
//! A diagram is `src/<part>/diagrams/<name>.dot` (Graphviz) and the
//! `<name>.svg` that `dot -Tsvg` makes of it; chapters show the SVG. This test
//! checks that each source has its picture and each picture its source, and,
//! where Graphviz is installed, that the committed SVG is what the source
//! draws today, so that an edited source cannot ship a stale picture. The
//! Chinese edition shows `<name>.zh-CN.svg`, drawn from the same source with
//! the labels of `po/zh-CN.po` (`cargo book translations update`), and is
//! checked the same way. Without
//! `dot` that last part is skipped, and says so; CI installs Graphviz and sets
//! `BOOK_DIAGRAMS_REQUIRED=1`, under which a missing `dot` fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bookctl::i18n;
use bookctl::results::{self, Key, KeyBuilder, Passed};

/// What the comparison depends on: this test, the diagrams (sources and
/// pictures), the catalogue (the Chinese labels), Graphviz's version and
/// the fonts it measures text with. `None` (always run) if one cannot be
/// read.
fn inputs(src: &Path) -> Option<Key> {
    let dot = Command::new("dot").arg("-V").output().ok()?;
    // fc-list lists the fonts in no fixed order.
    let fonts = Command::new("fc-list").output().ok()?;
    let mut fonts: Vec<&[u8]> = fonts.stdout.split(|&b| b == b'\n').collect();
    fonts.sort_unstable();
    let mut key = KeyBuilder::new("diagrams v1")
        .running_executable()?
        .part(&dot.stderr)
        .part(&fonts.concat())
        .part(&std::fs::read(i18n::catalogue_path(&src.join(".."))).ok()?);
    for source in i18n::diagram_sources(src) {
        let dir = source.parent()?;
        key = results::hash_tree(key.part(dir.to_string_lossy().as_bytes()), dir).ok()?;
    }
    Some(key.finish())
}

/// Drawing every diagram twice is most of this test's time: a comparison
/// that passed is not repeated until something it depends on changes
/// (`bookctl::results`; `BOOK_TEST_CACHE=off` runs it every time, as CI
/// does). Without `dot` nothing is recorded, so a skip is not remembered.
#[test]
fn every_diagram_has_its_source_and_matches_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src");
    let passed = Passed::open(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("passed/diagrams"));
    let key = inputs(&src);
    if key.as_ref().is_some_and(|key| passed.contains(key)) {
        return;
    }
    let mut sources = Vec::new();
    let mut pictures = Vec::new();
    collect(&src, &mut sources, &mut pictures);

    let mut problems = Vec::new();
    let translated_suffix = format!(".{}.svg", i18n::LANGUAGE);
    let source_of = |picture: &Path| -> PathBuf {
        let name = picture
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match name.strip_suffix(&translated_suffix) {
            Some(stem) => picture.with_file_name(format!("{stem}.dot")),
            None => picture.with_extension("dot"),
        }
    };
    for picture in &pictures {
        if !source_of(picture).is_file() {
            problems.push(format!(
                "{}: a diagram without its Graphviz source beside it",
                picture.display()
            ));
        }
    }
    let dot_works = Command::new("dot").arg("-V").output().is_ok();
    let catalogue = i18n::load(&i18n::catalogue_path(&src.join("..")))
        .expect("po/zh-CN.po is a valid catalogue");
    let required = std::env::var_os("BOOK_DIAGRAMS_REQUIRED").is_some_and(|v| v == "1");
    for source in &sources {
        let picture = source.with_extension("svg");
        let Ok(committed) = std::fs::read_to_string(&picture) else {
            problems.push(format!(
                "{}: no {} beside it (run `dot -Tsvg {} -o {}`)",
                source.display(),
                picture.display(),
                source.display(),
                picture.display()
            ));
            continue;
        };
        if !dot_works {
            continue;
        }
        let drawn = Command::new("dot")
            .arg("-Tsvg")
            .arg(source)
            .output()
            .expect("dot runs");
        if !drawn.status.success() {
            problems.push(format!(
                "{}: dot fails: {}",
                source.display(),
                String::from_utf8_lossy(&drawn.stderr)
            ));
        } else if String::from_utf8_lossy(&drawn.stdout) != committed {
            problems.push(format!(
                "{} is not what {} draws: run `dot -Tsvg {} -o {}`",
                picture.display(),
                source.display(),
                source.display(),
                picture.display()
            ));
        }
    }
    for source in &sources {
        let picture = i18n::translated_picture(source);
        let Ok(committed) = std::fs::read_to_string(&picture) else {
            problems.push(format!(
                "{}: no Chinese picture {} beside it (run `cargo book translations update`)",
                source.display(),
                picture.display()
            ));
            continue;
        };
        if !dot_works {
            continue;
        }
        let text = std::fs::read_to_string(source).expect("the diagram source is readable");
        match draw(&i18n::translate_diagram(&text, &catalogue)) {
            Err(why) => problems.push(format!("{}, translated: {why}", source.display())),
            Ok(drawn) if drawn != committed => problems.push(format!(
                "{} is not what {} draws with the labels of po/zh-CN.po: run \
                 `cargo book translations update`",
                picture.display(),
                source.display()
            )),
            Ok(_) => {}
        }
    }
    if !dot_works && !sources.is_empty() {
        assert!(
            !required,
            "BOOK_DIAGRAMS_REQUIRED=1 but Graphviz's dot is not installed"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED comparing {} diagrams with their sources: Graphviz's dot is not installed",
            sources.len()
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if let Some(key) = key.filter(|_| dot_works) {
        passed.insert(&key);
    }
}

/// What `dot -Tsvg` draws of `source` given on its standard input.
fn draw(source: &str) -> Result<String, String> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    // dot reads all of its input before it writes: no deadlock here.
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(source.as_bytes())
        .map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "dot fails: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `.dot` files and the SVGs of `diagrams/` folders (the charts in
/// `src/measured/` are drawn by `cargo book bench`, not from a source).
fn collect(dir: &Path, sources: &mut Vec<PathBuf>, pictures: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, sources, pictures);
            continue;
        }
        let in_diagrams = dir.file_name().is_some_and(|name| name == "diagrams");
        match path.extension().and_then(|ext| ext.to_str()) {
            Some("dot") => sources.push(path),
            Some("svg") if in_diagrams => pictures.push(path),
            _ => {}
        }
    }
}
