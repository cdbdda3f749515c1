//! Lab 04 — a GIL you can watch.

pub mod cli;
pub mod exercises;
pub mod interp;

/// The lab (experiments come next).
pub fn lab() -> labkit::Lab {
    labkit::Lab {
        id: "lab-04",
        title: "A GIL you can watch",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        experiments: vec![],
        options: vec![],
    }
}
