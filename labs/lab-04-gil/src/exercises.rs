//! Lab 04's exercises.
