//! The results format, from `labkit_schema` (so that the book can read it
//! without the measuring code), and [`Measured`], what an experiment builds.

pub use crate::measured::Measured;
pub use labkit_schema::results::*;
