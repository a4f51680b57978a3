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
mod eval;
mod evolve;
mod experiment;
mod import;
mod interrupt;
mod model_cli;
mod multilingual;
mod pipeline;
mod postgres;
mod rank;
mod review_web;
mod round;
mod sample;
mod scripting;
mod serve;
mod surfaces;
mod sweep;
mod synth;
mod train_cli;
mod train_plan;
mod workers;

/// With `autotests = false`, a test file that no `integration.rs` names as a module would never
/// run: every `tests/*.rs` of the root and of the crates must be one (or a binary of its own in
/// its `Cargo.toml`, as `wgpu.rs`).
#[test]
fn every_test_file_is_a_module_of_its_test_binary() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.to_path_buf()];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        dirs.push(entry.unwrap().path());
    }
    let mut checked = 0;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("tests")) else {
            continue;
        };
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let main = std::fs::read_to_string(dir.join("tests/integration.rs")).unwrap_or_default();
        for entry in entries {
            let path = entry.unwrap().path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.extension().is_none_or(|e| e != "rs") || stem == "integration" {
                continue;
            }
            let own_binary = manifest.contains(&format!("path = \"tests/{stem}.rs\""));
            let module = main.lines().any(|l| l.trim() == format!("mod {stem};"));
            let auto = !manifest.contains("autotests = false");
            assert!(
                own_binary || module || auto,
                "{}: add `mod {stem};` to {}/tests/integration.rs",
                path.display(),
                dir.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 30,
        "the scan found too few test files: {checked}"
    );
}
