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

/// A small book: `book.toml` from the course, the given files (paths from
/// the book's root), and the given labs' committed results. Building it must
/// fail; returns the error, with its causes.
fn build_error_of_a_small_book(files: &[(&str, &str)], results_of: &[&str]) -> String {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("book.toml"), copy.path().join("book.toml")).unwrap();
    std::fs::create_dir_all(copy.path().join("src")).unwrap();
    std::fs::create_dir_all(copy.path().join("results")).unwrap();
    for lab in results_of {
        let json = format!("results/{lab}.json");
        std::fs::copy(root().join(&json), copy.path().join(&json)).unwrap();
    }
    for (path, text) in files {
        std::fs::write(copy.path().join(path), text).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    format!(
        "{:#}",
        mdbook_labs::build_book(copy.path(), Some(out.path())).unwrap_err()
    )
}

#[test]
fn a_directive_for_a_missing_lab_fails_the_build_naming_the_chapter() {
    let err = build_error_of_a_small_book(
        &[
            ("src/SUMMARY.md", "# Summary\n\n- [Broken](broken.md)\n"),
            ("src/broken.md", "# Broken\n\n{{#lab-value lab-42 cpu.x}}\n"),
        ],
        &[],
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

/// Numbers with a unit typed into `text` outside the directives. A measured
/// value must come from the results, so prose and data files hold none.
fn typed_measurements(text: &str) -> Vec<String> {
    let mut prose = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        prose.push_str(&rest[..start]);
        prose.push(' ');
        rest = rest[start..]
            .find("}}")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    prose.push_str(rest);
    const UNITS: [&str; 11] = [
        "×", "x", "%", "ns", "µs", "ms", "s", "B", "KiB", "MiB", "GiB",
    ];
    let chars: Vec<char> = prose.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        let mut end = i;
        while end < chars.len() && matches!(chars[end], ' ' | '\u{2009}') {
            end += 1;
        }
        let unit_start = end;
        while end < chars.len() && (chars[end].is_alphabetic() || matches!(chars[end], '×' | '%'))
        {
            end += 1;
        }
        let unit: String = chars[unit_start..end].iter().collect();
        if UNITS.contains(&unit.as_str()) {
            found.push(chars[start..end].iter().collect());
        }
    }
    found
}

#[test]
fn typed_measurements_are_found_outside_directives_only() {
    assert_eq!(
        typed_measurements(
            "took 2.5 ms, {{#lab-value lab-01 cpu.threads_speedup}} × as fast, 64 threads, 2× and 40%"
        ),
        ["2.5 ms", "2×", "40%"]
    );
}

#[test]
fn the_decision_guide_and_the_seed_claims_come_from_the_results() {
    let out = tempfile::tempdir().unwrap();
    let html_dir =
        mdbook_labs::build_book(root(), Some(out.path())).unwrap_or_else(|e| panic!("{e:#}"));
    let seeds = std::fs::read_to_string(html_dir.join("seed-claims.html")).unwrap();
    assert!(
        seeds.contains("class=\"seed-claims\"") && seeds.contains("class=\"verdict pass\""),
        "no table of checked claims"
    );
    assert!(
        seeds.contains("href=\"lab-02-creation-and-memory.html#ways-to-start-work\""),
        "no link to a lab's section"
    );
    let guide = std::fs::read_to_string(html_dir.join("decision-guide.html")).unwrap();
    assert!(guide.contains("×"), "the guide shows no measured ratio");
    for (name, page) in [("seed-claims", &seeds), ("decision-guide", &guide)] {
        assert!(
            !page.contains("{{#"),
            "{name}: a directive was left unexpanded"
        );
    }
    // Another machine's results beside the book's, all from the files.
    let beside = std::fs::read_to_string(html_dir.join("your-machine.html")).unwrap();
    assert!(
        beside.contains("class=\"lab-results results-beside\"")
            && beside.contains("one core ÷ this book"),
        "the contributed one-core results are not shown"
    );
    for file in [
        "src/decision-guide.md",
        "src/seed-claims.md",
        "src/your-machine.md",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let typed = typed_measurements(&text);
        assert!(typed.is_empty(), "{file} types measured numbers: {typed:?}");
    }
    let data: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("src/seed-claims.toml")).unwrap())
            .unwrap();
    for claim in data["claim"].as_array().unwrap() {
        for key in ["says", "because"] {
            if let Some(text) = claim.get(key).and_then(|v| v.as_str()) {
                let typed = typed_measurements(text);
                assert!(
                    typed.is_empty(),
                    "src/seed-claims.toml, claim {}: {key} types measured numbers: {typed:?}",
                    claim["id"]
                );
            }
        }
    }
}

#[test]
fn a_seed_claim_naming_an_unknown_lab_claim_fails_the_build() {
    let err = build_error_of_a_small_book(
        &[
            (
                "src/SUMMARY.md",
                "# Summary\n\n- [Lab](lab.md)\n- [Seeds](seeds.md)\n",
            ),
            (
                "src/lab.md",
                "# Lab\n\n## Results\n\n{{#lab-results lab-01}}\n",
            ),
            (
                "src/seeds.md",
                "# Seeds\n\n{{#seed-claims src/seeds.toml}}\n",
            ),
            (
                "src/seeds.toml",
                "[[article]]\nid = \"A\"\ntitle = \"t\"\nsource = \"s\"\n\n[[claim]]\nid = \"fast\"\nsays = \"x\"\nin = [\"A\"]\nsupports = [\"lab-01:cpu-threads\", \"lab-01:renamed\"]\n",
            ),
        ],
        &["lab-01"],
    );
    assert!(
        err.contains("src/seeds.md") && err.contains("seed claim \"fast\""),
        "{err}"
    );
    assert!(
        err.contains("results/lab-01.json has no claim \"renamed\""),
        "{err}"
    );
}
