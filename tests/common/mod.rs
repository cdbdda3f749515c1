//! Helpers shared by the whole-course tests.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root (the `course` package lives there).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One lab: its package name and directory.
pub struct Lab {
    pub id: String,
    pub dir: PathBuf,
}

/// Every directory under labs/ with a Cargo.toml, and its package name.
pub fn labs() -> Vec<Lab> {
    let mut labs: Vec<Lab> = std::fs::read_dir(root().join("labs"))
        .expect("labs/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|dir| dir.join("Cargo.toml").exists())
        .map(|dir| {
            let manifest: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
            let id = manifest["package"]["name"].as_str().unwrap().to_string();
            Lab { id, dir }
        })
        .collect();
    labs.sort_by(|a, b| a.id.cmp(&b.id));
    assert!(!labs.is_empty(), "no labs found");
    labs
}
