//! Training throughput, for `rrtf train bench` and `scripts/bench_train.py`: the real
//! [`Trainer`] (RRTF loss, backward, global-norm clipping, AdamW) on synthetic ranked groups of
//! fixed shape, timed per optimizer step; the first `warmup` steps are not counted.
//!
//! Also measures this device's f32 matmul rate on a large square product, so the model FLOP
//! utilisation (MFU) can be stated against what this machine does in the same run.
//!
//! Model FLOPs per token (the usual convention, e.g. PaLM appendix B): `6·N + 12·L·T·E`, with
//! `N` the parameters that multiply activations (every `Linear` and the LM head; not the
//! position embedding nor LayerNorms, and the token embedding counts once, as the tied head), `L`
//! layers, `T` the sequence length, `E` the width; attention is counted without the causal half.
//! Every token of the batch counts (prompt and response), whatever the implementation skips.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use rrtf_config::Training;
use rrtf_model::{GptBigCode, GptBigCodeConfig};
use serde::Serialize;

use crate::data::EncodedGroup;
use crate::error::{Result, TrainError};
use crate::trainer::Trainer;

/// Shape of the synthetic batches.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchOptions {
    /// Ranked groups per optimizer step (`training.batch_size`; no accumulation).
    pub groups: usize,
    /// Responses per group.
    pub group_size: usize,
    pub prompt_len: usize,
    /// Response tokens, end-of-text included.
    pub response_len: usize,
    /// Timed optimizer steps.
    pub steps: usize,
    /// Untimed steps first.
    pub warmup: usize,
    pub seed: u64,
}

/// Measured rates.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchReport {
    pub options: TrainBenchOptions,
    pub parameters: usize,
    /// `6·N + 12·L·T·E` (see the module doc).
    pub model_flops_per_token: f64,
    /// Sequences (prompt + response) per step and their length.
    pub sequences: usize,
    pub seq_len: usize,
    /// Every token of a step's batch, prompt included.
    pub tokens_per_step: usize,
    /// Seconds of each timed step.
    pub step_seconds: Vec<f64>,
    /// Steady state: timed tokens / timed seconds.
    pub tokens_per_s: f64,
    /// Timed tokens / CPU seconds of the process (user + system, all threads) over the timed
    /// steps: the rate per core actually granted, less sensitive to a busy machine. `None` where
    /// `/proc/self/stat` is unreadable.
    pub tokens_per_cpu_s: Option<f64>,
    /// The same over response (trained-on) tokens only.
    pub response_tokens_per_s: f64,
    /// Best of a few `[n, n] × [n, n]` f32 products on the inference device.
    pub matmul_gflops: f64,
    /// `model_flops_per_token · tokens_per_s / matmul rate`.
    pub mfu: f64,
    /// Loss of the last step (finite: the run trained).
    pub last_loss: f64,
    /// Bytes of the model's parameters as stored (each at its dtype: a bf16 LoRA base counts 2
    /// bytes an element), adapters included, after the trainer set the model up.
    pub param_bytes: u64,
    /// Peak resident size of this process during the steps (warm-up included), in MiB: the
    /// kernel's high-water mark reset after the model is set up (`/proc/self/clear_refs`), so
    /// loading does not count. On flex the device's memory is the process's. `None` where
    /// Linux does not offer it.
    pub peak_rss_steps_mib: Option<f64>,
    /// Resident size when the steps began (the model set up), MiB.
    pub rss_at_start_mib: Option<f64>,
}

/// Synthetic groups: token ids from a fixed LCG (never the pad/eos id), distinct scores, every
/// ordered pair.
pub fn synthetic_groups(opts: &TrainBenchOptions, vocab: usize, eos: u32) -> Vec<EncodedGroup> {
    let mut state = opts.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let id = ((state >> 33) % vocab as u64) as u32;
        if id == eos {
            (id + 1) % vocab as u32
        } else {
            id
        }
    };
    (0..opts.groups)
        .map(|_| {
            let prompt_ids = (0..opts.prompt_len).map(|_| next()).collect();
            let responses = (0..opts.group_size)
                .map(|_| {
                    let mut r: Vec<u32> = (0..opts.response_len.saturating_sub(1))
                        .map(|_| next())
                        .collect();
                    r.push(eos);
                    r
                })
                .collect();
            let scores: Vec<f64> = (0..opts.group_size)
                .map(|i| 1.0 - 2.0 * i as f64 / opts.group_size.max(2) as f64)
                .collect();
            EncodedGroup {
                prompt_ids,
                responses,
                pairs: crate::data::derived_pairs(&scores),
                best: 0,
                scores,
                roles: None,
            }
        })
        .collect()
}

/// Parameters that multiply activations (see the module doc).
pub fn matmul_parameters(c: &GptBigCodeConfig) -> usize {
    let e = c.n_embd;
    let inner = c.n_inner.unwrap_or(4 * e);
    let kv = if c.multi_query { 1 } else { c.n_head } * c.head_dim();
    let per_layer = e * (e + 2 * kv) + e * e + 2 * e * inner;
    c.n_layer * per_layer + c.vocab_size * e
}

