//! The built book as a reader meets it, checked in a real browser.
//!
//! `cargo run -p book-check` (CI's "browser" step) opens every chapter of
//! `book/` in headless Chromium and reports each problem a reader would hit:
//!
//! - a page that logs an error to the console;
//! - a chart the preprocessor rendered that is missing, hidden or of zero
//!   size, that has no title for a screen reader to say, or whose text runs
//!   past its edge and is cut off ([`mdbook_labs::chapter_pages`] says how
//!   many charts each chapter has);
//! - a verdict badge that does not show, or whose word is hard to read;
//! - Rust or Python code that highlight.js did not colour;
//! - an internal link to a page or anchor that does not exist ([`links`]);
//! - in any of mdBook's five themes, chart text below 4.5:1 contrast or a
//!   chart's line, point or bar below 3:1 against the chart's background
//!   ([`colour`]);
//! - at 375 CSS pixels wide (a phone), a page that scrolls sideways or
//!   content that reaches past the screen outside a box that scrolls on its own;
//! - a lab chapter that search does not list when its title is searched for;
//! - a print view (`print.html`, as printed) without every chart.
//!
//! It saves a screenshot of every chapter in the light and the coal theme
//! when asked (CI keeps them as artifacts). `tests/browser.rs` breaks a copy
//! of the book in each of these ways and shows that the check fails.

pub mod browser;
pub mod colour;
pub mod links;
mod page;

use anyhow::{Context, Result};
use browser::{Browser, DESKTOP, PHONE, Programs};
use colour::{Colour, GRAPHICS_CONTRAST, TEXT_CONTRAST, contrast};
use mdbook_labs::ChapterPage;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// mdBook's themes, as its theme menu names them.
pub const THEMES: [&str; 5] = ["light", "rust", "coal", "navy", "ayu"];

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// The book's sources (the folder with `book.toml`), to know its chapters.
    pub root: PathBuf,
    /// The built book (`book/`).
    pub book: PathBuf,
    /// Only the chapters whose page is named here, and the print view if
    /// `print.html` is named (everything when empty).
    pub only: Vec<String>,
    /// Where to save screenshots (none when `None`).
    pub screenshots: Option<PathBuf>,
    /// Which passes to make (all of them when empty).
    pub passes: Vec<Pass>,
}

/// One pass over the chapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pass {
    /// On a laptop, light theme: console, charts, badges, code, links.
    Chapters,
    /// Every theme: chart and badge contrast.
    Themes,
    /// At 375 px wide: nothing wider than the screen.
    Phone,
    /// Search lists each lab by its title.
    Search,
    /// The print view has every chart.
    Print,
}

/// One thing a reader would see go wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The page, e.g. `lab-05-scaling.html`.
    pub page: String,
    /// What was checked: `console`, `charts`, `verdicts`, `code`, `links`,
    /// `contrast`, `phone`, `search`, `print`.
    pub check: &'static str,
    /// What is wrong.
    pub detail: String,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Pages opened, counted once per theme and viewport.
    pub loads: usize,
    /// Charts seen on the chapters' pages.
    pub charts: usize,
    /// Every problem.
    pub problems: Vec<Problem>,
    /// Links to other sites, not fetched.
    pub external_links: BTreeSet<String>,
    /// Screenshots written.
    pub screenshots: Vec<PathBuf>,
}

impl Report {
    fn problem(&mut self, page: &Path, check: &'static str, detail: impl Into<String>) {
        self.problems.push(Problem {
            page: page.display().to_string(),
            check,
            detail: detail.into(),
        });
    }
}

