//! Each way the book can break for a reader, done to a copy of the built
//! book: the browser check must name it. Every test first checks the same
//! pages unbroken, so a check that always fails would not pass either.
//!
//! They need Chromium and chromedriver, so they are ignored by a plain
//! `cargo test`; CI's browser step (`.ci/run`) installs both and runs them
//! with `cargo test -p book-check -- --ignored --test-threads 4` (each
//! mostly waits for the browser, so four at once fit on two cores).

use book_check::{Options, Pass, Problem, check};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The course's root (the book's sources).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The book built once from the course's sources, for every test to copy.
fn built() -> &'static Path {
    static BUILT: OnceLock<tempfile::TempDir> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            mdbook_labs::build_book(&root(), Some(dir.path())).unwrap();
            dir
        })
        .path()
}

/// A copy of the built book to break.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(built(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The labs' stylesheet in a built book (mdBook adds a hash to its name).
fn labs_css(book: &Path) -> PathBuf {
    std::fs::read_dir(book.join("theme"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("labs"))
        .expect("the built book has the labs' stylesheet")
}

/// Removes, from `file` of `book`, the first span from `start` to `end`
/// (inclusive) that begins after the first `after`.
fn remove_first(book: &Path, file: &str, after: &str, start: &str, end: &str) {
    let path = book.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let from = text.find(after).unwrap();
    let from = from + text[from..].find(start).unwrap();
    let to = from + text[from..].find(end).unwrap() + end.len();
    std::fs::write(&path, format!("{}{}", &text[..from], &text[to..])).unwrap();
}

/// Adds `rules` at the end of the labs' stylesheet in `book`.
fn add_css(book: &Path, rules: &str) {
    let css = labs_css(book);
    let mut text = std::fs::read_to_string(&css).unwrap();
    text.push_str(rules);
    std::fs::write(&css, text).unwrap();
}

/// Puts `html` at the top of the chapter's content on `file` of `book`.
fn at_top(book: &Path, file: &str, html: &str) {
    edit(book, file, "<main>", &format!("<main>{html}"));
}

/// Replaces the first `from` in `file` of `book` with `to`.
fn edit(book: &Path, file: &str, from: &str, to: &str) {
    let path = book.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The problems the `pass` finds on `pages` of `book`.
fn problems(book: &Path, pages: &[&str], pass: Pass) -> Vec<Problem> {
    let report = check(&Options {
        root: root(),
        book: book.to_path_buf(),
        only: pages.iter().map(|p| p.to_string()).collect(),
        screenshots: None,
        passes: vec![pass],
    })
    .unwrap();
    report.problems
}

/// The problems the `pass` finds on `pages` of the unbroken book, checked
/// once for all the tests that need it.
fn unbroken(pages: &[&str], pass: Pass) -> Vec<Problem> {
    type Key = (Vec<String>, String);
    static CHECKED: Mutex<BTreeMap<Key, Vec<Problem>>> = Mutex::new(BTreeMap::new());
    let key = (
        pages.iter().map(|p| p.to_string()).collect(),
        format!("{pass:?}"),
    );
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    checked
        .entry(key)
        .or_insert_with(|| problems(built(), pages, pass))
        .clone()
}

/// `pages` pass unbroken; after `breaking`, the check names `check` on `page`
/// with a detail containing `says`. Only the pass that makes `check` runs.
fn fails_when(pages: &[&str], breaking: impl FnOnce(&Path), check: &str, page: &str, says: &str) {
    let pass = match check {
        "contrast" => Pass::Themes,
        "phone" => Pass::Phone,
        "search" => Pass::Search,
        "print" => Pass::Print,
        _ => Pass::Chapters,
    };
    let before = unbroken(pages, pass);
    assert!(
        before.is_empty(),
        "the unbroken pages have problems: {before:#?}"
    );
    let book = copy();
    breaking(book.path());
    let after = problems(book.path(), pages, pass);
    assert!(
        after
            .iter()
            .any(|p| p.check == check && p.page == page && p.detail.contains(says)),
        "no {check} problem on {page} saying {says:?}; found: {after:#?}"
    );
}

const SCALING: &str = "lab-05-scaling.html";
const CHART: &str = "<svg class=\"lab-chart\"";

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_removed_chart_is_missed() {
    fails_when(
        &[SCALING],
        |book| remove_first(book, SCALING, CHART, CHART, "</svg>"),
        "charts",
        SCALING,
        "rendered by its directives",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_chart_without_a_title_is_named() {
    fails_when(
        &[SCALING],
        |book| remove_first(book, SCALING, CHART, "<title>", "</title>"),
        "charts",
        SCALING,
        "has no <title>",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_broken_link_and_a_broken_anchor_are_found() {
    fails_when(
        &[SCALING],
        |book| at_top(book, SCALING, r#"<a href="lab-99-nothing.html">gone</a>"#),
        "links",
        SCALING,
        "no page lab-99-nothing.html",
    );
    fails_when(
        &[SCALING],
        |book| {
            at_top(
                book,
                SCALING,
                r#"<a href="lab-06-pools.html#no-such-heading">moved</a>"#,
            )
        },
        "links",
        SCALING,
        "no anchor #no-such-heading",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_page_that_scrolls_sideways_on_a_phone_is_found() {
    fails_when(
        &[SCALING],
        |book| {
            at_top(
                book,
                SCALING,
                r#"<div style="width: 900px">a wide box</div>"#,
            )
        },
        "phone",
        SCALING,
        "at 375 px wide",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_chart_that_loses_its_background_in_a_dark_theme_is_found() {
    // Without the white box the labs' stylesheet gives charts, their black
    // text sits on the dark themes' backgrounds.
    fails_when(
        &[SCALING],
        |book| {
            let css = labs_css(book);
            let text = std::fs::read_to_string(&css).unwrap();
            assert!(text.contains("background: #fff;"));
            std::fs::write(&css, text.replace("background: #fff;", "")).unwrap();
        },
        "contrast",
        SCALING,
        "coal theme",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_script_error_is_reported() {
    fails_when(
        &[SCALING],
        |book| {
            edit(
                book,
                SCALING,
                "</main>",
                "</main><script>undefinedFunction();</script>",
            )
        },
        "console",
        SCALING,
        "undefinedFunction",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn code_left_unhighlighted_is_found() {
    fails_when(
        &[SCALING],
        |book| {
            let path = book.join(SCALING);
            let text = std::fs::read_to_string(&path).unwrap();
            let script =
                regex::Regex::new(r#"<script src="highlight-[0-9a-f]+\.js"></script>"#).unwrap();
            assert!(script.is_match(&text));
            std::fs::write(&path, script.replace(&text, "").as_ref()).unwrap();
        },
        "code",
        SCALING,
        "not highlighted",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_hidden_verdict_badge_is_found() {
    fails_when(
        &[SCALING],
        |book| add_css(book, "\n.verdict.pass { display: none; }\n"),
        "verdicts",
        SCALING,
        "is not shown",
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_lab_that_search_leaves_out_is_found() {
    // mdBook can leave a chapter out of the search index
    // ([output.html.search.chapter]): the lab is then not found by its title.
    let page = "lab-08-deadlocks.html";
    let sources = tempfile::tempdir().unwrap();
    for part in ["src", "theme", "results"] {
        copy_dir(&root().join(part), &sources.path().join(part));
    }
    std::os::unix::fs::symlink(root().join("labs"), sources.path().join("labs")).unwrap();
    let mut config = std::fs::read_to_string(root().join("book.toml")).unwrap();
    config.push_str("\n[output.html.search.chapter.\"lab-08-deadlocks.md\"]\nenable = false\n");
    std::fs::write(sources.path().join("book.toml"), config).unwrap();
    let book = tempfile::tempdir().unwrap();
    mdbook_labs::build_book(sources.path(), Some(book.path())).unwrap();

    let before = unbroken(&[page], Pass::Search);
    assert!(before.is_empty(), "{before:#?}");
    let report = check(&Options {
        root: sources.path().to_path_buf(),
        book: book.path().to_path_buf(),
        only: vec![page.to_string()],
        screenshots: None,
        passes: vec![Pass::Search],
    })
    .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.check == "search" && p.page == page && p.detail.contains("Deadlocks")),
        "{:#?}",
        report.problems
    );
}

#[test]
#[ignore = "needs chromium and chromedriver (CI's browser step installs them)"]
fn a_print_view_without_its_charts_is_found() {
    fails_when(
        &["print.html"],
        |book| add_css(book, "\n@media print { .lab-chart { display: none; } }\n"),
        "print",
        "print.html",
        "0 charts print",
    );
}
