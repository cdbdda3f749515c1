//! `cargo run -p lab-04`: measures every experiment and checks every claim.
//! `cargo run -p lab-04 -- run FILE.py` runs a program in the lab's
//! interpreter. `--help` lists the options, `--list` the experiments and claims.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "run") {
        return lab_04::cli::run_command(&args[1..]);
    }
    if args.iter().skip(1).any(|a| a == "--help" || a == "-h") {
        println!("{}", lab_04::cli::RUN_HINT);
    }
    labkit::cli::main(lab_04::lab())
}
