//! The grader against hostile submissions (fixtures/hostile.toml): each is
//! graded zero, with the right message, for what it broke and full marks for
//! the rest; grading finishes in bounded time and leaves no process behind.
//! Builds get a short time limit, so that a build that never ends costs the
//! test little; the cache is filled first, so that no honest build comes near it.

use grader::build::{Built, build_tests};
use grader::config::BuildLimits;
use grader::edition::strip_solutions;
use grader::sandbox::{Identity, children_of, pids_of_user};
use grader::{Course, Options, Submission, SubmissionReport, grade};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
struct Fixtures {
    fixture: Vec<Fixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    name: String,
    /// The lab it is a submission of (lab 01 when not said).
    #[serde(default = "default_lab")]
    lab: String,
    #[serde(default)]
    replace: Option<String>,
    #[serde(default)]
    body: Option<String>,
    /// No `fails`: every test must pass.
    #[serde(default)]
    fails: Option<String>,
    /// More prefixes of tests that must fail, beside `fails`.
    #[serde(default)]
    fails_also: Vec<String>,
    #[serde(default)]
    passes: Vec<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    starter: bool,
    #[serde(default)]
    edit_tests: bool,
    /// Text that a `line N: …` line of the lab's problem must contain.
    #[serde(default)]
    problem: Option<String>,
    /// Graded with every rule of the source gate allowed.
    #[serde(default)]
    behind_the_gate: bool,
    /// `body` goes before the solution's lines instead of replacing them.
    #[serde(default)]
    prepend: bool,
    /// The exercise file is a symbolic link to the instructor's solution.
    #[serde(default)]
    link_to_solution: bool,
    /// Text that must appear nowhere in the report (messages, outputs, problems).
    #[serde(default)]
    never_shows: Vec<String>,
    /// Files the submission's tests create that must not exist after grading.
    #[serde(default)]
    leaves: Vec<String>,
}

/// The lab of most fixtures.
const LAB: &str = "lab-01";

fn default_lab() -> String {
    LAB.into()
}

/// Hostile tests that hang are stopped at this many seconds.
const TIMEOUT: f64 = 5.0;
/// Builds that never end are stopped at this many seconds. A rebuild of
/// lab 01 (its cache filled) takes about 5 s on a quiet machine and 17 s on
/// a 2-core machine running other builds: this leaves room for both.
const BUILD_TIMEOUT: f64 = 45.0;
const JOBS: usize = 2;

fn course_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `solution` with the body of `pub fn name` (its solution block) replaced,
/// or with `body` put before it when `prepend`.
fn replace_body(solution: &str, name: &str, body: &str, prepend: bool) -> String {
    let lines: Vec<&str> = solution.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(&format!("pub fn {name}")))
        .unwrap_or_else(|| panic!("no pub fn {name}"));
    let begin = start
        + lines[start..]
            .iter()
            .position(|l| l.trim() == "// solution:begin")
            .unwrap();
    let end = begin
        + lines[begin..]
            .iter()
            .position(|l| l.trim() == "// solution:end")
            .unwrap();
    let mut out: Vec<&str> = lines[..=begin].to_vec();
    out.extend(body.lines());
    if prepend {
        out.extend(&lines[begin + 1..end]);
    }
    out.extend(&lines[end..]);
    out.join("\n") + "\n"
}

