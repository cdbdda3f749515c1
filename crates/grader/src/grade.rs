//! Grading submissions: one build workspace (the instructor's course with a
//! submission's exercise files in it) and one build cache for every
//! submission; builds one after another, graded tests in parallel sandboxes.
//!
//! Only `src/exercises.rs` of each lab is taken from a submission. Everything
//! else — the tests students see, the hidden ones, `grading.toml`, the lab's
//! other code, labkit, the manifests — is the instructor's, so a submission
//! that edits its tests or the harness changes nothing. And that file must
//! pass the source gate ([`crate::gate`]) before it is built at all.
//!
//! Nothing a submission does stops the grading of the others: a lab that
//! does not compile, or whose build reaches its limits (time, memory, output
//! — see [`crate::build`]), scores zero with the reason on every test, and
//! grading goes on with the next lab and the next submission in the same
//! workspace and cache.

use crate::build::{self, Built};
use crate::config::{GradedTest, Visibility};
use crate::course::{self, Course, CourseLab};
use crate::gate;
use crate::isolation::Isolation;
use crate::sandbox::{self, Identity};
use crate::verdict;
use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender};
use serde::Serialize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A submission to grade: a name for the reports and its directory.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Shown in reports (the directory's name by default).
    pub name: String,
    /// The student's repository, or a folder that holds it.
    pub dir: PathBuf,
}

impl Submission {
    /// A submission named after its directory.
    pub fn from_dir(dir: &Path) -> Result<Submission> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("there is no submission at {}", dir.display()))?;
        if !dir.is_dir() {
            anyhow::bail!("{} is not a directory", dir.display());
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "submission".into());
        Ok(Submission { name, dir })
    }
}

/// How to grade.
#[derive(Debug, Clone)]
pub struct Options {
    /// Labs to grade (all graded labs when empty).
    pub labs: Vec<String>,
    /// Tests run at once (the core count by default).
    pub jobs: usize,
    /// Where the build workspace and its cache live.
    pub work_dir: PathBuf,
    /// An upper bound on every test's time limit, in seconds.
    pub timeout_cap: Option<f64>,
    /// An upper bound on every build's time limit (`[build]` in a lab's
    /// `grading.toml`), in seconds.
    pub build_timeout_cap: Option<f64>,
    /// Print a line per lab built and per submission graded (to stderr).
    pub progress: bool,
    /// Run tests even where the kernel allows no namespaces and the grader
    /// is not root — safe only for code you trust (your own).
    pub unisolated: bool,
    /// A build directory to share (cargo's `build-dir`), e.g. the
    /// instructor's `target`: crates.io crates already compiled there are
    /// not compiled again. The graded copy's packages have a version of their
    /// own, so none of its builds takes the place of an instructor's.
    pub build_dir: Option<PathBuf>,
}

/// The result of one graded test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// The lab, e.g. "lab-01".
    pub lab: String,
    /// The test target (`tests/<file>.rs`).
    pub file: String,
    /// The test's name.
    pub name: String,
    /// Points earned: all or nothing.
    pub score: f64,
    /// Points it is worth.
    pub max_score: f64,
    /// Whether every run passed.
    pub passed: bool,
    /// Why it did not pass (empty when it did).
    pub message: String,
    /// The captured output of the run that failed (empty when it passed).
    pub output: String,
    /// Who sees the result on Gradescope.
    pub visibility: Visibility,
    /// Runs made (it stops at the first failure).
    pub runs: u32,
    /// Runs required.
    pub repeat: u32,
    /// Wall-clock seconds of all its runs.
    pub seconds: f64,
}

