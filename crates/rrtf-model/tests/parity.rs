//! Parity with transformers, from fixtures made by `scripts/make_model_fixtures.py` (which needs
//! torch; these tests do not). Tolerances: log-probs and logits 1e-4 absolute; greedy tokens
//! identical; a row's log-probs independent of its batch within 1e-5.

use std::path::Path;

use rrtf_model::{
    Batch, Checkpoint, Device, KvCache, SamplingParams, SaveDtype, TokenPair, generate,
    score_pairs, sequence_logprobs,
};
use serde_json::Value;

use crate::common;
use common::{expected, fixtures, floats, ids, load_on, max_abs_diff, pairs};

fn load(name: &str) -> Checkpoint {
    load_on(name, &Device::flex())
}

#[test]
fn tokens_and_logprobs_match_transformers() {
    let exp = expected();
    for name in ["mqa", "mha"] {
        let ckpt = load(name);
        let pairs = pairs(&ckpt, &exp);
        let rows = exp["models"][name]["logprobs"].as_array().unwrap();
        // Batched: all pairs in one padded batch.
        let scored = score_pairs(&ckpt.model, &pairs, ckpt.tokenizer.eos_id(), 8).unwrap();
        for ((pair, row), got) in pairs.iter().zip(rows).zip(&scored) {
            assert_eq!(
                pair.prompt_ids,
                ids(&row["prompt_ids"]),
                "{name}: prompt tokens"
            );
            assert_eq!(
                pair.response_ids,
                ids(&row["response_ids"]),
                "{name}: response tokens"
            );
            let want = floats(&row["token_logprobs"]);
            let diff = max_abs_diff(&got.token_logprobs, &want);
            assert!(
                diff < 1e-4,
                "{name}: log-probs differ by {diff}\n got {:?}\nwant {want:?}",
                got.token_logprobs
            );
            let sum: f64 = want.iter().map(|&x| x as f64).sum();
            assert!(
                (got.sum - sum).abs() < 1e-3 && (got.mean - sum / want.len() as f64).abs() < 1e-4
            );
        }
    }
}

#[test]
fn greedy_tokens_match_transformers() {
    let exp = expected();
    for name in ["mqa", "mha"] {
        let ckpt = load(name);
        let params = SamplingParams {
            max_new_tokens: exp["greedy_new_tokens"].as_u64().unwrap() as usize,
            ..Default::default()
        };
        for row in exp["models"][name]["greedy"].as_array().unwrap() {
            let prompt_ids = ckpt
                .tokenizer
                .encode(row["prompt"].as_str().unwrap())
                .unwrap();
            assert_eq!(prompt_ids, ids(&row["prompt_ids"]), "{name}: prompt tokens");
            let g = generate(&ckpt.model, &ckpt.tokenizer, &prompt_ids, &params).unwrap();
            assert_eq!(
                g.new_ids,
                ids(&row["new_ids"]),
                "{name}: greedy tokens for {:?}",
                row["prompt"]
            );
        }
    }
}

#[test]
fn generate_with_shows_every_token_and_can_cancel() {
    let ckpt = load("mqa");
    let prompt_ids = ckpt.tokenizer.encode("def ").unwrap();
    let params = SamplingParams {
        max_new_tokens: 6,
        temperature: 1.0,
        seed: 5,
        ..Default::default()
    };
    let plain = generate(&ckpt.model, &ckpt.tokenizer, &prompt_ids, &params).unwrap();
    let mut seen = Vec::new();
    let observed =
        rrtf_model::generate_with(&ckpt.model, &ckpt.tokenizer, &prompt_ids, &params, |ids| {
            seen.push(ids.to_vec());
            true
        })
        .unwrap();
    assert_eq!(observed, plain, "observing changes nothing");
    assert_eq!(seen.last(), Some(&plain.new_ids));
    assert_eq!(seen.len(), plain.new_ids.len());
    let cancelled =
        rrtf_model::generate_with(&ckpt.model, &ckpt.tokenizer, &prompt_ids, &params, |ids| {
            ids.len() < 2
        })
        .unwrap();
    assert_eq!(cancelled.stop_reason, rrtf_model::StopReason::Cancelled);
    assert_eq!(cancelled.new_ids, plain.new_ids[..2]);
}

/// Logits of `ids` (one row, positions from 0), flattened.
fn logits(ckpt: &Checkpoint, ids: &[u32]) -> Vec<f32> {
    use rrtf_model::model::GptBigCode;
    fn run(model: &GptBigCode, ids: &[u32]) -> Vec<f32> {
        let data: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let t = burn::tensor::Tensor::<2, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(data, [1, ids.len()]),
            &model.device(),
        );
        model
            .forward(t)
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }
    run(&ckpt.model, ids)
}

