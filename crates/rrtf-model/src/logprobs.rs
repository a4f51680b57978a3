//! Per-token log-probabilities of response tokens given a prompt: the quantity the RRTF ranking
//! loss and the fine-tuning loss are built from (see `/work/shared/RRTF.md`).
//!
//! A pair is tokenized as `prompt ids ++ response ids ++ [eos]` (prompt and response encoded
//! separately, no added special tokens); the end-of-text token counts as a response token.
//! Batches are right-padded: with causal attention a row never sees its own padding, so a
//! row's log-probs do not depend on what else is in the batch.
//!
//! [`token_logprobs`] is differentiable: build the [`Batch`] on an autodiff device and call
//! `backward` on a loss made from it.

use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData, activation::softmax};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::model::GptBigCode;
use crate::tokenizer::CodeTokenizer;

/// One (prompt, response) pair as token ids. `response_ids` ends with the end-of-text id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub prompt_ids: Vec<u32>,
    pub response_ids: Vec<u32>,
}

impl TokenPair {
    /// Tokenize a pair the way the trainer and `rrtf model logprobs` do.
    pub fn encode(tok: &CodeTokenizer, prompt: &str, response: &str) -> Result<Self> {
        let prompt_ids = tok.encode(prompt)?;
        if prompt_ids.is_empty() {
            return Err(ModelError::Input {
                what: "prompt \"\"".into(),
                message: "the prompt encodes to no tokens: give a non-empty prompt".into(),
            });
        }
        let mut response_ids = tok.encode(response)?;
        response_ids.push(tok.eos_id());
        Ok(Self {
            prompt_ids,
            response_ids,
        })
    }

