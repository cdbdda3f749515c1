//! No code: this crate only asks for features (see its Cargo.toml), so that
//! `cargo run -p lab-NN`, `cargo xtask …` and `cargo test --workspace` build
//! each shared dependency once, with the same features.
