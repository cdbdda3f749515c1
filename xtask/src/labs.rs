//! Finding the labs: every `labs/*/Cargo.toml` whose package is called `lab-NN`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// One lab crate.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Package name, e.g. "lab-01".
    pub id: String,
    /// Its directory, e.g. `<root>/labs/lab-01-threads-and-processes`.
    pub dir: PathBuf,
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Every lab, sorted by id.
pub fn all(root: &Path) -> Result<Vec<Lab>> {
    let mut labs = Vec::new();
    let dir = root.join("labs");
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let dir = entry?.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let parsed: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
        let id = parsed
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .with_context(|| format!("{} has no package name", manifest.display()))?;
        labs.push(Lab {
            id: id.to_string(),
            dir,
        });
    }
    labs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(labs)
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
