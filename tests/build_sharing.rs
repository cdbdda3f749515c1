//! Every cargo command shares one build of each dependency.
//!
//! Cargo gives a dependency the features that the selected packages ask for,
//! so `cargo run -p lab-03` could build serde or regex with fewer features
//! than `cargo test --workspace` and recompile them (and all that depends on
//! them). `crates/workspace-hack` asks for the workspace's features from every
//! lab and from xtask; this test fails when a package built alone would still
//! need a build the workspace does not make.

mod common;

use common::{labs, root};
use std::collections::BTreeSet;

/// `cargo tree` for the given package selection: one line per distinct
/// (crate, features), workspace members left out.
fn crates_with_features(selection: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .arg("tree")
        .args(selection)
        .args(["-e", "normal,dev,build", "--prefix", "none"])
        .args(["--format", "{p} [{f}]"])
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.trim_end_matches(" (*)").replace(" (proc-macro)", ""))
        .filter(|l| !l.contains(&*root().to_string_lossy()) && !l.is_empty())
        .collect()
}

/// The builds that `alone` would make and the workspace build does not.
fn extra_builds(workspace: &BTreeSet<String>, alone: &BTreeSet<String>) -> Vec<String> {
    alone.difference(workspace).cloned().collect()
}

#[test]
fn each_lab_and_xtask_alone_build_dependencies_as_the_workspace_does() {
    let workspace = crates_with_features(&["--workspace"]);
    assert!(
        workspace.iter().any(|l| l.starts_with("serde v1")),
        "cargo tree lists serde: {workspace:?}"
    );
    let mut packages: Vec<String> = labs().iter().map(|lab| lab.id.clone()).collect();
    packages.push("xtask".into());
    let mut problems = Vec::new();
    for package in &packages {
        let alone = crates_with_features(&["--package", package]);
        for extra in extra_builds(&workspace, &alone) {
            problems.push(format!("{package}: {extra}"));
        }
    }
    assert!(
        problems.is_empty(),
        "built alone, these would be compiled with other features than in the workspace build (and again): add each crate to crates/workspace-hack/Cargo.toml with the workspace's features:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_crate_with_fewer_features_alone_is_an_extra_build() {
    let workspace: BTreeSet<String> = ["serde v1.0.0 [derive,std]", "libc v0.2.0 [std]"]
        .map(String::from)
        .into();
    let same: BTreeSet<String> = ["libc v0.2.0 [std]".to_string()].into();
    assert!(extra_builds(&workspace, &same).is_empty());
    let fewer: BTreeSet<String> = ["serde v1.0.0 [std]".to_string()].into();
    assert_eq!(extra_builds(&workspace, &fewer), ["serde v1.0.0 [std]"]);
}