/// The grading of one lab of one submission.
#[derive(Debug, Clone, Serialize)]
pub struct LabReport {
    /// The lab, e.g. "lab-01".
    pub lab: String,
    /// Why no test could run (no exercises file, the source gate refused
    /// it, it did not compile, or its build exceeded its limits).
    pub problem: Option<String>,
    /// Seconds spent building.
    pub build_seconds: f64,
    /// Things an instructor should look at, which do not change the grade.
    pub notes: Vec<String>,
    /// Every graded test, in the order of `grading.toml`.
    pub tests: Vec<TestResult>,
}

/// The grading of one submission.
#[derive(Debug, Clone, Serialize)]
pub struct SubmissionReport {
    /// The submission's name.
    pub submission: String,
    /// Its directory.
    pub path: PathBuf,
    /// Points earned.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// Wall-clock seconds from its first build to its last test.
    pub seconds: f64,
    /// One report per graded lab.
    pub labs: Vec<LabReport>,
}

impl SubmissionReport {
    /// Every test result, lab by lab.
    pub fn tests(&self) -> impl Iterator<Item = &TestResult> {
        self.labs.iter().flat_map(|l| l.tests.iter())
    }
}

/// One test to run: where its result goes, and what to run.
struct Job {
    submission: usize,
    lab: usize,
    test: usize,
    lab_id: String,
    graded: GradedTest,
    executable: PathBuf,
}

/// A finished run of one job: which test, and how it went.
type Done = (usize, usize, usize, TestResult);

/// The reports being filled in, and how many tests each still waits for.
struct Tally {
    reports: Vec<SubmissionReport>,
    started: Vec<Instant>,
    pending: Vec<usize>,
    finished: usize,
    progress: bool,
}

impl Tally {
    fn record(&mut self, (s, l, t, result): Done) {
        self.reports[s].labs[l].tests[t] = result;
        self.pending[s] -= 1;
        self.close_if_done(s);
    }

    /// Totals submission `s` once none of its tests is pending, and says so.
    fn close_if_done(&mut self, s: usize) {
        if self.pending[s] > 0 {
            return;
        }
        self.finished += 1;
        let of = self.reports.len();
        let report = &mut self.reports[s];
        report.seconds = self.started[s].elapsed().as_secs_f64();
        report.score = report.tests().map(|t| t.score).sum();
        report.max_score = report.tests().map(|t| t.max_score).sum();
        if self.progress {
            eprintln!(
                "[{}/{}] {}: {} of {} points ({:.1} s)",
                self.finished,
                of,
                report.submission,
                points(report.score),
                points(report.max_score),
                report.seconds
            );
        }
    }
}

