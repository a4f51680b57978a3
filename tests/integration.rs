//! The `rrtf` binary's end-to-end tests, one test binary (as ripgrep's `tests/`): each file
//! below is a module, run with `cargo test --test integration [module::test]`. Helpers shared by
//! them are in `common/`.
// Test code runs the `rrtf` binary under test: the clippy.toml rule against `Command::new` is for
// library code.
#![allow(clippy::disallowed_methods)]

mod common;

mod cli;
mod cli_exec;
mod decontaminate;
mod evolve;
mod experiment;
mod import;
mod model_cli;
mod pipeline;
mod rank;
mod review_web;
mod round;
mod sample;
mod serve;
mod surfaces;
mod sweep;
mod synth;
mod train_cli;
