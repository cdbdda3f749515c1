//! The instructor's course as the grader sees it: the labs with a
//! `grading.toml`, and where a submission keeps each lab's exercises.

use crate::config::Grading;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// One lab crate: `labs/*/Cargo.toml` whose package is called `lab-NN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabDir {
    /// Package name, e.g. "lab-01".
    pub id: String,
    /// Its directory, e.g. `<root>/labs/lab-01-threads-and-processes`.
    pub dir: PathBuf,
}

/// Every lab under `root/labs`, sorted by id.
pub fn discover(root: &Path) -> Result<Vec<LabDir>> {
    let mut labs = Vec::new();
    let dir = root.join("labs");
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let dir = entry?.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let parsed: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
        let id = parsed
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .with_context(|| format!("{} has no package name", manifest.display()))?;
        labs.push(LabDir {
            id: id.to_string(),
            dir,
        });
    }
    labs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(labs)
}

/// A graded lab.
#[derive(Debug, Clone)]
pub struct CourseLab {
    /// Package name, e.g. "lab-01".
    pub id: String,
    /// Its directory relative to the course root, e.g. `labs/lab-01-threads-and-processes`.
    pub relative: PathBuf,
    /// Its graded tests and limits.
    pub grading: Grading,
}

/// The course: its root and its graded labs.
#[derive(Debug, Clone)]
pub struct Course {
    /// The instructor's repository (or, for GitHub Classroom, the student's).
    pub root: PathBuf,
    /// The labs that have a `grading.toml`, sorted by id.
    pub labs: Vec<CourseLab>,
}

impl Course {
    /// Loads the course at `root`; every graded test file must exist.
    pub fn load(root: &Path) -> Result<Course> {
        let mut labs = Vec::new();
        for lab in discover(root)? {
            let path = lab.dir.join("grading.toml");
            if !path.exists() {
                continue;
            }
            let grading = Grading::load(&path)?;
            for file in grading.files() {
                let test = lab.dir.join("tests").join(format!("{file}.rs"));
                if !test.exists() {
                    bail!(
                        "{} lists tests in tests/{file}.rs, which does not exist",
                        path.display()
                    );
                }
            }
            labs.push(CourseLab {
                id: lab.id,
                relative: lab.dir.strip_prefix(root)?.to_path_buf(),
                grading,
            });
        }
        if labs.is_empty() {
            bail!("{} has no lab with a grading.toml", root.display());
        }
        Ok(Course {
            root: root.to_path_buf(),
            labs,
        })
    }

    /// The labs named (all when none are), or an error listing the graded labs.
    pub fn select(&self, names: &[String]) -> Result<Vec<CourseLab>> {
        if names.is_empty() {
            return Ok(self.labs.clone());
        }
        names
            .iter()
            .map(|name| match self.labs.iter().find(|l| &l.id == name) {
                Some(lab) => Ok(lab.clone()),
                None => {
                    let ids: Vec<&str> = self.labs.iter().map(|l| l.id.as_str()).collect();
                    bail!(
                        "there is no graded lab {name:?}; the graded labs are: {}",
                        ids.join(", ")
                    )
                }
            })
            .collect()
    }
}

/// Where a submission keeps a lab's exercises. A submission is the student's
/// copy of the repository, possibly inside a folder (an uploaded zip): the
/// file is `<lab directory>/src/exercises.rs`, found at any depth up to 4.
pub fn find_exercises(submission: &Path, lab: &CourseLab) -> Option<PathBuf> {
    let lab_name = lab.relative.file_name()?.to_owned();
    let direct = submission.join(&lab.relative).join("src/exercises.rs");
    if direct.is_file() {
        return Some(direct);
    }
    search(submission, &lab_name, 4)
}

fn search(dir: &Path, lab_name: &std::ffi::OsStr, depth: usize) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in &entries {
        if path.file_name() == Some(lab_name) {
            let file = path.join("src/exercises.rs");
            if file.is_file() {
                return Some(file);
            }
        }
    }
    if depth == 0 {
        return None;
    }
    entries
        .iter()
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            !name.starts_with('.') && name != "target"
        })
        .find_map(|p| search(p, lab_name, depth - 1))
}

/// Copies the course into `dest` for building, skipping build output and
/// version control. A file whose content is already there is left alone, so
/// its modification time — and cargo's build cache — survive between runs.
pub fn sync_copy(root: &Path, dest: &Path) -> Result<()> {
    for relative in course_files(root, Path::new(""))? {
        let source = root.join(&relative);
        let target = dest.join(&relative);
        let content = std::fs::read(&source)?;
        if std::fs::read(&target).is_ok_and(|old| old == content) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, content)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

fn course_files(root: &Path, relative: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let dir = root.join(relative);
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        let path = relative.join(&name);
        let kind = entry.file_type()?;
        let top_level_output = relative.as_os_str().is_empty() && name_text == "book";
        if name_text == "target" || name_text == ".git" || top_level_output {
            continue;
        }
        if kind.is_dir() {
            files.extend(course_files(root, &path)?);
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Grading;

    fn lab() -> CourseLab {
        CourseLab {
            id: "lab-01".into(),
            relative: PathBuf::from("labs/lab-01-threads"),
            grading: Grading::parse("").unwrap(),
        }
    }

    #[test]
    fn exercises_are_found_at_the_top_or_inside_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("alice-main/labs/lab-01-threads/src");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("exercises.rs"), "//! mine").unwrap();
        assert_eq!(
            find_exercises(dir.path(), &lab()),
            Some(nested.join("exercises.rs"))
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(find_exercises(empty.path(), &lab()), None);
    }

    #[test]
    fn the_copy_skips_build_output_and_keeps_unchanged_files() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("target/debug")).unwrap();
        std::fs::create_dir_all(root.path().join("src")).unwrap();
        std::fs::write(root.path().join("target/debug/big"), "x").unwrap();
        std::fs::write(root.path().join("src/lib.rs"), "//! a").unwrap();
        let dest = tempfile::tempdir().unwrap();
        sync_copy(root.path(), dest.path()).unwrap();
        assert!(!dest.path().join("target").exists());
        let copied = dest.path().join("src/lib.rs");
        let first = std::fs::metadata(&copied).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        sync_copy(root.path(), dest.path()).unwrap();
        assert_eq!(
            std::fs::metadata(&copied).unwrap().modified().unwrap(),
            first
        );
    }
}
