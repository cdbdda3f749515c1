//! Checks of the instructor's repository only: the student edition leaves
//! this file out (it has no hidden tests and no solutions to check).

mod common;

use common::labs;

#[test]
fn every_lab_has_graded_exercises() {
    for lab in labs() {
        for file in [
            "src/exercises.rs",
            "tests/exercises.rs",
            "tests/hidden.rs",
            "grading.toml",
        ] {
            assert!(lab.dir.join(file).exists(), "{} has no {file}", lab.id);
        }
        let exercises = std::fs::read_to_string(lab.dir.join("src/exercises.rs")).unwrap();
        let begins = exercises.matches("// solution:begin").count();
        assert!(
            begins >= 2,
            "{} has {begins} exercises, at least 2 are expected",
            lab.id
        );
        assert_eq!(
            begins,
            exercises.matches("// solution:end").count(),
            "{}: unbalanced solution markers",
            lab.id
        );
        assert!(
            exercises.matches("// starter: ").count() >= begins,
            "{}: an exercise has no starter",
            lab.id
        );
    }
}
