//! Autoregressive generation with a key/value cache: greedy at temperature 0, otherwise
//! temperature → top-k → top-p sampling (transformers' order) from a seeded RNG.
//! Generation stops at the end-of-text token (which is kept in `new_ids`, as transformers
//! does), at a stop string (the text is cut before it), or after `max_new_tokens`.
//! [`generate_with`] also shows each new token to an observer, which may cancel (servers use it
//! to stream and to stop work for a client that went away).

use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;

use crate::batch::{Decoder, SeqCache};
use crate::error::{ModelError, Result};
use crate::model::{GptBigCode, KvCache};
use crate::tokenizer::CodeTokenizer;

/// Decoding settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub max_new_tokens: usize,
    /// 0 means greedy.
    pub temperature: f32,
    /// 0 means off.
    pub top_k: usize,
    /// 1.0 means off.
    pub top_p: f32,
    pub seed: u64,
    /// Stop when the generated text contains one of these; the text is cut before it.
    pub stop: Vec<String>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            max_new_tokens: 128,
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

impl SamplingParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String, message: &str| {
            Err(ModelError::Input {
                what,
                message: message.into(),
            })
        };
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return bad(
                format!("--temperature {}", self.temperature),
                "must be >= 0 (0 is greedy)",
            );
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(
                format!("--top-p {}", self.top_p),
                "must be in (0, 1] (1 is off)",
            );
        }
        if self.stop.iter().any(String::is_empty) {
            return bad("--stop \"\"".into(), "stop strings must be non-empty");
        }
        Ok(())
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndOfText,
    StopString,
    MaxNewTokens,
    /// The observer of [`generate_with`] asked to stop.
    Cancelled,
}

/// The result of [`generate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    pub new_ids: Vec<u32>,
    /// Decoded new tokens without special tokens, cut before a stop string.
    pub text: String,
    pub stop_reason: StopReason,
}

/// Generate a continuation of `prompt_ids`.
pub fn generate(
    model: &GptBigCode,
    tok: &CodeTokenizer,
    prompt_ids: &[u32],
    params: &SamplingParams,
) -> Result<Generation> {
    generate_with(model, tok, prompt_ids, params, |_| true)
}

/// [`generate`], showing the new ids so far to `observe` after each token (before the stop
/// checks); when it returns false, generation ends with [`StopReason::Cancelled`].
pub fn generate_with(
    model: &GptBigCode,
    tok: &CodeTokenizer,
    prompt_ids: &[u32],
    params: &SamplingParams,
    mut observe: impl FnMut(&[u32]) -> bool,
) -> Result<Generation> {
    check(model, prompt_ids, params)?;
    let mut decoding = Decoding::new(params.clone());
    if params.max_new_tokens == 0 {
        return decoding.finish(tok, StopReason::MaxNewTokens);
    }
    if let Some(decoder) = Decoder::new(model) {
        let (mut cache, mut logits) = decoder.prefill(prompt_ids, params.max_new_tokens);
        loop {
            if let Some(g) = decoding.push(logits, tok, &mut observe)? {
                return Ok(g);
            }
            logits = decoder.step(&mut [(decoding.last(), &mut cache)]);
        }
    }
    let mut cache = KvCache::new();
    let mut input: Vec<u32> = prompt_ids.to_vec();
    loop {
        let logits = next_logits(model, &input, &mut cache)?;
        if let Some(g) = decoding.push(logits, tok, &mut observe)? {
            return Ok(g);
        }
        input = vec![decoding.last()];
    }
}

/// What [`generate_with`] refuses: bad parameters, an empty prompt, no room for the tokens.
fn check(model: &GptBigCode, prompt_ids: &[u32], params: &SamplingParams) -> Result<()> {
    params.validate()?;
    if prompt_ids.is_empty() {
        return Err(ModelError::Input {
            what: "prompt".into(),
            message: "the prompt encodes to no tokens: give a non-empty prompt".into(),
        });
    }
    let total = prompt_ids.len() + params.max_new_tokens;
    if total > model.n_positions() {
        return Err(ModelError::TooLong {
            len: total,
            max: model.n_positions(),
        });
    }
    Ok(())
}

/// Sequences decoding together (continuous batching's bookkeeping, shared by
/// [`generate_many`] and `rrtf serve`): each with a key of the caller's, its [`Decoding`], its
/// cache and the logits of its next position. Sequences join ([`DecodeBatch::add`]) and leave
/// ([`DecodeBatch::choose`], [`DecodeBatch::retain`]) between steps ([`DecodeBatch::step`]).
pub struct DecodeBatch<K> {
    seqs: Vec<(K, Decoding, SeqCache, Vec<f32>)>,
}

impl<K> Default for DecodeBatch<K> {
    fn default() -> Self {
        Self { seqs: Vec::new() }
    }
}

