//! The `labs` mdBook preprocessor: puts measured results into the book.
//!
//! In a chapter:
//! - `{{#lab-results lab-01}}` becomes the lab's tables, speedup charts (SVG),
//!   claims with their verdicts, and the machine they were measured on.
//! - `{{#lab-value lab-01 cpu.threads_speedup}}` becomes one measured number
//!   with its unit, for prose (the median; add `min`, `max`, `ci_low` or
//!   `ci_high` for another statistic of its samples) (`machine.logical_cores`, `machine.cpu_model` and
//!   `machine.python3` name facts about the machine; `experiment.param` gives
//!   a parameter the experiment ran with, such as `cpu.n`).
//! - `{{#lab-figure lab-04 timelines.cpu_gil}}` becomes a picture the lab drew
//!   from its run (e.g. a GIL timeline), with its caption.
//! - `{{#lab-compare lab-04 cpu.threads_vs_cpython "more" "about as much" "less"}}`
//!   words a comparison from a measured ratio: the first words when the
//!   ratio's 95% interval lies above 1, the last when it lies below 1, the
//!   middle ones when it contains 1 — so a sentence's direction comes from
//!   the results, never from the author's memory of a run.
//! - `{{#lab-rounds lab-04 cpu.threads_gil_speedup < 1}}` counts the rounds
//!   whose sample was below (`<`) or above (`>`) a value: "8 of 9 rounds".
//! - `{{#seed-claims src/seed-claims.toml}}` becomes the table of the
//!   articles' claims, each with the lab claims that measured it: their
//!   verdicts and values from the results, a verdict word derived from them
//!   (or the authors' word with its reason), and links to the labs' sections
//!   (see [`seeds`] for the data file).
//! - `{{#lab-run lab-05}}` becomes the commands to run the lab yourself, how
//!   long its full run took, and what `skipped` means on another machine.
//! - `{{#results-beside results/contributed/one-core}}` shows another
//!   machine's results beside the book's: each claim's verdict on both, each
//!   figure on both with their ratio (see [`beside`]).
//! - A backslash before the braces (`\{{#lab-value …}}`) shows the directive
//!   itself instead of expanding it.
//!
//! Everything comes from `results/lab-NN.json`, so no measured number is ever
//! typed into the Markdown. A directive that names an unknown lab, metric or
//! claim, a heading that no chapter has, or a results file that cannot be
//! read, fails the build with a message naming the chapter, the directive and
//! the file.

pub mod beside;
mod chapters;
mod chart;
mod render;
pub mod seeds;

pub use chapters::BookIndex;

use anyhow::{Context, Result, anyhow, bail};
use labkit_schema::format;
use labkit_schema::results::LabResults;
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The preprocessor, for `MDBook::with_preprocessor` or the `mdbook-labs` binary.
#[derive(Debug, Default, Clone, Copy)]
pub struct LabsPreprocessor;

/// The name used in `book.toml` (`[preprocessor.labs]`).
pub const NAME: &str = "labs";

impl Preprocessor for LabsPreprocessor {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> Result<Book> {
        let dir: Option<String> = ctx.config.get("preprocessor.labs.results")?;
        let mut results = ResultsDir::new(ctx.root.join(dir.as_deref().unwrap_or("results")));
        let index = BookIndex::of_book(&ctx.root, &book);
        let mut failure = None;
        book.for_each_chapter_mut(|chapter| {
            if failure.is_some() {
                return;
            }
            let path = chapter.path.clone().unwrap_or_default();
            let page = Page {
                book: &index,
                path: &path,
            };
            match expand_page(&chapter.content, &mut results, Some(&page)) {
                Ok(content) => chapter.content = content,
                Err(err) => {
                    let file = chapter
                        .source_path
                        .as_ref()
                        .map_or_else(|| "?".to_string(), |p| format!("src/{}", p.display()));
                    failure = Some(err.context(format!("in chapter {:?} ({file})", chapter.name)));
                }
            }
        });
        match failure {
            Some(err) => Err(err),
            None => Ok(book),
        }
    }
}

/// The chapter being expanded, within its book: what `{{#seed-claims}}`
/// needs to read its data file and to link to other chapters.
pub struct Page<'a> {
    /// The book's chapters.
    pub book: &'a BookIndex,
    /// This chapter's path under `src/`.
    pub path: &'a Path,
}