/// Writes the fixture's submission: the lab's directory with its exercises
/// (the solution unchanged when nothing is replaced; and, for `edit_tests`,
/// rewritten tests and grading.toml).
fn write_submission(dir: &Path, fixture: &Fixture, lab: &Path, course: &Course) {
    let solution = std::fs::read_to_string(lab.join("src/exercises.rs")).unwrap();
    let exercises = if fixture.starter {
        strip_solutions(&solution).unwrap()
    } else if let Some(name) = fixture.replace.as_deref() {
        // `{course}` in a body is the instructor's course, where the solutions are.
        let body = fixture.body.as_deref().expect("body");
        let body = body.replace("{course}", &course.root.display().to_string());
        replace_body(&solution, name, &body, fixture.prepend)
    } else {
        solution
    };
    let copy = dir.join("labs").join(lab.file_name().unwrap());
    std::fs::create_dir_all(copy.join("src")).unwrap();
    std::fs::create_dir_all(copy.join("tests")).unwrap();
    if fixture.link_to_solution {
        std::os::unix::fs::symlink(lab.join("src/exercises.rs"), copy.join("src/exercises.rs"))
            .unwrap();
    } else {
        std::fs::write(copy.join("src/exercises.rs"), exercises).unwrap();
    }
    if fixture.edit_tests {
        let grading = &course
            .labs
            .iter()
            .find(|l| l.id == fixture.lab)
            .unwrap()
            .grading;
        let mut toml = String::new();
        for file in grading.files() {
            let mut tests = String::new();
            for test in grading.tests.iter().filter(|t| t.file == file) {
                tests.push_str(&format!("#[test]\nfn {}() {{}}\n", test.name));
                toml.push_str(&format!(
                    "[[test]]\nfile = \"{file}\"\nname = \"{}\"\npoints = 1000\n",
                    test.name
                ));
            }
            std::fs::write(copy.join(format!("tests/{file}.rs")), tests).unwrap();
        }
        std::fs::write(copy.join("grading.toml"), toml).unwrap();
    }
}

/// What is wrong with the grading of one fixture (empty when all is right).
fn check(fixture: &Fixture, report: &SubmissionReport) -> Vec<String> {
    let mut problems = Vec::new();
    for test in report.tests() {
        let should_fail = fixture
            .fails
            .iter()
            .chain(&fixture.fails_also)
            .any(|fails| test.name.starts_with(fails.as_str()))
            && !fixture.passes.contains(&test.name);
        let what = format!("{}: {}", fixture.name, test.name);
        if should_fail {
            if test.passed || test.score != 0.0 {
                problems.push(format!("{what} passed, but the fixture breaks it"));
            } else if !test.message.contains(&fixture.message) {
                problems.push(format!(
                    "{what}: expected a message with {:?}, got {:?}",
                    fixture.message, test.message
                ));
            }
        } else if !test.passed || test.score != test.max_score {
            problems.push(format!(
                "{what} should pass (the fixture leaves it alone), got {:?}",
                test.message
            ));
        }
    }
    if report.tests().count() == 0 {
        problems.push(format!("{}: no tests were graded", fixture.name));
    }
    let shown: Vec<&str> = report
        .tests()
        .flat_map(|t| [t.message.as_str(), t.output.as_str()])
        .chain(report.labs.iter().filter_map(|l| l.problem.as_deref()))
        .collect();
    for secret in &fixture.never_shows {
        if shown.iter().any(|text| text.contains(secret.as_str())) {
            problems.push(format!("{}: the report shows {secret:?}", fixture.name));
        }
    }
    for path in &fixture.leaves {
        if Path::new(path).exists() {
            problems.push(format!("{}: {path} outlived its test", fixture.name));
        }
    }
    if let Some(expected) = &fixture.problem {
        let lab_problem = report.labs.first().and_then(|l| l.problem.as_deref());
        let said = lab_problem.is_some_and(|p| {
            p.lines()
                .any(|l| l.trim_start().starts_with("line ") && l.contains(expected.as_str()))
        });
        if !said {
            problems.push(format!(
                "{}: expected a \"line N: …{expected}…\" in the lab's problem, got {lab_problem:?}",
                fixture.name
            ));
        }
    }
    problems
}

/// `course` with every rule of `lab`'s source gate allowed: for fixtures
/// that test what stands behind the gate.
fn without_the_gate(course: &Course, lab: &str) -> Course {
    let mut open = course.clone();
    for lab in open.labs.iter_mut().filter(|l| l.id == lab) {
        lab.grading.gate.allow = grader::gate::rule_names().map(String::from).collect();
    }
    open
}

