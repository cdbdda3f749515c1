//! Running labs: `measure` (write results/) and `verify` (check every claim).

use crate::labs::Lab;
use anyhow::{Context, Result, bail};
use labkit::results::{LabResults, Verdict};
use labkit::tables::{claims_table, tally};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

/// `cargo run -p LAB -- ARGS`, from the workspace root.
fn lab_command(root: &Path, lab: &Lab, args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["run", "--quiet", "--package", &lab.id, "--"])
        .args(args);
    command
}

/// Builds every lab's binary in one cargo invocation before any is run:
/// cargo then compiles the labs side by side, and nothing compiles while a
/// lab measures.
fn build_labs(root: &Path, labs: &[Lab]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root).args(["build", "--quiet"]);
    for lab in labs {
        command.args(["--package", &lab.id]);
    }
    let status = command.status().context("could not run cargo build")?;
    if !status.success() {
        bail!("the labs do not build ({status})");
    }
    Ok(())
}

/// Measures each lab and writes `<dir>/<lab>.json` (`dir` is `results/` for the book).
pub fn measure(root: &Path, labs: &[Lab], quick: bool, dir: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The lab runs from the workspace root: a relative DIR is the caller's.
    let dir = std::path::absolute(dir)?;
    build_labs(root, labs)?;
    let mut failed = false;
    for lab in labs {
        let path = dir.join(format!("{}.json", lab.id));
        let path_text = path.to_string_lossy().to_string();
        let mut args = vec!["--json", path_text.as_str()];
        if quick {
            args.push("--quick");
        }
        println!(
            "== measuring {} ({})",
            lab.id,
            if quick { "quick" } else { "full" }
        );
        // The lab's own progress and tables go straight to the terminal.
        let status = lab_command(root, lab, &args)
            .status()
            .with_context(|| format!("could not run {}", lab.id))?;
        match status.code() {
            Some(0) => {}
            Some(1) => {
                eprintln!(
                    "{}: a claim failed; its results were written all the same",
                    lab.id
                );
                failed = true;
            }
            _ => bail!("{} did not finish ({status})", lab.id),
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs each lab (quick or full) and prints one row per claim, then
/// `claims: N passed, N failed, N skipped; demonstrations: N shown`.
/// Fails if any claim or lab failed, or a lab left a process behind.
///
/// A lab whose claim failed (after the lab's own re-measuring) is run once
/// more after all the others, and that run's verdicts count: a busy spell on
/// a shared machine can outlast a lab's attempts, which follow each other
/// at once, but not minutes. A claim that is false fails both runs.
pub fn verify(root: &Path, labs: &[Lab], quick: bool) -> Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    // A lab that leaves a process behind fails here (see `leftovers`).
    crate::leftovers::become_subreaper()?;
    build_labs(root, labs)?;
    let mut claims = Vec::new();
    let mut broken = Vec::new();
    let mut again = Vec::new();
    for lab in labs {
        match verify_lab(root, lab, quick, dir.path(), &mut broken)? {
            Some(results) if results.claims.iter().any(|c| c.verdict == Verdict::Fail) => {
                again.push(lab);
            }
            Some(results) => claims.extend(results.claims.into_iter().map(|c| (lab.id.clone(), c))),
            None => {}
        }
    }
    for lab in again {
        eprintln!(
            "== {}: a claim failed; measuring the lab again, after the others",
            lab.id
        );
        if let Some(results) = verify_lab(root, lab, quick, dir.path(), &mut broken)? {
            claims.extend(results.claims.into_iter().map(|c| (lab.id.clone(), c)));
        }
    }
    let rows: Vec<_> = claims
        .iter()
        .map(|(lab, c)| (Some(lab.as_str()), c))
        .collect();
    println!("{}", claims_table(&rows));
    for line in &broken {
        println!("lab failed to run: {line}");
    }
    let failed = claims
        .iter()
        .filter(|(_, c)| c.verdict == Verdict::Fail)
        .count()
        + broken.len();
    if !broken.is_empty() {
        println!("{} labs failed to run", broken.len());
    }
    println!("{}", tally(claims.iter().map(|(_, c)| c)));
    // One line per failure after the table, for logs that keep only the end.
    for (lab, claim) in claims.iter().filter(|(_, c)| c.verdict == Verdict::Fail) {
        println!(
            "failed claim: {lab} {} ({} attempts): {}",
            claim.id,
            claim.attempts,
            claim.reason.as_deref().unwrap_or("no reason recorded")
        );
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs one lab for `verify`, with its JSON results in `dir`: its results,
/// or `None` (and why, in `broken`) if it wrote none. A process it left
/// behind goes into `broken` too.
fn verify_lab(
    root: &Path,
    lab: &Lab,
    quick: bool,
    dir: &Path,
    broken: &mut Vec<String>,
) -> Result<Option<LabResults>> {
    eprintln!("== verifying {}", lab.id);
    let start = std::time::Instant::now();
    let path = dir.join(format!("{}.json", lab.id));
    let path_text = path.to_string_lossy().to_string();
    let mut args = vec!["--json", path_text.as_str()];
    if quick {
        args.push("--quick");
    }
    let output = lab_command(root, lab, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("could not run {}", lab.id))?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    eprintln!(
        "== {} ran for {:.0} s",
        lab.id,
        start.elapsed().as_secs_f64()
    );
    let left = crate::leftovers::collect();
    if !left.is_empty() {
        broken.push(format!(
            "{}: left processes behind: {}",
            lab.id,
            left.join("; ")
        ));
    }
    Ok(match LabResults::load(&path) {
        Ok(results) => Some(results),
        Err(err) => {
            println!("{}", String::from_utf8_lossy(&output.stdout));
            broken.push(format!("{}: {err:#} ({})", lab.id, output.status));
            None
        }
    })
}
