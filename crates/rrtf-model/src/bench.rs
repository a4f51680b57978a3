//! Throughput of the two hot paths, for `rrtf model bench` and `scripts/bench_model.py`:
//! a full forward pass (logits for every position, no cache) and cached greedy decoding.

use std::time::Instant;

use burn::tensor::{Int, Tensor, TensorData};
use serde::Serialize;

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
}

/// Time `reps` forward passes over `[batch, seq_len]` tokens and one greedy generation of
/// `new_tokens` after a `seq_len`-token prompt (end-of-text does not stop it). One untimed
/// warm-up of each runs first.
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
    let generate_rate = new_tokens as f64 / start.elapsed().as_secs_f64();
    Ok(BenchReport {
        batch,
        seq_len,
        new_tokens,
        forward_tokens_per_s: forward_rate,
        generate_tokens_per_s: generate_rate,
    })
}
