//! The `mdbook-labs` command speaks mdBook's preprocessor protocol: it answers
//! `supports RENDERER`, and turns `[context, book]` JSON on stdin into the
//! expanded book on stdout, or fails with a message on stderr.

use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::{Book, BookItem, Chapter};
use mdbook_preprocessor::config::Config;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdbook-labs"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The JSON mdBook sends: the context (book root = this repository) and a
/// book of one chapter with `content`.
fn input(content: &str) -> String {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ctx = PreprocessorContext::new(root, Config::default(), "html".into());
    let chapter = Chapter::new("Test", content.into(), "test.md", vec![]);
    let book = Book::new_with_items(vec![BookItem::Chapter(chapter)]);
    serde_json::to_string(&(ctx, book)).unwrap()
}

#[test]
fn it_supports_every_renderer() {
    assert!(run(&["supports", "html"], "").status.success());
}

#[test]
fn it_expands_directives_in_the_book_it_is_given() {
    let output = run(
        &[],
        &input("Threads: {{#lab-value lab-01 io.threads_speedup}}"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let book: Book = serde_json::from_slice(&output.stdout).unwrap();
    let text = &book.chapters().next().unwrap().content;
    assert!(
        text.starts_with("Threads: ") && text.ends_with('×'),
        "{text}"
    );
}

#[test]
fn a_bad_directive_fails_with_a_message_naming_it() {
    let output = run(&[], &input("{{#lab-value lab-01 nope.nothing}}"));
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("{{#lab-value lab-01 nope.nothing}}"),
        "{message}"
    );
}

#[test]
fn garbage_on_stdin_is_an_error_not_a_panic() {
    let output = run(&[], "not json");
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("mdbook-labs:") && !message.contains("panicked"),
        "{message}"
    );
}
