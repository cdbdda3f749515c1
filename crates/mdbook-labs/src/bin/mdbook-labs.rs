//! `mdbook-labs`: the `labs` preprocessor as a command, for people who run
//! `mdbook build` or `mdbook serve` themselves (`cargo install --path crates/mdbook-labs`).
//! `cargo xtask book` does not need it: it runs the preprocessor in-process.

use mdbook_labs::LabsPreprocessor;
use mdbook_preprocessor::Preprocessor;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // mdBook asks whether a renderer is supported: every renderer is.
        Some("supports") => ExitCode::SUCCESS,
        Some("--help" | "-h") => {
            println!("mdbook-labs: mdBook preprocessor for the course's measured results.\n");
            println!("mdBook runs it with the book as JSON on standard input; see book.toml.");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("mdbook-labs: unknown argument {other:?} (try --help)");
            ExitCode::from(2)
        }
        None => match run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("mdbook-labs: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run() -> anyhow::Result<()> {
    let (ctx, book) = mdbook_preprocessor::parse_input(std::io::stdin())?;
    if ctx.mdbook_version != mdbook_preprocessor::MDBOOK_VERSION {
        eprintln!(
            "mdbook-labs: built for mdBook {}, running under {}",
            mdbook_preprocessor::MDBOOK_VERSION,
            ctx.mdbook_version
        );
    }
    let book = LabsPreprocessor.run(&ctx, book)?;
    serde_json::to_writer(std::io::stdout(), &book)?;
    Ok(())
}