#[test]
fn hostile_submissions_lose_what_they_break_and_nothing_is_left_behind() {
    // SAFETY: prctl with plain integer arguments.
    unsafe { nix::libc::prctl(nix::libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let root = course_root();
    let course = Course::load(&root).unwrap();
    let lab_dir =
        |lab: &str| root.join(&course.labs.iter().find(|l| l.id == lab).unwrap().relative);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile.toml"),
    )
    .unwrap();
    let fixtures: Fixtures = toml::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let submission = |fixture: &Fixture| {
        let path = dir.path().join(&fixture.name);
        write_submission(&path, fixture, &lab_dir(&fixture.lab), &course);
        Submission::from_dir(&path).unwrap()
    };
    let options = |lab: &str| Options {
        labs: vec![lab.into()],
        jobs: JOBS,
        work_dir: root.join("target/grader-fixtures"),
        timeout_cap: Some(TIMEOUT),
        build_timeout_cap: Some(BUILD_TIMEOUT),
        progress: true,
        unisolated: false,
        // The course's own build directory: the labs' crates.io crates are
        // compiled there already (by `cargo test --workspace`).
        build_dir: Some(root.join("target")),
    };
    let mut labs: Vec<&str> = fixtures.fixture.iter().map(|f| f.lab.as_str()).collect();
    labs.sort_unstable();
    labs.dedup();
    for lab in &labs {
        fill_the_cache(&course, &options(lab), lab);
    }
    let start = Instant::now();
    // Per lab, two gradings: the fixtures as a student would hand them in,
    // then those that test the sandbox and the verdict with the gate open.
    let mut graded: Vec<(&Fixture, SubmissionReport)> = Vec::new();
    for lab in &labs {
        let (open, gated): (Vec<&Fixture>, Vec<&Fixture>) = fixtures
            .fixture
            .iter()
            .filter(|f| f.lab == *lab)
            .partition(|f| f.behind_the_gate);
        for (group, course) in [
            (gated, course.clone()),
            (open, without_the_gate(&course, lab)),
        ] {
            if group.is_empty() {
                continue;
            }
            let submissions: Vec<Submission> = group.iter().map(|f| submission(f)).collect();
            let reports = grade(&course, &submissions, &options(lab)).unwrap();
            graded.extend(group.into_iter().zip(reports));
        }
    }
    let took = start.elapsed();
    eprintln!("graded {} hostile submissions in {took:.1?}", graded.len());

    let mut problems: Vec<String> = graded
        .iter()
        .flat_map(|(fixture, report)| check(fixture, report))
        .collect();
    let report_of = |name: &str| {
        &graded
            .iter()
            .find(|(f, _)| f.name == name)
            .unwrap_or_else(|| panic!("no fixture {name}"))
            .1
    };
    let broken = &report_of("does-not-compile").labs[0];
    if !broken
        .problem
        .as_deref()
        .is_some_and(|p| p.contains("mismatched types"))
    {
        problems.push(format!(
            "does-not-compile: the compiler's error is not in the report: {:?}",
            broken.problem
        ));
    }
    let endless = &report_of("endless-build").labs[0];
    if !endless.problem.as_deref().is_some_and(|p| {
        p.contains("build exceeded its limits: the time limit of")
            && p.contains("long_running_const_eval")
    }) {
        problems.push(format!(
            "endless-build: the report does not say which limit, and why: {:?}",
            endless.problem
        ));
    }
    if endless.build_seconds > BUILD_TIMEOUT + 15.0 {
        problems.push(format!(
            "endless-build: stopped after {:.1} s, not at the {BUILD_TIMEOUT} s limit",
            endless.build_seconds
        ));
    }
    let edited = report_of("edits-the-tests");
    if edited.max_score >= 1000.0 || edited.score != 0.0 {
        problems.push(format!(
            "edits-the-tests: scored {} of {}",
            edited.score, edited.max_score
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // After its build, no submission takes long: what it breaks is stopped
    // at its limits (the first build, of every dependency, is not counted).
    for (_, report) in &graded {
        let build: f64 = report.labs.iter().map(|l| l.build_seconds).sum();
        let after_build = report.seconds - build;
        assert!(
            after_build < 60.0,
            "{} took {after_build:.1} s after its build: it held the grader up",
            report.submission
        );
    }
    assert!(
        took < Duration::from_secs(1200),
        "grading took {took:?}: a hostile submission held the grader up"
    );
    // Nothing left: not in the sandbox users, not reparented to us.
    std::thread::sleep(Duration::from_millis(200));
    for slot in 0..JOBS {
        if let Some(identity) = Identity::for_slot(slot) {
            assert_eq!(pids_of_user(identity.uid), Vec::<i32>::new(), "slot {slot}");
        }
    }
    // The test made itself a subreaper: whatever a submission left behind
    // would have been reparented to it.
    let left = children_of(std::process::id() as i32);
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// Builds `lab`'s graded targets once with the default limits where the
/// grader will build them: dependencies compiled from a cold cache can take
/// minutes, far beyond the short limit the fixtures' builds get.
fn fill_the_cache(course: &Course, options: &Options, lab: &str) {
    let work_dir = &options.work_dir;
    let workspace = work_dir.join("course");
    grader::course::sync_grading_edition(&course.root, &workspace).unwrap();
    let graded = course.labs.iter().find(|l| l.id == lab).unwrap();
    let built = build_tests(
        &workspace,
        &work_dir.join("target"),
        lab,
        &graded.grading.files(),
        &BuildLimits::default(),
        options.build_dir.as_deref(),
    )
    .unwrap();
    assert!(matches!(built, Built::Ok(_)), "{lab}'s starter: {built:?}");
}

#[test]
fn a_check_that_cannot_fail_is_caught() {
    // The checker itself must fail a fixture graded wrongly: a broken test
    // that passed, or one that failed with the wrong message.
    let fixture = Fixture {
        name: "f".into(),
        lab: LAB.into(),
        replace: None,
        body: None,
        fails: Some("sum_in_threads".into()),
        fails_also: vec![],
        passes: vec![],
        message: "timed out".into(),
        starter: false,
        edit_tests: false,
        problem: None,
        behind_the_gate: false,
        prepend: false,
        link_to_solution: false,
        never_shows: vec![],
        leaves: vec![],
    };
    let test = |name: &str, passed: bool, message: &str| grader::grade::TestResult {
        lab: LAB.into(),
        file: "exercises".into(),
        name: name.into(),
        score: if passed { 1.0 } else { 0.0 },
        max_score: 1.0,
        passed,
        message: message.into(),
        output: String::new(),
        visibility: grader::config::Visibility::Visible,
        runs: 1,
        repeat: 1,
        seconds: 0.1,
    };
    let report = |tests: Vec<grader::grade::TestResult>| SubmissionReport {
        submission: "f".into(),
        path: PathBuf::new(),
        score: 0.0,
        max_score: 0.0,
        seconds: 0.0,
        labs: vec![grader::grade::LabReport {
            lab: LAB.into(),
            problem: None,
            build_seconds: 0.0,
            notes: vec![],
            tests,
        }],
    };
    let right = report(vec![
        test("sum_in_threads_adds_up", false, "timed out: still running"),
        test("run_in_a_thread_returns_the_value", true, ""),
    ]);
    assert!(check(&fixture, &right).is_empty());
    let passed_anyway = report(vec![test("sum_in_threads_adds_up", true, "")]);
    assert_eq!(check(&fixture, &passed_anyway).len(), 1);
    let wrong_message = report(vec![test("sum_in_threads_adds_up", false, "panicked")]);
    assert_eq!(check(&fixture, &wrong_message).len(), 1);
    let collateral = report(vec![test("run_in_a_thread_returns_the_value", false, "x")]);
    assert_eq!(check(&fixture, &collateral).len(), 1);
    // Without `fails`, every test must pass.
    let untouched = Fixture {
        fails: None,
        ..fixture
    };
    assert!(
        check(
            &untouched,
            &report(vec![test("sum_in_threads_adds_up", true, "")])
        )
        .is_empty()
    );
    assert_eq!(check(&untouched, &wrong_message).len(), 1);
    // More prefixes: a test that starts with one of them must fail too.
    let more = Fixture {
        fails: Some("sum_in_threads".into()),
        fails_also: vec!["run_in_a_thread".into()],
        ..untouched
    };
    let both_fail = report(vec![
        test("sum_in_threads_adds_up", false, "timed out: still running"),
        test(
            "run_in_a_thread_returns_the_value",
            false,
            "timed out: still running",
        ),
    ]);
    assert!(check(&more, &both_fail).is_empty());
    assert_eq!(check(&more, &right).len(), 1, "run_in_a_thread passed");
}
