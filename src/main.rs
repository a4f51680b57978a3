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

// mimalloc's `mi_option_set(mi_option_purge_delay, -1)`: never give freed memory back to the OS.
// Tensors of the model and the trainer are hundreds of MB each and are freed and allocated again
// op after op; purged, every reuse faults its pages back in zeroed (`clear_page` was 41% of a
// training step's CPU time). The peak resident set is kept instead. Index 15 in the
// `mi_option_t` enum of both mimalloc v2 and v3 (libmimalloc-sys 0.1.49).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

fn main() -> ExitCode {
    // SAFETY: a plain option store in mimalloc, with a valid option index.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let args = cli::Cli::parse();
    // A stage started by a round ends with it (kill -9 of the round included).
    rrtf_pipeline::child::end_with_parent();
    cli::init_tracing(args.verbose, matches!(args.command, cli::Command::Serve(_)));
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // An error may quote stored text (a sample's output): no escape sequences through.
            eprintln!("error: {}", cli::term::clean(&format!("{err:#}")));
            ExitCode::from(cli::exit_code(&err))
        }
    }
}
