//! The course never ships a lab its own grader refuses: every lab's
//! solution and its student starter pass the source gate with the lab's
//! `[gate]` configuration.

use grader::Course;
use grader::edition::strip_solutions;
use std::path::Path;

#[test]
fn every_labs_solution_and_starter_pass_its_gate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let course = Course::load(&root).unwrap();
    assert!(!course.labs.is_empty(), "no graded labs found");
    let mut problems = Vec::new();
    for lab in &course.labs {
        let path = root.join(&lab.relative).join("src/exercises.rs");
        let solution = std::fs::read_to_string(&path).unwrap();
        let starter = strip_solutions(&solution).unwrap();
        for (edition, text) in [("solution", &solution), ("starter", &starter)] {
            for refusal in grader::gate::check(text, &lab.grading.gate) {
                problems.push(format!(
                    "{} ({edition}): {refusal} [rule {:?}]",
                    lab.id, refusal.rule
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the gate refuses the course's own code; allow the rule in the lab's \
         grading.toml [gate] (with a comment saying why) or change the code:\n{}",
        problems.join("\n")
    );
}