    pub fn len(&self) -> usize {
        self.prompt_ids.len() + self.response_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A right-padded batch of pairs on one device.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[b, t]` input ids (padding repeats the pad id).
    pub ids: Tensor<2, Int>,
    /// `[b, t - 1]`: 1.0 where position `j + 1` is a response token, else 0.0.
    pub mask: Tensor<2>,
    /// Number of response tokens of each row (end-of-text included).
    pub response_lens: Vec<usize>,
    /// Number of prompt tokens of each row.
    pub prompt_lens: Vec<usize>,
}

impl Batch {
    /// Pad `pairs` to the longest with `pad_id`. Errors if a row exceeds `max_len`.
    pub fn new(pairs: &[TokenPair], pad_id: u32, max_len: usize, device: &Device) -> Result<Self> {
        if pairs.is_empty() {
            return Err(ModelError::Input {
                what: "batch".into(),
                message: "no pairs to score".into(),
            });
        }
        let t = pairs.iter().map(TokenPair::len).max().unwrap_or(0).max(2);
        if t > max_len {
            return Err(ModelError::TooLong {
                len: t,
                max: max_len,
            });
        }
        let b = pairs.len();
        let mut ids = vec![pad_id as i64; b * t];
        let mut mask = vec![0.0f32; b * (t - 1)];
        for (row, p) in pairs.iter().enumerate() {
            let seq = p.prompt_ids.iter().chain(&p.response_ids);
            for (j, &id) in seq.enumerate() {
                ids[row * t + j] = id as i64;
            }
            let start = p.prompt_ids.len();
            for j in start..start + p.response_ids.len() {
                mask[row * (t - 1) + j - 1] = 1.0;
            }
        }
        Ok(Self {
            ids: Tensor::from_data(TensorData::new(ids, [b, t]), device),
            mask: Tensor::from_data(TensorData::new(mask, [b, t - 1]), device),
            response_lens: pairs.iter().map(|p| p.response_ids.len()).collect(),
            prompt_lens: pairs.iter().map(|p| p.prompt_ids.len()).collect(),
        })
    }
}

/// Log-probability of every next token, `[b, t - 1]`, multiplied by the response mask (so
/// prompt and padding positions are 0). Differentiable on an autodiff device.
///
/// Only response positions reach the LM head: their hidden states are gathered into one
/// `[n, n_embd]` matrix (`n` = response tokens in the batch), projected to `[n, vocab]` logits,
/// and each target's log-prob is its logit minus the row's log-sum-exp (no full log-softmax is
/// materialised). Prompt and padding positions, which every loss masks out, cost nothing there.
pub fn token_logprobs(model: &GptBigCode, batch: &Batch) -> Tensor<2> {
    let [b, t] = batch.ids.dims();
    let device = batch.ids.device();
    // Position j of a row predicts token j + 1; a response of length l after a prompt of
    // length p is predicted at positions p - 1 .. p - 1 + l.
    let (mut at, mut out) = (Vec::new(), Vec::new());
    for (row, (&p, &l)) in batch
        .prompt_lens
        .iter()
        .zip(&batch.response_lens)
        .enumerate()
    {
        for j in p - 1..p - 1 + l {
            at.push((row * t + j) as i64);
            out.push((row * (t - 1) + j) as i64);
        }
    }
    let n = at.len();
    let index = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [n]), &device);
    let at = index(at);
    let targets = batch
        .ids
        .clone()
        .reshape([b * t])
        .select(0, at.clone().add_scalar(1));
    let hidden = model.hidden(batch.ids.clone());
    let [_, _, e] = hidden.dims();
    let lp = target_logprobs(model, hidden.reshape([b * t, e]).select(0, at), targets);
    Tensor::<1>::zeros([b * (t - 1)], &device)
        .select_assign(0, index(out), lp, IndexingUpdateOp::Add)
        .reshape([b, t - 1])
}

/// `log softmax(lm_head(hidden))[target]` for hidden states `[n, n_embd]` and targets `[n]`,
/// `[n]`, without a differentiable log-softmax over the vocabulary:
///
/// - value: `logit[target] − lse`, where `lse = max + log Σ exp(logit − max)` is read off the
///   softmax `P` (flex's fused, row-parallel kernel) as `max − log max(P)` (`max(P) = 1 / Σ`, at
///   least `1 / vocab`, so it never underflows however unlikely the target);
/// - gradient: `onehot(target) − P`, the exact derivative, from the surrogate
///   `s − detach(s)` with `s = Σ logit · P` (P a constant), whose value is exactly 0.
///
/// This replaces the max / subtract / exp / sum / log / subtract chain of `log_softmax` (each a
/// pass over `[n, vocab]`, and each with its own backward pass) by one fused softmax, two
/// reductions and one product.
fn target_logprobs(model: &GptBigCode, hidden: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let [n, e] = hidden.dims();
    let logits = model.logits(hidden.reshape([1, n, e])); // [1, n, vocab]
    let vocab = logits.dims()[2];
    let logits = logits.reshape([n, vocab]);
    let picked = logits.clone().gather(1, targets.reshape([n, 1])); // [n, 1]
    let values = logits.clone().inner(); // no autodiff: constants below
    let max = values.clone().max_dim(1);
    let p = softmax(values, 1);
    let lse = max - p.clone().max_dim(1).log(); // [n, 1]
    let mut lp = picked - lse;
    if logits.is_tracked() {
        let s = (logits * p).sum_dim(1);
        lp = lp - (s.clone() - s.detach());
    }
    lp.reshape([n])
}

/// Sum over response tokens of [`token_logprobs`], `[b]`.
pub fn sequence_logprobs(model: &GptBigCode, batch: &Batch) -> Tensor<1> {
    token_logprobs(model, batch).sum_dim(1).reshape([-1])
}

/// One row of `rrtf model logprobs` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairLogprobs {
    pub response_ids: Vec<u32>,
    pub token_logprobs: Vec<f32>,
    pub sum: f64,
    pub mean: f64,
}

/// A line of `rrtf model logprobs`' input: a prompt and a response, as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPair {
    pub prompt: String,
    pub response: String,
}

/// The pairs of a JSON-lines file of `{"prompt": ..., "response": ...}` (blank lines skipped).
pub fn read_text_pairs(path: &std::path::Path) -> Result<Vec<TextPair>> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| ModelError::Input {
        what: format!("--input {}", path.display()),
        message: e.to_string(),
    })?;
    let mut pairs = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| ModelError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let pair = serde_json::from_str(&line).map_err(|e| ModelError::Input {
            what: format!("{} line {}", path.display(), n + 1),
            message: format!("{e}: each line must be {{\"prompt\": ..., \"response\": ...}}"),
        })?;
        pairs.push(pair);
    }
    Ok(pairs)
}

/// Score text pairs with `tok` (encoded by [`TokenPair::encode`], end-of-text as the padding)
/// in batches of at most `batch_size` rows ([`score_pairs`]).
pub fn score_text_pairs(
    model: &GptBigCode,
    tok: &CodeTokenizer,
    pairs: &[TextPair],
    batch_size: usize,
) -> Result<Vec<PairLogprobs>> {
    let pairs = pairs
        .iter()
        .map(|p| TokenPair::encode(tok, &p.prompt, &p.response))
        .collect::<Result<Vec<_>>>()?;
    score_pairs(model, &pairs, tok.eos_id(), batch_size)
}

/// Score pairs in batches of at most `batch_size` rows (grouped by length to limit padding);
/// results come back in input order.
pub fn score_pairs(
    model: &GptBigCode,
    pairs: &[TokenPair],
    pad_id: u32,
    batch_size: usize,
) -> Result<Vec<PairLogprobs>> {
    let device = model.device();
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| pairs[i].len());
    let mut out: Vec<Option<PairLogprobs>> = vec![None; pairs.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let rows: Vec<TokenPair> = chunk.iter().map(|&i| pairs[i].clone()).collect();
        let batch = Batch::new(&rows, pad_id, model.n_positions(), &device)?;
        let [b, t1] = batch.mask.dims();
        let lp = token_logprobs(model, &batch);
        let values: Vec<f32> = lp
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        debug_assert_eq!(values.len(), b * t1);
        for (row, &i) in chunk.iter().enumerate() {
            let p = &rows[row];
            let start = p.prompt_ids.len() - 1;
            let token_logprobs =
                values[row * t1 + start..row * t1 + start + p.response_ids.len()].to_vec();
            let sum: f64 = token_logprobs.iter().map(|&x| x as f64).sum();
            out[i] = Some(PairLogprobs {
                response_ids: p.response_ids.clone(),
                mean: sum / token_logprobs.len() as f64,
                sum,
                token_logprobs,
            });
        }
    }
    Ok(out
        .into_iter()
        .map(|r| r.expect("every row scored"))
        .collect())
}
