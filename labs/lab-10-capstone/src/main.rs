//! `cargo run -p lab-10`: runs the capstone job in every model for three
//! mixes, predicts each time, and checks every claim. `--help` lists the
//! options, `--list` the experiments and claims.

fn main() -> std::process::ExitCode {
    labkit::cli::main(lab_10::lab())
}
