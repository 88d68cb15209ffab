//! The latency plot written next to the JSON report: one SVG with two panels, the
//! percentile distribution of every series (HdrHistogram style) and latency over wall time
//! with the throughput.
//!
//! The SVG backend writes text as `<text>` elements for the viewer to render, so no font
//! stack is compiled in.

mod over_time;
mod percentiles;
mod timeline;

use std::io;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use plotters::prelude::*;

pub use timeline::{Timeline, TimelineError, TimelinePoint};

/// The SVG's size in pixels.
const SIZE: (u32, u32) = (1200, 1100);

/// The design's dispensing targets (§9), drawn as horizontal lines: p50 and p99, in ms.
const TARGETS_MS: [(&str, f64); 2] = [
    ("design target dispensing p50 300 ms", 300.0),
    ("design target dispensing p99 500 ms", 500.0),
];

/// What the plot shows.
#[derive(Debug, Clone)]
pub struct LatencyPlot<'a> {
    /// The title above both panels.
    pub title: String,
    /// Named latency distributions in µs, one line each in the percentile panel.
    pub series: Vec<(String, &'a Histogram<u64>)>,
    /// All transactions per wall-time bucket, evenly spaced as [`Timeline::points`] returns
    /// them; the throughput is each bucket's count over that spacing (1 s for a single
    /// point).
    pub timeline: &'a [TimelinePoint],
}

/// Why the plot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Drawing into the SVG document failed.
    #[error("drawing the latency plot: {0}")]
    Draw(#[from] DrawingAreaErrorKind<io::Error>),
    /// Writing the SVG file failed.
    #[error("writing the latency plot to {path}: {source}")]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// The drawing area both panels draw on.
type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

/// Writes `plot` as an SVG document to `path`.
///
/// # Errors
/// [`PlotError::Draw`] when plotting fails, [`PlotError::Write`] when the file cannot be
/// written.
pub fn write_svg(path: &Path, plot: &LatencyPlot) -> Result<(), PlotError> {
    let svg = render_svg(plot)?;
    std::fs::write(path, svg).map_err(|source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The SVG document of `plot`.
fn render_svg(plot: &LatencyPlot) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(&plot.title, ("sans-serif", 24))?;
        let (top, bottom) = root.split_vertically(SIZE.1 / 2);
        percentiles::draw(&top, &plot.series)?;
        over_time::draw(&bottom, plot.timeline)?;
        root.present()?;
    }
    Ok(svg)
}

/// A latency in ms for a log axis: at least 1 µs, so a zero never reaches the logarithm.
fn ms(us: u64) -> f64 {
    us.max(1) as f64 / 1_000.0
}

/// A log axis range around `values` (ms), with a margin; 0.1 ms to 1 s when there are none.
fn log_range(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if hi <= 0.0 {
        return 0.1..1_000.0;
    }
    let lo = lo / 1.5;
    let hi = hi * 1.5;
    if hi > lo { lo..hi } else { lo..lo * 10.0 }
}

/// A tick label for a latency in ms, without float noise (`0.3`, not `0.30000000000000004`).
fn ms_label(value: &f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// Line colours that tell neighbours apart on white (the common "tab10" palette's first five).
const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// Draws the legend of `chart`'s labelled series at `position`, on a veil over the lines.
fn draw_legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<io::Error>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
}

/// A legend entry's mark: a short stroke in the series' style.
fn legend_mark(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style)
}

/// The style of line `index`.
fn line_style(index: usize) -> ShapeStyle {
    COLORS[index % COLORS.len()].stroke_width(2)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn histogram(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    /// A file in the system's temporary directory, unique to this process and `name`.
    fn temp_svg(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("pharm-loadtest-{}-{name}.svg", std::process::id()))
    }

    fn write_and_read(name: &str, plot: &LatencyPlot) -> String {
        let path = temp_svg(name);
        write_svg(&path, plot).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        svg
    }

    #[test]
    fn writes_an_svg_with_every_series() {
        let dispense = histogram((1..=10_000).map(|i| 50 + i % 700));
        let substitution = histogram((1..=2_000).map(|i| 200 + i * 3));
        let sqlite = histogram((1..=500).map(|i| 1_000 + i * 40));
        let mut timeline = Timeline::new(Duration::from_secs(1)).unwrap();
        for i in 0..5_000_u64 {
            timeline.record(Duration::from_millis(i * 3), 80 + i % 400);
        }
        let points = timeline.points();
        let plot = LatencyPlot {
            title: "pharm-loadtest: 2 pharmacies x 2 terminals, 100x".to_string(),
            series: vec![
                ("dispense".to_string(), &dispense),
                ("substitution".to_string(), &substitution),
                ("sqlite terminal".to_string(), &sqlite),
            ],
            timeline: &points,
        };
        let svg = write_and_read("series", &plot);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        for name in [
            "dispense",
            "substitution",
            "sqlite terminal",
            "100x",
            "99.9 %",
        ] {
            assert!(svg.contains(name), "{name} missing");
        }
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn empty_inputs_draw_without_nan() {
        let empty = histogram([]);
        let zero = histogram([0]);
        let plot = LatencyPlot {
            title: "empty".to_string(),
            series: vec![
                ("dispense".to_string(), &empty),
                ("zero".to_string(), &zero),
            ],
            timeline: &[],
        };
        let svg = write_and_read("empty", &plot);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("dispense"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn unwritable_path_is_a_write_error() {
        let plot = LatencyPlot {
            title: String::new(),
            series: Vec::new(),
            timeline: &[],
        };
        let dir =
            std::env::temp_dir().join(format!("pharm-loadtest-missing-{}", std::process::id()));
        let err = write_svg(&dir.join("plot.svg"), &plot).unwrap_err();
        assert!(matches!(err, PlotError::Write { .. }), "{err}");
    }

    #[test]
    fn log_range_is_positive_and_ordered() {
        assert_eq!(log_range([]), 0.1..1_000.0);
        let r = log_range([f64::NAN, 0.0, 2.0]);
        assert!(r.start > 0.0 && r.end > r.start);
        let r = log_range([5.0, 5.0]);
        assert!(r.end > r.start);
    }

    #[test]
    fn ms_labels_have_no_float_noise() {
        assert_eq!(ms_label(&(0.1 * 3.0)), "0.3");
        assert_eq!(ms_label(&500.0), "500");
        assert_eq!(ms_label(&0.001), "0.001");
    }
}
