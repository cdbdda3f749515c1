//! `cargo run -p lab-07`: measures every experiment and checks every claim.
//! `--help` lists the options, `--list` the experiments and claims.

fn main() -> std::process::ExitCode {
    labkit::cli::main(lab_07::lab())
}
