//! The student edition's rules, shared by `cargo xtask release` and the
//! grader's tests: solution blocks out, starters in, hidden tests unlisted.
//!
//! In a lab's `.rs` files, lines between `// solution:begin` and
//! `// solution:end` are the instructor's solution; a `// starter: ` line is
//! what students get in its place (usually a `todo!`).

use anyhow::{Result, bail};
use std::path::Path;

/// Paths (relative to the course root) that only instructors need, in no
/// edition a student builds: their CI, the grader's hostile fixtures and
/// tests, the checks of the instructor's repository. (The student edition
/// also leaves out the hidden tests; the grader's build keeps them.)
pub fn instructor_only(relative: &Path) -> bool {
    let text = relative.to_string_lossy();
    text.starts_with(".ci/")
        || text.starts_with(".github/workflows/")
        || text.starts_with("xtask/student/")
        || text.starts_with("crates/grader/fixtures/")
        || text.starts_with("crates/grader/tests/")
        // The browser test of the published book: CI's, not a student's.
        || text.starts_with("crates/book-check/")
        || text == "tests/instructor.rs"
}

/// A course file as the grader builds it (and the Gradescope bundle ships
/// it): `None` for what only instructors need, every lab's `.rs` file with
/// its solutions replaced by starters, the hidden tests and the full
/// `grading.toml` kept.
pub fn for_grading(relative: &Path, content: Vec<u8>) -> Result<Option<Vec<u8>>> {
    if instructor_only(relative) {
        return Ok(None);
    }
    if relative == Path::new("Cargo.toml") {
        return Ok(Some(mark_version(content, "grading")?));
    }
    if !(relative.starts_with("labs") && relative.extension().is_some_and(|e| e == "rs")) {
        return Ok(Some(content));
    }
    let Ok(text) = String::from_utf8(content) else {
        bail!("{} is not UTF-8", relative.display());
    };
    match strip_solutions(&text) {
        Ok(stripped) => Ok(Some(stripped.into_bytes())),
        Err(err) => bail!("in {}: {err}", relative.display()),
    }
}

/// A root manifest whose `[workspace.package]` version (which every package
/// of the course takes) gets a mark: `0.1.0` becomes `0.1.0-grading`. A
/// build of a graded copy may then share a build directory with the
/// instructor's (crates.io crates compiled once) without any of its packages
/// taking the name and version of an instructor's build. A manifest without
/// that version is left as it is.
pub fn mark_version(manifest: Vec<u8>, mark: &str) -> Result<Vec<u8>> {
    let Ok(text) = String::from_utf8(manifest.clone()) else {
        return Ok(manifest);
    };
    let Ok(mut table) = toml::from_str::<toml::Table>(&text) else {
        return Ok(manifest);
    };
    let Some(version) = table
        .get_mut("workspace")
        .and_then(|w| w.get_mut("package"))
        .and_then(|p| p.get_mut("version"))
    else {
        return Ok(manifest);
    };
    let marked = format!("{}-{mark}", version.as_str().unwrap_or("0.0.0"));
    *version = toml::Value::String(marked);
    Ok(toml::to_string(&table)?.into_bytes())
}

/// Removes solution blocks and uncomments starter lines.
pub fn strip_solutions(text: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut open_at = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with("// solution:begin") {
            if let Some(first) = open_at {
                bail!("line {number}: solution:begin inside the block opened at line {first}");
            }
            open_at = Some(number);
            continue;
        }
        if trimmed.starts_with("// solution:end") {
            if open_at.take().is_none() {
                bail!("line {number}: solution:end without solution:begin");
            }
            continue;
        }
        if open_at.is_some() {
            continue;
        }
        match trimmed.strip_prefix("// starter: ") {
            Some(code) => {
                let indent = &line[..line.len() - trimmed.len()];
                out.push_str(indent);
                out.push_str(code);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    if let Some(first) = open_at {
        bail!("the solution block opened at line {first} is never closed");
    }
    Ok(out)
}

/// A lab's `grading.toml` for students: without the hidden tests, which
/// their edition does not have (their names would give answers away).
pub fn student_grading(text: &str) -> String {
    let mut out = String::new();
    for (index, block) in text.split("[[test]]").enumerate() {
        if index == 0 {
            out.push_str(block);
        } else if !block
            .lines()
            .any(|l| l.replace(' ', "") == "file=\"hidden\"")
        {
            out.push_str("[[test]]");
            out.push_str(block);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Grading;

    #[test]
    fn solutions_are_removed_and_starters_uncommented() {
        let text = "fn f() -> u32 {\n    // solution:begin\n    42\n    // solution:end\n    // starter: todo!(\"answer\")\n}\n";
        assert_eq!(
            strip_solutions(text).unwrap(),
            "fn f() -> u32 {\n    todo!(\"answer\")\n}\n"
        );
    }

    #[test]
    fn unbalanced_markers_are_errors_with_line_numbers() {
        let open = "// solution:begin\nx\n";
        assert!(
            strip_solutions(open)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        let stray = "x\n// solution:end\n";
        assert!(
            strip_solutions(stray)
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        let nested = "// solution:begin\n// solution:begin\n";
        assert!(
            strip_solutions(nested)
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
    }

    #[test]
    fn the_graded_copy_has_a_version_of_its_own() {
        let manifest =
            b"[workspace]\nmembers = []\n[workspace.package]\nversion = \"0.1.0\"\n".to_vec();
        let marked = for_grading(Path::new("Cargo.toml"), manifest)
            .unwrap()
            .unwrap();
        let table: toml::Table = toml::from_str(std::str::from_utf8(&marked).unwrap()).unwrap();
        assert_eq!(
            table["workspace"]["package"]["version"].as_str(),
            Some("0.1.0-grading")
        );
        // A lab's manifest, or one without a workspace version, is unchanged.
        let lab = b"[package]\nname = \"lab-01\"\n".to_vec();
        assert_eq!(
            for_grading(Path::new("labs/x/Cargo.toml"), lab.clone()).unwrap(),
            Some(lab.clone())
        );
        assert_eq!(
            for_grading(Path::new("Cargo.toml"), lab.clone()).unwrap(),
            Some(lab)
        );
    }

    #[test]
    fn the_students_grading_toml_has_no_hidden_tests() {
        let text = "# points\n\n[[test]]\nfile = \"exercises\"\nname = \"a\"\npoints = 1\n\n[[test]]\nfile = \"hidden\"\nname = \"secret\"\npoints = 2\n";
        let student = student_grading(text);
        assert!(student.contains("name = \"a\""));
        assert!(!student.contains("secret"), "{student}");
        let grading = Grading::parse(&student).unwrap();
        assert_eq!(grading.tests.len(), 1);
    }
}
