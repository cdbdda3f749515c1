//! The grades in four forms: a terminal table, Gradescope's `results.json`,
//! GitHub Classroom's autograding result, and plain JSON.

use crate::config::Visibility;
use crate::grade::{SubmissionReport, TestResult, points};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::{Value, json};

/// How a test is named in every format: `lab-01 exercises::name`.
fn test_name(test: &TestResult) -> String {
    format!("{} {}::{}", test.lab, test.file, test.name)
}

/// The first line of a message, shortened for a table cell.
fn short(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    let mut text: String = first.chars().take(110).collect();
    if text.len() < first.len() || message.lines().nth(1).is_some() {
        text.push('…');
    }
    text
}

/// A terminal table: points per test, then each lab's build problem and
/// notes, then the total.
pub fn table(report: &SubmissionReport) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["lab", "test", "points", "result"]);
    if table.width().is_none() {
        table.set_width(140);
    }
    for test in report.tests() {
        let result = if test.passed {
            if test.repeat > 1 {
                format!("pass ({} runs)", test.runs)
            } else {
                "pass".to_string()
            }
        } else {
            short(&test.message)
        };
        table.add_row([
            test.lab.clone(),
            format!("{}::{}", test.file, test.name),
            format!("{} / {}", points(test.score), points(test.max_score)),
            result,
        ]);
    }
    let mut text = format!("== {}\n{table}\n", report.submission);
    for lab in &report.labs {
        if let Some(problem) = &lab.problem {
            text.push_str(&format!("{}: {problem}\n", lab.lab));
        }
    }
    for note in instructor_notes(report) {
        text.push_str(&format!("note: {note}\n"));
    }
    text.push_str(&format!(
        "total: {} of {} points ({:.1} s)\n",
        points(report.score),
        points(report.max_score),
        report.seconds
    ));
    text
}

/// What an instructor should look at in a submission, whatever its grade:
/// each lab's notes, what was refused, and any failing run whose output holds
/// more than one of libtest's reports — what printing a fake one looks like.
pub fn instructor_notes(report: &SubmissionReport) -> Vec<String> {
    let mut notes = Vec::new();
    for lab in &report.labs {
        notes.extend(lab.notes.iter().map(|n| format!("{}: {n}", lab.lab)));
        if let Some(problem) = lab.problem.as_deref().filter(|p| p.starts_with("refused")) {
            notes.push(format!("{}: {}", lab.lab, short(problem)));
        }
    }
    for test in report.tests().filter(|t| !t.passed) {
        let summaries = test
            .output
            .lines()
            .filter(|l| l.contains("test result: "))
            .count();
        if summaries > 1 {
            notes.push(format!(
                "{}: its output holds {summaries} test summaries where libtest prints one: \
                 read the code before trusting any grade of this submission",
                test_name(test)
            ));
        }
    }
    notes
}

/// One row per submission: the class at a glance.
pub fn class_table(reports: &[SubmissionReport]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "submission",
        "points",
        "tests passed",
        "did not build",
        "notes",
        "seconds",
    ]);
    for report in reports {
        let passed = report.tests().filter(|t| t.passed).count();
        let broken: Vec<&str> = report
            .labs
            .iter()
            .filter(|l| l.problem.is_some())
            .map(|l| l.lab.as_str())
            .collect();
        table.add_row([
            report.submission.clone(),
            format!("{} / {}", points(report.score), points(report.max_score)),
            format!("{passed} / {}", report.tests().count()),
            broken.join(", "),
            match instructor_notes(report).len() {
                0 => String::new(),
                n => format!("{n} (see its report)"),
            },
            format!("{:.1}", report.seconds),
        ]);
    }
    table.to_string()
}

/// The text shown with a test on Gradescope and GitHub Classroom: the
/// message, then the captured output of the failing run.
fn feedback(test: &TestResult) -> String {
    if test.passed {
        return test.message.clone();
    }
    if test.output.trim().is_empty() {
        test.message.clone()
    } else {
        format!(
            "{}\n\n--- output ---\n{}",
            test.message,
            test.output.trim_end()
        )
    }
}

/// Build problems and notes, for the submission-level output.
fn summary(report: &SubmissionReport) -> String {
    let mut text = String::new();
    for lab in &report.labs {
        if let Some(problem) = &lab.problem {
            text.push_str(&format!("{}: {problem}\n\n", lab.lab));
        }
    }
    text.push_str(&format!(
        "{} of {} points.\n",
        points(report.score),
        points(report.max_score)
    ));
    text
}

fn visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Visible => "visible",
        Visibility::AfterDueDate => "after_due_date",
        Visibility::AfterPublished => "after_published",
        Visibility::Hidden => "hidden",
    }
}

/// Gradescope's `results.json`. Instructor notes come as one more test, worth
/// no points, that students never see.
pub fn gradescope(report: &SubmissionReport) -> Value {
    let mut tests: Vec<Value> = report
        .tests()
        .map(|test| {
            json!({
                "name": test_name(test),
                "score": test.score,
                "max_score": test.max_score,
                "status": if test.passed { "passed" } else { "failed" },
                "output": feedback(test),
                "visibility": visibility(test.visibility),
            })
        })
        .collect();
    let notes = instructor_notes(report);
    if !notes.is_empty() {
        tests.push(json!({
            "name": "instructor notes (never shown to students)",
            "score": 0,
            "max_score": 0,
            "output": notes.join("\n"),
            "visibility": "hidden",
        }));
    }
    json!({
        "score": report.score,
        "execution_time": report.seconds.round() as u64,
        "output": summary(report),
        "tests": tests,
    })
}

