//! `{{#seed-claims FILE}}`: the articles' claims, each beside the lab claims
//! that measured it.
//!
//! The data file (TOML, named from the book's root) lists the articles and
//! their claims, each paraphrased, with the lab claims that back it
//! (`supports`) or contradict it as worded (`refutes`), written
//! `lab-NN:claim-id`, optionally `#Heading` for the section of the lab's
//! chapter to link to (by default: the section holding the lab's results).
//! Everything measured — each lab claim's verdict and value — is read from
//! the results. So is the verdict word, unless the file gives one with a
//! sentence (`because`) that justifies it: true when every check that passed
//! backs the article, false when every one contradicts it, half true when
//! both kinds passed. A lab, claim or heading that does not exist fails the
//! build.

use crate::render::escape_html;
use crate::{Page, ResultsDir};
use anyhow::{Context, Result, anyhow, bail};
use labkit_schema::results::{ClaimResult, Verdict};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

/// The verdict words an author may give, each with a sentence.
pub const VERDICT_WORDS: [&str; 4] = ["true", "half true", "false", "true-but"];

/// The data file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// The articles the claims come from.
    #[serde(rename = "article")]
    pub articles: Vec<Article>,
    /// Their claims, in the order the page lists them.
    #[serde(rename = "claim")]
    pub claims: Vec<SeedClaim>,
}

/// One article.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Article {
    /// A short label for the table ("A").
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where it was published.
    pub source: String,
}

/// One claim the articles make.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClaim {
    /// A name for it, unique in the file.
    pub id: String,
    /// The claim, paraphrased.
    pub says: String,
    /// The articles that make it (their `id`s).
    #[serde(rename = "in")]
    pub articles: Vec<String>,
    /// Lab claims whose passing backs it.
    #[serde(default)]
    pub supports: Vec<String>,
    /// Lab claims whose passing contradicts it as worded.
    #[serde(default)]
    pub refutes: Vec<String>,
    /// The authors' word, when the measurements alone cannot say it.
    pub verdict: Option<String>,
    /// The sentence that justifies `verdict`.
    pub because: Option<String>,
}

/// A check named in the data file: `lab-NN:claim-id[#Heading]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRef {
    /// "lab-02".
    pub lab: String,
    /// The lab claim's id.
    pub claim: String,
    /// The heading of the lab chapter's section to link to.
    pub heading: Option<String>,
}

impl CheckRef {
    /// Parses `lab-NN:claim-id` with an optional `#Heading`.
    pub fn parse(text: &str) -> Result<CheckRef> {
        let (reference, heading) = match text.split_once('#') {
            Some((reference, heading)) => (reference, Some(heading.trim().to_string())),
            None => (text, None),
        };
        let Some((lab, claim)) = reference.trim().split_once(':') else {
            bail!("{text:?} is not lab-NN:claim-id (optionally #Heading)");
        };
        if claim.is_empty() || heading.as_deref() == Some("") {
            bail!("{text:?} is not lab-NN:claim-id (optionally #Heading)");
        }
        Ok(CheckRef {
            lab: lab.to_string(),
            claim: claim.to_string(),
            heading,
        })
    }
}

