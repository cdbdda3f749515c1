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

/// The largest exercise file taken from a submission.
const LARGEST_EXERCISES: u64 = 1 << 20;

/// What was found where a submission should keep a lab's exercises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The file's path and its bytes.
    File(PathBuf, Vec<u8>),
    /// There is none.
    Missing,
    /// There is one, but it is not taken: why.
    Refused(String),
}

/// Where a submission keeps a lab's exercises, and their text. A submission
/// is the student's copy of the repository, possibly inside a folder (an
/// uploaded zip): the file is `<lab directory>/src/exercises.rs`, found at any
/// depth up to 4. A symbolic link anywhere on the way is refused — it could
/// point at the instructor's solution — as is a file too large to be one.
pub fn find_exercises(submission: &Path, lab: &CourseLab) -> Found {
    let Some(lab_name) = lab.relative.file_name() else {
        return Found::Missing;
    };
    let direct = lab.relative.join("src/exercises.rs");
    let path = if exists_without_following(submission, &direct) {
        Some(direct)
    } else {
        search(submission, Path::new(""), lab_name, 4)
    };
    let Some(relative) = path else {
        return Found::Missing;
    };
    if let Some(link) = first_symlink(submission, &relative) {
        return Found::Refused(format!(
            "{} is a symbolic link: submit the file itself",
            link.display()
        ));
    }
    read_exercises(&submission.join(&relative))
}

/// Whether `relative` names something under `base`, links not followed.
fn exists_without_following(base: &Path, relative: &Path) -> bool {
    std::fs::symlink_metadata(base.join(relative)).is_ok()
}

/// The first component of `relative` (under `base`) that is a symbolic link.
fn first_symlink(base: &Path, relative: &Path) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for component in relative.components() {
        path.push(component);
        let kind = std::fs::symlink_metadata(base.join(&path))
            .ok()?
            .file_type();
        if kind.is_symlink() {
            return Some(path);
        }
    }
    None
}

/// Reads an exercise file that must be a regular file of a sensible size.
fn read_exercises(path: &Path) -> Found {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path);
    let Ok(file) = opened else {
        return Found::Refused(format!("{} cannot be read", path.display()));
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Found::Refused(format!("{} is not a regular file", path.display()));
    }
    let mut bytes = Vec::new();
    let read = file.take(LARGEST_EXERCISES + 1).read_to_end(&mut bytes);
    if read.is_err() {
        return Found::Refused(format!("{} cannot be read", path.display()));
    }
    if bytes.len() as u64 > LARGEST_EXERCISES {
        return Found::Refused(format!(
            "{} is larger than {} KiB: that is not an exercise file",
            path.display(),
            LARGEST_EXERCISES >> 10
        ));
    }
    Found::File(path.to_path_buf(), bytes)
}

