//! A small Python interpreter with real OS threads, a GIL you can switch off,
//! and `multiprocessing` by `fork`.
//!
//! The pipeline is the classic one: [`lexer`] (text to tokens), [`parser`]
//! (tokens to a syntax tree, [`ast`]), [`compiler`] (tree to bytecode,
//! [`code`]), and [`vm`] (runs bytecode, one VM per thread, all sharing a
//! [`runtime`]). [`gil`] is the global interpreter lock, modelled on
//! CPython's; [`timeline`] records and draws who held it when.

pub mod ast;
pub mod code;
pub mod compiler;
pub mod gil;
pub mod lexer;
pub mod parser;
pub mod pickle;
pub mod pools;
pub mod runtime;
pub mod timeline;
pub mod value;
pub mod vm;

pub use runtime::{Options, Report, run_file, run_source};

use std::fmt;

/// A program the subset cannot run: where, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
    /// What is wrong, and what is supported instead where that helps.
    pub message: String,
}

impl SyntaxError {
    /// An error at `line`, `col`.
    pub fn new(line: u32, col: u32, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line,
            col,
            message: message.into(),
        }
    }
}

/// A Python exception that ended a thread: its type, message and where it
/// was raised (innermost call first).
#[derive(Debug, Clone, PartialEq)]
pub struct PyError {
    /// The exception's type, e.g. `ZeroDivisionError`.
    pub kind: &'static str,
    /// Its message.
    pub message: String,
    /// (function, line) of each frame it passed through, innermost first.
    pub traceback: Vec<(String, u32)>,
}

impl PyError {
    /// An exception not yet located.
    pub fn new(kind: &'static str, message: impl Into<String>) -> PyError {
        PyError {
            kind,
            message: message.into(),
            traceback: Vec::new(),
        }
    }

    /// As Python prints it: the calls, outermost first, then the exception.
    pub fn render(&self, file: &str) -> String {
        let mut text = String::from("Traceback (most recent call last):\n");
        for (function, line) in self.traceback.iter().rev() {
            text += &format!("  File \"{file}\", line {line}, in {function}\n");
        }
        if self.message.is_empty() {
            text += self.kind;
        } else {
            text += &format!("{}: {}", self.kind, self.message);
        }
        text
    }
}

/// Why a program did not run to the end.
#[derive(Debug)]
pub enum Error {
    /// It could not be compiled.
    Syntax {
        /// The file.
        file: String,
        /// The error.
        error: SyntaxError,
    },
    /// The main thread raised an exception.
    Runtime {
        /// The file.
        file: String,
        /// The exception.
        error: PyError,
        /// What the run produced up to there.
        report: Box<Report>,
    },
    /// The interpreter could not start (a missing file, no threads left).
    Start(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { file, error } => {
                write!(
                    f,
                    "{file}:{}:{}: SyntaxError: {}",
                    error.line, error.col, error.message
                )
            }
            Error::Runtime { file, error, .. } => write!(f, "{}", error.render(file)),
            Error::Start(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {}
