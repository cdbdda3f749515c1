//! The course hangs together: every lab has a chapter, results that are
//! fresh, graded exercises, and is compiled with optimisation.

mod common;

use common::{labs, root};
use labkit::results::{LabResults, Mode, source_hash};

#[test]
fn every_lab_has_a_chapter_in_the_summary() {
    let summary = std::fs::read_to_string(root().join("src/SUMMARY.md")).unwrap();
    for lab in labs() {
        let dir_name = lab.dir.file_name().unwrap().to_string_lossy().to_string();
        let chapter = format!("{dir_name}.md");
        assert!(
            summary.contains(&format!("({chapter})")),
            "SUMMARY.md has no chapter {chapter} for {}",
            lab.id
        );
        let text = std::fs::read_to_string(root().join("src").join(&chapter)).unwrap();
        assert!(
            text.contains(&format!("{{{{#lab-results {}}}}}", lab.id)),
            "{chapter} does not show {}'s results",
            lab.id
        );
    }
}

#[test]
fn every_lab_has_fresh_full_results() {
    for lab in labs() {
        let path = root().join("results").join(format!("{}.json", lab.id));
        let results = LabResults::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(results.lab, lab.id);
        assert_eq!(
            results.mode,
            Mode::Full,
            "{} holds quick results: the book shows full runs",
            path.display()
        );
        let now = source_hash(&lab.dir).unwrap();
        assert_eq!(
            results.source_hash,
            now,
            "{}'s sources changed since {} was measured: run `cargo xtask measure {}` and commit the results",
            lab.id,
            path.display(),
            lab.id
        );
    }
}

#[test]
fn the_freshness_check_notices_a_changed_source() {
    // The check above must be able to fail: copy a lab, change one line of
    // its measured code, and the hash differs.
    let lab = &labs()[0];
    let copy = tempfile::tempdir().unwrap();
    for sub in ["src", "python"] {
        let from = lab.dir.join(sub);
        if from.exists() {
            std::fs::create_dir_all(copy.path().join(sub)).unwrap();
            for entry in std::fs::read_dir(&from).unwrap().flatten() {
                std::fs::copy(entry.path(), copy.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    std::fs::copy(lab.dir.join("Cargo.toml"), copy.path().join("Cargo.toml")).unwrap();
    let same = source_hash(copy.path()).unwrap();
    assert_eq!(same, source_hash(&lab.dir).unwrap());
    let lib = copy.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, text + "\n// changed\n").unwrap();
    assert_ne!(source_hash(copy.path()).unwrap(), same);
}

#[test]
fn every_lab_is_optimised_even_in_the_dev_profile() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let packages = &manifest["profile"]["dev"]["package"];
    for name in labs().iter().map(|l| l.id.as_str()).chain(["labkit"]) {
        let level = packages
            .get(name)
            .and_then(|p| p.get("opt-level"))
            .and_then(|l| l.as_integer());
        assert_eq!(
            level,
            Some(3),
            "Cargo.toml needs [profile.dev.package.{name}] opt-level = 3"
        );
    }
}
