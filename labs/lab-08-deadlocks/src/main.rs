//! `cargo run -p lab-08`: runs every demo and checks every claim; each demo
//! ends by itself with a diagnosis. `--help` lists the options, `--list` the
//! experiments and claims.

fn main() -> std::process::ExitCode {
    labkit::cli::main(lab_08::lab())
}
