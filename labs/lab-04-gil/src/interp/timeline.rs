//! The timeline: what each thread was doing, moment by moment — holding the
//! GIL (running), waiting for it, or blocked (sleeping, joining) — and when
//! drop requests were made. Rendered as an SVG for `--timeline` and the book.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Mutex;
use std::time::Instant;

/// What a thread is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Running bytecode (with the GIL, when there is one).
    Running,
    /// Waiting to take the GIL.
    Waiting,
    /// Blocked in a call that released the GIL: sleep, join, a lock, I/O.
    Blocked,
    /// Finished.
    Done,
}

/// One recorded moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Seconds since the program started.
    pub at: f64,
    /// Which thread (1 is the main thread).
    pub thread: usize,
    /// Its new state, or `None` for a drop request it made.
    pub state: Option<State>,
}

/// Records events from every thread.
#[derive(Debug)]
pub struct Timeline {
    start: Instant,
    events: Mutex<Vec<Event>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}

impl Timeline {
    /// An empty timeline starting now.
    pub fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            events: Mutex::new(Vec::new()),
        }
    }

    fn push(&self, thread: usize, state: Option<State>) {
        let at = self.start.elapsed().as_secs_f64();
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push(Event { at, thread, state });
    }

    /// Thread `thread` is now in `state`.
    pub fn set(&self, thread: usize, state: State) {
        self.push(thread, Some(state));
    }

    /// Thread `thread` asked the holder to drop the GIL.
    pub fn drop_request(&self, thread: usize) {
        self.push(thread, None);
    }

    /// Everything recorded so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A stretch of time one thread spent in one state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The thread.
    pub thread: usize,
    /// What it was doing.
    pub state: State,
    /// From (seconds).
    pub from: f64,
    /// To (seconds).
    pub to: f64,
}

/// Turns events into spans, each thread's state lasting until its next event.
pub fn spans(events: &[Event]) -> Vec<Span> {
    let end = events.last().map_or(0.0, |e| e.at);
    let mut open: Vec<(usize, State, f64)> = Vec::new();
    let mut spans = Vec::new();
    for event in events {
        let Some(state) = event.state else { continue };
        if let Some(i) = open.iter().position(|(t, ..)| *t == event.thread) {
            let (thread, previous, from) = open.remove(i);
            if previous != State::Done && event.at > from {
                spans.push(Span {
                    thread,
                    state: previous,
                    from,
                    to: event.at,
                });
            }
        }
        open.push((event.thread, state, event.at));
    }
    for (thread, state, from) in open {
        if state != State::Done && end > from {
            spans.push(Span {
                thread,
                state,
                from,
                to: end,
            });
        }
    }
    spans
}

/// How long each thread spent in `state`, in seconds, summed over `spans`.
pub fn time_in(spans: &[Span], thread: usize, state: State) -> f64 {
    spans
        .iter()
        .filter(|s| s.thread == thread && s.state == state)
        .map(|s| s.to - s.from)
        .sum()
}

/// Seconds during which two or more threads were running at once.
pub fn overlap(spans: &[Span]) -> f64 {
    let mut edges: Vec<(f64, i32)> = spans
        .iter()
        .filter(|s| s.state == State::Running)
        .flat_map(|s| [(s.from, 1), (s.to, -1)])
        .collect();
    // At equal times, ends before starts: a handover is not an overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut running, mut since, mut total) = (0, 0.0, 0.0);
    for (at, change) in edges {
        if running >= 2 {
            total += at - since;
        }
        running += change;
        since = at;
    }
    total
}

/// Stretches of running bytecode, (thread, from, to), as spans in the
/// `Running` state, for [`overlap`].
pub fn running_spans(stretches: &[(usize, f64, f64)]) -> Vec<Span> {
    stretches
        .iter()
        .map(|&(thread, from, to)| Span {
            thread,
            state: State::Running,
            from,
            to,
        })
        .collect()
}

// Each state at least 3:1 against the white background (WCAG's contrast for
// graphics), so that no block fades into the page: the book's browser test
// checks it in every theme.
const RUNNING: RGBColor = RGBColor(46, 125, 50);
const WAITING: RGBColor = RGBColor(214, 120, 0);
const BLOCKED: RGBColor = RGBColor(66, 133, 244);
const REQUEST: RGBColor = RGBColor(198, 40, 40);

