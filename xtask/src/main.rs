//! `cargo xtask`: the course's tooling, in Rust so a fresh clone needs only cargo.
//!
//! - `book [--open]`: build the book (with every lab's committed results) into `book/`.
//! - `measure [LAB…] [--quick] [--out DIR]`: run labs and write `results/lab-NN.json`
//!   (or DIR/lab-NN.json: your machine's results, to compare).
//! - `compare DIR`: results measured elsewhere beside the book's, claim by
//!   claim and figure by figure.
//! - `verify [LAB…] [--quick]`: run labs and check every claim; non-zero on a failure.
//! - `release --out DIR` / `release --check`: the student edition, and the
//!   check that every graded test passes on the solution and fails on the starter.
//! - `grade --submission DIR` / `--submissions DIR…`: grade students' work.
//! - `gradescope-package --out autograder.zip`: the Gradescope autograder.

mod compare;
mod grade;
mod gradescope;
mod labs;
mod leftovers;
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
        /// Write the results into DIR instead of results/ (which the book shows).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Show results measured elsewhere (`measure --out DIR`) beside the book's:
    /// each claim's verdict on both machines, each figure with their ratio.
    Compare {
        /// A folder of lab-NN.json files.
        dir: PathBuf,
        /// Show every figure, not only the claims and a summary.
        #[arg(long)]
        figures: bool,
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
        /// With --check: check only these labs' graded tests (e.g. lab-07).
        #[arg(long = "lab", value_name = "LAB", requires = "check")]
        labs: Vec<String>,
    },
    /// Grade submissions with the instructor's tests (visible and hidden), safely.
    ///
    /// Only each lab's src/exercises.rs is taken from a submission; it is built
    /// with the course's own tests, and every graded test runs in its own
    /// sandboxed process with time, CPU, memory, process and output limits.
    Grade {
        /// One submission: the student's repository, or a folder holding it.
        #[arg(long, value_name = "DIR", required_unless_present = "submissions")]
        submission: Option<PathBuf>,
        /// Many submissions (a class), graded in parallel with one build cache.
        #[arg(long, value_name = "DIR", num_args = 1.., conflicts_with = "submission")]
        submissions: Vec<PathBuf>,
        /// Grade only this lab (repeat for more); all graded labs by default.
        #[arg(long = "lab", value_name = "LAB")]
        labs: Vec<String>,
        /// How to write the grades.
        #[arg(long, value_enum, default_value = "table")]
        format: grade::Format,
        /// Write to this file (with --submissions: into this directory, a file each).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Tests run at once (default: the number of cores).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
        jobs: Option<u16>,
        /// Cap every test's time limit at this many seconds (0 < SECONDS ≤ 3600).
        #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = grade::parse_timeout)]
        timeout: Option<f64>,
        /// Run tests even where they cannot get namespaces of their own and
        /// you are not root: they then run as you, so only for code you trust
        /// (your own).
        #[arg(long)]
        unisolated: bool,
        /// Cap every build's time limit (`[build]` in grading.toml) at this many seconds (0 < SECONDS ≤ 3600).
        #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = grade::parse_timeout)]
        build_timeout: Option<f64>,
    },
    /// Write the Gradescope autograder bundle (setup.sh, run_autograder, the course).
    GradescopePackage {
        /// The zip file to write.
        #[arg(long, value_name = "FILE", default_value = "autograder.zip")]
        out: PathBuf,
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
        Command::Measure { labs, quick, out } => {
            let dir = out.unwrap_or_else(|| root.join("results"));
            run::measure(&root, &labs::select(&root, &labs)?, quick, &dir)
        }
        Command::Compare { dir, figures } => compare::run(&root, &dir, figures),
        Command::Verify { labs, quick } => run::verify(&root, &labs::select(&root, &labs)?, quick),
        Command::Release { out: Some(out), .. } => {
            release::write_student_edition(&root, &out)?;
            println!("student edition written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Release {
            out: None, labs, ..
        } => release::check(&root, &labs::select(&root, &labs)?),
        Command::Grade {
            submission,
            submissions,
            labs,
            format,
            out,
            jobs,
            timeout,
            unisolated,
            build_timeout,
        } => grade::run(
            &root,
            grade::Request {
                submissions: submission.into_iter().chain(submissions).collect(),
                labs,
                format,
                out,
                jobs: jobs.map(usize::from),
                timeout,
                unisolated,
                build_timeout,
            },
        ),
        Command::GradescopePackage { out } => {
            let count = gradescope::write_package(&root, &out)?;
            println!(
                "Gradescope autograder written to {} ({count} files); upload it as the assignment's autograder",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Labs => {
            for lab in labs::all(&root)? {
                println!("{:<8} {}", lab.id, lab.dir.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
