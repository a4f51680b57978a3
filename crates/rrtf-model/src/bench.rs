//! Throughput of the hot paths, for `rrtf model bench` and `scripts/bench_model.py`: a full
//! forward pass (logits for every position, no cache), cached greedy decoding of one sequence,
//! and decoding [`BATCHED_SEQUENCES`] sequences together (continuous batching's step).

use std::time::Instant;

use burn::tensor::{Int, Tensor, TensorData};
use serde::Serialize;

use crate::batch::Decoder;
use crate::error::{ModelError, Result};
use crate::generate::{argmax, next_logits};
use crate::model::{GptBigCode, KvCache};

/// Measured rates.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub batch: usize,
    pub seq_len: usize,
    pub new_tokens: usize,
    pub forward_tokens_per_s: f64,
    pub generate_tokens_per_s: f64,
    /// New tokens per second over all sequences when [`BATCHED_SEQUENCES`] decode together
    /// (`batch::Decoder::step`); `None` when the model does not decode on the host kernels.
    pub batched_generate_tokens_per_s: Option<f64>,
    pub batched_sequences: usize,
    /// Decoding with int8 projections against the same with f32 (both packed, as the server
    /// decodes); `None` when the model does not decode on the host kernels.
    pub int8: Option<Int8Rates>,
}

/// Decoding rates with int8 projections (`batch::Decoder::int8`).
#[derive(Debug, Clone, Serialize)]
pub struct Int8Rates {
    /// One sequence, packed f32 projections (the reference the int8 figures compare with).
    pub f32_generate_tokens_per_s: f64,
    /// One sequence, int8 projections.
    pub generate_tokens_per_s: f64,
    /// [`BATCHED_SEQUENCES`] sequences together, int8 projections.
    pub batched_generate_tokens_per_s: f64,
}

/// Timed runs of each decoding figure (the best is reported).
const DECODE_RUNS: usize = 5;

/// Sequences decoded together by the batched figure.
pub const BATCHED_SEQUENCES: usize = 8;

/// Time `reps` forward passes over `[batch, seq_len]` tokens and greedy generation of
/// `new_tokens` after a `seq_len`-token prompt (end-of-text does not stop it): one sequence,
/// [`BATCHED_SEQUENCES`] together, and both with int8 projections. One untimed warm-up of each
/// runs first; on the host kernels each decoding figure is the best of `DECODE_RUNS` runs.
pub fn run(
    model: &GptBigCode,
    batch: usize,
    seq_len: usize,
    new_tokens: usize,
    reps: usize,
) -> Result<BenchReport> {
    let n_positions = model.n_positions();
    if batch == 0 || seq_len < 2 || seq_len + new_tokens > n_positions {
        return Err(ModelError::Input {
            what: format!("--batch {batch} --seq-len {seq_len} --new-tokens {new_tokens}"),
            message: format!(
                "need batch >= 1, seq-len >= 2 and seq-len + new-tokens <= n_positions \
                 ({n_positions})"
            ),
        });
    }
    let device = model.device();
    let vocab = model.lm_head_weight().dims()[0] as i64;
    let ids: Vec<i64> = (0..batch * seq_len)
        .map(|i| (i as i64 * 7919 + 13) % vocab)
        .collect();
    let input =
        Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [batch, seq_len]), &device);
    let forward = || {
        let logits = model.forward(input.clone());
        let _ = logits.narrow(1, seq_len - 1, 1).into_data();
    };
    forward();
    let start = Instant::now();
    for _ in 0..reps.max(1) {
        forward();
    }
    let forward_rate = (batch * seq_len * reps.max(1)) as f64 / start.elapsed().as_secs_f64();

    let prompt: Vec<u32> = ids[..seq_len].iter().map(|&i| i as u32).collect();
    // One sequence through a decoder: the best of `DECODE_RUNS` timed runs after an untimed
    // warm-up (a shared machine's noise only ever slows a run down).
    let one = |dec: &Decoder| {
        let run = || {
            let start = Instant::now();
            let (mut cache, mut logits) = dec.prefill(&prompt, new_tokens);
            for _ in 1..new_tokens {
                logits = dec.step(&mut [(argmax(&logits), &mut cache)]);
            }
            new_tokens as f64 / start.elapsed().as_secs_f64()
        };
        run();
        (0..DECODE_RUNS).map(|_| run()).fold(0.0, f64::max)
    };
    let decoder = Decoder::new(model);
    let generate_rate = match &decoder {
        Some(dec) => one(dec),
        None => {
            let decode = || -> Result<()> {
                let mut cache = KvCache::new();
                let mut input = prompt.clone();
                for _ in 0..new_tokens {
                    let next = argmax(&next_logits(model, &input, &mut cache)?);
                    input = vec![next];
                }
                Ok(())
            };
            decode()?;
            let start = Instant::now();
            decode()?;
            new_tokens as f64 / start.elapsed().as_secs_f64()
        }
    };
    // Several sequences (each its own prompt) decoding together; prefills untimed.
    let batched = |dec: &Decoder| {
        let n = BATCHED_SEQUENCES;
        let run = || {
            let mut seqs: Vec<_> = (0..n)
                .map(|s| {
                    let p: Vec<u32> = (0..seq_len)
                        .map(|i| ((i * 7919 + s * 104_729 + 13) as i64 % vocab) as u32)
                        .collect();
                    dec.prefill(&p, new_tokens)
                })
                .collect();
            let vocab = dec.vocab_size();
            let start = Instant::now();
            for _ in 1..new_tokens {
                let mut batch: Vec<_> = seqs
                    .iter_mut()
                    .map(|(cache, logits)| (argmax(logits), cache))
                    .collect();
                let out = dec.step(&mut batch);
                for ((_, logits), l) in seqs.iter_mut().zip(out.chunks_exact(vocab)) {
                    *logits = l.to_vec();
                }
            }
            (n * new_tokens.saturating_sub(1)) as f64 / start.elapsed().as_secs_f64()
        };
        run();
        (0..DECODE_RUNS).map(|_| run()).fold(0.0, f64::max)
    };
    // As `rrtf serve` decodes: packed projections, f32 or int8 (`--quantize int8`). The int8
    // figures time the int8 kernels on this model's weights quantized: the same work whatever
    // the values.
    let packed = Decoder::packed_f32(model);
    let batched_rate = packed.as_ref().map(batched);
    let int8 = Decoder::int8(model).map(|dec| Int8Rates {
        f32_generate_tokens_per_s: one(packed.as_ref().expect("eligible")),
        generate_tokens_per_s: one(&dec),
        batched_generate_tokens_per_s: batched(&dec),
    });
    Ok(BenchReport {
        batch,
        seq_len,
        new_tokens,
        forward_tokens_per_s: forward_rate,
        generate_tokens_per_s: generate_rate,
        batched_generate_tokens_per_s: batched_rate,
        batched_sequences: BATCHED_SEQUENCES,
        int8,
    })
}
