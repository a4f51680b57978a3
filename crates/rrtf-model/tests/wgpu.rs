//! The model on wgpu (`--features wgpu`; in CI Mesa's lavapipe, a software Vulkan device) against
//! flex and transformers' fixtures: log-probs within 1e-4, greedy tokens identical, gradients
//! within 1e-4 of flex's. Which path runs is checked too: flex's inference copy takes the host
//! kernels, wgpu takes burn's ops.
//!
//! No adapter: `SKIPPED <test>: ...` in the fast tier, a failure naming
//! `apt-get install mesa-vulkan-drivers` under `RRTF_FULL_TESTS=1` (scripts/check, CI).
#![cfg(feature = "wgpu")]

use rrtf_model::{Batch, Device, SamplingParams, generate, score_pairs, sequence_logprobs};
mod common;
#[path = "common/wgpu_device.rs"]
mod wgpu_device;
use common::{expected, floats, ids, load_on as load, max_abs_diff, pairs};
use wgpu_device::wgpu;

#[test]
fn logprobs_on_wgpu_equal_flex_and_transformers() {
    let Some(gpu) = wgpu() else { return };
    let exp = expected();
    for name in ["mqa", "mha"] {
        let (cpu, dev) = (load(name, &Device::flex()), load(name, &gpu));
        assert!(
            cpu.model.host_kernels(),
            "{name}: flex runs the host kernels"
        );
        assert!(!dev.model.host_kernels(), "{name}: wgpu runs burn's ops");
        let pairs = pairs(&cpu, &exp);
        let eos = cpu.tokenizer.eos_id();
        let on_cpu = score_pairs(&cpu.model, &pairs, eos, 8).unwrap();
        let on_gpu = score_pairs(&dev.model, &pairs, eos, 8).unwrap();
        let rows = exp["models"][name]["logprobs"].as_array().unwrap();
        for ((c, g), row) in on_cpu.iter().zip(&on_gpu).zip(rows) {
            let to_flex = max_abs_diff(&g.token_logprobs, &c.token_logprobs);
            let want = floats(&row["token_logprobs"]);
            let to_hf = max_abs_diff(&g.token_logprobs, &want);
            eprintln!("{name}: wgpu vs flex {to_flex:.2e}, vs transformers {to_hf:.2e}");
            assert!(to_flex < 1e-4, "{name}: wgpu vs flex log-probs {to_flex}");
            assert!(
                to_hf < 1e-4,
                "{name}: wgpu vs transformers log-probs {to_hf}"
            );
        }
    }
}

#[test]
fn greedy_tokens_on_wgpu_equal_flex_and_transformers() {
    let Some(gpu) = wgpu() else { return };
    let exp = expected();
    let params = SamplingParams {
        max_new_tokens: exp["greedy_new_tokens"].as_u64().unwrap() as usize,
        ..Default::default()
    };
    for name in ["mqa", "mha"] {
        let (cpu, dev) = (load(name, &Device::flex()), load(name, &gpu));
        for row in exp["models"][name]["greedy"].as_array().unwrap() {
            let prompt = cpu
                .tokenizer
                .encode(row["prompt"].as_str().unwrap())
                .unwrap();
            let on_cpu = generate(&cpu.model, &cpu.tokenizer, &prompt, &params).unwrap();
            let on_gpu = generate(&dev.model, &dev.tokenizer, &prompt, &params).unwrap();
            assert_eq!(
                on_gpu.new_ids, on_cpu.new_ids,
                "{name}: {:?}",
                row["prompt"]
            );
            assert_eq!(
                on_gpu.new_ids,
                ids(&row["new_ids"]),
                "{name}: {:?}",
                row["prompt"]
            );
        }
    }
}

/// The gradient of the summed sequence log-probs on wgpu's autodiff device equals flex's (which
/// runs the fused GELU there; wgpu runs burn's GELU ops).
#[test]
fn logprob_gradients_on_wgpu_equal_flex() {
    let Some(gpu) = wgpu() else { return };
    let exp = expected();
    let grads = |device: Device| {
        let ckpt = load("mqa", &device);
        let pairs = pairs(&ckpt, &exp);
        let batch = Batch::new(
            &pairs,
            ckpt.tokenizer.eos_id(),
            ckpt.model.n_positions(),
            &device,
        )
        .unwrap();
        let loss = sequence_logprobs(&ckpt.model, &batch).sum().neg();
        let value = loss.clone().into_scalar::<f32>();
        let g = loss.backward();
        let vec = |t: Option<burn::tensor::Tensor<2>>| -> Vec<f32> {
            t.unwrap()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap()
        };
        (
            value,
            vec(ckpt.model.wte.weight.val().grad(&g)),
            vec(ckpt.model.h[1].mlp.c_fc.weight.val().grad(&g)),
        )
    };
    let (lc, wte_c, fc_c) = grads(Device::flex().autodiff());
    let (lg, wte_g, fc_g) = grads(gpu.autodiff());
    assert!((lc - lg).abs() < 1e-3 * lc.abs(), "loss {lc} vs {lg}");
    for (name, c, g) in [("wte", &wte_c, &wte_g), ("h.1.mlp.c_fc", &fc_c, &fc_g)] {
        let d = max_abs_diff(c, g);
        eprintln!("gradient of {name}: wgpu vs flex {d:.2e}");
        assert!(d < 1e-4, "{name}: gradients differ by {d}");
    }
}
