//! SVG bar charts of the measured figures, drawn with plotters.
//!
//! Only plotters' SVG backend is used, without a font-rendering feature: the
//! backend writes text as `<text>` elements and the browser lays it out, so
//! the layout here places labels by fixed columns rather than by measuring
//! the text.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: its label and its length.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The smallest and largest run, drawn as a whisker across the bar's end.
    pub range: Option<(f64, f64)>,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: f64) -> Self {
        Bar {
            label: label.into(),
            value,
            range: None,
        }
    }

    /// The bar with a whisker from `min` to `max` (the spread of the runs).
    pub fn with_range(mut self, min: f64, max: f64) -> Self {
        self.range = Some((min, max));
        self
    }
}

/// How bar lengths grow with their values.
#[derive(Debug, Clone, Copy)]
pub enum Scale {
    Linear,
    /// Logarithmic, for figures that span orders of magnitude (1 ms next to
    /// 900 ms); values at or below `floor` get no length.
    Log {
        floor: f64,
    },
}

impl Scale {
    /// The fraction (0 to 1) of the full length for `value`.
    fn fraction(self, value: f64, largest: f64) -> f64 {
        let fraction = match self {
            Scale::Linear if largest > 0.0 => value / largest,
            Scale::Log { floor } if largest > floor && floor > 0.0 => {
                (value.max(floor) / floor).ln() / (largest / floor).ln()
            }
            _ => 0.0,
        };
        fraction.clamp(0.0, 1.0)
    }
}

const WIDTH: u32 = 860;
const LABEL_COLUMN: i32 = 380;
const BAR_HEIGHT: i32 = 22;
const ROW: i32 = 30;
const TOP: i32 = 44;

/// A horizontal bar chart: `title` on top, one row per bar with its label
/// left of the bar and `format(value)` right of it.
pub fn bar_chart(
    title: &str,
    bars: &[Bar],
    scale: Scale,
    format: impl Fn(f64) -> String,
) -> Result<String, String> {
    let height = (TOP + ROW * bars.len() as i32 + 16).max(80) as u32;
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let fail = |e: DrawingAreaErrorKind<_>| format!("cannot draw the chart {title:?}: {e}");
        area.fill(&WHITE).map_err(fail)?;
        let font = ("sans-serif", 14).into_font();
        area.draw(&Text::new(
            title.to_owned(),
            (10, 12),
            font.clone().resize(16.0).color(&BLACK),
        ))
        .map_err(fail)?;
        let largest = bars
            .iter()
            .map(|bar| bar.range.map_or(bar.value, |(_, max)| max.max(bar.value)))
            .fold(0.0, f64::max);
        let room = f64::from(WIDTH as i32 - LABEL_COLUMN - 90);
        let right = font
            .clone()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        let left = font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, bar) in bars.iter().enumerate() {
            let top = TOP + ROW * i as i32;
            let middle = top + BAR_HEIGHT / 2;
            let length = (scale.fraction(bar.value, largest) * room) as i32;
            area.draw(&Text::new(
                bar.label.clone(),
                (LABEL_COLUMN - 8, middle),
                right.clone(),
            ))
            .map_err(fail)?;
            area.draw(&Rectangle::new(
                [
                    (LABEL_COLUMN, top),
                    (LABEL_COLUMN + length.max(1), top + BAR_HEIGHT),
                ],
                RGBColor(70, 120, 180).filled(),
            ))
            .map_err(fail)?;
            let mut text_at = LABEL_COLUMN + length + 6;
            if let Some((min, max)) = bar.range {
                // The whisker: min to max of the runs, the bar's end the median.
                let at = |v: f64| LABEL_COLUMN + (scale.fraction(v, largest) * room) as i32;
                let (low, high) = (at(min), at(max));
                let ink = BLACK.stroke_width(1);
                for segment in [
                    [(low, middle), (high, middle)],
                    [(low, middle - 5), (low, middle + 5)],
                    [(high, middle - 5), (high, middle + 5)],
                ] {
                    area.draw(&PathElement::new(segment.to_vec(), ink))
                        .map_err(fail)?;
                }
                text_at = text_at.max(high + 6);
            }
            area.draw(&Text::new(
                format(bar.value),
                (text_at, middle),
                left.clone(),
            ))
            .map_err(fail)?;
        }
        area.present().map_err(fail)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_holds_title_labels_and_values() {
        let bars = [Bar::new("Rust serial", 1.0), Bar::new("Rust rayon", 1.93)];
        let svg =
            bar_chart("Speedup", &bars, Scale::Linear, |v| format!("{v:.2}x")).expect("draws");
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in ["Speedup", "Rust serial", "Rust rayon", "1.93x", "<rect"] {
            assert!(svg.contains(text), "no {text:?} in {svg}");
        }
    }

    #[test]
    fn log_scale_keeps_small_values_visible() {
        let log = Scale::Log { floor: 0.1 };
        assert_eq!(log.fraction(1000.0, 1000.0), 1.0);
        assert_eq!(log.fraction(0.05, 1000.0), 0.0);
        assert!((log.fraction(1.0, 1000.0) - 0.25).abs() < 1e-9);
        assert!((Scale::Linear.fraction(1.0, 1000.0) - 0.001).abs() < 1e-9);
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bar_chart("a < b", &[Bar::new("x & y", 1.0)], Scale::Linear, |v| {
            v.to_string()
        })
        .expect("draws");
        assert!(
            svg.contains("x &amp; y") && svg.contains("a &lt; b"),
            "{svg}"
        );
    }
}
