//! `cargo xtask gradescope-package`: the autograder bundle Gradescope asks
//! for — `setup.sh` and `run_autograder` at the top, with the course beside
//! them, as `/autograder/source`: the course as the grader builds it, every
//! lab's solutions replaced by its starters and the hidden tests kept. No
//! solution leaves the instructor's machine in it.

use crate::release::repository_files;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

/// Writes the bundle to `out`; returns how many files it holds.
pub fn write_package(root: &Path, out: &Path) -> Result<usize> {
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let plain = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let executable = plain.unix_permissions(0o755);
    let mut count = 0;
    for script in ["setup.sh", "run_autograder"] {
        zip.start_file(script, executable)?;
        zip.write_all(&std::fs::read(root.join("xtask/gradescope").join(script))?)?;
        count += 1;
    }
    for relative in repository_files(root)? {
        let source = root.join(&relative);
        let Some(content) = grader::edition::for_grading(&relative, std::fs::read(&source)?)?
        else {
            continue;
        };
        let name = relative.to_string_lossy().replace('\\', "/");
        let options = if is_executable(&source) {
            executable
        } else {
            plain
        };
        zip.start_file(name, options)?;
        zip.write_all(&content)?;
        count += 1;
    }
    zip.finish()?;
    Ok(count)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_has_the_scripts_on_top_and_every_course_file() {
        let root = crate::labs::workspace_root();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("autograder.zip");
        let count = write_package(&root, &out).unwrap();
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        assert_eq!(archive.len(), count);
        for script in ["setup.sh", "run_autograder"] {
            let entry = archive.by_name(script).unwrap();
            assert_eq!(entry.unix_mode().unwrap() & 0o755, 0o755, "{script}");
        }
        // Every course file is there — the hidden tests included — but
        // nothing only instructors need, and no build output.
        let mut names: Vec<String> = archive.file_names().map(String::from).collect();
        names.sort();
        let mut expected: Vec<String> = repository_files(&root)
            .unwrap()
            .iter()
            .filter(|p| !grader::edition::instructor_only(p))
            .map(|p| p.to_string_lossy().into_owned())
            .chain(["setup.sh".to_string(), "run_autograder".to_string()])
            .collect();
        expected.sort();
        assert_eq!(names, expected);
        assert!(!names.iter().any(|n| n.starts_with("target/")));
        assert!(names.iter().any(|n| n.ends_with("tests/hidden.rs")));
        // No solution: every lab's exercises are its starter.
        let mut exercises = 0;
        for name in &names {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut archive.by_name(name).unwrap(), &mut text)
                .unwrap_or_default();
            if name.starts_with("labs/") && name.ends_with(".rs") {
                assert!(!text.contains("// solution:begin"), "{name} has a solution");
            }
            if name.starts_with("labs/") && name.ends_with("src/exercises.rs") {
                exercises += 1;
                let original = std::fs::read_to_string(root.join(name)).unwrap();
                let starter = grader::edition::strip_solutions(&original).unwrap();
                assert_eq!(text, starter, "{name} is not the starter");
            }
        }
        assert!(exercises >= 10, "only {exercises} exercise files");
    }

    /// The grader cannot run (here: no cargo at all), and Gradescope still
    /// gets a results.json that says so, with a score of zero.
    #[test]
    fn run_autograder_writes_results_even_when_grading_fails() {
        let root = crate::labs::workspace_root();
        let autograder = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(autograder.path().join("source")).unwrap();
        std::fs::create_dir_all(autograder.path().join("submission")).unwrap();
        let status = std::process::Command::new("bash")
            .arg(root.join("xtask/gradescope/run_autograder"))
            .env("AUTOGRADER_ROOT", autograder.path())
            .env("HOME", autograder.path())
            .env("PATH", "/usr/bin:/bin")
            .status()
            .unwrap();
        assert!(status.success());
        let text = std::fs::read_to_string(autograder.path().join("results/results.json")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["score"], 0);
        assert!(
            value["output"]
                .as_str()
                .unwrap()
                .contains("could not grade")
        );
    }
}