/// Grades each submission on the selected labs; the reports come back in
/// the order of `submissions`. Errors only when grading itself cannot go on
/// (no cargo, an unwritable work directory) — never for a submission's fault.
pub fn grade(
    course: &Course,
    submissions: &[Submission],
    options: &Options,
) -> Result<Vec<SubmissionReport>> {
    let labs = course.select(&options.labs)?;
    let workspace = options.work_dir.join("course");
    let target_dir = options.work_dir.join("target");
    course::sync_grading_edition(&course.root, &workspace)
        .with_context(|| format!("copying the course into {}", workspace.display()))?;
    // Sandbox users (root mode) may not read the workspace: it holds the
    // hidden tests' sources. The tests run from copies in a public area.
    if nix::unistd::geteuid().is_root() {
        std::fs::set_permissions(&options.work_dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", options.work_dir.display()))?;
    }
    // Each lab's starter, put back after each build: one submission's
    // exercises must never be compiled into another's grading.
    let starters = labs
        .iter()
        .map(|lab| std::fs::read(exercises_in(&workspace, lab)))
        .collect::<std::io::Result<Vec<_>>>()
        .context("reading the starters of the grading workspace")?;
    let area = public_tempdir()?;
    let isolation = isolate(course, submissions, options, area.path())?;
    sandbox::become_subreaper();
    let mut tally = Tally {
        reports: submissions
            .iter()
            .map(|s| SubmissionReport {
                submission: s.name.clone(),
                path: s.dir.clone(),
                score: 0.0,
                max_score: 0.0,
                seconds: 0.0,
                labs: Vec::new(),
            })
            .collect(),
        started: vec![Instant::now(); submissions.len()],
        pending: vec![0; submissions.len()],
        finished: 0,
        progress: options.progress,
    };
    let (job_sender, job_receiver) = crossbeam_channel::unbounded::<Job>();
    let (result_sender, result_receiver) = crossbeam_channel::unbounded::<Done>();
    std::thread::scope(|scope| -> Result<()> {
        for slot in 0..options.jobs.clamp(1, sandbox::SLOTS) {
            let receiver = job_receiver.clone();
            let sender = result_sender.clone();
            let area = area.path();
            let isolation = isolation.as_ref();
            scope.spawn(move || worker(slot, area, isolation, receiver, sender));
        }
        drop(result_sender);
        // Builds happen here, one after another (they share the cache);
        // tests run on the workers meanwhile.
        for (s, submission) in submissions.iter().enumerate() {
            tally.started[s] = Instant::now();
            for (l, lab) in labs.iter().enumerate() {
                let built = build_lab(
                    &workspace,
                    &target_dir,
                    area.path(),
                    s,
                    submission,
                    lab,
                    options,
                );
                put_back(&exercises_in(&workspace, lab), &starters[l])?;
                let (report, executables) = built?;
                tally.reports[s].labs.push(report);
                let Some(executables) = executables else {
                    continue;
                };
                for (t, graded) in lab.grading.tests.iter().enumerate() {
                    let mut graded = graded.clone();
                    if let Some(cap) = options.timeout_cap {
                        graded.limits.timeout_seconds = graded.limits.timeout_seconds.min(cap);
                    }
                    tally.pending[s] += 1;
                    job_sender.send(Job {
                        submission: s,
                        lab: l,
                        test: t,
                        lab_id: lab.id.clone(),
                        executable: executables[&graded.file].clone(),
                        graded,
                    })?;
                }
            }
            tally.close_if_done(s);
            while let Ok(done) = result_receiver.try_recv() {
                tally.record(done);
            }
        }
        drop(job_sender);
        for done in result_receiver.iter() {
            tally.record(done);
        }
        Ok(())
    })?;
    Ok(tally.reports)
}

/// The namespaces each test runs in: the course, the work directory and the
/// submissions out of sight. Where the kernel refuses them, a root grader goes on with its
/// sandbox users (which still kill every process a test leaves); a grader
/// that is not root refuses, unless told the code is trusted.
fn isolate(
    course: &Course,
    submissions: &[Submission],
    options: &Options,
    area: &Path,
) -> Result<Option<Isolation>> {
    // Out of sight: the solutions, the build, every run's program and
    // directory, and every submission (a test must not read another
    // student's code, nor write it).
    let hidden: Vec<PathBuf> = [
        course.root.clone(),
        options.work_dir.clone(),
        area.to_path_buf(),
    ]
    .into_iter()
    .chain(submissions.iter().map(|s| s.dir.clone()))
    .collect();
    let isolation = Isolation::new(&hidden);
    let Err(why) = isolation.check() else {
        return Ok(Some(isolation));
    };
    let root = nix::unistd::geteuid().is_root();
    if !root && !options.unisolated {
        anyhow::bail!(
            "cannot run tests in namespaces of their own ({why:#}), and without them a \
             submission's tests would run as you, able to read your files and leave \
             processes behind. Grade as root in a container (as Gradescope does), or \
             allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; \
             on Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0), or — for \
             your own code only — pass --unisolated"
        );
    }
    if root && let Some(readable) = solution_others_can_read(course) {
        anyhow::bail!(
            "cannot run tests in namespaces of their own ({why:#}), and {} holds a \
             solution that the sandbox users could read. Grade from a course without \
             solutions (the Gradescope bundle is one: cargo xtask gradescope-package), \
             or make the solutions unreadable to others (chmod o-r)",
            readable.display()
        );
    }
    if options.progress {
        eprintln!(
            "note: tests run without namespaces ({why:#}){}",
            if root {
                "; each still runs as a sandbox user of its own"
            } else {
                ", as you: --unisolated"
            }
        );
    }
    Ok(None)
}

/// A lab's exercise file in the course that holds a solution and that users
/// other than its owner may read.
fn solution_others_can_read(course: &Course) -> Option<PathBuf> {
    course.labs.iter().find_map(|lab| {
        let path = exercises_in(&course.root, lab);
        let readable = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0);
        let solution =
            std::fs::read_to_string(&path).is_ok_and(|text| text.contains("// solution:begin"));
        (readable && solution).then_some(path)
    })
}