/// Opens the book in a headless browser and checks every chapter.
pub fn check(options: &Options) -> Result<Report> {
    let programs = Programs::find()?;
    let all = mdbook_labs::chapter_pages(&options.root)?;
    let chosen = chosen(&all, &options.only)?;
    let browser = Browser::start(&programs)?;
    let mut report = Report::default();
    let book = std::fs::canonicalize(&options.book)
        .with_context(|| format!("no built book at {}", options.book.display()))?;
    let mut checker = Checker {
        browser: &browser,
        book: &book,
        report: &mut report,
    };
    let shots = options.screenshots.as_deref();
    let pass = |p: Pass| options.passes.is_empty() || options.passes.contains(&p);
    if pass(Pass::Chapters) {
        checker.chapters(&chosen, shots)?;
    }
    if pass(Pass::Themes) {
        checker.themes(&chosen, shots)?;
    }
    if pass(Pass::Phone) {
        checker.phone(&chosen)?;
    }
    if pass(Pass::Search) {
        checker.search(&chosen)?;
    }
    let print_view = options.only.is_empty() || options.only.iter().any(|p| p == "print.html");
    if pass(Pass::Print) && print_view {
        checker.print(&all)?;
    }
    report.problems.sort();
    Ok(report)
}

/// The chapters whose pages `only` names (all of them when it is empty;
/// `print.html` names the print view, which is not a chapter).
fn chosen(all: &[ChapterPage], only: &[String]) -> Result<Vec<ChapterPage>> {
    if only.is_empty() {
        return Ok(all.to_vec());
    }
    let mut chosen = Vec::new();
    for page in only.iter().filter(|p| *p != "print.html") {
        match all.iter().find(|c| c.html == Path::new(page)) {
            Some(chapter) => chosen.push(chapter.clone()),
            None => anyhow::bail!("no chapter has the page {page}"),
        }
    }
    Ok(chosen)
}

struct Checker<'a> {
    browser: &'a Browser,
    book: &'a Path,
    report: &'a mut Report,
}

