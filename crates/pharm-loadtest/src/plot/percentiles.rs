//! The percentile panel: latency against 1/(1-q) on a log axis, HdrHistogram style.

use std::ops::Range;

use hdrhistogram::Histogram;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{Area, TARGETS_MS, draw_legend, legend_mark, line_style, log_range, ms, ms_label};

/// Points per series along the percentile axis.
const STEPS: u32 = 240;

/// The axis runs at least to 99 % (x = 2) and at most to 99.9999 % (x = 6).
const X_MIN_END: f64 = 2.0;
const X_MAX_END: f64 = 6.0;

/// Draws every series' percentile distribution on `area`.
pub(super) fn draw(
    area: &Area<'_>,
    series: &[(String, &Histogram<u64>)],
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let lines: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, h)| (format!("{name} (n = {})", h.len()), distribution(h)))
        .collect();
    let x_end = lines
        .iter()
        .flat_map(|(_, points)| points.last())
        .map(|(x, _)| x.ceil())
        .fold(X_MIN_END, f64::max)
        .min(X_MAX_END);
    let y = log_range(
        lines
            .iter()
            .flat_map(|(_, points)| points.iter().map(|(_, y)| *y))
            .chain(TARGETS_MS.iter().map(|(_, ms)| *ms)),
    );
    let mut chart = ChartBuilder::on(area)
        .caption("latency by percentile", ("sans-serif", 20))
        .margin(12)
        .margin_right(40)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(PercentileAxis::new(x_end), y.log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .y_label_formatter(&ms_label)
        .draw()?;
    for (index, (label, points)) in lines.into_iter().enumerate() {
        let style = line_style(index);
        chart
            .draw_series(LineSeries::new(points, style))?
            .label(label)
            .legend(legend_mark(style));
    }
    for (label, target) in TARGETS_MS {
        let style = BLACK.mix(0.6).stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, target), (x_end, target)],
                6,
                4,
                style,
            ))?
            .label(label)
            .legend(legend_mark(style));
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// The distribution as (log10(1/(1-q)), ms) points, up to the quantile one sample in the
/// histogram resolves (q = 1 - 1/n); empty for an empty histogram.
fn distribution(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let end = (h.len() as f64).log10().min(X_MAX_END);
    (0..=STEPS)
        .map(|step| {
            let x = end * f64::from(step) / f64::from(STEPS);
            let q = 1.0 - 10f64.powf(-x);
            (x, ms(h.value_at_quantile(q)))
        })
        .collect()
}

/// The x axis: log10(1/(1-q)) from 0 to `end`, ticks at 50 % and at every extra nine.
struct PercentileAxis {
    linear: RangedCoordf64,
    keys: Vec<f64>,
}

impl PercentileAxis {
    fn new(end: f64) -> Self {
        let mut keys = vec![0.0, 2.0_f64.log10()];
        keys.extend((1..=end as u32).map(f64::from));
        Self {
            linear: (0.0..end).into(),
            keys,
        }
    }
}

impl Ranged for PercentileAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _: Hint) -> Vec<f64> {
        self.keys.clone()
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

impl ValueFormatter<f64> for PercentileAxis {
    fn format(x: &f64) -> String {
        percent_label(x)
    }
}

/// The percentile at x = log10(1/(1-q)): `50 %` at log10(2), `99.9 %` at 3.
fn percent_label(x: &f64) -> String {
    let percent = 100.0 * (1.0 - 10f64.powf(-x));
    let decimals = (x.round() - 2.0).max(0.0) as usize;
    format!("{percent:.decimals$} %")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_percentiles() {
        let labels: Vec<String> = [0.0, 2.0_f64.log10(), 1.0, 2.0, 3.0, 4.0]
            .iter()
            .map(percent_label)
            .collect();
        assert_eq!(labels, ["0 %", "50 %", "90 %", "99 %", "99.9 %", "99.99 %"]);
    }

    #[test]
    fn distribution_rises_to_the_max() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in 1..=1_000 {
            h.record(v * 1_000).unwrap();
        }
        let points = distribution(&h);
        assert_eq!(points.len(), STEPS as usize + 1);
        assert!(
            points
                .windows(2)
                .all(|w| w[0].1 <= w[1].1 && w[0].0 < w[1].0)
        );
        assert!((points[points.len() - 1].0 - 3.0).abs() < 1e-9);
        assert!((points[points.len() - 1].1 - 1_000.0).abs() < 1.0);
        assert!(distribution(&Histogram::<u64>::new(3).unwrap()).is_empty());
    }
}
