//! Charts as inline SVG (plotters' SVG backend). Speedups: one bar per speedup
//! with its 95% interval, against three lines — no speedup (1×), the ideal
//! (one × per worker), and what this machine's cores really deliver. Costs:
//! horizontal bars side by side. Growth: lines through points (a cost against
//! a count or a size), on log axes where the values span orders of magnitude.

use anyhow::{Result, anyhow};
use labkit_schema::format;
use labkit_schema::results::{Metric, Unit};
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
            label: metric
                .label
                .trim_start_matches("speedup of ")
                .trim_start_matches("speedup: ")
                .to_string(),
            value: metric.value,
            low,
            high,
        }
    }
}

const BAR: RGBColor = RGBColor(70, 130, 180);
const IDEAL: RGBColor = RGBColor(46, 139, 87);
// Darker than peru, so the line keeps 3:1 contrast on the chart's white.
const CAPACITY: RGBColor = RGBColor(178, 102, 34);

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
    Ok(finish(svg, title))
}

fn draw(
    svg: &mut String,
    title: &str,
    bars: &[Bar],
    workers: usize,
    capacity: Option<f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let ideal = workers as f64;
    let right = bars
        .iter()
        .map(|b| b.high)
        .chain([ideal, capacity.unwrap_or(0.0)])
        .fold(1.0, f64::max)
        * 1.1;
    // Reference lines: no speedup, the ideal, and what this machine delivered.
    let show = |v: f64| format::value(v, Unit::Times);
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
    // One row per bar, its label above it (long labels need the width), and
    // the legend below the plot, where it can cover no bar.
    let legend_height = 8 + 20 * lines.len() as u32;
    let height = 84 + 34 * bars.len() as u32 + legend_height;
    let root = SVGBackend::with_string(svg, (640, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_vertically(height - legend_height);
    let rows = bars.len() as f64;
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(8)
        .build_cartesian_2d(0.0..right, 0.0..rows)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_labels(8)
        .x_desc("× faster than sequential")
        .x_label_formatter(&|v| format!("{v:.1}×"))
        .draw()?;
    // The reference lines first, so that bars and labels are drawn over them.
    for (i, (x, style, label)) in lines.into_iter().enumerate() {
        chart.draw_series(LineSeries::new(vec![(x, 0.0), (x, rows)], style))?;
        let y = 10 + 20 * i as i32;
        legend.draw(&PathElement::new(vec![(60, y), (84, y)], style))?;
        legend.draw(&Text::new(
            label,
            (92, y),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    for (i, bar) in bars.iter().enumerate() {
        // Row i from the top: its label above, its bar below.
        let top = rows - i as f64;
        chart.draw_series([Rectangle::new(
            [(0.0, top - 0.95), (bar.value, top - 0.55)],
            BAR.filled(),
        )])?;
        chart.draw_series([ErrorBar::new_horizontal(
            top - 0.75,
            bar.low,
            bar.value,
            bar.high,
            BLACK.stroke_width(1),
            6,
        )])?;
        chart.draw_series([Text::new(
            format!("{}: {}", bar.label, show(bar.value)),
            (0.0, top - 0.12),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Top)),
        )])?;
    }
    root.present()?;
    Ok(())
}

/// One value to draw, with its interval: a bar, or a point of a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Its name (a bar) or its position on the x axis (a point).
    pub label: String,
    /// Where it sits on the x axis (points only).
    pub x: f64,
    /// The median.
    pub value: f64,
    /// The interval's ends.
    pub low: f64,
    /// See `low`.
    pub high: f64,
}

impl Value {
    /// A metric's median and interval, at `x`.
    pub fn of(metric: &Metric, x: f64) -> Value {
        let (low, high) = metric
            .summary
            .as_ref()
            .map_or((metric.value, metric.value), |s| (s.ci_low, s.ci_high));
        Value {
            label: metric.label.clone(),
            x,
            value: metric.value,
            low,
            high,
        }
    }
}

/// An axis over `values`: logarithmic when they span more than 30× (creation
/// costs run from microseconds to milliseconds), linear otherwise. Values are
/// drawn at `position(v)`; the labels show the real value with its unit.
#[derive(Debug, Clone, Copy)]
struct Axis {
    log: bool,
    unit: Unit,
}

impl Axis {
    fn over(values: impl Iterator<Item = f64> + Clone, unit: Unit) -> Axis {
        let positive = values.clone().all(|v| v > 0.0);
        let (low, high) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
        Axis {
            log: positive && high / low > 30.0,
            unit,
        }
    }

    /// Powers of two for sizes (ticks at 1 KiB, 1 MiB…), of ten otherwise.
    fn base(self) -> f64 {
        match self.unit {
            Unit::Bytes | Unit::BytesPerSecond => 2.0,
            _ => 10.0,
        }
    }

    fn position(self, value: f64) -> f64 {
        if self.log {
            value.log(self.base())
        } else {
            value
        }
    }

    fn label(self, position: f64) -> String {
        let value = if self.log {
            self.base().powf(position)
        } else {
            position
        };
        format::value(value, self.unit)
    }

    /// The drawn range: from zero (linear) or a bit below the smallest
    /// (log), to a bit above the largest.
    fn range(self, values: impl Iterator<Item = f64> + Clone, headroom: f64) -> (f64, f64) {
        let low = values
            .clone()
            .map(|v| self.position(v))
            .fold(f64::MAX, f64::min);
        let high = values.map(|v| self.position(v)).fold(f64::MIN, f64::max);
        if self.log {
            (low.floor(), high + (high - low.floor()) * headroom + 0.1)
        } else {
            (low.min(0.0), high.max(f64::MIN_POSITIVE) * (1.0 + headroom))
        }
    }
}

/// Horizontal bars, one per value, with their intervals: costs side by side.
pub fn bars(title: &str, unit: Unit, values: &[Value]) -> Result<String> {
    let mut svg = String::new();
    let height = 60 + 34 * values.len() as u32;
    draw_bars(&mut svg, title, unit, values, height)
        .map_err(|e| anyhow!("drawing the chart failed: {e}"))?;
    Ok(finish(svg, title))
}

fn draw_bars(
    svg: &mut String,
    title: &str,
    unit: Unit,
    values: &[Value],
    height: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let ends = values
        .iter()
        .flat_map(|v| [v.low.max(v.value * 0.5), v.high]);
    let axis = Axis::over(ends.clone(), unit);
    let (left, right) = axis.range(ends, 0.05);
    let root = SVGBackend::with_string(svg, (640, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let rows = values.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(8)
        .build_cartesian_2d(left..right, 0.0..rows)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_labels(6)
        .x_label_formatter(&|p| axis.label(*p))
        .draw()?;
    for (i, value) in values.iter().enumerate() {
        // Row i from the top: its label above, its bar below.
        let top = rows - i as f64;
        chart.draw_series([Rectangle::new(
            [(left, top - 0.95), (axis.position(value.value), top - 0.55)],
            BAR.filled(),
        )])?;
        chart.draw_series([ErrorBar::new_horizontal(
            top - 0.75,
            axis.position(value.low.max(f64::MIN_POSITIVE)),
            axis.position(value.value),
            axis.position(value.high),
            BLACK.stroke_width(1),
            6,
        )])?;
        chart.draw_series([Text::new(
            format!("{}: {}", value.label, format::value(value.value, unit)),
            (left, top - 0.12),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Top)),
        )])?;
    }
    root.present()?;
    Ok(())
}

/// One line per series through its points, with intervals: how a cost grows
/// with a count or a size.
pub fn lines(
    title: &str,
    x: (&str, Unit),
    y_unit: Unit,
    series: &[(String, Vec<Value>)],
) -> Result<String> {
    let mut svg = String::new();
    draw_lines(&mut svg, title, x, y_unit, series)
        .map_err(|e| anyhow!("drawing the chart failed: {e}"))?;
    Ok(finish(svg, title))
}

/// Line colours, distinct enough to tell seven lines apart, each at least
/// 3:1 against the chart's white (the browser test checks it).
const SERIES: [RGBColor; 8] = [
    BAR,
    CAPACITY,
    IDEAL,
    RGBColor(128, 0, 128),
    RGBColor(178, 34, 34),
    RGBColor(0, 0, 0),
    RGBColor(160, 110, 0),
    RGBColor(0, 139, 139),
];

fn draw_lines(
    svg: &mut String,
    title: &str,
    (x_name, x_unit): (&str, Unit),
    y_unit: Unit,
    series: &[(String, Vec<Value>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let points = || series.iter().flat_map(|(_, values)| values);
    let xs = points().map(|v| v.x);
    let ys = points().flat_map(|v| [v.low.max(v.value * 0.5), v.high]);
    let (x_axis, y_axis) = (
        Axis::over(xs.clone(), x_unit),
        Axis::over(ys.clone(), y_unit),
    );
    let (x_low, x_high) = x_axis.range(xs, 0.02);
    let (y_low, y_high) = y_axis.range(ys, 0.25);
    let root = SVGBackend::with_string(svg, (640, 340)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_low..x_high, y_low..y_high)?;
    chart
        .configure_mesh()
        .light_line_style(BLACK.mix(0.06))
        .x_desc(x_name)
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|p| x_axis.label(*p))
        .y_label_formatter(&|p| y_axis.label(*p))
        .draw()?;
    for (index, (name, values)) in series.iter().enumerate() {
        let color = SERIES[index % SERIES.len()];
        let at = |v: &Value| (x_axis.position(v.x), y_axis.position(v.value));
        chart
            .draw_series(LineSeries::new(
                values.iter().map(at),
                color.stroke_width(2),
            ))?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        chart.draw_series(values.iter().map(|v| Circle::new(at(v), 3, color.filled())))?;
        chart.draw_series(values.iter().map(|v| {
            ErrorBar::new_vertical(
                x_axis.position(v.x),
                y_axis.position(v.low.max(f64::MIN_POSITIVE)),
                y_axis.position(v.value),
                y_axis.position(v.high),
                color.stroke_width(1),
                6,
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The `<svg>` with the course's class, its title as the name a screen
/// reader says, and no blank lines (so Markdown keeps it whole).
fn finish(svg: String, title: &str) -> String {
    named(&svg, title)
        .replace("<svg ", "<svg class=\"lab-chart\" role=\"img\" ")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `svg` with a `<title>` as its first child, which is what a screen reader
/// says for an image (`role="img"`), unless it already has one.
pub(crate) fn named(svg: &str, title: &str) -> String {
    let Some(start) = svg.find("<svg") else {
        return svg.to_string();
    };
    let Some(end) = svg[start..].find('>').map(|at| start + at + 1) else {
        return svg.to_string();
    };
    if svg[end..].trim_start().starts_with("<title") {
        return svg.to_string();
    }
    let title = crate::render::escape_html(title);
    format!("{}<title>{title}</title>{}", &svg[..end], &svg[end..])
}
