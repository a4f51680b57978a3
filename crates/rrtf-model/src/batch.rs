//! Decoding many sequences together (continuous batching): each sequence keeps its own
//! key/value cache on the host, a step feeds every running sequence one token and returns each
//! one's next-token logits, and sequences join and leave between steps.
//!
//! A sequence's prompt is prefilled alone (the inference forward pass of `infer.rs`, gemm's
//! matmuls), its cache then copied to every sample of that prompt (`n` samples share one
//! prefill). Decoding steps multiply one row per sequence through `kernels::rows_linear` (the
//! LM head too, transposed), whose every output element is the same fixed sequence of operations whatever
//! the other rows are: a sequence decodes bit for bit the same alone or in any batch, so a
//! batched server answers exactly what one request at a time would (at temperature 0, and per
//! seed when sampling). Only eligible models decode here (an inference copy on the CPU with f32
//! weights and the tanh GELU, as `infer.rs`); [`Decoder::new`] is `None` for the others, which
//! keep `generate.rs`'s one-sequence path.

use burn::tensor::{Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::infer::{self, Host, ModelWeights};
use crate::kernels::{self, Cols};
use crate::model::{GptBigCode, KvCache};
use crate::weights::transpose;

/// Rows of a batched matmul tile (`kernels::rows_linear` on AVX-512; AVX2 and the baseline
/// tile 2): groups of sequences per thread are multiples of it.
const ROW_TILE: usize = 4;

/// One sequence's keys and values, per layer: keys key-major `[kv_heads, head_dim, cap]` (a
/// step's attention reads each key dimension as one contiguous run of positions), values
/// position-major `[seen, kv_heads, head_dim]` (a step appends).
#[derive(Clone, Debug, Default)]
pub struct SeqCache {
    layers: Vec<(Vec<f32>, Vec<f32>)>,
    seen: usize,
    /// Positions the keys have room for.
    cap: usize,
}

impl SeqCache {
    /// Room for one more position in every layer's keys (`width` = kv_heads * head_dim),
    /// doubling the room when it is full.
    fn make_room(&mut self, layers: usize, width: usize) {
        if self.layers.len() < layers {
            self.layers.resize(layers, (Vec::new(), Vec::new()));
        }
        if self.seen < self.cap && self.layers.iter().all(|l| l.0.len() == width * self.cap) {
            return;
        }
        let cap = (self.seen + 1).max(2 * self.cap).max(16);
        for (kt, _) in &mut self.layers {
            let mut new = vec![0.0; width * cap];
            if self.cap > 0 && kt.len() == width * self.cap {
                for (r, old) in kt.chunks_exact(self.cap).enumerate() {
                    new[r * cap..][..self.seen].copy_from_slice(&old[..self.seen]);
                }
            }
            *kt = new;
        }
        self.cap = cap;
    }

    /// Positions held (prompt and generated tokens fed so far).
    pub fn len(&self) -> usize {
        self.seen
    }

    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }
}

/// The decoding engine of one model: its weights as host buffers (shared with the model, not
/// copied).
pub struct Decoder<'m> {
    model: &'m GptBigCode,
    weights: ModelWeights,
    /// The LM head transposed to `[n_embd, vocab]` (so the logits are one more `rows_linear`
    /// with a column per token) in `kernels::pack_cols`' layout, f32 or int8.
    head: Head,
    vocab: usize,
    /// How a step reads the projections.
    proj: Projections,
}

/// The LM head as a step reads it (see `Decoder::head`).
enum Head {
    F32(Vec<f32>),
    /// Int8 values and one scale per token (a row of the tied embedding).
    Int8(Vec<i8>, Vec<f32>),
}

/// Per block, the four projections (`c_attn`, attention `c_proj`, `c_fc`, MLP `c_proj`) as a
/// step reads them.
enum Projections {
    /// Where the model keeps them (row-major): no copy.
    Model,
    /// In `kernels::pack_cols`' layout: a copy, so only a long-lived decoder makes it.
    Packed(Vec<[Vec<f32>; 4]>),
    /// Int8 (`kernels::quantize_cols`, then packed) with per-column scales.
    Int8(Vec<[(Vec<i8>, Vec<f32>); 4]>),
}

