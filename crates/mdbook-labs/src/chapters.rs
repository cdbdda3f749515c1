//! Which chapter shows which lab, and the headings of each chapter: what a
//! page needs to link to a section of another chapter, with the link checked
//! when the book is built (a renamed heading fails the build, never a reader).

use anyhow::{Result, bail};
use regex::Regex;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

/// The chapters of a book, read before any directive is expanded.
#[derive(Debug, Default, Clone)]
pub struct BookIndex {
    root: PathBuf,
    chapters: Vec<ChapterIndex>,
}

/// One chapter: its path under `src/`, its headings, and the labs whose
/// results it shows (`{{#lab-results lab-NN}}`).
#[derive(Debug, Clone)]
struct ChapterIndex {
    path: PathBuf,
    headings: Vec<Heading>,
    /// Each lab it shows, with the heading the results stand under.
    labs: Vec<(String, Option<usize>)>,
}

/// A heading as mdBook's HTML renderer will give it an id.
#[derive(Debug, Clone)]
struct Heading {
    text: String,
    id: String,
}

static LAB_RESULTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[^\\])\{\{#lab-results\s+(lab-\d{2})\s*\}\}").expect("valid"));
static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^#{1,6}\s+(.*?)\s*#*\s*$").expect("valid"));
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[([^\]]*)\]\([^)]*\)").expect("valid"));

impl BookIndex {
    /// An index of no chapters, for the book at `root` (the folder with `book.toml`).
    pub fn new(root: &Path) -> BookIndex {
        BookIndex {
            root: root.to_path_buf(),
            chapters: Vec::new(),
        }
    }

    /// The index of `book`'s chapters (draft chapters have no page to link to).
    pub fn of_book(root: &Path, book: &mdbook_preprocessor::book::Book) -> BookIndex {
        let mut index = BookIndex::new(root);
        for chapter in book.chapters() {
            if let Some(path) = &chapter.path {
                index.add_chapter(path, &chapter.content);
            }
        }
        index
    }

    /// Adds a chapter: `path` under `src/`, its Markdown as it stands.
    pub fn add_chapter(&mut self, path: &Path, content: &str) {
        let mut headings: Vec<Heading> = Vec::new();
        let mut labs = Vec::new();
        let mut fence: Option<&str> = None;
        for line in content.lines() {
            let trimmed = line.trim_start();
            if let Some(open) = fence {
                if trimmed.starts_with(open) {
                    fence = None;
                }
                continue;
            }
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                fence = Some(&trimmed[..3]);
                continue;
            }
            if let Some(found) = HEADING.captures(line) {
                let text = plain_text(&found[1]);
                let id = unique_id(&id_from_content(&text), &headings);
                headings.push(Heading { text, id });
            }
            for found in LAB_RESULTS.captures_iter(line) {
                labs.push((found[2].to_string(), headings.len().checked_sub(1)));
            }
        }
        self.chapters.push(ChapterIndex {
            path: path.to_path_buf(),
            headings,
            labs,
        });
    }

    /// The folder with `book.toml`, which data files are named from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A link from the chapter at `from` to the chapter that shows `lab`'s
    /// results: to its section headed `heading`, or to the section holding
    /// the results when no heading is named.
    pub fn section_link(&self, lab: &str, heading: Option<&str>, from: &Path) -> Result<String> {
        let Some((chapter, under)) = self.chapters.iter().find_map(|c| {
            c.labs
                .iter()
                .find(|(shown, _)| shown == lab)
                .map(|(_, under)| (c, *under))
        }) else {
            bail!("no chapter of the book shows {lab}'s results ({{{{#lab-results {lab}}}}})");
        };
        let target = match heading {
            None => under.map(|i| &chapter.headings[i]),
            Some(wanted) => {
                let id = id_from_content(&plain_text(wanted));
                let found = chapter.headings.iter().find(|h| h.id == id);
                if found.is_none() {
                    let known: Vec<&str> =
                        chapter.headings.iter().map(|h| h.text.as_str()).collect();
                    bail!(
                        "{}, the chapter of {lab}, has no heading {wanted:?}; its headings: {}",
                        chapter.path.display(),
                        known.join(" · ")
                    );
                }
                found
            }
        };
        let mut link = relative_path(from, &chapter.path);
        if let Some(heading) = target {
            link.push('#');
            link.push_str(&heading.id);
        }
        Ok(link)
    }
}

/// `to` as a link from the page at `from` (both under `src/`).
fn relative_path(from: &Path, to: &Path) -> String {
    let depth = from.parent().map_or(0, |dir| {
        dir.components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .count()
    });
    let mut link = "../".repeat(depth);
    link.push_str(&to.to_string_lossy().replace('\\', "/"));
    link
}

/// A heading's text as the reader sees it: no code marks, emphasis or link targets.
fn plain_text(markdown: &str) -> String {
    let text = LINK.replace_all(markdown, "$1");
    text.replace(['`', '*'], "").trim().to_string()
}

/// The id mdBook's HTML renderer gives a heading (mdbook-html's
/// `id_from_content`): lower case, letters, digits, `_` and `-` kept,
/// spaces become `-`, everything else dropped.
pub(crate) fn id_from_content(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c)
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// mdBook numbers a repeated id: `results`, `results-1`, …
fn unique_id(id: &str, earlier: &[Heading]) -> String {
    let taken = |candidate: &str| earlier.iter().any(|h| h.id == candidate);
    if !taken(id) {
        return id.to_string();
    }
    (1..)
        .map(|n| format!("{id}-{n}"))
        .find(|candidate| !taken(candidate))
        .expect("some number is free")
}