/// Points without a needless ".0".
pub fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// Puts a submission's exercises into the workspace and builds the lab's
/// graded test targets; the executables are copied out (the next build
/// overwrites them). `None` when no test can run, with the reason in the report.
fn build_lab(
    workspace: &Path,
    target_dir: &Path,
    area: &Path,
    index: usize,
    submission: &Submission,
    lab: &CourseLab,
    options: &Options,
) -> Result<(LabReport, Option<build::Executables>)> {
    let start = Instant::now();
    let mut report = LabReport {
        lab: lab.id.clone(),
        problem: None,
        build_seconds: 0.0,
        notes: Vec::new(),
        tests: lab
            .grading
            .tests
            .iter()
            .map(|t| unrun(&lab.id, t))
            .collect(),
    };
    let text = match course::find_exercises(&submission.dir, lab) {
        course::Found::File(_, text) => text,
        course::Found::Missing => {
            let problem = format!(
                "no {}/src/exercises.rs in the submission: nothing to grade",
                lab.relative.display()
            );
            zero_all(&mut report, &problem);
            report.problem = Some(problem);
            return Ok((report, None));
        }
        course::Found::Refused(why) => {
            zero_all(&mut report, &format!("refused: {why}"));
            report.problem = Some(format!("refused: {why}"));
            return Ok((report, None));
        }
    };
    // The gate runs before the file reaches the workspace: a refused file is
    // never compiled, so nothing it names (another file, a constructor) runs.
    let refusals = match std::str::from_utf8(&text) {
        Ok(source) => {
            report.notes = suspicious(source);
            gate::check(source, &lab.grading.gate)
        }
        Err(error) => vec![gate::Refusal {
            line: String::from_utf8_lossy(&text[..error.valid_up_to()])
                .lines()
                .count()
                .max(1),
            rule: "utf-8".into(),
            reason: "the file is not UTF-8 text, which Rust source must be; save it as UTF-8"
                .into(),
        }],
    };
    if let Some(first) = refusals.first() {
        let more = match refusals.len() {
            1 => String::new(),
            n => format!(" (and {} more: see the lab's problem)", n - 1),
        };
        zero_all(
            &mut report,
            &format!("refused by the source gate: {first}{more}"),
        );
        let list: Vec<String> = refusals.iter().map(|r| format!("  {r}")).collect();
        report.problem = Some(format!(
            "refused by the source gate ({}/src/exercises.rs was not built; the lab scores zero):\n{}",
            lab.relative.display(),
            list.join("\n")
        ));
        return Ok((report, None));
    }
    put_back(&exercises_in(workspace, lab), &text)?;
    if options.progress {
        eprintln!("[{}] {}: building", submission.name, lab.id);
    }
    let mut limits = lab.grading.build;
    if let Some(cap) = options.build_timeout_cap {
        limits.timeout_seconds = limits.timeout_seconds.min(cap);
    }
    let built = build::build_tests(
        workspace,
        target_dir,
        &lab.id,
        &lab.grading.files(),
        &limits,
        options.build_dir.as_deref(),
    )?;
    report.build_seconds = start.elapsed().as_secs_f64();
    match built {
        Built::Exceeded(limit) => {
            let message = format!("build exceeded its limits: {limit}");
            zero_all(&mut report, &message);
            report.problem = Some(format!(
                "{message}. The lab scores zero. Look for code the compiler cannot \
                 finish with: a `const` or `static` computed in a loop that does not \
                 end (`#[allow(long_running_const_eval)]` turns off the compiler's \
                 own check), a macro that expands without end, or code that makes \
                 the compiler print warnings without end; make sure the lab builds \
                 with `cargo test --no-run` in reasonable time. (Instructors: an \
                 honest build that needs more can get it in the `[build]` table of \
                 the lab's grading.toml.)"
            ));
            Ok((report, None))
        }
        Built::Failed(errors) => {
            zero_all(
                &mut report,
                "did not compile: the lab scores zero (see the build errors)",
            );
            report.problem = Some(format!("did not compile:\n{errors}"));
            Ok((report, None))
        }
        Built::Ok(executables) => {
            let dir = area.join(format!("{index}-{}", lab.id));
            std::fs::create_dir_all(&dir)?;
            let mut copies = build::Executables::new();
            for (name, path) in executables {
                let copy = dir.join(&name);
                std::fs::copy(&path, &copy)
                    .with_context(|| format!("copying {}", path.display()))?;
                std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))?;
                copies.insert(name, copy);
            }
            Ok((report, Some(copies)))
        }
    }
}

