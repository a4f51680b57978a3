//! INT8 weights for CPU decoding: symmetric per-channel int8 for the linear layers (`c_attn`,
//! attention `c_proj`, `c_fc`, MLP `c_proj` of every block, and the LM head), f32 activations.
//!
//! [`Checkpoint::quantize_int8`] replaces each of those weights by its int8 round trip (`q *
//! scale`, one scale per output channel: `scale = max |w| / 127`, `q = round(w / scale)`), so the
//! model *is* the int8 model in f32: every path (prefill, scoring, training, transformers after
//! a save) computes with the same weights. Decoding steps then read the int8 values themselves
//! (`batch::Decoder::int8`), a quarter of the bytes. The LM head is usually tied to the token
//! embedding, so the embedding rows (one channel per token) are quantized with it, as llama.cpp
//! does with a tied `token_embd`; position embeddings, biases and LayerNorms stay f32.
//!
//! A quantized checkpoint records itself in `config.json` (`"rrtf_quantization": "int8"`), so
//! `rrtf serve` decodes it with the int8 kernels without being told; saving writes the
//! dequantized f32 values, which transformers loads as an ordinary checkpoint.

use serde::Serialize;
use serde_json::Value;

use crate::error::{ModelError, Result};
use crate::{
    Checkpoint, GptBigCodeConfig, SamplingParams, TextPair, generate_many, kernels,
    score_text_pairs, weights,
};

/// The `config.json` key a quantized checkpoint carries, and its value for int8.
pub const CONFIG_KEY: &str = "rrtf_quantization";
pub const INT8: &str = "int8";

/// The weight precisions `--quantize` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantize {
    /// The checkpoint's weights as they are.
    None,
    Int8,
}

impl Quantize {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "none" | "f32" => Ok(Self::None),
            "int8" => Ok(Self::Int8),
            _ => Err(ModelError::Input {
                what: format!("--quantize {s}"),
                message: "use int8 (per-channel int8 linear layers) or none".into(),
            }),
        }
    }
}

impl Checkpoint {
    /// Whether the checkpoint's linear layers are int8 values times their scales (saved by
    /// `rrtf model quantize` or after [`Self::quantize_int8`]).
    pub fn is_int8(&self) -> bool {
        is_int8(&self.config)
    }

    /// Quantize the linear layers (every block's projections and the LM head) to int8 in place
    /// (see the module docs); a no-op on a checkpoint that already is. Returns the mean absolute change of the weights.
    pub fn quantize_int8(&mut self) -> Result<f64> {
        if self.is_int8() {
            return Ok(0.0);
        }
        let mut tensors = weights::export(&self.model);
        let (mut changed, mut count) = (0.0f64, 0usize);
        for key in weights::linear_weight_names(&self.config) {
            let t = tensors
                .get_mut(&key)
                .expect("export names every linear layer");
            let new = round_trip_rows(&t.data, t.shape[0], t.shape[1]);
            changed += t
                .data
                .iter()
                .zip(&new)
                .map(|(a, b)| f64::from((a - b).abs()))
                .sum::<f64>();
            count += new.len();
            t.data = new;
        }
        self.config
            .extra
            .insert(CONFIG_KEY.into(), Value::String(INT8.into()));
        let device = self.model.device();
        self.model = weights::build(&self.config, tensors, &device)?;
        Ok(changed / count.max(1) as f64)
    }
}

/// What quantizing cost, measured against the f32 checkpoint ([`compare`]).
#[derive(Debug, Clone, Serialize)]
pub struct QuantReport {
    /// Prompt/response pairs scored, and their response tokens.
    pub pairs: usize,
    pub tokens: usize,
    /// Mean and largest |log p_int8 - log p_f32| over those tokens (teacher-forced).
    pub mean_abs_logprob_diff: f64,
    pub max_abs_logprob_diff: f64,
    /// Prompts whose greedy continuation (`new_tokens` at most, end-of-text stops) is the same
    /// token for token, out of `prompts`.
    pub prompts: usize,
    pub new_tokens: usize,
    pub greedy_equal: usize,
    pub greedy_agreement: f64,
    /// Mean over prompts of the shared prefix of the two continuations as a fraction of the
    /// f32 one's length.
    pub greedy_prefix_fraction: f64,
}

