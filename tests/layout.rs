//! The course hangs together: every lab has a chapter, results that are
//! fresh, graded exercises, and is compiled with optimisation.

mod common;

use common::{labs, root};
use labkit::results::{LabResults, Mode, source_hash};
use std::collections::BTreeMap;
use std::path::Path;

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

/// The lab claims that `seeds` (a seed-claims data file) names as answering
/// an article's claim and that `results_dir` does not hold, one line each.
fn missing_seed_checks(seeds: &Path, results_dir: &Path) -> Vec<String> {
    let seeds = mdbook_labs::seeds::SeedFile::load(seeds).unwrap_or_else(|e| panic!("{e:#}"));
    let mut loaded: BTreeMap<String, Option<LabResults>> = BTreeMap::new();
    let mut missing = Vec::new();
    for (seed, check) in seeds.checks() {
        let results = loaded.entry(check.lab.clone()).or_insert_with(|| {
            LabResults::load(&results_dir.join(format!("{}.json", check.lab))).ok()
        });
        match results {
            None => missing.push(format!("{seed}: {} has no results", check.lab)),
            Some(results) if !results.claims.iter().any(|c| c.id == check.claim) => {
                missing.push(format!("{seed}: {}:{}", check.lab, check.claim))
            }
            Some(_) => {}
        }
    }
    missing
}

#[test]
fn every_lab_claim_that_answers_a_seed_claim_exists() {
    let missing = missing_seed_checks(
        &root().join("src/seed-claims.toml"),
        &root().join("results"),
    );
    assert!(
        missing.is_empty(),
        "src/seed-claims.toml names lab claims the results do not hold (renamed or removed from a lab? update the file): {missing:?}"
    );
}

#[test]
fn the_seed_check_notices_a_missing_lab_claim() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = dir.path().join("seeds.toml");
    std::fs::write(
        &seeds,
        "[[article]]\nid = \"A\"\ntitle = \"t\"\nsource = \"s\"\n\n[[claim]]\nid = \"x\"\nsays = \"x\"\nin = [\"A\"]\nsupports = [\"lab-01:cpu-threads\", \"lab-01:no-such-claim\", \"lab-99:y\"]\n",
    )
    .unwrap();
    assert_eq!(
        missing_seed_checks(&seeds, &root().join("results")),
        ["x: lab-01:no-such-claim", "x: lab-99 has no results"]
    );
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

/// The settings a measured package must get in `[profile.dev.package.*]`:
/// what `cargo build --release` would use.
const RELEASE_LIKE: [(&str, toml::Value); 3] = [
    ("opt-level", toml::Value::Integer(3)),
    ("debug-assertions", toml::Value::Boolean(false)),
    ("overflow-checks", toml::Value::Boolean(false)),
];

/// The packages (by name) that `profile.dev.package` leaves compiled unlike
/// a release build: workspace members need an entry of their own, other
/// packages are covered by `"*"` unless an entry of their own says otherwise.
fn not_release_like(manifest: &toml::Table, packages: &[(String, bool)]) -> Vec<String> {
    let overrides = manifest
        .get("profile")
        .and_then(|p| p.get("dev"))
        .and_then(|d| d.get("package"))
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    let release_like = |entry: Option<&toml::Value>| {
        RELEASE_LIKE
            .iter()
            .all(|(key, want)| entry.and_then(|e| e.get(key)) == Some(want))
    };
    packages
        .iter()
        .filter(|(name, member)| {
            let own = overrides.get(name);
            let covered = match (own, member) {
                (Some(_), _) => release_like(own),
                (None, true) => false,
                (None, false) => release_like(overrides.get("*")),
            };
            !covered
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Every package a lab links, from `cargo metadata`: (name, workspace member).
fn packages_labs_link() -> Vec<(String, bool)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only this machine's platform: other platforms' crates need not even be
    // downloaded to say what a lab links here.
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &host,
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let nodes = metadata["resolve"]["nodes"].as_array().unwrap();
    let name_of = |id: &str| {
        metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .unwrap()
    };
    let lab_ids: Vec<&str> = members
        .iter()
        .copied()
        .filter(|id| name_of(id).starts_with("lab-"))
        .collect();
    // A proc macro runs while compiling, not in a lab: it and what only it
    // uses are not measured.
    let is_proc_macro = |id: &str| {
        metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .is_some_and(|p| {
                p["targets"].as_array().unwrap().iter().any(|t| {
                    t["kind"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k == "proc-macro")
                })
            })
    };
    // workspace-hack only asks for features: a crate only it names is linked
    // but never called. What a lab calls it reaches by its own edges.
    let is_feature_only = |id: &str| name_of(id) == "workspace-hack";
    // Walk the normal (not build, not dev) dependencies from every lab.
    let mut seen: Vec<String> = Vec::new();
    let mut todo: Vec<String> = lab_ids.iter().map(|s| s.to_string()).collect();
    while let Some(id) = todo.pop() {
        if seen.contains(&id) || is_proc_macro(&id) || is_feature_only(&id) {
            continue;
        }
        let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
        for dep in node["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                todo.push(dep["pkg"].as_str().unwrap().to_string());
            }
        }
        seen.push(id);
    }
    assert!(seen.len() > lab_ids.len(), "the labs depend on something");
    seen.iter()
        .map(|id| (name_of(id), members.contains(&id.as_str())))
        .collect()
}

#[test]
fn every_crate_a_lab_runs_is_compiled_like_a_release_build() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let packages = packages_labs_link();
    for expected in [
        "serde_json",
        "postcard",
        "crossbeam-channel",
        "rayon",
        "labkit",
        "lab-01",
    ] {
        assert!(
            packages.iter().any(|(name, _)| name == expected),
            "{expected} is not among the packages the labs link: {packages:?}"
        );
    }
    let missing = not_release_like(&manifest, &packages);
    assert!(
        missing.is_empty(),
        "the labs link these, and Cargo.toml does not compile them as a release build would: add each to [profile.dev.package] as NAME = {{ opt-level = 3, debug-assertions = false, overflow-checks = false }}: {missing:?}"
    );
}

#[test]
fn the_profile_check_fails_on_an_unoptimised_dependency_or_lab() {
    // It must be able to fail: a linked crate without an entry is unoptimised,
    // and a lab entry with debug assertions on is not release-like either;
    // a "*" entry covers crates from outside the workspace, not labs.
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut manifest: toml::Table = toml::from_str(&text).unwrap();
    let packages = vec![
        ("serde_json".to_string(), false),
        ("lab-01".to_string(), true),
    ];
    assert!(not_release_like(&manifest, &packages).is_empty());
    let overrides = manifest["profile"]["dev"]["package"]
        .as_table_mut()
        .unwrap();
    overrides.remove("serde_json");
    overrides["lab-01"]["debug-assertions"] = toml::Value::Boolean(true);
    let release_like = overrides["lab-02"].clone();
    assert_eq!(
        not_release_like(&manifest, &packages),
        ["serde_json", "lab-01"]
    );
    let overrides = manifest["profile"]["dev"]["package"]
        .as_table_mut()
        .unwrap();
    overrides.insert("*".to_string(), release_like);
    assert_eq!(not_release_like(&manifest, &packages), ["lab-01"]);
}