impl<K> DecodeBatch<K> {
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.seqs.iter().map(|s| &s.0)
    }

    /// A new sequence, from its prefill (`Decoder::prefill`'s cache and logits).
    pub fn add(&mut self, key: K, decoding: Decoding, (cache, logits): (SeqCache, Vec<f32>)) {
        self.seqs.push((key, decoding, cache, logits));
    }

    /// Choose every sequence's next token (`observe` as [`generate_with`]'s, with the
    /// sequence's key); the sequences that ended leave the batch and are returned, in batch
    /// order, with their generation or their error.
    pub fn choose(
        &mut self,
        tok: &CodeTokenizer,
        mut observe: impl FnMut(&mut K, &[u32]) -> bool,
    ) -> Vec<(K, Result<Generation>)> {
        let mut ended = Vec::new();
        let mut keep = Vec::with_capacity(self.seqs.len());
        for (mut key, mut decoding, cache, logits) in self.seqs.drain(..) {
            match decoding.push(logits, tok, |ids| observe(&mut key, ids)) {
                Ok(None) => keep.push((key, decoding, cache, Vec::new())),
                Ok(Some(g)) => ended.push((key, Ok(g))),
                Err(e) => ended.push((key, Err(e))),
            }
        }
        self.seqs = keep;
        ended
    }

    /// Drop the sequences whose key fails `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.seqs.retain(|s| keep(&s.0));
    }

    /// One decoding step: each sequence's last token in, the logits of its next position out.
    pub fn step(&mut self, decoder: &Decoder) {
        let mut rows: Vec<(u32, &mut SeqCache)> = self
            .seqs
            .iter_mut()
            .map(|(_, d, c, _)| (d.last(), c))
            .collect();
        let logits = decoder.step(&mut rows);
        for (s, l) in self
            .seqs
            .iter_mut()
            .zip(logits.chunks_exact(decoder.vocab_size()))
        {
            s.3 = l.to_vec();
        }
    }
}

/// [`generate_with`] for many jobs `(prompt ids, params)`, decoded together by continuous
/// batching (up to `max_batch` sequences; consecutive jobs with the same prompt share its
/// prefill): each job's generation is exactly the one [`generate_with`] gives it (`batch.rs`:
/// a sequence decodes the same alone or in any batch). `observe(job, ids)` is each job's
/// observer; `done(job)` is called as each one ends. Models that do not decode on the host
/// kernels run the jobs one after another. Results in job order.
pub fn generate_many(
    model: &GptBigCode,
    tok: &CodeTokenizer,
    jobs: &[(Vec<u32>, SamplingParams)],
    max_batch: usize,
    mut observe: impl FnMut(usize, &[u32]) -> bool,
    mut done: impl FnMut(usize),
) -> Result<Vec<Generation>> {
    for (ids, params) in jobs {
        check(model, ids, params)?;
    }
    let mut out: Vec<Option<Generation>> = vec![None; jobs.len()];
    let Some(decoder) = Decoder::packed(model) else {
        for (j, (ids, params)) in jobs.iter().enumerate() {
            out[j] = Some(generate_with(model, tok, ids, params, |ids| {
                observe(j, ids)
            })?);
            done(j);
        }
        return Ok(out.into_iter().map(|g| g.expect("every job ran")).collect());
    };
    let mut batch = DecodeBatch::default();
    let mut next = 0;
    let mut last_prefill: Option<(usize, (SeqCache, Vec<f32>))> = None;
    while next < jobs.len() || !batch.is_empty() {
        while batch.len() < max_batch.max(1) && next < jobs.len() {
            let (ids, params) = &jobs[next];
            let prefill = match &last_prefill {
                Some((j, p)) if jobs[*j].0 == *ids => p.clone(),
                _ => last_prefill
                    .insert((next, decoder.prefill(ids, params.max_new_tokens)))
                    .1
                    .clone(),
            };
            let decoding = Decoding::new(params.clone());
            if params.max_new_tokens == 0 {
                out[next] = Some(decoding.clone().finish(tok, StopReason::MaxNewTokens)?);
                done(next);
            } else {
                batch.add(next, decoding, prefill);
            }
            next += 1;
        }
        for (j, g) in batch.choose(tok, |j, ids| observe(*j, ids)) {
            out[j] = Some(g?);
            done(j);
        }
        batch.step(&decoder);
    }
    Ok(out.into_iter().map(|g| g.expect("every job ran")).collect())
}

/// One sequence's decoding state: the tokens chosen so far, its RNG and its stop rules. Fed the
/// logits of each next position (from any forward pass: [`generate_with`] runs one sequence,
/// `rrtf serve` a batch of them), it picks the token and says when generation ends.
#[derive(Debug, Clone)]
pub struct Decoding {
    params: SamplingParams,
    rng: StdRng,
    new_ids: Vec<u32>,
}

