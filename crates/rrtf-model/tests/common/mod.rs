//! Helpers shared by the parity tests (parity.rs: flex against transformers' fixtures; wgpu.rs:
//! wgpu against flex and the same fixtures). Each test file uses some of them.
#![allow(dead_code)]

use std::path::PathBuf;

use rrtf_model::{Checkpoint, Device, TokenPair};
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    rrtf_model::fixtures_dir()
}

/// What transformers computed (`scripts/make_model_fixtures.py`).
pub fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A fixture checkpoint (`mqa`, `mha`) on `device`.
pub fn load_on(name: &str, device: &Device) -> Checkpoint {
    Checkpoint::load(&fixtures().join(name), device).unwrap()
}

pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The fixture's (prompt, response) pairs, encoded with the checkpoint's tokenizer.
pub fn pairs(ckpt: &Checkpoint, exp: &Value) -> Vec<TokenPair> {
    exp["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let (prompt, response) = (
                p["prompt"].as_str().unwrap(),
                p["response"].as_str().unwrap(),
            );
            TokenPair::encode(&ckpt.tokenizer, prompt, response).unwrap()
        })
        .collect()
}
