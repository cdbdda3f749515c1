//! A task's error as plain data, to send back from the child of `apart`
//! that ran the exercise: the pool's `TaskError` is not serialisable.

use lab_06::thread_pool::TaskError;
use serde::{Deserialize, Serialize};

/// [`TaskError`], as data.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum Failure {
    Panicked(String),
    ShutDown,
    BrokenPool(String),
    UnknownTask(String),
    WrongTypes(String),
}

impl From<TaskError> for Failure {
    fn from(error: TaskError) -> Failure {
        match error {
            TaskError::Panicked(why) => Failure::Panicked(why),
            TaskError::ShutDown => Failure::ShutDown,
            TaskError::BrokenPool(why) => Failure::BrokenPool(why),
            TaskError::UnknownTask(name) => Failure::UnknownTask(name),
            TaskError::WrongTypes(why) => Failure::WrongTypes(why),
        }
    }
}

/// Results with their errors as [`Failure`]s: one result or a list of them.
pub trait Plain {
    /// The same, as plain data.
    type Data;
    /// Turns the errors into [`Failure`]s.
    fn plain(self) -> Self::Data;
}

impl<T> Plain for Result<T, TaskError> {
    type Data = Result<T, Failure>;
    fn plain(self) -> Self::Data {
        self.map_err(Failure::from)
    }
}

impl<T> Plain for Vec<Result<T, TaskError>> {
    type Data = Vec<Result<T, Failure>>;
    fn plain(self) -> Self::Data {
        self.into_iter().map(Plain::plain).collect()
    }
}

/// Turns the errors of a result, or of a list of results, into [`Failure`]s.
pub fn plain<R: Plain>(results: R) -> R::Data {
    results.plain()
}
