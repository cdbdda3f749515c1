//! Running labs: `measure` (write results/) and `verify` (check every claim).

use crate::labs::Lab;
use anyhow::{Context, Result, bail};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use labkit::claims::{ClaimResult, Verdict};
use labkit::results::LabResults;
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

/// Measures each lab and writes `results/<lab>.json`.
pub fn measure(root: &Path, labs: &[Lab], quick: bool) -> Result<ExitCode> {
    let mut failed = false;
    for lab in labs {
        let path = root.join("results").join(format!("{}.json", lab.id));
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

/// One row per claim: lab, verdict, claim, measured value, rule or reason.
fn verify_table(claims: &[(String, ClaimResult)]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["lab", "verdict", "claim", "measured", "rule / reason"]);
    if table.width().is_none() {
        table.set_width(140);
    }
    for (lab, claim) in claims {
        table.add_row([
            lab.clone(),
            claim.verdict.word().to_string(),
            claim.statement.clone(),
            claim.measured_text(),
            claim.explanation(),
        ]);
    }
    table
}

/// Runs each lab (quick or full) and prints one row per claim, then
/// `N passed, N failed, N skipped`. Fails if any claim or lab failed.
pub fn verify(root: &Path, labs: &[Lab], quick: bool) -> Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let mut claims = Vec::new();
    let mut broken = Vec::new();
    for lab in labs {
        eprintln!("== verifying {}", lab.id);
        let path = dir.path().join(format!("{}.json", lab.id));
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
        match LabResults::load(&path) {
            Ok(results) => claims.extend(results.claims.into_iter().map(|c| (lab.id.clone(), c))),
            Err(err) => {
                println!("{}", String::from_utf8_lossy(&output.stdout));
                broken.push(format!("{}: {err:#} ({})", lab.id, output.status));
            }
        }
    }
    println!("{}", verify_table(&claims));
    for line in &broken {
        println!("lab failed to run: {line}");
    }
    let count = |v: Verdict| claims.iter().filter(|(_, c)| c.verdict == v).count();
    let failed = count(Verdict::Fail) + broken.len();
    println!(
        "{} passed, {} failed, {} skipped",
        count(Verdict::Pass),
        failed,
        count(Verdict::Skipped)
    );
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
