//! `cargo xtask grade`: grades submissions with the course's grader and
//! writes the grades as a table, Gradescope or GitHub Classroom results, or JSON.

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use grader::{Course, Options, Submission, SubmissionReport, report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The forms a grade can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Points per test and the total, for a terminal.
    Table,
    /// Gradescope's results.json.
    Gradescope,
    /// GitHub Classroom's autograding result (what its grading reporter reads).
    Classroom,
    /// Everything the grader knows.
    Json,
}

/// What `cargo xtask grade` was asked to do.
pub struct Request {
    /// The submissions' directories.
    pub submissions: Vec<PathBuf>,
    /// Labs to grade (all when empty).
    pub labs: Vec<String>,
    /// The output's form.
    pub format: Format,
    /// Where to write: a file for one submission, a directory for many.
    pub out: Option<PathBuf>,
    /// Tests at once.
    pub jobs: Option<usize>,
    /// An upper bound on every test's time limit, in seconds.
    pub timeout: Option<f64>,
    /// Grade without namespaces where the kernel allows none (trusted code only).
    pub unisolated: bool,
    /// An upper bound on every build's time limit, in seconds.
    pub build_timeout: Option<f64>,
}

/// Grades the submissions against the course at `root`.
pub fn run(root: &Path, request: Request) -> Result<ExitCode> {
    let course = Course::load(root)?;
    let submissions = request
        .submissions
        .iter()
        .map(|dir| Submission::from_dir(dir))
        .collect::<Result<Vec<_>>>()?;
    check_unique_names(&submissions)?;
    let options = Options {
        labs: request.labs.clone(),
        jobs: request
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        work_dir: root.join("target").join("grader"),
        timeout_cap: request.timeout,
        build_timeout_cap: request.build_timeout,
        progress: true,
        unisolated: request.unisolated,
        build_dir: None,
    };
    let reports = grader::grade(&course, &submissions, &options)?;
    write(&reports, &request)?;
    Ok(ExitCode::SUCCESS)
}

/// `--timeout` and `--build-timeout`: seconds, more than 0 and at most an hour.
pub fn parse_timeout(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds > 0.0 && seconds <= 3600.0 {
        Ok(seconds)
    } else {
        Err(format!(
            "must be more than 0 and at most 3600 seconds, not {seconds}"
        ))
    }
}

/// Two submissions with the same directory name would overwrite each other's file.
fn check_unique_names(submissions: &[Submission]) -> Result<()> {
    let mut names: Vec<&str> = submissions.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "two submissions are called {:?}: give each its own directory name",
            pair[0]
        );
    }
    Ok(())
}

/// A grade as JSON, for the formats that are JSON.
fn json(report: &SubmissionReport, format: Format) -> Option<serde_json::Value> {
    match format {
        Format::Table => None,
        Format::Gradescope => Some(report::gradescope(report)),
        Format::Classroom => Some(report::classroom(report)),
        Format::Json => Some(report::plain(report)),
    }
}

fn render(report: &SubmissionReport, format: Format) -> String {
    match json(report, format) {
        Some(value) => serde_json::to_string_pretty(&value).expect("JSON values print") + "\n",
        None => report::table(report),
    }
}

fn write(reports: &[SubmissionReport], request: &Request) -> Result<()> {
    let many = request.submissions.len() > 1;
    match (&request.out, many) {
        (None, _) if request.format == Format::Table => {
            for report in reports {
                print!("{}", render(report, Format::Table));
            }
            if many {
                println!("{}", report::class_table(reports));
            }
        }
        (None, false) => print!("{}", render(&reports[0], request.format)),
        (None, true) => {
            let values: Vec<serde_json::Value> = reports
                .iter()
                .filter_map(|r| json(r, request.format))
                .collect();
            println!("{}", serde_json::to_string_pretty(&values)?);
        }
        (Some(file), false) => {
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(file, render(&reports[0], request.format))
                .with_context(|| format!("cannot write {}", file.display()))?;
            eprintln!(
                "{}: {} of {} points; written to {}",
                reports[0].submission,
                grader::grade::points(reports[0].score),
                grader::grade::points(reports[0].max_score),
                file.display()
            );
        }
        (Some(dir), true) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let extension = if request.format == Format::Table {
                "txt"
            } else {
                "json"
            };
            for report in reports {
                let file = dir.join(format!("{}.{extension}", report.submission));
                std::fs::write(&file, render(report, request.format))
                    .with_context(|| format!("cannot write {}", file.display()))?;
            }
            println!("{}", report::class_table(reports));
            eprintln!("{} results written to {}", reports.len(), dir.display());
        }
    }
    Ok(())
}