impl<'m> Decoder<'m> {
    /// `None` when the model is not eligible (see the module docs). Reads the projections where
    /// the model keeps them (row-major), with no copy; an int8 model's
    /// ([`crate::Checkpoint::quantize_int8`]) as int8, as [`Self::int8`].
    pub fn new(model: &'m GptBigCode) -> Option<Self> {
        if model.int8 {
            return Self::int8(model);
        }
        Self::f32(model)
    }

    /// [`Self::new`] for f32 projections, whatever the model says.
    fn f32(model: &'m GptBigCode) -> Option<Self> {
        Self::with_head(model, |t, e, vocab| {
            Head::F32(kernels::pack_cols(t, e, vocab))
        })
    }

    /// A decoder reading the projections where the model keeps them, its head made by
    /// `head(transposed head [n_embd, vocab], n_embd, vocab)`.
    fn with_head(
        model: &'m GptBigCode,
        head: impl FnOnce(&[f32], usize, usize) -> Head,
    ) -> Option<Self> {
        let weights = ModelWeights::of(model)?;
        let w = Host::of(model.lm_head_weight())?;
        let [vocab, e] = model.lm_head_weight().dims();
        Some(Self {
            model,
            weights,
            head: head(&transpose(w.get(), vocab, e), e, vocab),
            vocab,
            proj: Projections::Model,
        })
    }

    /// [`Self::new`] with a packed copy of the projections (as many more bytes as they hold),
    /// which a step reads as contiguous streams instead of page-strided pieces: for a server,
    /// which decodes for as long as it runs. The same results bit for bit. An int8 model's
    /// projections are int8 ([`Self::int8`]).
    pub fn packed(model: &'m GptBigCode) -> Option<Self> {
        if model.int8 {
            return Self::int8(model);
        }
        Self::packed_f32(model)
    }

    /// [`Self::packed`] with f32 projections whatever the model says (`bench.rs`' reference).
    pub(crate) fn packed_f32(model: &'m GptBigCode) -> Option<Self> {
        let mut d = Self::f32(model)?;
        let packed = d.map_projections(kernels::pack_cols);
        d.proj = Projections::Packed(packed);
        Some(d)
    }

    /// [`Self::packed`] with the projections and the LM head quantized to int8, one scale per
    /// output column (`kernels::quantize_cols`), which a step reads a quarter of the bytes of.
    /// A prompt is still prefilled with the model's own f32 weights, so use it on a model whose
    /// linear layers are already int8 values times their scales
    /// ([`crate::Checkpoint::quantize_int8`]): quantizing those again gives the same int8
    /// values, and prefill and steps then compute with the same weights.
    pub fn int8(model: &'m GptBigCode) -> Option<Self> {
        let quantize = |w: &[f32], d_in, d_out| {
            let (q, scale) = kernels::quantize_cols(w, d_in, d_out);
            (kernels::pack_cols(&q, d_in, d_out), scale)
        };
        let mut d = Self::with_head(model, |t, e, vocab| {
            let (q, scale) = quantize(t, e, vocab);
            Head::Int8(q, scale)
        })?;
        d.proj = Projections::Int8(d.map_projections(quantize));
        Some(d)
    }

    /// The next-token logits `[rows, vocab]` of final hidden states `x` `[rows, n_embd]`.
    fn logits(&self, x: &[f32], parallel: bool) -> Vec<f32> {
        let e = self.n_embd();
        let cols = match &self.head {
            Head::F32(w) => Cols::Packed(w),
            Head::Int8(q, scale) => Cols::Int8 { q, scale },
        };
        let mut logits = vec![0.0; x.len() / e * self.vocab];
        kernels::rows_linear(&mut logits, false, x, e, cols, self.vocab, None, parallel);
        logits
    }

    /// `f(weight, d_in, d_out)` of each block's four projections, in `Projections`' order.
    fn map_projections<T>(&self, f: impl Fn(&[f32], usize, usize) -> T) -> Vec<[T; 4]> {
        let one = |l: &crate::infer::Lin| {
            let w = l.weight.get();
            let d_out = l.d_out();
            f(w, w.len() / d_out, d_out)
        };
        self.weights
            .blocks
            .iter()
            .map(|b| {
                [
                    one(&b.c_attn),
                    one(&b.attn_proj),
                    one(&b.c_fc),
                    one(&b.mlp_proj),
                ]
            })
            .collect()
    }

