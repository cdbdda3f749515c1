//! Helpers shared by the whole-course tests.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::Path;

/// One lab: its package name and directory (found the one way the whole
/// tooling finds labs: `grader::course::discover`).
pub use grader::course::LabDir as Lab;

/// The repository root (the `course` package lives there).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every lab, sorted by id.
pub fn labs() -> Vec<Lab> {
    let labs = grader::course::discover(root()).expect("labs/ can be read");
    assert!(!labs.is_empty(), "no labs found");
    labs
}