/// User + system CPU seconds of this process so far (all threads), from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s, Linux's fixed `USER_HZ`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11); // field 3 is rest's first
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Best f32 matmul rate over `reps` products of two random `[n, n]` matrices, in GFLOP/s.
pub fn matmul_gflops(device: &Device, n: usize, reps: usize) -> f64 {
    let a = Tensor::<2>::random([n, n], Distribution::Default, device);
    let b = Tensor::<2>::random([n, n], Distribution::Default, device);
    let _ = a.clone().matmul(b.clone()).into_data();
    let mut best = f64::MAX;
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        let _ = a.clone().matmul(b.clone()).into_data();
        best = best.min(start.elapsed().as_secs_f64());
    }
    2.0 * (n as f64).powi(3) / best / 1e9
}

/// Train `model` (on an autodiff device) for `warmup + steps` optimizer steps of `opts.groups`
/// synthetic groups with `training`'s optimizer settings, and time the last `steps`.
pub fn run(
    model: GptBigCode,
    config: &GptBigCodeConfig,
    training: &Training,
    opts: &TrainBenchOptions,
) -> Result<TrainBenchReport> {
    let o = opts;
    if [
        o.groups,
        o.group_size,
        o.prompt_len,
        o.response_len,
        o.steps,
    ]
    .contains(&0)
        || o.prompt_len + o.response_len > config.n_positions
    {
        return Err(TrainError::input(
            format!(
                "--groups {} --group-size {} --prompt-len {} --response-len {} --steps {}",
                o.groups, o.group_size, o.prompt_len, o.response_len, o.steps
            ),
            format!(
                "need each >= 1 and prompt-len + response-len <= n_positions ({})",
                config.n_positions
            ),
        ));
    }
    let eos = config.eos_token_id.unwrap_or(0);
    let groups = synthetic_groups(opts, config.vocab_size, eos);
    let mut cfg = training.clone();
    cfg.batch_size = opts.groups as u32;
    cfg.grad_accum = 1;
    cfg.max_steps = Some((opts.warmup + opts.steps) as u64);
    let parameters = model.num_params();
    let mut trainer = Trainer::new(model, cfg, groups, eos, opts.seed)?;
    let param_bytes = stored_bytes(&trainer.model);
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_at_start_mib = status_kib("VmRSS:").map(|k| k as f64 / 1024.0);
    let sequences = opts.groups * opts.group_size;
    let seq_len = opts.prompt_len + opts.response_len;
    let tokens_per_step = sequences * seq_len;
    let mut step_seconds = Vec::new();
    let mut last_loss = f64::NAN;
    let mut cpu_start = None;
    for i in 0..opts.warmup + opts.steps {
        if i == opts.warmup {
            cpu_start = cpu_seconds();
        }
        let start = Instant::now();
        let m = trainer.step()?;
        let secs = start.elapsed().as_secs_f64();
        last_loss = m.loss;
        if i >= opts.warmup {
            step_seconds.push(secs);
        }
    }
    let cpu = cpu_start.zip(cpu_seconds()).map(|(a, b)| b - a);
    let peak_rss_steps_mib = peak_reset
        .then(|| status_kib("VmHWM:"))
        .flatten()
        .map(|k| k as f64 / 1024.0);
    let timed: f64 = step_seconds.iter().sum::<f64>().max(1e-9);
    let tokens_per_s = (tokens_per_step * step_seconds.len()) as f64 / timed;
    let response_tokens_per_s = (sequences * opts.response_len * step_seconds.len()) as f64 / timed;
    let flops = 6.0 * matmul_parameters(config) as f64
        + 12.0 * (config.n_layer * seq_len * config.n_embd) as f64;
    let device = trainer.model.device().without_autodiff();
    let gflops = matmul_gflops(&device, 2048, 3);
    Ok(TrainBenchReport {
        options: opts.clone(),
        parameters,
        model_flops_per_token: flops,
        sequences,
        seq_len,
        tokens_per_step,
        step_seconds,
        tokens_per_s,
        tokens_per_cpu_s: cpu
            .filter(|&c| c > 0.0)
            .map(|c| (tokens_per_step * opts.steps) as f64 / c),
        response_tokens_per_s,
        matmul_gflops: gflops,
        mfu: flops * tokens_per_s / (gflops * 1e9),
        last_loss,
        param_bytes,
        peak_rss_steps_mib,
        rss_at_start_mib,
    })
}

/// A size field of `/proc/self/status` in KiB: `VmHWM:` (peak resident size since start or the
/// last reset), `VmRSS:` (now).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes of `model`'s float parameters at their stored dtypes (a LoRA weight's base, not its
/// composition, plus its adapters).
pub fn stored_bytes(model: &GptBigCode) -> u64 {
    struct Sum(u64);
    impl burn::module::ModuleVisitor for Sum {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            let base = p.base();
            self.0 += (base.shape().num_elements() * base.dtype().size()) as u64;
        }
    }
    let mut s = Sum(0);
    model.visit(&mut s);
    s.0
}
