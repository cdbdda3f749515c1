//! `cargo run -p book-check -- [BOOK]`: checks the built book in headless
//! Chromium and prints one line per problem (see the library's docs).

use anyhow::Result;
use book_check::{Options, check};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Check the built book in a real browser: charts, verdicts, code, links,
/// search, the five themes, a phone's screen and the print view.
#[derive(Parser)]
#[command(name = "book-check")]
struct Cli {
    /// The built book (`cargo xtask book` writes it to book/).
    #[arg(default_value = "book")]
    book: PathBuf,
    /// The book's sources: the folder with book.toml.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Check only this chapter's page, e.g. lab-05-scaling.html (repeatable).
    #[arg(long = "page", value_name = "PAGE")]
    pages: Vec<String>,
    /// Save a screenshot of every chapter, light and coal theme, into DIR.
    #[arg(long, value_name = "DIR")]
    screenshots: Option<PathBuf>,
    /// Make only this pass (repeatable; all by default).
    #[arg(long = "pass", value_enum, value_name = "PASS")]
    passes: Vec<book_check::Pass>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("book-check: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    if !cli.book.join("index.html").is_file() {
        anyhow::bail!(
            "no built book in {} (build it with `cargo xtask book`)",
            cli.book.display()
        );
    }
    let started = std::time::Instant::now();
    let report = check(&Options {
        root: cli.root,
        book: cli.book,
        only: cli.pages,
        screenshots: cli.screenshots,
        passes: cli.passes,
    })?;
    for problem in &report.problems {
        println!("{}: {}: {}", problem.page, problem.check, problem.detail);
    }
    println!(
        "book-check: {} page loads, {} charts, {} external links listed (not fetched), {} screenshots, {} problems ({:.0} s)",
        report.loads,
        report.charts,
        report.external_links.len(),
        report.screenshots.len(),
        report.problems.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
