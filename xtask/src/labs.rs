//! Finding the labs: every `labs/*/Cargo.toml` whose package is called `lab-NN`.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// One lab crate (the grader finds them; the rest of the tooling shares it).
pub use grader::course::LabDir as Lab;

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Every lab, sorted by id.
pub fn all(root: &Path) -> Result<Vec<Lab>> {
    grader::course::discover(root)
}

/// The labs named (all when none are), or an error listing the labs there are.
pub fn select(root: &Path, names: &[String]) -> Result<Vec<Lab>> {
    let labs = all(root)?;
    if names.is_empty() {
        return Ok(labs);
    }
    names
        .iter()
        .map(|name| {
            let found = labs.iter().find(|lab| &lab.id == name).cloned();
            match found {
                Some(lab) => Ok(lab),
                None => {
                    let ids: Vec<&str> = labs.iter().map(|l| l.id.as_str()).collect();
                    bail!("there is no lab {name:?}; the labs are: {}", ids.join(", "))
                }
            }
        })
        .collect()
}
