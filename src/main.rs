//! `rrtf`: the command-line front of the toolkit. Thin glue over the library crates in `crates/`:
//! arguments are parsed here, validated by the crates, and errors are mapped to exit codes
//! (0 ok, 1 runtime failure, 2 bad usage or bad input).

mod cli;

use std::process::ExitCode;

use clap::Parser;

// glibc malloc fragments under SQLite's and serde's many small allocations; mimalloc made the
// batched import about 2x faster (crates/rrtf-data/benches/io.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose, matches!(args.command, cli::Command::Serve(_)));
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cli::exit_code(&err))
        }
    }
}