/// The results files of a book, read once each.
pub struct ResultsDir {
    dir: PathBuf,
    loaded: BTreeMap<String, LabResults>,
}

impl ResultsDir {
    /// Results are read from `dir` (normally `results/` beside `book.toml`).
    pub fn new(dir: PathBuf) -> ResultsDir {
        ResultsDir {
            dir,
            loaded: BTreeMap::new(),
        }
    }

    /// The results of `lab`, e.g. "lab-01".
    pub fn get(&mut self, lab: &str) -> Result<&LabResults> {
        if !LAB_ID.is_match(lab) {
            bail!("{lab:?} is not a lab id (they look like lab-01)");
        }
        if !self.loaded.contains_key(lab) {
            let path = self.dir.join(format!("{lab}.json"));
            if !path.exists() {
                bail!(
                    "no results for {lab}: {} does not exist (labs with results: {}); run `cargo xtask measure {lab}`",
                    path.display(),
                    self.available().join(", ")
                );
            }
            let results = LabResults::load(&path)?;
            if results.lab != lab {
                bail!(
                    "{} holds results of {}, not {lab}",
                    path.display(),
                    results.lab
                );
            }
            self.loaded.insert(lab.to_string(), results);
        }
        Ok(&self.loaded[lab])
    }

    fn available(&self) -> Vec<String> {
        let mut labs: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(String::from)
            })
            .collect();
        labs.sort();
        labs
    }
}

