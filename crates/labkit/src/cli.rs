//! The command line every lab shares: `--quick --json --only --workers
//! --list`, the lab's own options, and child mode.

use crate::lab::{Lab, LabOption};
use crate::results::Verdict;
use crate::run::run;
use clap::{Arg, CommandFactory, FromArgMatches, Parser};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

/// Options every lab accepts.
#[derive(Debug, Parser)]
pub struct Args {
    /// Smaller sizes and fewer repeats: for CI and a first look.
    #[arg(long)]
    pub quick: bool,
    /// Also write the results as JSON to PATH (the format the book reads).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Run only these experiments (comma-separated; see --list).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Threads or processes per experiment.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// List the experiments and their claims, then exit.
    #[arg(long)]
    pub list: bool,
    /// Values of the lab's own options; those not given take their defaults.
    #[arg(skip)]
    pub options: BTreeMap<String, u64>,
}

/// The environment variable that starts a lab's binary in child mode: with
/// the value [`CHILD_WAITS_FOR_STDIN`], it prints `ready`, reads its standard
/// input to the end and exits, measuring nothing. Experiments use it to time
/// and weigh a freshly started program.
pub const CHILD_MODE: &str = "LABKIT_CHILD_MODE";

/// See [`CHILD_MODE`].
pub const CHILD_WAITS_FOR_STDIN: &str = "wait-for-stdin";

/// The running binary, recorded by [`main`]: only a lab's own program may be
/// started again in child mode.
static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// The lab's own binary, when it runs from it (not from a test harness).
pub fn program() -> Option<&'static std::path::Path> {
    PROGRAM.get().map(PathBuf::as_path)
}

/// Runs a lab from the command line; returns 0 if every claim passed or was
/// skipped, 1 if one failed, 2 on an error.
pub fn main(lab: Lab) -> ExitCode {
    if std::env::var(CHILD_MODE).as_deref() == Ok(CHILD_WAITS_FOR_STDIN) {
        println!("ready");
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        return ExitCode::SUCCESS;
    }
    if let Ok(program) = std::env::current_exe() {
        let _ = PROGRAM.set(program);
    }
    let args = parse(&lab);
    if args.list {
        println!("{}", experiment_list(&lab, usize::from(args.workers)));
        return ExitCode::SUCCESS;
    }
    match run(&lab, &args) {
        Ok(results) => {
            let failed = results.claims.iter().any(|c| c.verdict == Verdict::Fail);
            ExitCode::from(u8::from(failed))
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The command line, with the lab's own options; exits with clap's message
/// on a bad one.
fn parse(lab: &Lab) -> Args {
    let mut command = Args::command()
        .name(lab.id)
        .about(format!("{} — {}", lab.id, lab.title))
        .after_help(experiment_list(lab, 2));
    for option in &lab.options {
        command = command.arg(option_arg(option));
    }
    let matches = command.get_matches();
    let mut args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(err) => err.exit(),
    };
    for option in &lab.options {
        if let Some(&value) = matches.get_one::<u64>(option.name) {
            args.options.insert(option.name.to_string(), value);
        }
    }
    args
}

fn option_arg(option: &LabOption) -> Arg {
    Arg::new(option.name)
        .long(option.name)
        .value_name("N")
        .help(format!("{} [default: {}]", option.help, option.default))
        .value_parser(clap::value_parser!(u64).range(option.min..=option.max))
}

/// The lab's options as given, with the defaults for those not given.
pub(crate) fn option_values(lab: &Lab, given: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    lab.options
        .iter()
        .map(|o| {
            let value = given.get(o.name).copied().unwrap_or(o.default);
            (o.name.to_string(), value)
        })
        .collect()
}

/// The experiments and their claims, worded for `workers` workers.
fn experiment_list(lab: &Lab, workers: usize) -> String {
    let mut text = String::from("Experiments (for --only):\n");
    for experiment in &lab.experiments {
        text += &format!("  {:<12} {}\n", experiment.name, experiment.title);
        for claim in &experiment.claims {
            let kind = if claim.is_demonstration() {
                "shows"
            } else {
                "claim"
            };
            text += &format!("  {:<12}   {kind}: {}\n", "", claim.sentence(workers, None));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_with_an_option() -> Lab {
        Lab {
            id: "lab-99",
            title: "Options",
            source_dir: ".",
            experiments: vec![],
            options: vec![LabOption {
                name: "size",
                help: "How big",
                default: 8,
                min: 1,
                max: 64,
            }],
        }
    }

    #[test]
    fn options_not_given_take_their_defaults() {
        let lab = lab_with_an_option();
        assert_eq!(option_values(&lab, &BTreeMap::new())["size"], 8);
        let given = BTreeMap::from([("size".to_string(), 32)]);
        assert_eq!(option_values(&lab, &given)["size"], 32);
    }

    #[test]
    fn an_option_out_of_its_range_is_a_clap_error_naming_it() {
        let lab = lab_with_an_option();
        let command = Args::command().arg(option_arg(&lab.options[0]));
        for bad in ["0", "65", "lots"] {
            let err = command
                .clone()
                .try_get_matches_from(["lab-99", "--size", bad])
                .unwrap_err();
            assert!(err.to_string().contains("--size"), "{err}");
        }
        let matches = command
            .try_get_matches_from(["lab-99", "--size", "64"])
            .unwrap();
        assert_eq!(matches.get_one::<u64>("size"), Some(&64));
    }
}
