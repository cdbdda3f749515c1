//! `cargo xtask`: the course's tooling, in Rust so a fresh clone needs only cargo.
//!
//! - `book [--open]`: build the book (with every lab's committed results) into `book/`.
//! - `measure [LAB…] [--quick]`: run labs and write `results/lab-NN.json`.
//! - `verify [LAB…] [--quick]`: run labs and check every claim; non-zero on a failure.
//! - `release --out DIR` / `release --check`: the student edition, and the
//!   check that every graded test passes on the solution and fails on the starter.

mod labs;
mod libtest;
mod release;
mod run;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Tooling for the threads-vs-processes course"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the book into book/ (or --dest), with every lab's measured results.
    Book {
        /// Open the book in a browser when it is built.
        #[arg(long)]
        open: bool,
        /// Build into this directory instead of book/.
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
    },
    /// Measure labs (all by default) and write their results to results/.
    Measure {
        /// Labs to measure, e.g. lab-01 (default: all).
        labs: Vec<String>,
        /// Smaller sizes and fewer repeats.
        #[arg(long)]
        quick: bool,
    },
    /// Run labs (all by default) and check every claim; exits non-zero if one fails.
    Verify {
        /// Labs to verify, e.g. lab-01 (default: all).
        labs: Vec<String>,
        /// Smaller sizes and fewer repeats (what CI runs).
        #[arg(long)]
        quick: bool,
    },
    /// Write the student edition, or check that graded tests grade something.
    Release {
        /// Write the student edition into DIR (which must not exist or be empty).
        #[arg(long, value_name = "DIR", required_unless_present = "check")]
        out: Option<PathBuf>,
        /// Build the student edition in a temporary directory and check that every
        /// graded test passes on the solution and fails on the starter.
        #[arg(long, conflicts_with = "out")]
        check: bool,
    },
    /// List the labs.
    Labs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    let root = labs::workspace_root();
    match command {
        Command::Book { open, dest } => {
            let out = mdbook_labs::build_book(&root, dest.as_deref())?;
            println!("book written to {}", out.display());
            if open {
                opener::open(out.join("index.html"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Measure { labs, quick } => {
            run::measure(&root, &labs::select(&root, &labs)?, quick)
        }
        Command::Verify { labs, quick } => run::verify(&root, &labs::select(&root, &labs)?, quick),
        Command::Release { out: Some(out), .. } => {
            release::write_student_edition(&root, &out)?;
            println!("student edition written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Release { out: None, .. } => release::check(&root),
        Command::Labs => {
            for lab in labs::all(&root)? {
                println!("{:<8} {}", lab.id, lab.dir.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
