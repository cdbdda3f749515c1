//! `lab-04 run FILE.py`: runs a program in the lab's interpreter, with the
//! GIL on or off, and draws its timeline if asked.

use crate::interp::{self, Error, Options, timeline};
use clap::{Parser, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Shown in `lab-04 --help`, whose options are the experiments'.
pub const RUN_HINT: &str = "To run a Python program in the lab's interpreter: lab-04 run FILE.py [ARGS…] \
[--gil on|off] [--switch-interval MS] [--timeline OUT.svg]  (see lab-04 run --help)\n";

/// With or without the GIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GilMode {
    /// One thread at a time runs bytecode, as in CPython 3.11.
    On,
    /// Free-threaded, as CPython 3.13t: threads run bytecode in parallel.
    Off,
}

/// Runs a program written in the lab's Python subset.
#[derive(Debug, Parser)]
#[command(
    name = "lab-04 run",
    about = "Runs a program written in the lab's Python subset on real OS threads",
    after_help = "Example: lab-04 run labs/lab-04-gil/programs/cpu_bound.py threads 3000000 --timeline cpu.svg\n\n\
The subset: see the chapter 'A GIL you can watch'. Arguments after FILE.py are the program's sys.argv[1:]."
)]
pub struct RunArgs {
    /// The program.
    pub file: PathBuf,
    /// The program's arguments (`sys.argv[1:]`); put them after `--` if
    /// they start with a dash.
    pub args: Vec<String>,
    /// With the GIL (like CPython 3.11) or without (free-threaded, like 3.13t).
    #[arg(long, value_enum, default_value = "on")]
    pub gil: GilMode,
    /// The switch interval in milliseconds (CPython's default: 5).
    #[arg(long, value_name = "MS", default_value_t = 5.0, value_parser = interval_ms)]
    pub switch_interval: f64,
    /// Draw which thread held the GIL when, as an SVG.
    #[arg(long, value_name = "OUT.svg")]
    pub timeline: Option<PathBuf>,
    /// How much of the run the timeline shows, in milliseconds (default: all of it).
    #[arg(long, value_name = "MS", requires = "timeline", value_parser = interval_ms)]
    pub timeline_window: Option<f64>,
}

fn interval_ms(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of milliseconds"))?;
    if !(0.001..=60_000.0).contains(&value) {
        return Err(format!(
            "{value} ms is out of range: give 0.001 to 60000 ms"
        ));
    }
    Ok(value)
}

/// Runs `lab-04 run …` (`args` starts with "run"); returns the exit code:
/// 0 when the program ran to its end, 1 when it failed, 2 on a usage error.
pub fn run_command(args: &[OsString]) -> ExitCode {
    let args = match RunArgs::try_parse_from(args) {
        Ok(args) => args,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let options = Options {
        gil: args.gil == GilMode::On,
        switch_interval: Duration::from_secs_f64(args.switch_interval / 1000.0),
        timeline: args.timeline.is_some(),
        args: args.args.clone(),
        ..Options::default()
    };
    let (report, failed) = match interp::run_file(&args.file, &options) {
        Ok(report) => (report, false),
        Err(Error::Runtime {
            error,
            report,
            file,
        }) => {
            eprintln!("{}", error.render(&file));
            (*report, true)
        }
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(1);
        }
    };
    let mode = if options.gil {
        format!("GIL on, switch interval {} ms", args.switch_interval)
    } else {
        "GIL off (free-threaded)".into()
    };
    eprintln!(
        "[lab-04] {:.3} s, {mode}: {} GIL switches, {} drop requests",
        report.seconds, report.switches, report.drop_requests
    );
    if let Some(path) = &args.timeline {
        let window = args
            .timeline_window
            .map_or(report.seconds, |ms| ms / 1000.0);
        let title = format!("{} — {mode}", args.file.display());
        match timeline::svg(&report.events, &title, window) {
            Ok(svg) => match std::fs::write(path, svg) {
                Ok(()) => eprintln!("[lab-04] timeline written to {}", path.display()),
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::from(1);
                }
            },
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::from(u8::from(failed))
}
