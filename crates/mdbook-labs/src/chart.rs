//! Speedup charts as inline SVG (plotters' SVG backend): one bar per speedup
//! with its 95% interval, against three lines — no speedup (1×), the ideal
//! (one × per worker), and what this machine's cores really deliver.

use anyhow::{Result, anyhow};
use labkit::format;
use labkit::results::Metric;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: a median with its interval.
pub struct Bar {
    label: String,
    value: f64,
    low: f64,
    high: f64,
}

impl Bar {
    /// A bar for a speedup metric.
    pub fn from_metric(metric: &Metric) -> Bar {
        let (low, high) = metric
            .summary
            .as_ref()
            .map_or((metric.value, metric.value), |s| (s.ci_low, s.ci_high));
        Bar {
            label: metric.label.trim_start_matches("speedup of ").to_string(),
            value: metric.value,
            low,
            high,
        }
    }
}

const BAR: RGBColor = RGBColor(70, 130, 180);
const IDEAL: RGBColor = RGBColor(46, 139, 87);
const CAPACITY: RGBColor = RGBColor(205, 133, 63);

/// The chart as an `<svg>` element with no blank lines (so Markdown keeps it whole).
pub fn speedups(
    title: &str,
    bars: &[Bar],
    workers: usize,
    capacity: Option<f64>,
) -> Result<String> {
    let mut svg = String::new();
    draw(&mut svg, title, bars, workers, capacity)
        .map_err(|e| anyhow!("drawing the chart failed: {e}"))?;
    let svg = svg.replace("<svg ", "<svg class=\"lab-chart\" role=\"img\" ");
    Ok(svg
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n"))
}

fn draw(
    svg: &mut String,
    title: &str,
    bars: &[Bar],
    workers: usize,
    capacity: Option<f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let ideal = workers as f64;
    let top = bars
        .iter()
        .map(|b| b.high)
        .chain([ideal, capacity.unwrap_or(0.0)])
        .fold(1.0, f64::max)
        * 1.4; // headroom so the legend sits above the reference lines
    let root = SVGBackend::with_string(svg, (640, 320)).into_drawing_area();
    root.fill(&WHITE)?;
    let count = bars.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..count as f64, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(0)
        .y_desc("× faster than sequential")
        .y_label_formatter(&|v| format!("{v:.1}×"))
        .draw()?;
    for (i, bar) in bars.iter().enumerate() {
        let x = i as f64;
        chart.draw_series([Rectangle::new(
            [(x + 0.2, 0.0), (x + 0.8, bar.value)],
            BAR.filled(),
        )])?;
        chart.draw_series([ErrorBar::new_vertical(
            x + 0.5,
            bar.low,
            bar.value,
            bar.high,
            BLACK.stroke_width(1),
            8,
        )])?;
        chart.draw_series([Text::new(
            format!(
                "{} {}",
                bar.label,
                format::value(bar.value, labkit::Unit::Times)
            ),
            (x + 0.5, 0.0),
            ("sans-serif", 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        )])?;
    }
    // Reference lines: no speedup, the ideal, and what this machine delivered.
    let show = |v: f64| format::value(v, labkit::Unit::Times);
    let mut lines = vec![
        (1.0, BLACK.stroke_width(1), "1×: no speedup".to_string()),
        (
            ideal,
            IDEAL.stroke_width(2),
            format!("ideal for {workers} workers: {}", show(ideal)),
        ),
    ];
    if let Some(capacity) = capacity {
        let label = format!("this machine's measured capacity: {}", show(capacity));
        lines.push((capacity, CAPACITY.stroke_width(2), label));
    }
    for (y, style, label) in lines {
        chart
            .draw_series(LineSeries::new(vec![(0.0, y), (count as f64, y)], style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}