/// Score `pairs` with both checkpoints (per-token log-probs of each response) and decode each
/// pair's prompt greedily with both (`int8` through its int8 kernels, as `rrtf serve` does).
pub fn compare(
    f32_ckpt: &Checkpoint,
    int8_ckpt: &Checkpoint,
    pairs: &[TextPair],
    new_tokens: usize,
    batch_size: usize,
) -> Result<QuantReport> {
    let tok = &f32_ckpt.tokenizer;
    if new_tokens == 0 {
        return Err(ModelError::Input {
            what: "--new-tokens 0".into(),
            message: "must be at least 1 (the greedy agreement compares generated tokens)".into(),
        });
    }
    // Rows that do not fit the context are refused up front, naming the row and the fix.
    let n_positions = f32_ckpt.model.n_positions();
    for (i, p) in pairs.iter().enumerate() {
        let (prompt, response) = (tok.encode(&p.prompt)?.len(), tok.encode(&p.response)?.len());
        let what = format!("row {} of --input", i + 1);
        if prompt + response > n_positions {
            return Err(ModelError::Input {
                what,
                message: format!(
                    "its prompt and response are {} tokens, more than the model's n_positions = \
                     {n_positions}: use shorter rows",
                    prompt + response
                ),
            });
        }
        if prompt + new_tokens > n_positions {
            return Err(ModelError::Input {
                what,
                message: format!(
                    "its prompt ({prompt} tokens) and --new-tokens {new_tokens} exceed the \
                     model's n_positions = {n_positions}: lower --new-tokens"
                ),
            });
        }
    }
    let scored = |c: &Checkpoint| score_text_pairs(&c.model, tok, pairs, batch_size.max(1));
    let (a, b) = (scored(f32_ckpt)?, scored(int8_ckpt)?);
    let (mut sum, mut max, mut tokens) = (0.0f64, 0.0f64, 0usize);
    for (x, y) in a.iter().zip(&b) {
        for (p, q) in x.token_logprobs.iter().zip(&y.token_logprobs) {
            let d = f64::from((p - q).abs());
            sum += d;
            max = max.max(d);
            tokens += 1;
        }
    }
    let params = SamplingParams {
        max_new_tokens: new_tokens,
        ..Default::default()
    };
    let mut jobs = Vec::with_capacity(pairs.len());
    for p in pairs {
        jobs.push((tok.encode(&p.prompt)?, params.clone()));
    }
    let greedy = |c: &Checkpoint| generate_many(&c.model, tok, &jobs, 16, |_, _| true, |_| {});
    let (ga, gb) = (greedy(f32_ckpt)?, greedy(int8_ckpt)?);
    let mut equal = 0;
    let mut prefix = 0.0;
    for (x, y) in ga.iter().zip(&gb) {
        equal += usize::from(x.new_ids == y.new_ids);
        let shared = x
            .new_ids
            .iter()
            .zip(&y.new_ids)
            .take_while(|(p, q)| p == q)
            .count();
        prefix += if x.new_ids.is_empty() {
            1.0
        } else {
            shared as f64 / x.new_ids.len() as f64
        };
    }
    let n = pairs.len().max(1) as f64;
    Ok(QuantReport {
        pairs: pairs.len(),
        tokens,
        mean_abs_logprob_diff: sum / tokens.max(1) as f64,
        max_abs_logprob_diff: max,
        prompts: pairs.len(),
        new_tokens,
        greedy_equal: equal,
        greedy_agreement: equal as f64 / n,
        greedy_prefix_fraction: prefix / n,
    })
}

/// Whether `config` says the checkpoint is int8 (see the module docs).
pub(crate) fn is_int8(config: &GptBigCodeConfig) -> bool {
    config.extra.get(CONFIG_KEY).and_then(Value::as_str) == Some(INT8)
}

/// `w` `[out, in]` row-major (HF's layout) with each row (an output channel) replaced by its
/// int8 round trip, exactly as `kernels::quantize_cols` quantizes a column of `[in, out]`.
fn round_trip_rows(w: &[f32], out: usize, inp: usize) -> Vec<f32> {
    // quantize_cols works on [in, out]: transpose, quantize, dequantize, transpose back.
    let (q, scale) = kernels::quantize_cols(&weights::transpose(w, out, inp), inp, out);
    let back: Vec<f32> = q
        .chunks_exact(out)
        .flat_map(|row| row.iter().zip(&scale).map(|(&q, &s)| f32::from(q) * s))
        .collect();
    weights::transpose(&back, inp, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_per_channel_within_half_a_step_and_idempotent() {
        // Two channels of very different ranges, one all zero.
        let w = [0.5f32, -1.0, 0.25, 0.001, -0.002, 0.0015, 0.0, 0.0, 0.0];
        let once = round_trip_rows(&w, 3, 3);
        for r in 0..3 {
            let max = w[r * 3..][..3].iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let step = max / 127.0;
            for c in 0..3 {
                let (a, b) = (w[r * 3 + c], once[r * 3 + c]);
                assert!(
                    (a - b).abs() <= step / 2.0 * 1.0001,
                    "{a} -> {b} (step {step})"
                );
            }
        }
        // The largest magnitude of a channel is kept exactly; zeros stay zeros.
        assert_eq!(once[1], -1.0);
        assert_eq!(&once[6..], &[0.0, 0.0, 0.0]);
        // Quantizing the quantized weights changes nothing (here and on 64 random channels).
        assert_eq!(round_trip_rows(&once, 3, 3), once);
        let mut seed = 7u64;
        let noise: Vec<f32> = (0..64 * 48)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * (1.0 + (i % 64) as f32)
            })
            .collect();
        let once = round_trip_rows(&noise, 64, 48);
        assert_eq!(round_trip_rows(&once, 64, 48), once);
    }

    #[test]
    fn parse_names_the_choices() {
        assert_eq!(Quantize::parse("int8").unwrap(), Quantize::Int8);
        assert_eq!(Quantize::parse("none").unwrap(), Quantize::None);
        let e = Quantize::parse("int4").unwrap_err().to_string();
        assert!(e.contains("int4") && e.contains("int8"), "{e}");
    }
}