/// Draws the first `window` seconds of a run as an SVG: one row per thread.
pub fn svg(events: &[Event], title: &str, window: f64) -> Result<String, String> {
    let mut out = String::new();
    draw(&mut out, events, title, window).map_err(|e| format!("drawing the timeline: {e}"))?;
    Ok(out
        .replace("<svg ", "<svg class=\"lab-chart\" role=\"img\" ")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n"))
}

fn draw(
    out: &mut String,
    events: &[Event],
    title: &str,
    window: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut threads: Vec<usize> = events.iter().map(|e| e.thread).collect();
    threads.sort_unstable();
    threads.dedup();
    let rows = threads.len().max(1) as f64;
    let end_ms = window * 1000.0;
    let height = 110 + 46 * threads.len() as u32;
    let root = SVGBackend::with_string(out, (720, height)).into_drawing_area();
    root.fill(&WHITE)?;
    // The chart above, the legend in a strip of its own below.
    let (upper, lower) = root.split_vertically(height - 26);
    let mut chart = ChartBuilder::on(&upper)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..end_ms, 0.0..rows)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_labels(8)
        .x_desc("milliseconds since the program started")
        .draw()?;
    let row_of =
        |thread: usize| rows - 1.0 - threads.iter().position(|&t| t == thread).unwrap_or(0) as f64;
    for span in spans(events) {
        if span.from >= window {
            continue;
        }
        let color = match span.state {
            State::Running => RUNNING,
            State::Waiting => WAITING,
            State::Blocked => BLOCKED,
            State::Done => continue,
        };
        let row = row_of(span.thread);
        let to = (span.to * 1000.0).min(end_ms);
        chart.draw_series([Rectangle::new(
            [(span.from * 1000.0, row + 0.2), (to, row + 0.8)],
            color.filled(),
        )])?;
    }
    for event in events.iter().filter(|e| e.state.is_none() && e.at < window) {
        let row = row_of(event.thread);
        let x = event.at * 1000.0;
        chart.draw_series([PathElement::new(
            vec![(x, row + 0.1), (x, row + 0.9)],
            REQUEST.stroke_width(2),
        )])?;
    }
    let label_font = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for &thread in &threads {
        let name = if thread == 1 {
            "main thread".to_string()
        } else {
            format!("thread {}", thread - 1)
        };
        let (x, y) = chart.backend_coord(&(0.0, row_of(thread) + 0.5));
        upper.draw(&Text::new(name, (x - 6, y), label_font.clone()))?;
    }
    let legend = [
        (RUNNING, "running (holds the GIL)"),
        (WAITING, "waiting for the GIL"),
        (BLOCKED, "blocked: sleep, join, lock"),
        (REQUEST, "drop request"),
    ];
    let font = ("sans-serif", 12)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (color, text)) in legend.iter().enumerate() {
        let (x, y) = (100 + 155 * i as i32, 10);
        lower.draw(&Rectangle::new(
            [(x, y - 5), (x + 14, y + 5)],
            color.filled(),
        ))?;
        lower.draw(&Text::new(*text, (x + 18, y), font.clone()))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: f64, thread: usize, state: Option<State>) -> Event {
        Event { at, thread, state }
    }

    #[test]
    fn events_become_spans_per_thread() {
        let events = [
            event(0.0, 1, Some(State::Running)),
            event(0.1, 2, Some(State::Waiting)),
            event(0.2, 2, None),
            event(0.3, 1, Some(State::Waiting)),
            event(0.3, 2, Some(State::Running)),
            event(0.5, 2, Some(State::Done)),
            event(0.6, 1, Some(State::Running)),
        ];
        let spans = spans(&events);
        assert!((time_in(&spans, 1, State::Running) - 0.3).abs() < 1e-9);
        assert!((time_in(&spans, 1, State::Waiting) - 0.3).abs() < 1e-9);
        assert!((time_in(&spans, 2, State::Running) - 0.2).abs() < 1e-9);
        assert_eq!(time_in(&spans, 2, State::Done), 0.0);
    }

    #[test]
    fn overlap_counts_only_time_when_two_threads_run() {
        let run = |thread, from, to| Span {
            thread,
            state: State::Running,
            from,
            to,
        };
        assert_eq!(overlap(&[run(1, 0.0, 1.0), run(2, 1.0, 2.0)]), 0.0);
        assert!((overlap(&[run(1, 0.0, 1.0), run(2, 0.5, 2.0)]) - 0.5).abs() < 1e-12);
        let wait = Span {
            thread: 2,
            state: State::Waiting,
            from: 0.0,
            to: 1.0,
        };
        assert_eq!(overlap(&[run(1, 0.0, 1.0), wait]), 0.0);
    }

    #[test]
    fn the_svg_has_a_row_per_thread_and_a_legend() {
        let events = [
            event(0.0, 1, Some(State::Running)),
            event(0.01, 2, Some(State::Waiting)),
            event(0.02, 2, None),
        ];
        let svg = svg(&events, "t", 0.05).unwrap();
        assert!(svg.starts_with("<svg class=\"lab-chart\""));
        assert!(svg.contains("main thread") && svg.contains("thread 1"));
        assert!(svg.contains("drop request"));
    }
}