/// Where the grading workspace keeps a lab's exercises.
fn exercises_in(workspace: &Path, lab: &CourseLab) -> PathBuf {
    workspace.join(&lab.relative).join("src/exercises.rs")
}

/// Writes `content` to `path` unless it is there already (an unchanged file
/// keeps its time, and cargo's cache stays valid).
fn put_back(path: &Path, content: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(content) {
        std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A test that has not run (yet): zero points.
fn unrun(lab: &str, test: &GradedTest) -> TestResult {
    TestResult {
        lab: lab.to_string(),
        file: test.file.clone(),
        name: test.name.clone(),
        score: 0.0,
        max_score: test.points,
        passed: false,
        message: "not run".into(),
        output: String::new(),
        visibility: test.visibility,
        runs: 0,
        repeat: test.repeat,
        seconds: 0.0,
    }
}

fn zero_all(report: &mut LabReport, message: &str) {
    for test in &mut report.tests {
        test.message = message.to_string();
    }
}

/// Notes on what the source gate does not refuse but an instructor should
/// read: `--exact` is an argument the grader gives the test program, which
/// only code that looks at how it is run needs (the report's own text is
/// refused by the gate).
fn suspicious(code: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if code.contains("--exact") {
        notes.push(
            "the code contains \"--exact\", an argument the grader passes to the test program: read it before trusting this grade"
                .to_string(),
        );
    }
    notes
}

/// A worker: runs jobs in sandbox slot `slot` until there are no more.
fn worker(
    slot: usize,
    area: &Path,
    isolation: Option<&Isolation>,
    jobs: Receiver<Job>,
    results: Sender<Done>,
) {
    let identity = Identity::for_slot(slot);
    for job in jobs.iter() {
        let result = run_test(&job, area, identity, isolation);
        if results
            .send((job.submission, job.lab, job.test, result))
            .is_err()
        {
            return;
        }
    }
}

/// Runs one graded test as many times as it must pass, stopping at the first failure.
fn run_test(
    job: &Job,
    area: &Path,
    identity: Option<Identity>,
    isolation: Option<&Isolation>,
) -> TestResult {
    let graded = &job.graded;
    let mut result = unrun(&job.lab_id, graded);
    let args = vec![
        graded.name.clone(),
        "--exact".into(),
        "--test-threads=1".into(),
        "--color=never".into(),
    ];
    let start = Instant::now();
    for run in 1..=graded.repeat {
        result.runs = run;
        let dir = area.join(format!(
            "{}-{}-{}-{}-{run}",
            job.submission, job.lab_id, graded.file, graded.name
        ));
        let finished = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)))
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                sandbox::run(
                    &job.executable,
                    &args,
                    &dir,
                    &graded.limits,
                    identity,
                    isolation,
                )
            });
        let _ = std::fs::remove_dir_all(&dir);
        let finished = match finished {
            Ok(finished) => finished,
            Err(err) => {
                result.message = format!("the grader could not run the test: {err:#}");
                break;
            }
        };
        let verdict = verdict::judge(&finished, &graded.name, &graded.limits);
        if !verdict.passed {
            result.message = if graded.repeat > 1 {
                format!(
                    "failed on run {run} of {}: {}",
                    graded.repeat, verdict.message
                )
            } else {
                verdict.message
            };
            result.output = finished.output;
            break;
        }
        if run == graded.repeat {
            result.passed = true;
            result.score = graded.points;
            result.message = verdict.message;
        }
    }
    result.seconds = start.elapsed().as_secs_f64();
    result
}

