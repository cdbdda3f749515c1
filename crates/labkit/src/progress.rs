//! Progress while a lab measures: a live bar on a terminal, one plain line per
//! step elsewhere (CI logs, pipes), and nothing at all when asked to be quiet.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Where a lab reports what it is measuring right now.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Progress {
    /// A spinner on a terminal, plain lines on stderr otherwise.
    pub fn for_stderr() -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed:>3}] {prefix:.bold} {msg}")
                    .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Progress {
                bar: Some(bar),
                plain: false,
            }
        } else {
            Progress {
                bar: None,
                plain: true,
            }
        }
    }

    /// Reports nothing: for tests and for code that measures inside a measurement.
    pub fn silent() -> Progress {
        Progress {
            bar: None,
            plain: false,
        }
    }

    /// Starts a new stage (an experiment); in plain mode this is the only line printed.
    pub fn stage(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(name.to_string());
            bar.set_message("");
        } else if self.plain {
            eprintln!("measuring {name} …");
        }
    }

    /// Says what is being measured within the stage (shown on terminals only).
    pub fn step(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.into());
        }
    }

    /// Prints a line without tearing the bar.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.plain => eprintln!("{line}"),
            None => {}
        }
    }

    /// Removes the bar before the results are printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