/// The result GitHub Classroom's grading reporter reads (base64 of this
/// JSON in `<RUNNER>_RESULTS`): version 1, a status, the maximum, the tests.
pub fn classroom(report: &SubmissionReport) -> Value {
    let tests: Vec<Value> = report
        .tests()
        .map(|test| {
            let broken = report
                .labs
                .iter()
                .any(|l| l.lab == test.lab && l.problem.is_some());
            let status = match (test.passed, broken) {
                (true, _) => "pass",
                (false, true) => "error",
                (false, false) => "fail",
            };
            json!({
                "name": test_name(test),
                "status": status,
                "score": test.score,
                "message": feedback(test),
                "test_code": format!("cargo test -p {} --test {} -- --exact {}", test.lab, test.file, test.name),
                "filename": format!("tests/{}.rs", test.file),
                "line_no": 0,
                "execution_time": format!("{:.2}s", test.seconds),
            })
        })
        .collect();
    let status = if report.labs.iter().any(|l| l.problem.is_some()) {
        "error"
    } else if report.tests().all(|t| t.passed) {
        "pass"
    } else {
        "fail"
    };
    json!({
        "version": 1,
        "status": status,
        "max_score": report.max_score,
        "tests": tests,
    })
}

/// Everything the grader knows, as JSON.
pub fn plain(report: &SubmissionReport) -> Value {
    serde_json::to_value(report).expect("reports serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::LabReport;
    use std::path::PathBuf;

    fn test(name: &str, passed: bool, points: f64, visibility: Visibility) -> TestResult {
        TestResult {
            lab: "lab-01".into(),
            file: "exercises".into(),
            name: name.into(),
            score: if passed { points } else { 0.0 },
            max_score: points,
            passed,
            message: if passed {
                String::new()
            } else {
                "timed out: still running".into()
            },
            output: if passed {
                String::new()
            } else {
                "running 1 test".into()
            },
            visibility,
            runs: 1,
            repeat: 1,
            seconds: 0.5,
        }
    }

    fn report() -> SubmissionReport {
        SubmissionReport {
            submission: "alice".into(),
            path: PathBuf::from("/s/alice"),
            score: 2.0,
            max_score: 5.0,
            seconds: 12.4,
            labs: vec![LabReport {
                lab: "lab-01".into(),
                problem: None,
                build_seconds: 3.0,
                notes: vec![],
                tests: vec![
                    test("a", true, 2.0, Visibility::Visible),
                    test("b", false, 3.0, Visibility::AfterDueDate),
                ],
            }],
        }
    }

    #[test]
    fn gradescope_has_the_fields_it_requires() {
        let value = gradescope(&report());
        assert_eq!(value["score"], 2.0);
        assert_eq!(value["execution_time"], 12);
        let tests = value["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0]["name"], "lab-01 exercises::a");
        assert_eq!(tests[0]["status"], "passed");
        assert_eq!(tests[1]["status"], "failed");
        assert_eq!(tests[1]["max_score"], 3.0);
        assert_eq!(tests[1]["visibility"], "after_due_date");
        assert!(tests[1]["output"].as_str().unwrap().contains("timed out"));
    }

    #[test]
    fn classroom_has_version_status_max_and_scores() {
        let value = classroom(&report());
        assert_eq!(value["version"], 1);
        assert_eq!(value["status"], "fail");
        assert_eq!(value["max_score"], 5.0);
        let scores: f64 = value["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["score"].as_f64().unwrap())
            .sum();
        assert_eq!(scores, 2.0);
        let mut broken = report();
        broken.labs[0].problem = Some("did not compile".into());
        assert_eq!(classroom(&broken)["status"], "error");
        assert_eq!(classroom(&broken)["tests"][1]["status"], "error");
    }

    #[test]
    fn the_table_shows_each_test_and_the_total() {
        let text = table(&report());
        assert!(text.contains("exercises::a") && text.contains("2 / 2"));
        assert!(text.contains("timed out"));
        assert!(text.contains("total: 2 of 5 points"));
        assert!(class_table(&[report()]).contains("1 / 2"));
    }

    #[test]
    fn notes_reach_gradescope_hidden_and_the_class_table() {
        let clean = report();
        assert!(instructor_notes(&clean).is_empty());
        assert_eq!(gradescope(&clean)["tests"].as_array().unwrap().len(), 2);
        let mut forged = report();
        forged.labs[0].tests[1].output =
            "test b ... ok\ntest result: ok. 1 passed;\ntest b ... FAILED\ntest result: FAILED. 0 passed; 1 failed;".into();
        forged.labs[0].notes.push("something odd".into());
        let notes = instructor_notes(&forged);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[1].contains("2 test summaries"), "{notes:?}");
        let value = gradescope(&forged);
        let last = value["tests"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["visibility"], "hidden");
        assert_eq!(last["max_score"], 0);
        assert!(last["output"].as_str().unwrap().contains("something odd"));
        // Never in what a student sees before grades are published.
        assert!(!value["output"].as_str().unwrap().contains("something odd"));
        assert!(class_table(&[forged.clone()]).contains("2 (see its report)"));
        assert!(table(&forged).contains("note: lab-01: something odd"));
    }
}