impl Decoding {
    pub fn new(params: SamplingParams) -> Self {
        Self {
            rng: StdRng::seed_from_u64(params.seed),
            params,
            new_ids: Vec::new(),
        }
    }

    /// The tokens chosen so far.
    pub fn new_ids(&self) -> &[u32] {
        &self.new_ids
    }

    /// The last token chosen (what the next forward pass feeds).
    pub fn last(&self) -> u32 {
        *self.new_ids.last().expect("a token was pushed")
    }

    /// Choose the next token from `logits` and show the ids so far to `observe` (false:
    /// cancel). `Some` when this token ends generation: cancelled, end of text, a stop string
    /// (the text cut before it), or `max_new_tokens` reached.
    pub fn push(
        &mut self,
        logits: Vec<f32>,
        tok: &CodeTokenizer,
        mut observe: impl FnMut(&[u32]) -> bool,
    ) -> Result<Option<Generation>> {
        let next = pick(logits, &self.params, &mut self.rng);
        self.new_ids.push(next);
        if !observe(&self.new_ids) {
            return self.finish(tok, StopReason::Cancelled).map(Some);
        }
        if next == tok.eos_id() {
            return self.finish(tok, StopReason::EndOfText).map(Some);
        }
        if !self.params.stop.is_empty() {
            let mut text = tok.decode(&self.new_ids, true)?;
            if let Some(cut) = self
                .params
                .stop
                .iter()
                .filter_map(|s| text.find(s.as_str()))
                .min()
            {
                text.truncate(cut);
                return Ok(Some(Generation {
                    new_ids: std::mem::take(&mut self.new_ids),
                    text,
                    stop_reason: StopReason::StopString,
                }));
            }
        }
        if self.new_ids.len() >= self.params.max_new_tokens {
            return self.finish(tok, StopReason::MaxNewTokens).map(Some);
        }
        Ok(None)
    }

    fn finish(&mut self, tok: &CodeTokenizer, stop_reason: StopReason) -> Result<Generation> {
        let new_ids = std::mem::take(&mut self.new_ids);
        Ok(Generation {
            text: tok.decode(&new_ids, true)?,
            new_ids,
            stop_reason,
        })
    }
}

/// Feed `input` after what `cache` holds; return the logits of the last position.
pub fn next_logits(model: &GptBigCode, input: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
    let device = model.device();
    let t = input.len();
    let ids: Vec<i64> = input.iter().map(|&i| i as i64).collect();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, t]), &device);
    let hidden = model.hidden_cached(ids, cache).narrow(1, t - 1, 1);
    model
        .logits(hidden)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| ModelError::Backend(format!("{e:?}")))
}

