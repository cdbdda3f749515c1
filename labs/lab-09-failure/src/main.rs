//! `cargo run -p lab-09`: crashes observed from outside, cancellation,
//! signals and shutdown; every demo ends by itself. `--help` lists the
//! options, `--list` the experiments and claims.

fn main() -> std::process::ExitCode {
    labkit::cli::main(lab_09::lab())
}
