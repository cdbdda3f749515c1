//! The student edition, generated from the instructor's repository.
//!
//! In every `.rs` file under `labs/`, lines between `// solution:begin` and
//! `// solution:end` are removed and `// starter: ` prefixes are taken off, so
//! the starter code (usually a `todo!`) takes the solution's place. The graded
//! tests students must not see (`tests/hidden.rs`) and the instructor's CI are
//! left out; the README is replaced by one for students.

use crate::labs::Lab;
use crate::libtest::{self, Outcome, Workspace};
use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use grader::config::{GradedTest, Grading};
use grader::edition::{strip_solutions, student_grading};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Paths (relative to the root) that only instructors get: what no edition a
/// student builds has, and the hidden tests.
fn instructor_only(relative: &Path) -> bool {
    grader::edition::instructor_only(relative)
        || relative.to_string_lossy().ends_with("tests/hidden.rs")
}

/// The files of the repository: tracked ones and untracked ones git does not
/// ignore (so work in progress is released as it is on disk).
pub fn repository_files(root: &Path) -> Result<Vec<PathBuf>> {
    let output = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .output()
        .context("could not run git ls-files")?;
    if !output.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut files: Vec<PathBuf> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).to_string()))
        .filter(|p| root.join(p).is_file())
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Writes the student edition of the repository at `root` into `out`.
pub fn write_student_edition(root: &Path, out: &Path) -> Result<()> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!("{} is not empty: choose a new directory", out.display());
    }
    for relative in repository_files(root)? {
        if instructor_only(&relative) {
            continue;
        }
        let source = root.join(&relative);
        let target = out.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if relative.starts_with("labs") && relative.file_name().is_some_and(|n| n == "grading.toml")
        {
            std::fs::write(&target, student_grading(&std::fs::read_to_string(&source)?))?;
        } else if relative.starts_with("labs") && relative.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&source)?;
            let student =
                strip_solutions(&text).with_context(|| format!("in {}", relative.display()))?;
            std::fs::write(&target, student)?;
        } else {
            std::fs::copy(&source, &target)
                .with_context(|| format!("copying {}", relative.display()))?;
        }
    }
    std::fs::copy(root.join("xtask/student/README.md"), out.join("README.md"))
        .context("copying the students' README")?;
    let workflows = out.join(".github/workflows");
    std::fs::create_dir_all(&workflows)?;
    std::fs::copy(
        root.join("xtask/student/classroom.yml"),
        workflows.join("classroom.yml"),
    )
    .context("copying the GitHub Classroom workflow")?;
    Ok(())
}

/// A lab's graded tests; empty when it has no `grading.toml`.
pub fn graded_tests(lab: &Lab) -> Result<Vec<GradedTest>> {
    let path = lab.dir.join("grading.toml");
    if !path.exists() {
        return Ok(Vec::new());
    }
    Ok(Grading::load(&path)?.tests)
}

