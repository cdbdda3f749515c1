//! `{{#results-beside DIR}}`: another machine's results beside the book's —
//! every claim's verdict on both, every figure on both with their ratio —
//! and `{{#lab-run lab-NN}}`, the commands to run a lab yourself.
//!
//! DIR (relative to the book's root) holds `lab-NN.json` files written by
//! `cargo xtask measure --out DIR` and an `about.toml`:
//!
//! ```toml
//! label = "one core"            # the column heading
//! description = "This machine with the labs pinned to one CPU (taskset -c 0)."
//! ```

use crate::render::{escape, escape_html};
use crate::{Page, ResultsDir};
use anyhow::{Context, Result, bail};
use labkit_schema::compare::{Comparison, compare, verdict_word};
use labkit_schema::format;
use labkit_schema::results::LabResults;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

/// What a contributed results set says about itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct About {
    /// A short name for the machine, for column headings.
    pub label: String,
    /// A sentence on the machine and how it was measured.
    pub description: String,
}

/// Reads a results set: its `about.toml` and every `lab-NN.json`, in order.
pub fn load_set(dir: &Path) -> Result<(About, Vec<LabResults>)> {
    let about_path = dir.join("about.toml");
    let about: About = toml::from_str(
        &std::fs::read_to_string(&about_path)
            .with_context(|| format!("cannot read {}", about_path.display()))?,
    )
    .with_context(|| format!("{} is not a valid about.toml", about_path.display()))?;
    let mut labs = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("lab-") && n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        // `load` refuses a file of another schema version, saying which.
        labs.push(LabResults::load(&dir.join(&name))?);
    }
    if labs.is_empty() {
        bail!("{} holds no lab-NN.json", dir.display());
    }
    Ok((about, labs))
}

/// The page section for one results set beside the book's own results.
pub fn render(dir: &str, results: &mut ResultsDir, page: Option<&Page>) -> Result<String> {
    let Some(page) = page else {
        bail!("results-beside needs the whole book (it reads a folder beside book.toml)");
    };
    let (about, theirs) = load_set(&page.book.root().join(dir))?;
    let label = escape(&about.label);
    let mut out = String::new();
    let _ = writeln!(out, "<div class=\"lab-results results-beside\">\n");
    let _ = writeln!(
        out,
        "*{}* ({} labs, in `{}`)\n",
        escape(&about.description),
        theirs.len(),
        escape(dir)
    );
    let _ = writeln!(
        out,
        "| lab | verdicts that agree | full run: this book | full run: {label} | sources |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|---|");
    let mut details = String::new();
    for their in &theirs {
        let ours = results.get(&their.lab)?;
        let comparison = compare(ours, their);
        let (agree, all) = comparison.agreeing();
        let _ = writeln!(
            out,
            "| {} | {agree} of {all} | {} | {} | {} |",
            escape(&their.lab),
            format::value(ours.duration_s, labkit_schema::Unit::Seconds),
            format::value(their.duration_s, labkit_schema::Unit::Seconds),
            if comparison.same_sources {
                "same"
            } else {
                "older or newer sources"
            }
        );
        details += &lab_details(&comparison, ours, &label);
    }
    let _ = writeln!(out, "\n{details}");
    let machine = &theirs[0].machine;
    let _ = writeln!(
        out,
        "<p class=\"lab-machine\">{label}: {} logical core{} of {} · {} · {} · {}.</p>\n\n</div>\n",
        machine.logical_cores,
        if machine.logical_cores == 1 { "" } else { "s" },
        escape_html(&machine.cpu_model),
        escape_html(&machine.kernel),
        escape_html(&machine.rustc),
        escape_html(machine.python3.as_deref().unwrap_or("python3 not found")),
    );
    Ok(out)
}

/// One lab's claims and figures on both machines, folded away.
fn lab_details(comparison: &Comparison, ours: &LabResults, label: &str) -> String {
    let (agree, all) = comparison.agreeing();
    let mut out = format!(
        "<details>\n<summary>{} — {}: {agree} of {all} verdicts agree</summary>\n\n",
        escape_html(&ours.lab),
        escape_html(&ours.title)
    );
    let _ = writeln!(out, "| claim | this book | {label} |\n|---|---|---|");
    for claim in &comparison.claims {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            escape(&claim.statement),
            verdict_word(claim.ours),
            verdict_word(claim.theirs)
        );
    }
    let _ = writeln!(
        out,
        "\n| figure | this book | {label} | {label} ÷ this book |\n|---|--:|--:|--:|"
    );
    for figure in &comparison.figures {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            escape(&figure.label),
            figure.ours_text(),
            figure.theirs_text(),
            figure.ratio_text()
        );
    }
    out += "\n</details>\n\n";
    out
}

/// `{{#lab-run lab-NN}}`: how to run the lab yourself, how long its full run
/// took on the book's machine, and what `skipped` means on yours.
pub fn lab_run(results: &LabResults) -> Result<String> {
    let lab = &results.lab;
    let took = format::value(results.duration_s, labkit_schema::Unit::Seconds);
    let cores = results.machine.logical_cores;
    let skipped = results
        .claims
        .iter()
        .filter(|c| c.verdict == labkit_schema::Verdict::Skipped)
        .count();
    let mut out = String::new();
    let _ = writeln!(out, "```sh");
    let _ = writeln!(
        out,
        "cargo run -p {lab}                 # everything, then every claim's verdict"
    );
    let _ = writeln!(
        out,
        "cargo run -p {lab} -- --quick      # smaller sizes, fewer repeats"
    );
    let _ = writeln!(
        out,
        "cargo run -p {lab} -- --list       # its experiments and claims"
    );
    let _ = writeln!(out, "cargo run -p {lab} -- --help       # its options");
    let _ = writeln!(
        out,
        "cargo xtask measure {lab} --out mine && cargo xtask compare mine   # beside this book's run"
    );
    let _ = writeln!(out, "```\n");
    let _ = writeln!(
        out,
        "The full run behind this chapter took {took} on {cores} logical cores (the first `cargo run` also compiles the lab). \
         Each claim ends `pass`, `fail` or `skipped`. *Skipped* is not a failure: the claim cannot be tested on your machine \
         and the reason says why — a speedup needs at least two cores that really run at once, a CPython comparison needs \
         `python3`, a GIL claim needs a CPython with a GIL. {}",
        if skipped == 0 {
            "On the book's machine none was skipped.".to_string()
        } else {
            format!(
                "On the book's machine {skipped} {} skipped; its results below say why.",
                if skipped == 1 { "was" } else { "were" }
            )
        }
    );
    Ok(out)
}
