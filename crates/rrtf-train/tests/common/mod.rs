//! The loss fixtures shared by `loss_parity.rs` and `sft.rs`: the PyTorch results
//! (`scripts/make_train_fixtures.py`, float64) and the tolerance they are held to.

#![allow(dead_code)] // each test binary uses its own part

pub mod tiny;

use std::path::{Path, PathBuf};

use rrtf_model::{Checkpoint, Device};
use rrtf_train::{EncodeStats, EncodedGroup, Templates, encode_groups, read_jsonl};
use serde_json::Value;

/// Relative error allowed against PyTorch (absolute below 1).
pub const TOL: f64 = 1e-4;

/// `crates/rrtf-model/tests/fixtures/train`: groups.jsonl and expected.json.
pub fn fixtures() -> PathBuf {
    rrtf_model::fixtures_dir().join("../train")
}

/// PyTorch's values (`expected.json`).
pub fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
        .unwrap()
}

/// `got` within [`TOL`] of `want`.
pub fn check(what: &str, got: f64, want: f64) {
    let err = (got - want).abs() / want.abs().max(1.0);
    assert!(
        err <= TOL,
        "{what}: got {got}, want {want} (relative error {err:.2e})"
    );
}

/// A 1-d tensor's values.
pub fn values(t: burn::tensor::Tensor<1>) -> Vec<f64> {
    rrtf_train::loss::to_vec(t)
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// The fixture checkpoint `name` (`mqa`, `mha`) and the groups of `groups` encoded verbatim
/// within 128 tokens.
pub fn load(
    name: &str,
    groups: &Path,
    device: &Device,
) -> (Checkpoint, Vec<EncodedGroup>, EncodeStats) {
    let ckpt = Checkpoint::load(&rrtf_model::fixtures_dir().join(name), device).unwrap();
    let groups = read_jsonl(groups, false).unwrap();
    let (enc, stats) =
        encode_groups(&groups, &ckpt.tokenizer, &Templates::verbatim(), 128).unwrap();
    (ckpt, enc, stats)
}
