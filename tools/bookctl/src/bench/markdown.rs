//! Markdown tables, in the shape the chapters include.

/// A table: a header row, rows of cells, and notes printed under it (such as
/// "Python rows skipped: python3 not found").
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    /// Right-align this column (numbers).
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    /// A table whose first column is text and the others numbers.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            numeric: (0..headers.len()).map(|i| i > 0).collect(),
            ..Table::default()
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The table as markdown; a missing cell reads "—".
    pub fn render(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut text = line(&self.headers);
        let rule: Vec<&str> = self
            .numeric
            .iter()
            .map(|&numeric| if numeric { "--:" } else { "---" })
            .collect();
        text += &format!("|{}|\n", rule.join("|"));
        for row in &self.rows {
            let mut cells = row.clone();
            cells.resize(self.headers.len(), "—".to_owned());
            text += &line(&cells);
        }
        for note in &self.notes {
            text += &format!("\n{note}\n");
        }
        text
    }
}

/// `1234567.0` → `"1,234,567"`: whole numbers with thousands separators.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 run`, `5 runs`: the number of runs a median is over.
pub fn runs(n: usize) -> String {
    if n == 1 {
        "1 run".to_owned()
    } else {
        format!("{n} runs")
    }
}

/// `1 round`, `5 interleaved rounds`.
pub fn rounds(n: usize) -> String {
    if n == 1 {
        "1 round".to_owned()
    } else {
        format!("{n} interleaved rounds")
    }
}

/// Seconds with three significant decimals: `0.124 s`, `5.92 s`.
pub fn seconds(secs: f64) -> String {
    if secs < 1.0 {
        format!("{secs:.3} s")
    } else {
        format!("{secs:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_table_with_notes() {
        let mut table = Table::new(&["variant", "median", "speedup"]);
        table.row(vec!["serial".into(), "0.238 s".into(), "1.00".into()]);
        table.row(vec!["rayon".into(), "0.123 s".into()]);
        table.note("Python rows skipped: python3 not found");
        assert_eq!(
            table.render(),
            "| variant | median | speedup |\n|---|--:|--:|\n\
             | serial | 0.238 s | 1.00 |\n| rayon | 0.123 s | — |\n\
             \nPython rows skipped: python3 not found\n"
        );
    }

    #[test]
    fn number_formats() {
        assert_eq!(thousands(216_816.0), "216,816");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(seconds(0.12345), "0.123 s");
        assert_eq!(seconds(5.919), "5.92 s");
        assert_eq!(runs(1), "1 run");
        assert_eq!(runs(5), "5 runs");
    }
}
