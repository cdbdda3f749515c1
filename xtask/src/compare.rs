//! `cargo xtask compare DIR`: a reader's results (from `cargo xtask measure
//! --out DIR`) beside the book's — the terminal's version of the book's
//! "Your machine beside ours" page.

use anyhow::{Context, Result, bail};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use labkit::compare::{Comparison, compare, verdict_word};
use labkit::format;
use labkit::results::LabResults;
use std::path::Path;
use std::process::ExitCode;

/// Prints, for every lab in `dir`, each claim's verdict here and there, and
/// (with `figures`) every figure with their ratio; then one summary line per lab.
pub fn run(root: &Path, dir: &Path, figures: bool) -> Result<ExitCode> {
    let theirs = load_dir(dir)?;
    let mut summary = table(&[
        "lab",
        "verdicts that agree",
        "full run: book",
        "full run: yours",
        "sources",
    ]);
    for their in &theirs {
        let ours = LabResults::load(&root.join("results").join(format!("{}.json", their.lab)))
            .with_context(|| format!("the book has no results for {}", their.lab))?;
        let comparison = compare(&ours, their);
        println!("{} — {}", ours.lab, ours.title);
        println!("{}", claims(&comparison));
        if figures {
            println!("{}", figure_table(&comparison));
        }
        let (agree, all) = comparison.agreeing();
        summary.add_row([
            ours.lab.clone(),
            format!("{agree} of {all}"),
            format::value(ours.duration_s, labkit::results::Unit::Seconds),
            format::value(their.duration_s, labkit::results::Unit::Seconds),
            if comparison.same_sources {
                "same"
            } else {
                "different"
            }
            .to_string(),
        ]);
    }
    println!("{summary}");
    let machine = &theirs[0].machine;
    println!(
        "yours: {} logical cores of {}; the book's: see results/. A claim skipped on your machine says why in `cargo run -p LAB`.",
        machine.logical_cores, machine.cpu_model
    );
    Ok(ExitCode::SUCCESS)
}

/// Every `lab-NN.json` in `dir`, in order.
fn load_dir(dir: &Path) -> Result<Vec<LabResults>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "cannot read {} (measure into it with `cargo xtask measure --out DIR`)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("lab-") && n.ends_with(".json"))
        .collect();
    names.sort();
    if names.is_empty() {
        bail!(
            "{} holds no lab-NN.json: measure into it with `cargo xtask measure --out {}`",
            dir.display(),
            dir.display()
        );
    }
    names
        .iter()
        .map(|n| LabResults::load(&dir.join(n)))
        .collect()
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if table.width().is_none() {
        table.set_width(120);
    }
    table
}

fn claims(comparison: &Comparison) -> Table {
    let mut table = table(&["claim", "book", "yours"]);
    for claim in &comparison.claims {
        table.add_row([
            claim.statement.clone(),
            verdict_word(claim.ours).to_string(),
            verdict_word(claim.theirs).to_string(),
        ]);
    }
    table
}

fn figure_table(comparison: &Comparison) -> Table {
    let mut table = table(&["figure", "book", "yours", "yours ÷ book"]);
    for figure in &comparison.figures {
        table.add_row([
            figure.label.clone(),
            figure.ours_text(),
            figure.theirs_text(),
            figure.ratio_text(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        crate::labs::workspace_root()
    }

    #[test]
    fn the_books_own_results_compare_with_themselves() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root().join("results/lab-07.json"),
            dir.path().join("lab-07.json"),
        )
        .unwrap();
        let ours = LabResults::load(&dir.path().join("lab-07.json")).unwrap();
        let comparison = compare(&ours, &ours);
        let (agree, all) = comparison.agreeing();
        assert!(all > 0 && agree == all, "{agree} of {all}");
        assert!(comparison.same_sources);
        assert!(
            comparison
                .figures
                .iter()
                .filter_map(|f| f.ratio())
                .all(|r| r == 1.0)
        );
        assert_eq!(run(&root(), dir.path(), true).unwrap(), ExitCode::SUCCESS);
    }

    #[test]
    fn a_folder_without_results_says_how_to_make_them() {
        let dir = tempfile::tempdir().unwrap();
        let error = run(&root(), dir.path(), false).unwrap_err();
        assert!(
            format!("{error:#}").contains("cargo xtask measure --out"),
            "{error:#}"
        );
        let missing = run(&root(), &dir.path().join("nothing"), false).unwrap_err();
        assert!(
            format!("{missing:#}").contains("cannot read"),
            "{missing:#}"
        );
    }
}