/// Looks for `<lab_name>/src/exercises.rs` under `base/relative`, without
/// following links, `depth` folders down.
fn search(
    base: &Path,
    relative: &Path,
    lab_name: &std::ffi::OsStr,
    depth: usize,
) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(base.join(relative))
        .ok()?
        .filter_map(|e| e.ok())
        // file_type() does not follow links: a linked folder is not entered.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| relative.join(e.file_name()))
        .collect();
    entries.sort();
    for path in &entries {
        if path.file_name() == Some(lab_name) {
            let file = path.join("src/exercises.rs");
            if exists_without_following(base, &file) {
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
        .find_map(|p| search(base, p, lab_name, depth - 1))
}

/// Copies the course into `dest` as the grader builds it: every lab's
/// solutions replaced by its starters (the student edition's rule), the
/// hidden tests kept, and nothing that only instructors need (their CI, the
/// grader's fixtures). A submission's exercise file is later written over its
/// lab's starter; no solution of any lab exists in the copy, so none can be
/// compiled in or read by a submission. Build output and version control are
/// skipped. A file whose content is already there is left alone, so its
/// modification time — and cargo's build cache — survive between runs.
pub fn sync_grading_edition(root: &Path, dest: &Path) -> Result<()> {
    for relative in course_files(root, Path::new(""))? {
        let source = root.join(&relative);
        let target = dest.join(&relative);
        let Some(content) = crate::edition::for_grading(&relative, std::fs::read(&source)?)? else {
            continue;
        };
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
            Found::File(nested.join("exercises.rs"), b"//! mine".to_vec())
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(find_exercises(empty.path(), &lab()), Found::Missing);
    }

    #[test]
    fn a_symbolic_link_on_the_way_is_refused() {
        let solution = tempfile::tempdir().unwrap();
        let answer = solution.path().join("exercises.rs");
        std::fs::write(&answer, "//! the instructor's").unwrap();
        // The file itself is a link.
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("labs/lab-01-threads/src");
        std::fs::create_dir_all(&src).unwrap();
        std::os::unix::fs::symlink(&answer, src.join("exercises.rs")).unwrap();
        let Found::Refused(why) = find_exercises(dir.path(), &lab()) else {
            panic!("a linked file was taken");
        };
        assert!(why.contains("symbolic link"), "{why}");
        // A folder on the way is a link.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("labs/lab-01-threads")).unwrap();
        std::os::unix::fs::symlink(solution.path(), dir.path().join("labs/lab-01-threads/src"))
            .unwrap();
        assert!(matches!(
            find_exercises(dir.path(), &lab()),
            Found::Refused(_)
        ));
        // A linked folder is not searched either.
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let inside = elsewhere.path().join("labs/lab-01-threads/src");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::write(inside.join("exercises.rs"), "//! far away").unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("linked")).unwrap();
        assert_eq!(find_exercises(dir.path(), &lab()), Found::Missing);
    }

    #[test]
    fn a_huge_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("labs/lab-01-threads/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("exercises.rs"), vec![b' '; 2 << 20]).unwrap();
        let Found::Refused(why) = find_exercises(dir.path(), &lab()) else {
            panic!("a 2 MiB file was taken");
        };
        assert!(why.contains("larger than"), "{why}");
    }

    #[test]
    fn the_grading_edition_has_starters_hidden_tests_and_no_solution() {
        let root = tempfile::tempdir().unwrap();
        let lab = root.path().join("labs/lab-01-threads");
        std::fs::create_dir_all(lab.join("src")).unwrap();
        std::fs::create_dir_all(lab.join("tests")).unwrap();
        std::fs::create_dir_all(root.path().join("target/debug")).unwrap();
        std::fs::create_dir_all(root.path().join(".ci")).unwrap();
        std::fs::write(
            lab.join("src/exercises.rs"),
            "pub fn f() -> u32 {\n    // solution:begin\n    42\n    // solution:end\n    // starter: todo!()\n}\n",
        )
        .unwrap();
        std::fs::write(lab.join("tests/hidden.rs"), "#[test]\nfn secret() {}\n").unwrap();
        std::fs::write(root.path().join("target/debug/big"), "x").unwrap();
        std::fs::write(root.path().join(".ci/run"), "ci").unwrap();
        let dest = tempfile::tempdir().unwrap();
        sync_grading_edition(root.path(), dest.path()).unwrap();
        let copied = dest.path().join("labs/lab-01-threads/src/exercises.rs");
        let text = std::fs::read_to_string(&copied).unwrap();
        assert!(text.contains("todo!()") && !text.contains("42"), "{text}");
        assert!(
            dest.path()
                .join("labs/lab-01-threads/tests/hidden.rs")
                .exists()
        );
        assert!(!dest.path().join("target").exists());
        assert!(!dest.path().join(".ci").exists());
        // An unchanged file keeps its time, so the build cache stays valid.
        let first = std::fs::metadata(&copied).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        sync_grading_edition(root.path(), dest.path()).unwrap();
        assert_eq!(
            std::fs::metadata(&copied).unwrap().modified().unwrap(),
            first
        );
    }
}