/// A temporary directory every sandbox user can enter (tests run as other
/// users when the grader is root, and must reach their executables).
fn public_tempdir() -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("grader-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Grading;

    #[test]
    fn a_refused_file_scores_zero_unbuilt_and_the_table_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let lab = CourseLab {
            id: "lab-01".into(),
            relative: PathBuf::from("labs/lab-01-x"),
            grading: Grading::parse(
                "[[test]]\nfile='exercises'\nname='a'\npoints=2\n[[test]]\nfile='hidden'\nname='b'\npoints=3",
            )
            .unwrap(),
        };
        let src = dir.path().join("alice/labs/lab-01-x/src");
        std::fs::create_dir_all(&src).unwrap();
        let attack = "pub fn a() {}\n#[path = \"../../../labs/lab-01-x/src/exercises.rs\"]\nmod instructor;\npub fn b() { std::process::exit(0) }\n";
        std::fs::write(src.join("exercises.rs"), attack).unwrap();
        let submission = Submission::from_dir(&dir.path().join("alice")).unwrap();
        let options = Options {
            labs: vec![],
            jobs: 1,
            work_dir: dir.path().join("work"),
            timeout_cap: None,
            build_timeout_cap: None,
            progress: false,
            unisolated: false,
            build_dir: None,
        };
        // The workspace does not exist: a refused file never reaches it, and
        // no build is attempted.
        let nowhere = dir.path().join("no-workspace");
        let (lab_report, executables) =
            build_lab(&nowhere, &nowhere, &nowhere, 0, &submission, &lab, &options).unwrap();
        assert!(executables.is_none());
        assert!(!nowhere.exists());
        for test in &lab_report.tests {
            assert_eq!(test.score, 0.0);
            assert!(
                test.message.starts_with(
                    "refused by the source gate: line 2: #[path] makes a module out of another file"
                ),
                "{}",
                test.message
            );
            assert!(
                test.message
                    .ends_with("(and 1 more: see the lab's problem)")
            );
        }
        let problem = lab_report.problem.clone().unwrap();
        assert!(problem.contains("\n  line 2: #[path]"), "{problem}");
        assert!(problem.contains("\n  line 4: `exit` ends"), "{problem}");
        let report = SubmissionReport {
            submission: "alice".into(),
            path: submission.dir.clone(),
            score: 0.0,
            max_score: 5.0,
            seconds: 0.0,
            labs: vec![lab_report],
        };
        let table = crate::report::table(&report);
        println!("{table}");
        assert!(
            table.contains("refused by the source gate: line 2"),
            "{table}"
        );
        assert!(
            table.contains("lab-01: refused by the source gate ("),
            "{table}"
        );
        assert!(table.contains("  line 4: `exit` ends or replaces the test's process"));
    }
}
