//! The statistics the book reports: the median of several runs, with their
//! spread (smallest and largest run) beside it, as hyperfine prints a range.

/// The median of `values` (the mean of the middle two for an even count),
/// or `None` when there are none. NaNs sort last and so rarely matter.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    })
}

/// The index of the run whose `key` is the median one (the lower middle for
/// an even count): the run a file shows in full, so that one disturbed run
/// neither flatters nor spoils the figures.
pub fn median_index(keys: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    order.get(keys.len().saturating_sub(1) / 2).copied()
}

/// The median and the range of several runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        Some(Spread {
            median: median(values)?,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            runs: values.len(),
        })
    }

    /// The half-width of the range relative to the median: 0.05 is ±5 %.
    pub fn relative(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / 2.0 / self.median.abs()
        }
    }

    /// The same spread of `f(value)`, for a monotonic `f` (a unit change).
    pub fn map(self, f: impl Fn(f64) -> f64) -> Spread {
        let (a, b) = (f(self.min), f(self.max));
        Spread {
            median: f(self.median),
            min: a.min(b),
            max: a.max(b),
            runs: self.runs,
        }
    }

    /// A table cell: the median as `format` writes it, then the range of the
    /// runs in parentheses: `0.138 s (0.135–0.141)`. The median comes first,
    /// so that a check reads it as the cell's value. One run has no range.
    pub fn cell(&self, format: impl Fn(f64) -> String) -> String {
        if self.runs < 2 {
            return format(self.median);
        }
        let bare = |v: f64| {
            // The range repeats the number, not the unit: `1.85`, not `1.85x`.
            let text = format(v);
            let number = text.split_whitespace().next().unwrap_or_default();
            number
                .trim_end_matches(|c: char| !c.is_ascii_digit())
                .to_owned()
        };
        format!(
            "{} ({}–{})",
            format(self.median),
            bare(self.min),
            bare(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn median_index_points_at_the_middle_run() {
        assert_eq!(median_index(&[1.9, 1.7, 1.8]), Some(2));
        assert_eq!(median_index(&[5.0, 1.0, 3.0, 2.0]), Some(3));
        assert_eq!(median_index(&[]), None);
    }

    #[test]
    fn spread_cells_put_the_median_first() {
        let spread = Spread::of(&[0.141, 0.135, 0.138]).expect("runs");
        assert_eq!(
            spread.cell(|v| format!("{v:.3} s")),
            "0.138 s (0.135–0.141)"
        );
        assert!((spread.relative() - 0.0217).abs() < 1e-3);
        let ratio = Spread::of(&[1.85, 2.02, 2.0]).expect("runs");
        assert_eq!(ratio.cell(|v| format!("{v:.2}x")), "2.00x (1.85–2.02)");
        let one = Spread::of(&[2.0]).expect("a run");
        assert_eq!(one.cell(|v| format!("{v:.2}x")), "2.00x");
        assert_eq!(Spread::of(&[]), None);
    }
}