#[test]
fn our_saved_checkpoint_gives_transformers_logits() {
    let exp = expected();
    let dir = tempfile::tempdir().unwrap();
    for preset in ["tiny-mqa", "tiny-mha"] {
        let rec = &exp["saved"][preset];
        let seed = rec["seed"].as_u64().unwrap();
        let std = rec["init_std"].as_f64().unwrap();
        let tok = fixtures().join("tokenizer.json");
        let made = Checkpoint::init(preset, &tok, Some(std), seed, &Device::flex()).unwrap();
        let out = dir.path().join(preset);
        // Over the leftovers of a save that was killed: a truncated model file and the
        // killed save's staging directory. The save replaces each file whole and removes the
        // staging directory.
        std::fs::create_dir_all(out.join(".save-1.tmp")).unwrap();
        std::fs::write(out.join(".save-1.tmp/model.safetensors"), b"half").unwrap();
        std::fs::write(out.join("model.safetensors"), b"half").unwrap();
        made.save(&out, SaveDtype::F32).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            ["config.json", "model.safetensors", "tokenizer.json"],
            "{preset}"
        );
        let ckpt = Checkpoint::load(&out, &Device::flex()).unwrap();
        let want: Vec<f32> = rec["logits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        let diff = max_abs_diff(&logits(&ckpt, &ids(&rec["ids"])), &want);
        assert!(
            diff < 1e-4,
            "{preset}: logits differ from transformers' by {diff}"
        );
    }
}

#[test]
fn a_rows_logprobs_do_not_depend_on_its_batch() {
    let exp = expected();
    let ckpt = load("mqa");
    let pairs = pairs(&ckpt, &exp);
    let eos = ckpt.tokenizer.eos_id();
    let alone = score_pairs(&ckpt.model, &pairs, eos, 1).unwrap();
    let mut with_long = pairs.clone();
    with_long.push(TokenPair {
        prompt_ids: vec![5; 40],
        response_ids: vec![7; 20],
    });
    let together = score_pairs(&ckpt.model, &with_long, eos, 16).unwrap();
    for (a, b) in alone.iter().zip(&together) {
        let diff = max_abs_diff(&a.token_logprobs, &b.token_logprobs);
        assert!(diff < 1e-5, "batching changed a row by {diff}");
    }
}

#[test]
fn cached_decoding_matches_full_forward() {
    let ckpt = load("mha");
    let ids: Vec<u32> = vec![30, 31, 40, 100, 7, 9, 250];
    let full = logits(&ckpt, &ids);
    let vocab = full.len() / ids.len();
    let mut cache = KvCache::new();
    let first = rrtf_model::generate::next_logits(&ckpt.model, &ids[..4], &mut cache).unwrap();
    assert!(max_abs_diff(&first, &full[3 * vocab..4 * vocab]) < 1e-5);
    for i in 4..ids.len() {
        let step = rrtf_model::generate::next_logits(&ckpt.model, &ids[i..=i], &mut cache).unwrap();
        let diff = max_abs_diff(&step, &full[i * vocab..(i + 1) * vocab]);
        assert!(diff < 1e-5, "position {i}: cached logits differ by {diff}");
    }
    assert_eq!(cache.len(), ids.len());
}

#[test]
fn logprobs_are_differentiable_on_an_autodiff_device() {
    let exp = expected();
    let device = Device::flex().autodiff();
    let ckpt = Checkpoint::load(&fixtures().join("mqa"), &device).unwrap();
    let pairs = pairs(&ckpt, &exp);
    let max = ckpt.model.n_positions();
    let batch = Batch::new(&pairs, ckpt.tokenizer.eos_id(), max, &device).unwrap();
    let loss = sequence_logprobs(&ckpt.model, &batch).sum().neg();
    let grads = loss.backward();
    for (name, g) in [
        ("wte", ckpt.model.wte.weight.val().grad(&grads)),
        (
            "c_attn",
            ckpt.model.h[0].attn.c_attn.weight.val().grad(&grads),
        ),
    ] {
        let g: Vec<f32> = g
            .unwrap_or_else(|| panic!("no gradient for {name}"))
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        let norm: f32 = g.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            norm.is_finite() && norm > 0.0,
            "{name}: gradient norm {norm}"
        );
    }
}

#[test]
fn mismatched_checkpoint_lists_the_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("mqa");
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let config = std::fs::read_to_string(src.join("config.json")).unwrap();
    let mut config: Value = serde_json::from_str(&config).unwrap();
    config["n_layer"] = 3.into();
    config["n_inner"] = 48.into();
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let err = Checkpoint::load(dir.path(), &Device::flex())
        .unwrap_err()
        .to_string();
    for needle in [
        "missing (12): transformer.h.2.ln_1.weight",
        "transformer.h.0.mlp.c_fc.weight: expected [48, 32], found [64, 32]",
    ] {
        assert!(err.contains(needle), "{err}\nshould contain {needle:?}");
    }
    assert!(load_err(Path::new("/nonexistent")).contains("does not exist"));
}

fn load_err(dir: &Path) -> String {
    Checkpoint::load(dir, &Device::flex())
        .unwrap_err()
        .to_string()
}
