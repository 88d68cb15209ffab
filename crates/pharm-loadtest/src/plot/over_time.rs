//! The timeline panel: p50, p99 and max per wall-time bucket (ms, log axis) and the
//! transactions per second on the secondary axis.

use plotters::prelude::*;

use super::{Area, TimelinePoint, draw_legend, legend_mark, line_style, log_range, ms, ms_label};

/// Reads one quantile of a bucket, µs.
type Quantile = fn(&TimelinePoint) -> u64;

/// Draws `timeline` on `area`.
pub(super) fn draw(
    area: &Area<'_>,
    timeline: &[TimelinePoint],
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let width = bucket_width(timeline);
    let x_end = timeline.last().map_or(1.0, |p| p.t_s + width);
    let busy: Vec<&TimelinePoint> = timeline.iter().filter(|p| p.count > 0).collect();
    let y = log_range(
        busy.iter()
            .flat_map(|p| [ms(p.p50_us), ms(p.p99_us), ms(p.max_us)]),
    );
    let tps: Vec<(f64, f64)> = timeline
        .iter()
        .map(|p| (p.t_s, p.count as f64 / width))
        .collect();
    let tps_end = tps.iter().map(|(_, v)| *v).fold(1.0, f64::max) * 1.1;

    let mut chart = ChartBuilder::on(area)
        .caption("latency over time", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .right_y_label_area_size(80)
        .build_cartesian_2d(0.0..x_end, y.log_scale())?
        .set_secondary_coord(0.0..x_end, 0.0..tps_end);
    chart
        .configure_mesh()
        .x_desc("wall time (s)")
        .y_desc("latency (ms)")
        .x_label_formatter(&|s| format!("{s:.0}"))
        .y_label_formatter(&ms_label)
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("transactions per second")
        .y_label_formatter(&|tps| format!("{tps:.0}"))
        .draw()?;

    let quantiles: [(&str, Quantile); 3] = [
        ("p50", |p| p.p50_us),
        ("p99", |p| p.p99_us),
        ("max", |p| p.max_us),
    ];
    for (index, (label, value)) in quantiles.into_iter().enumerate() {
        let style = line_style(index);
        let points = busy.iter().map(|p| (p.t_s, ms(value(p))));
        chart
            .draw_series(LineSeries::new(points, style))?
            .label(label)
            .legend(legend_mark(style));
    }
    let style = BLACK.mix(0.35).stroke_width(1);
    chart
        .draw_secondary_series(LineSeries::new(tps, style))?
        .label("transactions per second (right axis)")
        .legend(legend_mark(style));
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// The spacing of the points in seconds: the smallest positive gap, 1 s without one.
fn bucket_width(timeline: &[TimelinePoint]) -> f64 {
    timeline
        .windows(2)
        .map(|w| w[1].t_s - w[0].t_s)
        .filter(|gap| gap.is_finite() && *gap > 0.0)
        .fold(None, |min: Option<f64>, gap| {
            Some(min.map_or(gap, |m| m.min(gap)))
        })
        .unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t_s: f64) -> TimelinePoint {
        TimelinePoint {
            t_s,
            count: 1,
            p50_us: 1,
            p99_us: 1,
            max_us: 1,
        }
    }

    #[test]
    fn bucket_width_is_the_spacing() {
        assert_eq!(bucket_width(&[]), 1.0);
        assert_eq!(bucket_width(&[at(0.0)]), 1.0);
        assert_eq!(bucket_width(&[at(0.0), at(0.5), at(1.0)]), 0.5);
    }
}