static LAB_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^lab-\d{2}$").expect("valid"));
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(\\?)\{\{#(lab-results|lab-value|lab-figure|lab-compare|lab-rounds|lab-run|seed-claims|results-beside)((?:\s+(?:"[^"]*"|[^\s}"]+))*)\s*\}\}"#,
    )
    .expect("valid")
});
static ARGUMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""([^"]*)"|([^\s"]+)"#).expect("valid"));

/// Expands every directive in one chapter's Markdown. Text that starts like
/// a directive but does not parse as one (an unclosed quote, a stray brace)
/// is an error, never published as it stands. (`{{#seed-claims}}` needs the
/// book around the chapter: see [`expand_page`].)
pub fn expand(content: &str, results: &mut ResultsDir) -> Result<String> {
    expand_page(content, results, None)
}

/// [`expand`] for a chapter of a book.
pub fn expand_page(content: &str, results: &mut ResultsDir, page: Option<&Page>) -> Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut last = 0;
    for found in DIRECTIVE.captures_iter(content) {
        let whole = found.get(0).expect("group 0");
        refuse_malformed(&content[last..whole.start()])?;
        out.push_str(&content[last..whole.start()]);
        last = whole.end();
        if !found[1].is_empty() {
            out.push_str(&whole.as_str()[1..]);
            continue;
        }
        let args: Vec<&str> = ARGUMENT
            .captures_iter(&found[3])
            .map(|a| a.get(1).or(a.get(2)).expect("one group matched").as_str())
            .collect();
        let text = match (&found[2], args.as_slice()) {
            ("seed-claims", [file]) => seeds::render(file, results, page),
            ("seed-claims", _) => Err(seeds::usage()),
            ("results-beside", [dir]) => beside::render(dir, results, page),
            ("results-beside", _) => Err(anyhow!(
                "usage: {{{{#results-beside DIR}}}} (a folder of lab-NN.json and about.toml)"
            )),
            (name, args) => directive(name, args, results),
        }
        .with_context(|| format!("in directive {}", whole.as_str()))?;
        out.push_str(&text);
    }
    refuse_malformed(&content[last..])?;
    out.push_str(&content[last..]);
    Ok(out)
}

/// Fails on `{{#lab-`, `{{#seed-` or `{{#results-` in text between the directives that parsed.
fn refuse_malformed(text: &str) -> Result<()> {
    if let Some(at) = ["{{#lab-", "{{#seed-", "{{#results-"]
        .iter()
        .filter_map(|s| text.find(s))
        .min()
    {
        let start: String = text[at..].chars().take(60).collect();
        bail!("a malformed directive: {start}… (check its quotes and braces)");
    }
    Ok(())
}

fn directive(name: &str, args: &[&str], results: &mut ResultsDir) -> Result<String> {
    match (name, args) {
        ("lab-results", [lab]) => render::lab_results(results.get(lab)?),
        ("lab-run", [lab]) => beside::lab_run(results.get(lab)?),
        ("lab-run", _) => bail!("usage: {{{{#lab-run lab-NN}}}}"),
        ("lab-value", [lab, path]) => lab_value(results.get(lab)?, path),
        ("lab-value", [lab, path, statistic]) => lab_statistic(results.get(lab)?, path, statistic),
        ("lab-figure", [lab, path]) => lab_figure(results.get(lab)?, path),
        ("lab-compare", [lab, path, above, same, below]) => {
            lab_compare(results.get(lab)?, path, [above, same, below])
        }
        ("lab-rounds", [lab, path, side, value]) => {
            lab_rounds(results.get(lab)?, path, side, value)
        }
        ("lab-results", _) => bail!("usage: {{{{#lab-results lab-NN}}}}"),
        ("lab-figure", _) => bail!("usage: {{{{#lab-figure lab-NN experiment.figure}}}}"),
        ("lab-compare", _) => bail!(
            "usage: {{{{#lab-compare lab-NN experiment.ratio \"words if above 1\" \"words if about 1\" \"words if below 1\"}}}}"
        ),
        ("lab-rounds", _) => {
            bail!("usage: {{{{#lab-rounds lab-NN experiment.metric < VALUE}}}} (or >)")
        }
        _ => bail!("usage: {{{{#lab-value lab-NN experiment.metric [min|max|ci_low|ci_high]}}}}"),
    }
}

/// A picture a lab drew from its run, with its caption.
fn lab_figure(results: &LabResults, path: &str) -> Result<String> {
    let Some((experiment, name)) = path.split_once('.') else {
        bail!("{path:?} is not experiment.figure");
    };
    let experiment = results.experiment(experiment)?;
    let Some(figure) = experiment.figures.iter().find(|f| f.name == name) else {
        let names: Vec<&str> = experiment.figures.iter().map(|f| f.name.as_str()).collect();
        bail!(
            "experiment {} has no figure '{name}' in results/{}.json (it has: {})",
            experiment.name,
            results.lab,
            names.join(", ")
        );
    };
    // No blank lines inside: Markdown would end the HTML block there.
    let svg = chart::named(&figure.svg, &figure.caption);
    let svg: Vec<&str> = svg.lines().filter(|l| !l.trim().is_empty()).collect();
    Ok(format!(
        "<figure class=\"lab-figure\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
        svg.join("\n"),
        render::escape_html(&figure.caption)
    ))
}

/// One measured value (or machine fact) as text for prose.
fn lab_value(results: &LabResults, path: &str) -> Result<String> {
    let machine = &results.machine;
    match path {
        "machine.logical_cores" => return Ok(machine.logical_cores.to_string()),
        "machine.cpu_model" => return Ok(machine.cpu_model.clone()),
        "machine.python3" => {
            return Ok(machine
                .python3
                .clone()
                .unwrap_or_else(|| "no python3".into()));
        }
        _ => {}
    }
    match results.metric(path) {
        Ok(metric) => Ok(format::value(metric.value, metric.unit)),
        Err(err) => parameter(results, path)
            .ok_or_else(|| anyhow!("{err:#} (in results/{}.json)", results.lab)),
    }
}

/// One statistic of a metric's samples other than its median: its
/// smallest or largest sample, or an end of its 95% interval.
fn lab_statistic(results: &LabResults, path: &str, statistic: &str) -> Result<String> {
    let metric = results
        .metric(path)
        .map_err(|err| anyhow!("{err:#} (in results/{}.json)", results.lab))?;
    let Some(summary) = &metric.summary else {
        bail!("{path} was measured once: it has no {statistic}");
    };
    let value = match statistic {
        "min" => summary.min,
        "max" => summary.max,
        "ci_low" => summary.ci_low,
        "ci_high" => summary.ci_high,
        other => bail!("{other:?} is not one of min, max, ci_low, ci_high"),
    };
    Ok(format::value(value, metric.unit))
}

/// Words for a measured ratio: `above` when its 95% interval lies above 1,
/// `below` when it lies below 1, `same` when it contains 1 (or, without
/// repeated samples, when the value is exactly 1).
fn lab_compare(
    results: &LabResults,
    path: &str,
    [above, same, below]: [&str; 3],
) -> Result<String> {
    let metric = results
        .metric(path)
        .map_err(|err| anyhow!("{err:#} (in results/{}.json)", results.lab))?;
    if metric.unit != labkit_schema::Unit::Times {
        bail!(
            "{path} is not a ratio (its unit is {:?}): lab-compare words ratios against 1",
            metric.unit
        );
    }
    let (low, high) = match &metric.summary {
        Some(s) => (s.ci_low, s.ci_high),
        None => (metric.value, metric.value),
    };
    Ok(if low > 1.0 {
        above
    } else if high < 1.0 {
        below
    } else {
        same
    }
    .to_string())
}

/// "k of n rounds": how many of a metric's samples lie below (`<`) or
/// above (`>`) `value`.
fn lab_rounds(results: &LabResults, path: &str, side: &str, value: &str) -> Result<String> {
    let metric = results
        .metric(path)
        .map_err(|err| anyhow!("{err:#} (in results/{}.json)", results.lab))?;
    let Some(summary) = &metric.summary else {
        bail!("{path} was measured once: it has no rounds to count");
    };
    if side != "<" && side != ">" {
        bail!("{side:?} is not < or >");
    }
    let value: f64 = value
        .parse()
        .map_err(|_| anyhow!("{value:?} is not a number"))?;
    let count = summary
        .samples
        .iter()
        .filter(|&&x| match side {
            "<" => x < value,
            ">" => x > value,
            _ => false,
        })
        .count();
    Ok(format!("{count} of {} rounds", summary.samples.len()))
}

/// A parameter an experiment ran with (e.g. `cpu.n`), when no metric has that name.
fn parameter(results: &LabResults, path: &str) -> Option<String> {
    let (experiment, name) = path.split_once('.')?;
    let value = results.experiment(experiment).ok()?.params.get(name)?;
    Some(render::parameter_text(value))
}

/// Builds the book at `root` (the folder with `book.toml`) with this
/// preprocessor running in-process, into `dest` or the configured build
/// directory. Returns the directory the HTML was written to.
pub fn build_book(root: &Path, dest: Option<&Path>) -> Result<PathBuf> {
    let mut book = mdbook_driver::MDBook::load(root)
        .with_context(|| format!("cannot load the book at {}", root.display()))?;
    if let Some(dest) = dest {
        book.config.build.build_dir = dest.to_path_buf();
    }
    // Replaces the `mdbook-labs` command named in book.toml: no install needed.
    book.with_preprocessor(LabsPreprocessor);
    book.build().context("the book did not build")?;
    Ok(book.build_dir_for("html"))
}

/// A chapter of the book as a reader meets it: what a test of the rendered
/// book expects to find on its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapterPage {
    /// The chapter's title in the table of contents.
    pub name: String,
    /// Its page, relative to the built book, e.g. `lab-05-scaling.html`.
    pub html: PathBuf,
    /// How many charts (`<svg class="lab-chart">`) its directives produce.
    pub charts: usize,
}

/// Every chapter of the book at `root`, in reading order, with the number of
/// charts the preprocessor puts on its page (its directives expanded as the
/// build expands them, from the same results).
pub fn chapter_pages(root: &Path) -> Result<Vec<ChapterPage>> {
    let book = mdbook_driver::MDBook::load(root)
        .with_context(|| format!("cannot load the book at {}", root.display()))?;
    let dir: Option<String> = book.config.get("preprocessor.labs.results")?;
    let mut results = ResultsDir::new(root.join(dir.as_deref().unwrap_or("results")));
    let index = BookIndex::of_book(root, &book.book);
    let mut pages = Vec::new();
    for chapter in book.book.chapters() {
        let Some(path) = &chapter.path else { continue };
        let page = Page { book: &index, path };
        let expanded = expand_page(&chapter.content, &mut results, Some(&page))
            .with_context(|| format!("in chapter {:?}", chapter.name))?;
        pages.push(ChapterPage {
            name: chapter.name.clone(),
            html: path.with_extension("html"),
            charts: expanded.matches("<svg class=\"lab-chart\"").count(),
        });
    }
    Ok(pages)
}

#[cfg(test)]
mod tests;