impl Checker<'_> {
    fn open(&mut self, page: &Path) -> Result<()> {
        self.report.loads += 1;
        let url = format!("file://{}", self.book.join(page).display());
        self.browser.goto(&url)
    }

    /// Each chapter on a laptop in the light theme: console, charts, badges,
    /// code and links.
    fn chapters(&mut self, chapters: &[ChapterPage], shots: Option<&Path>) -> Result<()> {
        self.browser.set_viewport(DESKTOP)?;
        self.choose_theme("light")?;
        let mut links = links::Book::new(self.book);
        for chapter in chapters {
            self.browser.console_errors()?;
            self.open(&chapter.html)?;
            for error in self.browser.console_errors()? {
                self.report.problem(&chapter.html, "console", error);
            }
            let facts: page::Facts = self.browser.eval(page::FACTS)?;
            self.check_charts(chapter, &facts.charts);
            self.check_badges(&chapter.html, &facts.verdicts);
            self.check_code(&chapter.html, &facts.code);
            let ids: BTreeSet<String> = facts.ids.into_iter().collect();
            for href in &facts.links {
                if let links::Target::External(url) = links::resolve(&chapter.html, href) {
                    self.report.external_links.insert(url);
                } else if let Some(problem) = links.problem(&chapter.html, href, &ids) {
                    self.report.problem(&chapter.html, "links", problem);
                }
            }
            self.screenshot(shots, chapter, "light")?;
        }
        Ok(())
    }

    fn check_charts(&mut self, chapter: &ChapterPage, charts: &[page::Chart]) {
        let page = &chapter.html;
        self.report.charts += charts.len();
        let visible = charts
            .iter()
            .filter(|c| c.shown && c.width >= 1.0 && c.height >= 1.0)
            .count();
        if visible != chapter.charts {
            self.report.problem(
                page,
                "charts",
                format!(
                    "{visible} charts shown, {} rendered by its directives",
                    chapter.charts
                ),
            );
        }
        for (i, chart) in charts.iter().enumerate() {
            if !chart.cut.is_empty() {
                self.report.problem(
                    page,
                    "charts",
                    format!(
                        "chart {:?} cuts off its text: {}",
                        chart.title,
                        chart.cut.join(" | ")
                    ),
                );
            }
            if chart.title.is_empty() {
                self.report
                    .problem(page, "charts", format!("chart {} has no <title>", i + 1));
            }
        }
    }

    fn check_badges(&mut self, page: &Path, badges: &[page::Badge]) {
        for badge in badges {
            if !badge.shown || badge.width < 1.0 || badge.height < 1.0 {
                self.report.problem(
                    page,
                    "verdicts",
                    format!("a {:?} badge is not shown", badge.text),
                );
                continue;
            }
            let (Some(text), Some(background)) = (
                Colour::parse(&badge.colour),
                Colour::parse(&badge.background),
            ) else {
                continue;
            };
            let ratio = contrast(
                text.over(background, 1.0),
                background.over(Colour::WHITE, 1.0),
            );
            if ratio < TEXT_CONTRAST {
                self.report.problem(
                    page,
                    "verdicts",
                    format!(
                        "the {:?} badge's text has contrast {ratio:.1}:1",
                        badge.text
                    ),
                );
            }
        }
    }

    fn check_code(&mut self, page: &Path, code: &[page::Code]) {
        let plain = code
            .iter()
            .filter(|c| matches!(c.language.as_str(), "rust" | "python") && !c.highlighted)
            .count();
        if plain > 0 {
            self.report.problem(
                page,
                "code",
                format!("{plain} Rust or Python code blocks are not highlighted"),
            );
        }
    }

    fn screenshot(
        &mut self,
        shots: Option<&Path>,
        chapter: &ChapterPage,
        theme: &str,
    ) -> Result<()> {
        let Some(dir) = shots else { return Ok(()) };
        std::fs::create_dir_all(dir)?;
        let stem = chapter
            .html
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let path = dir.join(format!("{stem}-{theme}.jpg"));
        self.browser.screenshot(&path)?;
        self.report.screenshots.push(path);
        Ok(())
    }

    /// Picks a theme the way a reader does: the theme button, then its menu.
    fn choose_theme(&mut self, theme: &str) -> Result<()> {
        self.open(Path::new("index.html"))?;
        let script = format!(
            "document.getElementById('mdbook-theme-toggle').click();
             document.getElementById('mdbook-theme-{theme}').click();
             return document.documentElement.className;"
        );
        let classes: String = self.browser.eval(&script)?;
        anyhow::ensure!(
            classes.split_whitespace().any(|c| c == theme),
            "choosing the {theme} theme did not apply it (html classes: {classes})"
        );
        Ok(())
    }

    /// Every chapter with charts or badges in each theme: contrast.
    fn themes(&mut self, chapters: &[ChapterPage], shots: Option<&Path>) -> Result<()> {
        for theme in THEMES {
            self.choose_theme(theme)?;
            for chapter in chapters {
                if chapter.charts == 0 && theme != "coal" {
                    continue;
                }
                self.open(&chapter.html)?;
                let charts: Vec<page::ChartColours> = self.browser.eval(page::CHART_COLOURS)?;
                for chart in &charts {
                    self.check_chart_colours(&chapter.html, theme, chart);
                }
                let facts: page::Facts = self.browser.eval(page::FACTS)?;
                let before = self.report.problems.len();
                self.check_badges(&chapter.html, &facts.verdicts);
                for problem in &mut self.report.problems[before..] {
                    problem.detail = format!("{theme} theme: {}", problem.detail);
                }
                if theme == "coal" {
                    self.screenshot(shots, chapter, "coal")?;
                }
            }
        }
        self.choose_theme("light")
    }

    fn check_chart_colours(&mut self, page: &Path, theme: &str, chart: &page::ChartColours) {
        let background = chart
            .backgrounds
            .iter()
            .rev()
            .filter_map(|c| Colour::parse(c))
            .fold(Colour::WHITE, |below, layer| layer.over(below, 1.0));
        let mut worst: Option<(f64, String)> = None;
        let mut note = |ratio: f64, what: &str, needed: f64| {
            if ratio < needed && worst.as_ref().is_none_or(|(w, _)| ratio < *w) {
                worst = Some((ratio, format!("{what} {ratio:.1}:1 (needs {needed}:1)")));
            }
        };
        for text in &chart.texts {
            if let Some(colour) = Colour::parse(&text.colour) {
                let seen = colour.over(background, text.opacity);
                note(contrast(seen, background), &text.what, TEXT_CONTRAST);
            }
        }
        for mark in &chart.marks {
            let Some(colour) = Colour::parse(&mark.colour) else {
                continue;
            };
            // Grid lines and panels are drawn faint or in the background's
            // colour on purpose: only the data's own marks must stand out.
            let seen = colour.over(background, mark.opacity);
            if mark.opacity < 0.5 || contrast(colour.over(background, 1.0), background) < 1.1 {
                continue;
            }
            note(contrast(seen, background), &mark.what, GRAPHICS_CONTRAST);
        }
        if let Some((_, detail)) = worst {
            self.report.problem(
                page,
                "contrast",
                format!("{theme} theme, chart {:?}: {detail}", chart.title),
            );
        }
    }

    /// Every chapter on a phone: nothing wider than the screen.
    fn phone(&mut self, chapters: &[ChapterPage]) -> Result<()> {
        self.browser.set_viewport(PHONE)?;
        for chapter in chapters {
            self.open(&chapter.html)?;
            let overflow: page::Overflow = self.browser.eval(page::OVERFLOW)?;
            if overflow.page > overflow.viewport + 1.0 || !overflow.wide.is_empty() {
                self.report.problem(
                    &chapter.html,
                    "phone",
                    format!(
                        "at {} px wide the page is {} px wide; past the edge: {}",
                        overflow.viewport,
                        overflow.page,
                        overflow.wide.join(", ")
                    ),
                );
            }
        }
        self.browser.set_viewport(DESKTOP)
    }

    /// Search (`s`, then the lab's title) lists every lab chapter.
    fn search(&mut self, chapters: &[ChapterPage]) -> Result<()> {
        for chapter in chapters {
            let Some(words) = search_words(&chapter.name) else {
                continue;
            };
            self.open(Path::new("index.html"))?;
            self.browser.press("s")?;
            self.browser.type_into("#mdbook-searchbar", words)?;
            let results: Vec<String> = self
                .browser
                .wait_for(page::SEARCH_RESULTS, Duration::from_secs(5))?
                .unwrap_or_default();
            let listed = results.iter().any(|href| {
                let path = href.split(['#', '?']).next().unwrap_or_default();
                Path::new(path) == chapter.html
            });
            if !listed {
                self.report.problem(
                    &chapter.html,
                    "search",
                    format!(
                        "searching for {words:?} lists {} results, not this chapter",
                        results.len()
                    ),
                );
            }
        }
        Ok(())
    }

    /// The print view has every chapter's charts, each with a size on paper.
    fn print(&mut self, chapters: &[ChapterPage]) -> Result<()> {
        let page = Path::new("print.html");
        self.browser.emulate_print(true)?;
        self.open(page)?;
        let facts: page::Facts = self.browser.eval(page::FACTS)?;
        self.browser.emulate_print(false)?;
        let expected: usize = chapters.iter().map(|c| c.charts).sum();
        let visible = facts
            .charts
            .iter()
            .filter(|c| c.shown && c.width >= 1.0 && c.height >= 1.0)
            .count();
        if visible != expected {
            self.report.problem(
                page,
                "print",
                format!("{visible} charts print, the chapters have {expected}"),
            );
        }
        Ok(())
    }
}

/// What a reader would type to find a lab: its title after "Lab NN — ".
/// `None` for chapters that are not labs.
pub fn search_words(chapter: &str) -> Option<&str> {
    let rest = chapter.strip_prefix("Lab ")?;
    let (_, title) = rest.split_once(" — ")?;
    Some(title.trim())
}