    /// Projection `which` (0-3, see `Projections`) of block `layer` as the kernels read it.
    fn cols<'a>(&'a self, layer: usize, which: usize, lin: &'a crate::infer::Lin) -> Cols<'a> {
        match &self.proj {
            Projections::Model => Cols::RowMajor(lin.weight.get()),
            Projections::Packed(p) => Cols::Packed(&p[layer][which]),
            Projections::Int8(p) => {
                let (q, scale) = &p[layer][which];
                Cols::Int8 { q, scale }
            }
        }
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab
    }

    fn n_embd(&self) -> usize {
        self.model.wte.weight.dims()[1]
    }

    /// Feed a prompt (non-empty, within `n_positions`: the caller checks) to a new sequence:
    /// its cache (with room reserved for `room` more positions) and the logits of the position
    /// after the prompt.
    pub fn prefill(&self, ids: &[u32], room: usize) -> (SeqCache, Vec<f32>) {
        assert!(!ids.is_empty(), "prefill: an empty prompt");
        let t = ids.len();
        assert!(
            t <= self.model.n_positions(),
            "prefill: {t} positions exceed n_positions = {}",
            self.model.n_positions()
        );
        let device = self.model.device();
        let data: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(data, [1, t]), &device);
        let mut kv = KvCache::new();
        let hidden = infer::hidden(self.model, &ids, Some(&mut kv))
            .expect("an eligible model runs on the host kernels");
        let last = Host::of(hidden.narrow(1, t - 1, 1)).expect("host hidden states");
        let logits = self.logits(last.get(), true);
        // Room for the prompt and `room` more positions (at least one: a step follows).
        let cap = t + room.max(1);
        let layers = kv
            .layers
            .iter()
            .map(|l| {
                let (k, v) = l.as_ref().expect("every layer cached");
                let [_, kvh, seen, hd] = k.dims();
                // keys [kvh, seen, hd] -> [kvh, hd, cap]
                let k = Host::of(k.clone()).expect("host cache");
                let mut kt = vec![0.0; kvh * hd * cap];
                for (h, head) in k.get().chunks_exact(seen * hd).enumerate() {
                    for (p, key) in head.chunks_exact(hd).enumerate() {
                        for (d, &x) in key.iter().enumerate() {
                            kt[(h * hd + d) * cap + p] = x;
                        }
                    }
                }
                // values [kvh, seen, hd] -> [seen, kvh, hd]
                let v = Host::of(v.clone()).expect("host cache");
                let src = v.get();
                let mut vs = Vec::with_capacity(cap * kvh * hd);
                for p in 0..seen {
                    for h in 0..kvh {
                        vs.extend_from_slice(&src[(h * seen + p) * hd..][..hd]);
                    }
                }
                (kt, vs)
            })
            .collect();
        let cache = SeqCache {
            layers,
            seen: t,
            cap,
        };
        (cache, logits)
    }

    /// One decoding step: feed `token` to each sequence (appending to its cache) and return the
    /// next-token logits of all of them, `[seqs.len(), vocab]`. Each sequence's logits are the
    /// same whatever else is in `seqs`.
    pub fn step(&self, seqs: &mut [(u32, &mut SeqCache)]) -> Vec<f32> {
        let n = seqs.len();
        let threads = rayon::current_num_threads();
        // f32 projections: each matmul spreads its columns over the threads, whatever the
        // number of sequences, so the weights stream from memory once per step (a group of
        // sequences per thread read them once per thread). Measured on a 45M-parameter model,
        // 8 sequences, 2 threads: 600-650 tokens/s by columns against 500-520 by groups
        // (README, serving benchmark).
        let by_columns = !matches!(self.proj, Projections::Int8(_));
        if n < 2 * ROW_TILE || threads == 1 || by_columns {
            return self.step_rows(seqs, true);
        }
        // Int8 projections, several sequences: one group of sequences per thread, each group's
        // whole step on that thread (one hand-off per step instead of one per matmul), in
        // multiples of the kernels' row tile: a quarter of the bytes to stream, and the int8
        // tiles' conversions make each matmul longer, so here the hand-offs cost more than the
        // second read (1,670-1,920 against 1,220-1,310 tokens/s on that model). Rows are
        // independent, so the grouping changes no result.
        let per = n.div_ceil(threads).div_ceil(ROW_TILE) * ROW_TILE;
        let parts: Vec<Vec<f32>> = seqs
            .par_chunks_mut(per)
            .map(|group| self.step_rows(group, false))
            .collect();
        parts.concat()
    }

    /// [`Self::step`] on one group of sequences; `parallel`: the kernels may use every thread.
    fn step_rows(&self, seqs: &mut [(u32, &mut SeqCache)], parallel: bool) -> Vec<f32> {
        let n = seqs.len();
        if n == 0 {
            return Vec::new();
        }
        let m = self.model;
        let e = self.n_embd();
        let eps = m.ln_eps as f32;
        let (wte, wpe) = (self.weights.wte.get(), self.weights.wpe.get());
        let mut x = Vec::with_capacity(n * e);
        for (token, cache) in seqs.iter() {
            let (id, pos) = (*token as usize, cache.seen);
            assert!(
                pos < m.n_positions(),
                "decoding position {pos} is outside n_positions = {}",
                m.n_positions()
            );
            assert!(
                (id + 1) * e <= wte.len(),
                "token id {id} is outside the vocabulary"
            );
            let (tok, at) = (&wte[id * e..][..e], &wpe[pos * e..][..e]);
            x.extend(tok.iter().zip(at).map(|(a, b)| a + b));
        }
        // Room for this position in every sequence's keys (all layers share the key width).
        if let Some(first) = m.h.first() {
            let width = first.attn.kv_heads * first.attn.head_dim;
            for (_, cache) in seqs.iter_mut() {
                cache.make_room(m.h.len(), width);
            }
        }
        let mut normed = vec![0.0; n * e];
        let mut attn_out = vec![0.0; n * e];
        let mut qkv = Vec::new();
        let mut inner = Vec::new();
        for (layer, (block, w)) in m.h.iter().zip(&self.weights.blocks).enumerate() {
            w.ln_1.apply(&x, &mut normed, eps);
            let width = w.c_attn.d_out();
            qkv.resize(n * width, 0.0);
            kernels::rows_linear(
                &mut qkv,
                false,
                &normed,
                e,
                self.cols(layer, 0, &w.c_attn),
                width,
                Some(w.c_attn.bias.get()),
                parallel,
            );
            let attn = &block.attn;
            let (h, kvh, hd) = (attn.n_head, attn.kv_heads, attn.head_dim);
            // MQA: q (all heads) | k | v. MHA: per head q | k | v (infer.rs's `attend`).
            let (head_stride, k_off, v_off) = if kvh == 1 {
                (hd, h * hd, h * hd + hd)
            } else {
                (3 * hd, hd, 2 * hd)
            };
            let scale = attn.scale as f32;
            let one =
                |(token_cache, (out, row)): (&mut (u32, &mut SeqCache), (&mut [f32], &[f32]))| {
                    let cache = &mut *token_cache.1;
                    let (seen, cap) = (cache.seen, cache.cap);
                    let (kt, vs) = &mut cache.layers[layer];
                    for kh in 0..kvh {
                        let k = &row[k_off + kh * head_stride..][..hd];
                        for (d, &x) in k.iter().enumerate() {
                            kt[(kh * hd + d) * cap + seen] = x;
                        }
                        vs.extend_from_slice(&row[v_off + kh * head_stride..][..hd]);
                    }
                    let keys = seen + 1;
                    let mut scores = vec![0.0; keys.next_multiple_of(16)];
                    let dims = (h, kvh, hd);
                    kernels::step_attention(
                        out,
                        row,
                        head_stride,
                        (kt, cap),
                        vs,
                        dims,
                        scale,
                        &mut scores,
                    );
                };
            if n > 1 && parallel {
                seqs.par_iter_mut()
                    .zip(attn_out.par_chunks_mut(e).zip(qkv.par_chunks(width)))
                    .for_each(one);
            } else {
                seqs.iter_mut()
                    .zip(attn_out.chunks_mut(e).zip(qkv.chunks(width)))
                    .for_each(one);
            }
            kernels::rows_linear(
                &mut x,
                true,
                &attn_out,
                e,
                self.cols(layer, 1, &w.attn_proj),
                e,
                Some(w.attn_proj.bias.get()),
                parallel,
            );
            w.ln_2.apply(&x, &mut normed, eps);
            let d_inner = w.c_fc.d_out();
            inner.resize(n * d_inner, 0.0);
            kernels::rows_linear(
                &mut inner,
                false,
                &normed,
                e,
                self.cols(layer, 2, &w.c_fc),
                d_inner,
                None,
                parallel,
            );
            kernels::bias_gelu_tanh(&mut inner, w.c_fc.bias.get());
            kernels::rows_linear(
                &mut x,
                true,
                &inner,
                d_inner,
                self.cols(layer, 3, &w.mlp_proj),
                e,
                Some(w.mlp_proj.bias.get()),
                parallel,
            );
        }
        for (_, cache) in seqs.iter_mut() {
            cache.seen += 1;
        }
        self.weights.ln_f.apply(&x, &mut normed, eps);
        self.logits(&normed, parallel)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Int, Tensor, TensorData};

    use super::*;
    use crate::infer::tests::{model, worst};

    /// Prefill then steps give the logits of the full forward pass at every position, for MQA
    /// and MHA; and a sequence's logits are bit-identical alone and in a batch with others of
    /// different lengths (the batch shrinking as they end).
    #[test]
    fn steps_match_the_full_forward_and_do_not_depend_on_the_batch() {
        for preset in ["tiny-mqa", "tiny-mha"] {
            let m = model(preset, &Device::flex());
            let dec = Decoder::new(&m).expect("eligible");
            let packed = Decoder::packed(&m).expect("eligible");
            // Nine: more than two row tiles, so a step splits them over the threads.
            let seqs: Vec<Vec<u32>> = (0..9u32)
                .map(|r| {
                    (0..(20 + 3 * r))
                        .map(|i| (i * 5 + r * 11 + 1) % 97)
                        .collect()
                })
                .collect();
            let prompt = 9;
            // Alone.
            let mut alone = Vec::new();
            for s in &seqs {
                let (mut cache, first) = dec.prefill(&s[..prompt], 0);
                let mut got = vec![first];
                for &tok in &s[prompt..] {
                    got.push(dec.step(&mut [(tok, &mut cache)]));
                }
                assert_eq!(cache.len(), s.len());
                let ids = Tensor::<2, Int>::from_data(
                    TensorData::new(s.iter().map(|&i| i as i64).collect(), [1, s.len()]),
                    &m.device(),
                );
                let full = m.forward(ids).into_data().try_into_vec::<f32>().unwrap();
                let want = &full[(prompt - 1) * 97..];
                let diff = worst(&got.concat(), want);
                assert!(diff < 1e-4, "{preset}: {diff}");
                alone.push(got);
            }
            // Together: all step at once until each runs out of tokens.
            let mut caches: Vec<(usize, SeqCache, Vec<Vec<f32>>)> = seqs
                .iter()
                .map(|s| {
                    let (c, first) = packed.prefill(&s[..prompt], 4);
                    (prompt, c, vec![first])
                })
                .collect();
            loop {
                let mut batch: Vec<(u32, &mut SeqCache)> = Vec::new();
                let mut who = Vec::new();
                for (i, (at, c, _)) in caches.iter_mut().enumerate() {
                    if *at < seqs[i].len() {
                        batch.push((seqs[i][*at], c));
                        who.push(i);
                        *at += 1;
                    }
                }
                if batch.is_empty() {
                    break;
                }
                let logits = packed.step(&mut batch);
                for (j, &i) in who.iter().enumerate() {
                    caches[i].2.push(logits[j * 97..][..97].to_vec());
                }
            }
            for (i, (_, _, got)) in caches.iter().enumerate() {
                assert_eq!(
                    got, &alone[i],
                    "{preset}: sequence {i} changed in a batch (packed weights)"
                );
            }
        }
    }
}