/// Choose the next token from `logits` under `params`. Without top-k and top-p every token is
/// a candidate and the draw walks them in index order (as `torch.multinomial`), with no sort:
/// a sort of the vocabulary per token (49,152 entries for StarCoder) cost more than a batched
/// decoding step. With top-k or top-p the candidates are the most likely ones, in descending
/// order (ties to the lower index).
pub fn pick(mut logits: Vec<f32>, params: &SamplingParams, rng: &mut StdRng) -> u32 {
    if params.temperature == 0.0 {
        return argmax(&logits);
    }
    for l in logits.iter_mut() {
        *l /= params.temperature;
    }
    if params.top_k == 0 && params.top_p >= 1.0 {
        let max = logits[argmax(&logits) as usize];
        let probs: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
        let order = 0..logits.len();
        return draw(&probs, order, rng);
    }
    let by_logit = |&a: &usize, &b: &usize| logits[b].total_cmp(&logits[a]).then(a.cmp(&b));
    let mut order: Vec<usize> = (0..logits.len()).collect();
    if params.top_k > 0 && params.top_k < order.len() {
        order.select_nth_unstable_by(params.top_k - 1, by_logit);
        order.truncate(params.top_k);
    }
    order.sort_by(by_logit);
    let max = logits[order[0]];
    let mut probs: Vec<f64> = order
        .iter()
        .map(|&i| ((logits[i] - max) as f64).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if params.top_p < 1.0 {
        // Keep the smallest prefix whose mass reaches top_p (at least one token).
        let mut mass = 0.0;
        let keep = probs
            .iter()
            .position(|p| {
                mass += p;
                mass >= params.top_p as f64
            })
            .map_or(probs.len(), |i| i + 1);
        probs.truncate(keep);
        order.truncate(keep);
    }
    draw(&probs, order.into_iter(), rng)
}

/// A token drawn from the candidates `order` with (unnormalised) weights `probs`.
fn draw(probs: &[f64], order: impl Iterator<Item = usize>, rng: &mut StdRng) -> u32 {
    let total: f64 = probs.iter().sum();
    let mut r = rng.random::<f64>() * total;
    let mut last = 0;
    for (p, i) in probs.iter().zip(order) {
        last = i;
        r -= p;
        if r < 0.0 {
            return i as u32;
        }
    }
    last as u32
}

/// Index of the largest logit; the first one on ties (as `torch.argmax`).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32, top_k: usize, top_p: f32) -> SamplingParams {
        SamplingParams {
            temperature,
            top_k,
            top_p,
            ..Default::default()
        }
    }

    #[test]
    fn sampling_respects_top_k_and_top_p() {
        let logits = vec![0.0, 3.0, 2.9, -1.0, 2.8];
        let mut rng = StdRng::seed_from_u64(1);
        // (params, tokens allowed)
        let cases: Vec<(SamplingParams, Vec<u32>)> = vec![
            (params(0.0, 0, 1.0), vec![1]),
            (params(1.0, 1, 1.0), vec![1]),
            (params(1.0, 2, 1.0), vec![1, 2]),
            (params(1.0, 0, 0.5), vec![1, 2]),
            (params(1.0, 0, 0.01), vec![1]),
            (params(100.0, 0, 1.0), vec![0, 1, 2, 3, 4]),
        ];
        for (p, allowed) in cases {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..400 {
                seen.insert(pick(logits.clone(), &p, &mut rng));
            }
            assert_eq!(seen.into_iter().collect::<Vec<_>>(), allowed, "{p:?}");
        }
    }

    #[test]
    fn argmax_takes_first_of_ties_and_params_validate() {
        assert_eq!(argmax(&[1.0, 5.0, 5.0, -2.0]), 1);
        for (p, needle) in [
            (params(-1.0, 0, 1.0), "--temperature"),
            (params(1.0, 0, 0.0), "--top-p"),
            (params(1.0, 0, 1.5), "--top-p"),
        ] {
            assert!(p.validate().unwrap_err().to_string().contains(needle));
        }
    }

    /// Every path draws each candidate with its softmax probability (no top-k/top-p: the
    /// whole vocabulary in index order; top-k: the renormalised top k).
    #[test]
    fn draws_follow_the_softmax() {
        let weights = [1.0f64, 2.0, 3.0, 4.0];
        let logits: Vec<f32> = weights.iter().map(|w| w.ln() as f32).collect();
        for (p, support) in [(params(1.0, 0, 1.0), 0..4), (params(1.0, 3, 1.0), 1..4)] {
            let mut rng = StdRng::seed_from_u64(3);
            let mut counts = [0usize; 4];
            let n = 40_000;
            for _ in 0..n {
                counts[pick(logits.clone(), &p, &mut rng) as usize] += 1;
            }
            let total: f64 = weights[support.clone()].iter().sum();
            for (i, &c) in counts.iter().enumerate() {
                let want = if support.contains(&i) {
                    weights[i] / total
                } else {
                    0.0
                };
                let got = c as f64 / n as f64;
                assert!(
                    (got - want).abs() < 0.01,
                    "{p:?}: token {i}: {got} vs {want}"
                );
            }
        }
    }

    /// Many jobs decoded together give exactly what each gives alone: greedy and sampled,
    /// stop strings, an observer that ends a job, shared prompts, a batch smaller than the jobs.
    #[test]
    fn generate_many_equals_one_at_a_time() {
        let dir = crate::fixtures_dir().join("mqa");
        let ckpt = crate::Checkpoint::load(&dir, &burn::tensor::Device::flex()).unwrap();
        let (m, tok) = (&ckpt.model, &ckpt.tokenizer);
        let mut jobs = Vec::new();
        for (i, prompt) in ["def ", "import os\n", "x = [1, 2", "def "]
            .iter()
            .enumerate()
        {
            let ids = tok.encode(prompt).unwrap();
            for s in 0..3u64 {
                let mut p = params(if s == 0 { 0.0 } else { 0.9 }, 0, 1.0);
                p.seed = s + 10 * i as u64;
                p.max_new_tokens = 8 + 5 * s as usize;
                if i == 2 {
                    p.stop = vec!["\n".into()];
                }
                jobs.push((ids.clone(), p));
            }
        }
        // Job 4's observer ends it after 3 tokens.
        let observe = |j: usize, ids: &[u32]| j != 4 || ids.len() < 3;
        let alone: Vec<Generation> = jobs
            .iter()
            .enumerate()
            .map(|(j, (ids, p))| generate_with(m, tok, ids, p, |ids| observe(j, ids)).unwrap())
            .collect();
        let mut finished = Vec::new();
        let together = generate_many(m, tok, &jobs, 5, observe, |j| finished.push(j)).unwrap();
        assert_eq!(together, alone);
        assert_eq!(alone[4].stop_reason, StopReason::Cancelled);
        finished.sort();
        assert_eq!(finished, (0..jobs.len()).collect::<Vec<_>>());
    }
}