impl SeedFile {
    /// Reads and checks the data file's own consistency (ids, articles,
    /// verdict words); the checks' existence is checked when rendering.
    pub fn load(path: &Path) -> Result<SeedFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: SeedFile = toml::from_str(&text)
            .with_context(|| format!("{} is not a seed-claims file", path.display()))?;
        file.validate()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(file)
    }

    fn validate(&self) -> Result<()> {
        let articles: BTreeSet<&str> = self.articles.iter().map(|a| a.id.as_str()).collect();
        let mut ids = BTreeSet::new();
        for claim in &self.claims {
            let name = &claim.id;
            if !ids.insert(name.as_str()) {
                bail!("two claims are called {name:?}");
            }
            if claim.articles.is_empty() {
                bail!("claim {name:?} names no article it comes from");
            }
            for article in &claim.articles {
                if !articles.contains(article.as_str()) {
                    bail!("claim {name:?} names article {article:?}, which is not listed");
                }
            }
            for check in claim.supports.iter().chain(&claim.refutes) {
                CheckRef::parse(check).with_context(|| format!("in claim {name:?}"))?;
            }
            match (&claim.verdict, &claim.because) {
                (Some(word), Some(_)) if !VERDICT_WORDS.contains(&word.as_str()) => bail!(
                    "claim {name:?}: {word:?} is not one of {}",
                    VERDICT_WORDS.join(", ")
                ),
                (Some(word), None) => bail!(
                    "claim {name:?} says {word:?} without a sentence that justifies it (`because`); leave the word out to derive it from the checks"
                ),
                (None, Some(_)) => bail!("claim {name:?} has `because` but no `verdict`"),
                (None, None) if claim.supports.is_empty() && claim.refutes.is_empty() => bail!(
                    "claim {name:?} has no lab claims and no verdict: give it `supports`/`refutes`, or a `verdict` with `because`"
                ),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every check the file names, with the seed claim naming it.
    pub fn checks(&self) -> Vec<(&str, CheckRef)> {
        self.claims
            .iter()
            .flat_map(|c| {
                c.supports
                    .iter()
                    .chain(&c.refutes)
                    .map(move |text| (c.id.as_str(), CheckRef::parse(text).expect("validated")))
            })
            .collect()
    }
}

/// One check, found in the results.
struct Found {
    claim: ClaimResult,
    reference: CheckRef,
    link: String,
    refutes: bool,
}

/// The table for `{{#seed-claims FILE}}`.
pub fn render(file: &str, results: &mut ResultsDir, page: Option<&Page>) -> Result<String> {
    let Some(page) = page else {
        bail!("seed-claims needs the whole book (it links to the labs' chapters)");
    };
    let path = page.book.root().join(file);
    let seeds = SeedFile::load(&path)?;
    let mut out = String::from("<div class=\"seed-claims\">\n\n");
    out += "Articles: ";
    let articles: Vec<String> = seeds
        .articles
        .iter()
        .map(|a| {
            format!(
                "**{}** — *{}* ({})",
                escape(&a.id),
                escape(&a.title),
                escape(&a.source)
            )
        })
        .collect();
    out += &articles.join(" · ");
    out += "\n\n| | the articles say | in | our verdict | on this machine | measured by |\n|--:|---|---|---|---|---|\n";
    for (number, claim) in seeds.claims.iter().enumerate() {
        let found = find_checks(claim, results, page)
            .with_context(|| format!("seed claim {:?} in {file}", claim.id))?;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            number + 1,
            escape(&claim.says),
            escape(&claim.articles.join(", ")),
            verdict_cell(claim, &found),
            status(&found),
            checks_cell(&found)
        );
    }
    out += "\n</div>\n";
    Ok(out)
}

fn find_checks(claim: &SeedClaim, results: &mut ResultsDir, page: &Page) -> Result<Vec<Found>> {
    let named = claim
        .supports
        .iter()
        .map(|c| (c, false))
        .chain(claim.refutes.iter().map(|c| (c, true)));
    let mut found = Vec::new();
    for (text, refutes) in named {
        let reference = CheckRef::parse(text)?;
        let lab = results
            .get(&reference.lab)
            .with_context(|| format!("check {text:?}"))?;
        let Some(result) = lab.claims.iter().find(|c| c.id == reference.claim) else {
            let ids: Vec<&str> = lab.claims.iter().map(|c| c.id.as_str()).collect();
            bail!(
                "check {text:?}: results/{}.json has no claim {:?}; its claims: {}",
                reference.lab,
                reference.claim,
                ids.join(", ")
            );
        };
        let link = page
            .book
            .section_link(&reference.lab, reference.heading.as_deref(), page.path)
            .with_context(|| format!("check {text:?}"))?;
        found.push(Found {
            claim: result.clone(),
            reference,
            link,
            refutes,
        });
    }
    Ok(found)
}

struct Tally {
    passed_for: usize,
    passed_against: usize,
    failed: usize,
    skipped: usize,
}

fn tally(found: &[Found]) -> Tally {
    let mut tally = Tally {
        passed_for: 0,
        passed_against: 0,
        failed: 0,
        skipped: 0,
    };
    for check in found {
        match (check.claim.verdict, check.refutes) {
            (Verdict::Pass, false) => tally.passed_for += 1,
            (Verdict::Pass, true) => tally.passed_against += 1,
            (Verdict::Fail, _) => tally.failed += 1,
            (Verdict::Skipped, _) => tally.skipped += 1,
        }
    }
    tally
}

/// The verdict word: the authors' with its sentence, or derived from the checks.
fn verdict_cell(claim: &SeedClaim, found: &[Found]) -> String {
    if let (Some(word), Some(because)) = (&claim.verdict, &claim.because) {
        return format!("**{}**: {}", escape(word), escape(because));
    }
    let t = tally(found);
    let word = if t.failed > 0 {
        "unsettled here"
    } else if t.passed_for + t.passed_against == 0 {
        "not testable here"
    } else if t.passed_against == 0 {
        "true"
    } else if t.passed_for == 0 {
        "false"
    } else {
        "half true"
    };
    format!("**{word}** <small>(from the checks)</small>")
}

/// "all 3 checks passed on this machine", "1 of 3 failed on this machine", …
fn status(found: &[Found]) -> String {
    let n = found.len();
    let t = tally(found);
    if n == 0 {
        return "not measured".to_string();
    }
    let mut parts = Vec::new();
    if t.failed > 0 {
        parts.push(format!("{} of {n} failed", t.failed));
    }
    if t.skipped > 0 {
        parts.push(format!("{} of {n} skipped", t.skipped));
    }
    if parts.is_empty() {
        return match n {
            1 => "its one check passed on this machine".to_string(),
            _ => format!("all {n} checks passed on this machine"),
        };
    }
    format!("{} on this machine", parts.join(", "))
}

/// Each check: its verdict badge, measured value and a link to its section,
/// those that back the claim apart from those that contradict it.
fn checks_cell(found: &[Found]) -> String {
    if found.is_empty() {
        return "—".to_string();
    }
    let line = |c: &Found| {
        let class = match c.claim.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
        };
        format!(
            "<span class=\"verdict {class}\">{}</span> {} [{} {}]({} \"{}\")",
            c.claim.word().to_lowercase(),
            escape(&c.claim.measured_text()),
            escape(&c.reference.lab),
            escape(&c.reference.claim),
            c.link,
            escape(&c.claim.statement).replace('"', "&quot;")
        )
    };
    let (against, backing): (Vec<&Found>, Vec<&Found>) = found.iter().partition(|c| c.refutes);
    let mut groups = Vec::new();
    if !backing.is_empty() {
        let lines: Vec<String> = backing.iter().map(|&c| line(c)).collect();
        groups.push(format!("<em>backs it:</em><br>{}", lines.join("<br>")));
    }
    if !against.is_empty() {
        let lines: Vec<String> = against.iter().map(|&c| line(c)).collect();
        groups.push(format!(
            "<em>contradicts it:</em><br>{}",
            lines.join("<br>")
        ));
    }
    groups.join("<br>")
}

/// Text for a table cell.
fn escape(text: &str) -> String {
    escape_html(text).replace('|', "\\|")
}

/// An error for a data file's path argument that is missing or has extra words.
pub fn usage() -> anyhow::Error {
    anyhow!(
        "usage: {{{{#seed-claims FILE.toml}}}} (FILE named from the book's root, e.g. src/seed-claims.toml)"
    )
}
