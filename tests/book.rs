//! The book builds, and each lab's chapter shows its code and its measured results.

mod common;

use common::{labs, root};

#[test]
fn the_book_builds_with_every_labs_results_and_code() {
    let out = tempfile::tempdir().unwrap();
    let html_dir =
        mdbook_labs::build_book(root(), Some(out.path())).unwrap_or_else(|e| panic!("{e:#}"));
    for lab in labs() {
        let dir_name = lab.dir.file_name().unwrap().to_string_lossy().to_string();
        let page = std::fs::read_to_string(html_dir.join(format!("{dir_name}.html"))).unwrap();
        assert!(
            page.contains("<table>") && page.contains("95% CI"),
            "{}: no results table",
            lab.id
        );
        assert!(
            page.contains("<svg class=\"lab-chart\""),
            "{}: no chart",
            lab.id
        );
        assert!(
            page.contains("class=\"verdict "),
            "{}: no claim verdicts",
            lab.id
        );
        assert!(
            page.contains("class=\"lab-machine\""),
            "{}: no machine footnote",
            lab.id
        );
        assert!(
            !page.contains("{{#"),
            "{}: a directive was left unexpanded",
            lab.id
        );
        assert!(
            !page.contains("solution:begin"),
            "{}: the book shows a solution",
            lab.id
        );
        // Code is included from the lab's sources: its public functions appear.
        let lib = std::fs::read_to_string(lab.dir.join("src/lib.rs")).unwrap();
        let first_fn = lib
            .lines()
            .find_map(|l| {
                l.strip_prefix("pub fn ")
                    .and_then(|rest| rest.split('(').next())
            })
            .unwrap();
        assert!(
            page.contains(first_fn),
            "{}: code from src/lib.rs ({first_fn}) is not in the chapter",
            lab.id
        );
    }
}

#[test]
fn the_book_does_not_publish_exercise_solutions() {
    let out = tempfile::tempdir().unwrap();
    let html_dir = mdbook_labs::build_book(root(), Some(out.path())).unwrap();
    let page = std::fs::read_to_string(html_dir.join("lab-01-threads-and-processes.html")).unwrap();
    assert!(
        page.contains("run_in_a_child"),
        "the exercises are not shown"
    );
    assert!(
        !page.contains("the child ended without sending its value"),
        "a solution body is shown"
    );
}

#[test]
fn a_directive_for_a_missing_lab_fails_the_build_naming_the_chapter() {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("book.toml"), copy.path().join("book.toml")).unwrap();
    std::fs::create_dir(copy.path().join("src")).unwrap();
    std::fs::write(
        copy.path().join("src/SUMMARY.md"),
        "# Summary\n\n- [Broken](broken.md)\n",
    )
    .unwrap();
    std::fs::write(
        copy.path().join("src/broken.md"),
        "# Broken\n\n{{#lab-value lab-42 cpu.x}}\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        mdbook_labs::build_book(copy.path(), Some(out.path())).unwrap_err()
    );
    assert!(
        err.contains("Broken") && err.contains("src/broken.md"),
        "{err}"
    );
    assert!(
        err.contains("{{#lab-value lab-42 cpu.x}}") && err.contains("lab-42.json"),
        "{err}"
    );
}