/// Checks both directions for every lab: each graded test passes on the
/// instructor's solution and fails on the student edition's starter code, the
/// student edition compiles, and every test in a graded file is in grading.toml.
/// `only` are the labs whose tests to run (all of them in CI).
pub fn check(root: &Path, only: &[Lab]) -> Result<ExitCode> {
    let temp = tempfile::tempdir()?;
    let student = temp.path().join("student");
    write_student_edition(root, &student)?;
    let leftovers = find_markers(&student.join("labs"))?;
    if !leftovers.is_empty() {
        bail!(
            "solution markers left in the student edition: {}",
            leftovers.join(", ")
        );
    }
    // The student edition's binaries go to a target directory of their own,
    // so that they never replace the instructor's in target/debug. Its
    // intermediate artifacts share the instructor's build directory, so that
    // the crates from crates.io are compiled once for both. The course's own
    // crates must never share a build: cargo would give the student
    // edition's the instructor's names (and judge them fresh by time; paths
    // compiled into them would be the other copy's), so the student
    // edition's packages get another version, which gives them other names.
    mark_as_student_edition(&student.join("Cargo.toml"))?;
    let target_dir = root.join("target").join("student-edition");
    let build_dir = root.join("target");
    let student_edition = Workspace {
        root: &student,
        target_dir: Some(&target_dir),
        build_dir: Some(&build_dir),
    };
    eprintln!("== checking that the student edition compiles");
    check_compiles(&student_edition)?;

    let mut problems = Vec::new();
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["lab", "graded test", "points", "solution", "starter"]);
    let mut count = 0;
    for lab in only {
        let tests = graded_tests(lab)?;
        if tests.is_empty() {
            continue;
        }
        let student_lab = student.join(lab.dir.strip_prefix(root)?);
        restore_hidden_tests(&lab.dir, &student_lab)?;
        let mut files: Vec<&str> = tests.iter().map(|t| t.file.as_str()).collect();
        files.sort();
        files.dedup();
        for file in files {
            eprintln!("== {} --test {file}: solution, then starter", lab.id);
            let solution = solution_outcomes(root, &lab.id, file, &tests)?;
            let starter = libtest::run(&student_edition, &lab.id, file)?;
            for name in solution.keys() {
                if !tests.iter().any(|t| t.file == file && &t.name == name) {
                    problems.push(format!(
                        "{}: tests/{file}.rs has test {name} that grading.toml does not list",
                        lab.id
                    ));
                }
            }
            for test in tests.iter().filter(|t| t.file == file) {
                count += 1;
                let on_solution = solution.get(&test.name).copied();
                let on_starter = starter.get(&test.name).copied();
                problems.extend(judge(&lab.id, &test.name, on_solution, on_starter));
                table.add_row([
                    lab.id.clone(),
                    format!("{file}::{}", test.name),
                    test.points.to_string(),
                    describe(on_solution),
                    describe(on_starter),
                ]);
            }
        }
    }
    println!("{table}");
    if problems.is_empty() {
        println!(
            "release check: {count} graded tests pass on the solution and fail on the starter; the student edition compiles (cargo check, every target)"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &problems {
            println!("problem: {problem}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// Runs a graded file on the solution as many times as its most repeated
/// test asks; a test counts as passed only if it passed every time.
fn solution_outcomes(
    root: &Path,
    lab: &str,
    file: &str,
    tests: &[GradedTest],
) -> Result<BTreeMap<String, Outcome>> {
    let runs = tests
        .iter()
        .filter(|t| t.file == file)
        .map(|t| t.repeat)
        .max()
        .unwrap_or(1);
    let instructor = Workspace {
        root,
        target_dir: None,
        build_dir: None,
    };
    let mut merged = libtest::run(&instructor, lab, file)?;
    for _ in 1..runs {
        for (name, outcome) in libtest::run(&instructor, lab, file)? {
            if outcome != Outcome::Passed {
                merged.insert(name, outcome);
            }
        }
    }
    Ok(merged)
}

/// What is wrong with one graded test, given how it did on the solution and
/// on the starter: it must pass on the first and fail on the second.
fn judge(
    lab: &str,
    test: &str,
    on_solution: Option<Outcome>,
    on_starter: Option<Outcome>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if on_solution != Some(Outcome::Passed) {
        problems.push(format!(
            "{lab}: {test} does not pass on the solution ({})",
            describe(on_solution)
        ));
    }
    if on_starter != Some(Outcome::Failed) {
        problems.push(format!(
            "{lab}: {test} does not fail on the starter ({}): it grades nothing",
            describe(on_starter)
        ));
    }
    problems
}

fn describe(outcome: Option<Outcome>) -> String {
    match outcome {
        Some(Outcome::Passed) => "pass".into(),
        Some(Outcome::Failed) => "fail".into(),
        Some(Outcome::Ignored) => "ignored".into(),
        None => "missing".into(),
    }
}

/// Gives the student edition's packages (every one takes the workspace's
/// version) a version of their own: `0.1.0` becomes `0.1.0-student-edition`.
fn mark_as_student_edition(manifest: &Path) -> Result<()> {
    let mut table: toml::Table = toml::from_str(&std::fs::read_to_string(manifest)?)?;
    let version = table
        .get_mut("workspace")
        .and_then(|w| w.get_mut("package"))
        .and_then(|p| p.get_mut("version"))
        .context("the root Cargo.toml has no [workspace.package] version")?;
    let marked = format!("{}-student-edition", version.as_str().unwrap_or("0.0.0"));
    *version = toml::Value::String(marked);
    std::fs::write(manifest, toml::to_string(&table)?)?;
    Ok(())
}

/// `cargo check --workspace --all-targets` in the student edition: every
/// crate, test and bench type-checks with the starters in place. (The graded
/// test files are then compiled for real when they run on the starters;
/// compiling benches and tools that no check runs would only cost CI minutes.)
/// Its output (the starters' warnings) is shown only when it fails.
fn check_compiles(student_edition: &Workspace) -> Result<()> {
    let output = student_edition
        .cargo("check")
        .args(["--quiet", "--workspace", "--all-targets"])
        .output()?;
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        bail!("the student edition does not compile ({})", output.status);
    }
    Ok(())
}

/// Puts the hidden tests back into a copy of the student edition, so that they
/// too can be shown to fail on the starter code.
fn restore_hidden_tests(lab_dir: &Path, student_lab: &Path) -> Result<()> {
    let hidden = lab_dir.join("tests/hidden.rs");
    if hidden.exists() {
        std::fs::copy(&hidden, student_lab.join("tests/hidden.rs"))?;
    }
    Ok(())
}

/// Files under `dir` that still have a line starting with `// solution:`.
fn find_markers(dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in walk(dir)? {
        if entry.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&entry)?;
            if text
                .lines()
                .any(|l| l.trim_start().starts_with("// solution:"))
            {
                found.push(entry.display().to_string());
            }
        }
    }
    Ok(found)
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graded_test_must_pass_on_the_solution_and_fail_on_the_starter() {
        let ok = judge("lab-01", "t", Some(Outcome::Passed), Some(Outcome::Failed));
        assert!(ok.is_empty());
        let grades_nothing = judge("lab-01", "t", Some(Outcome::Passed), Some(Outcome::Passed));
        assert_eq!(grades_nothing.len(), 1);
        assert!(grades_nothing[0].contains("grades nothing"));
        let broken = judge("lab-01", "t", Some(Outcome::Failed), Some(Outcome::Failed));
        assert!(broken[0].contains("does not pass on the solution"));
        let missing = judge("lab-01", "t", None, None);
        assert_eq!(
            missing.len(),
            2,
            "a graded test that does not exist is two problems"
        );
        let ignored = judge("lab-01", "t", Some(Outcome::Passed), Some(Outcome::Ignored));
        assert_eq!(ignored.len(), 1, "an ignored test grades nothing");
    }

    #[test]
    fn hidden_tests_and_instructor_ci_stay_out() {
        assert!(instructor_only(Path::new("labs/lab-01-x/tests/hidden.rs")));
        assert!(instructor_only(Path::new(".ci/run")));
        assert!(instructor_only(Path::new("tests/instructor.rs")));
        assert!(instructor_only(Path::new(
            "crates/grader/fixtures/hostile.toml"
        )));
        assert!(!instructor_only(Path::new(
            "labs/lab-01-x/tests/exercises.rs"
        )));
        assert!(!instructor_only(Path::new("src/SUMMARY.md")));
    }

    #[test]
    fn the_student_edition_has_a_version_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(
            &manifest,
            "[workspace]\nmembers = [\"labs/*\"]\n\n[workspace.package]\nversion = \"0.1.0\"\nedition = \"2024\"\n",
        )
        .unwrap();
        mark_as_student_edition(&manifest).unwrap();
        let table: toml::Table =
            toml::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        assert_eq!(
            table["workspace"]["package"]["version"].as_str(),
            Some("0.1.0-student-edition")
        );
        assert_eq!(table["workspace"]["members"][0].as_str(), Some("labs/*"));
        std::fs::write(&manifest, "[workspace]\n").unwrap();
        assert!(mark_as_student_edition(&manifest).is_err());
    }
}
