//! rrtf-exec's integration tests, one test binary: each file below is a module
//! (`cargo test --workspace --test integration [module::test]`); `common/` has their helpers.

mod common;

mod adversarial;
mod adversarial_compiled;
mod cache;
mod humaneval;
mod languages;
mod python_judge;
mod sandbox;
