//! Int8 checkpoints (`rrtf_model::quant`): what quantizing writes, that decoding reads the int8
//! values and stays what the quantized weights compute, and that a sequence still decodes the
//! same alone or batched.

use rrtf_model::batch::Decoder;
use rrtf_model::weights::export;
use rrtf_model::{Checkpoint, Device, SamplingParams, TextPair, generate_many, generate_with};

use crate::common::{expected, load_on, max_abs_diff};

fn int8(name: &str) -> Checkpoint {
    let mut c = load_on(name, &Device::flex());
    assert!(!c.is_int8());
    let change = c.quantize_int8().unwrap();
    assert!(c.is_int8());
    assert!(change > 0.0, "quantizing changed nothing");
    c
}

/// Every quantized weight row is an integer multiple of its scale, max |w| / 127; the other
/// tensors are untouched.
#[test]
fn linear_layers_are_on_the_int8_grid_and_nothing_else_moved() {
    let f32_ckpt = load_on("mqa", &Device::flex());
    let q = int8("mqa");
    let (before, after) = (export(&f32_ckpt.model), export(&q.model));
    let mut quantized = 0;
    for (name, t) in &after {
        let is_linear = (name.contains(".attn.c_") || name.contains(".mlp.c_"))
            && name.ends_with(".weight")
            || name == "transformer.wte.weight";
        if !is_linear {
            assert_eq!(t, &before[name], "{name} changed");
            continue;
        }
        quantized += 1;
        let cols = t.shape[1];
        for row in t.data.chunks_exact(cols) {
            let scale = row.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
            for v in row {
                let steps = v / scale;
                assert!(
                    (steps - steps.round()).abs() < 1e-3,
                    "{name}: {v} / {scale}"
                );
            }
        }
    }
    assert_eq!(quantized, 4 * f32_ckpt.config.n_layer + 1);
}

/// Saved and loaded back, an int8 checkpoint is still int8, with the same weights.
#[test]
fn a_saved_int8_checkpoint_loads_as_int8() {
    let q = int8("mha");
    let dir = tempfile::tempdir().unwrap();
    q.save(dir.path(), rrtf_model::SaveDtype::F32).unwrap();
    let back = Checkpoint::load(dir.path(), &Device::flex()).unwrap();
    assert!(back.is_int8());
    assert_eq!(export(&back.model), export(&q.model));
}

/// Decoding steps (the int8 kernels) give the logits of the quantized model's full forward
/// pass, and a sequence decodes the same alone (`generate_with`) or batched (`generate_many`).
#[test]
fn int8_decoding_computes_the_quantized_weights_alone_or_batched() {
    for name in ["mqa", "mha"] {
        let q = int8(name);
        let dec = Decoder::new(&q.model).expect("host kernels");
        let ids: Vec<u32> = (0..24).map(|i| (i * 7 + 3) % 90).collect();
        let (mut cache, first) = dec.prefill(&ids[..6], 24);
        let mut got = first;
        for &t in &ids[6..] {
            got.extend(dec.step(&mut [(t, &mut cache)]));
        }
        let input = burn::tensor::Tensor::<2, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(ids.iter().map(|&i| i64::from(i)).collect(), [1, 24]),
            &q.model.device(),
        );
        let full = q
            .model
            .forward(input)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let vocab = dec.vocab_size();
        let diff = max_abs_diff(&got, &full[5 * vocab..]);
        assert!(
            diff < 1e-4,
            "{name}: int8 steps differ from the forward by {diff}"
        );

        let exp = expected();
        let prompts: Vec<Vec<u32>> = exp["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| q.tokenizer.encode(p["prompt"].as_str().unwrap()).unwrap())
            .collect();
        let params = |seed| SamplingParams {
            max_new_tokens: 20,
            temperature: 0.8,
            seed,
            ..Default::default()
        };
        let jobs: Vec<_> = prompts
            .iter()
            .flat_map(|p| [(p.clone(), params(1)), (p.clone(), params(2))])
            .collect();
        let together = generate_many(&q.model, &q.tokenizer, &jobs, 4, |_, _| true, |_| {});
        for ((ids, p), g) in jobs.iter().zip(together.unwrap()) {
            let alone = generate_with(&q.model, &q.tokenizer, ids, p, |_| true).unwrap();
            assert_eq!(g.new_ids, alone.new_ids, "{name}: batched int8 differs");
        }
    }
}

/// `compare`'s figures: log-prob differences small but not zero, agreement within bounds.
#[test]
fn compare_measures_the_cost() {
    let exp = expected();
    let pairs: Vec<TextPair> = serde_json::from_value(exp["pairs"].clone()).unwrap();
    let f32_ckpt = load_on("mqa", &Device::flex());
    let q = int8("mqa");
    let r = rrtf_model::quant::compare(&f32_ckpt, &q, &pairs, 8, 4).unwrap();
    assert_eq!(r.pairs, pairs.len());
    assert!(r.tokens > 0);
    assert!(
        r.mean_abs_logprob_diff > 0.0 && r.mean_abs_logprob_diff < 0.2,
        "{r:?}"
    );
    assert!(r.max_abs_logprob_diff >= r.mean_abs_logprob_diff);
    assert!(r.greedy_equal <= r.prompts);
    // The f32 checkpoint against itself: no difference at all.
    let same = rrtf_model::quant::compare(&f32_ckpt, &f32_ckpt, &pairs, 8, 4).unwrap();
    assert_eq!(same.mean_abs_logprob_diff, 0.0);
    assert_eq!(same.greedy_equal, same.prompts);
}
