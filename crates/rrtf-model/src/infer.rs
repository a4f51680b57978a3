//! The inference-only forward pass: the same computation as `model.rs`'s blocks, run on the
//! parameters' f32 buffers (shared with the module, not copied) through `kernels.rs`.
//!
//! It runs only when every parameter is a plain flex tensor, i.e. an inference copy of the model
//! (`model.valid()` or a model loaded for inference) on the CPU. Autodiff tensors (training),
//! other devices, non-f32 weights and the exact-erf GELU keep burn's ops (under autodiff only
//! the GELU-tanh is fused, in `model.rs`). Keys and values go into the same [`KvCache`] layout as burn's path uses.

use burn::tensor::{DType, Int, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};

use crate::kernels::{self, AttnShape, Heads, Mat};
use crate::model::{Attention, GptBigCode, KvCache};

/// A tensor's f32 values on the host, sharing the module's buffer.
pub(crate) struct Host(FlexTensor);

impl Host {
    /// `None` unless `t` is an f32 tensor of the plain (non-autodiff) flex backend; shares its
    /// buffer (copied only if not contiguous).
    pub(crate) fn of<const D: usize>(t: Tensor<D>) -> Option<Self> {
        let t = t.try_into_primitive::<Flex>().ok()?;
        if t.dtype() != DType::F32 {
            return None;
        }
        Some(Self(if t.layout().contiguous_offsets().is_some() {
            t
        } else {
            t.to_contiguous()
        }))
    }

    pub(crate) fn get(&self) -> &[f32] {
        self.0.as_slice::<f32>().expect("made contiguous in `of`")
    }
}

pub(crate) struct Norm {
    gamma: Host,
    beta: Host,
}

pub(crate) struct Lin {
    /// `[d_in, d_out]`
    pub(crate) weight: Host,
    pub(crate) bias: Host,
}

impl Lin {
    fn of(l: &burn::nn::Linear) -> Option<Self> {
        Some(Self {
            weight: Host::of(l.weight.val())?,
            bias: Host::of(l.bias.as_ref()?.val())?,
        })
    }
    pub(crate) fn d_out(&self) -> usize {
        self.bias.get().len()
    }
    fn weight(&self) -> Mat<'_> {
        Mat::rows(self.weight.get(), self.d_out())
    }
}

impl Norm {
    fn of(n: &burn::nn::LayerNorm) -> Option<Self> {
        Some(Self {
            gamma: Host::of(n.gamma.val())?,
            beta: Host::of(n.beta.as_ref()?.val())?,
        })
    }
    pub(crate) fn apply(&self, x: &[f32], out: &mut [f32], eps: f32) {
        kernels::layer_norm(x, out, self.gamma.get(), self.beta.get(), eps);
    }
}

pub(crate) struct BlockWeights {
    pub(crate) ln_1: Norm,
    pub(crate) c_attn: Lin,
    pub(crate) attn_proj: Lin,
    pub(crate) ln_2: Norm,
    pub(crate) c_fc: Lin,
    pub(crate) mlp_proj: Lin,
}

/// Every parameter of a model as host buffers: what the kernels here read.
pub(crate) struct ModelWeights {
    pub(crate) wte: Host,
    pub(crate) wpe: Host,
    pub(crate) ln_f: Norm,
    pub(crate) blocks: Vec<BlockWeights>,
}

impl ModelWeights {
    /// `None` when the model is not eligible (see the module docs).
    pub(crate) fn of(model: &GptBigCode) -> Option<Self> {
        let blocks = model
            .h
            .iter()
            .map(|b| {
                // The exact (erf) GELU has no kernel here; such models keep burn's path.
                b.mlp.tanh_gelu.then_some(())?;
                Some(BlockWeights {
                    ln_1: Norm::of(&b.ln_1)?,
                    c_attn: Lin::of(&b.attn.c_attn)?,
                    attn_proj: Lin::of(&b.attn.c_proj)?,
                    ln_2: Norm::of(&b.ln_2)?,
                    c_fc: Lin::of(&b.mlp.c_fc)?,
                    mlp_proj: Lin::of(&b.mlp.c_proj)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            wte: Host::of(model.wte.weight.val())?,
            wpe: Host::of(model.wpe.weight.val())?,
            ln_f: Norm::of(&model.ln_f)?,
            blocks,
        })
    }
}

/// Whether `model`'s forward pass runs here rather than through burn's ops.
pub(crate) fn eligible(model: &GptBigCode) -> bool {
    ModelWeights::of(model).is_some()
}

/// Final hidden states `[b, t, n_embd]` for `ids` continuing `cache` (from position 0 without
/// one), as `GptBigCode::hidden_inner` computes them; `None` (and the cache untouched) when the
/// model is not eligible (see the module docs).
pub(crate) fn hidden(
    model: &GptBigCode,
    ids: &Tensor<2, Int>,
    cache: Option<&mut KvCache>,
) -> Option<Tensor<3>> {
    let [b, t] = ids.dims();
    if b * t == 0 {
        return None;
    }
    let ModelWeights {
        wte,
        wpe,
        ln_f,
        blocks,
    } = ModelWeights::of(model)?;
    let past = match &cache {
        None => Vec::new(),
        Some(c) => c
            .layers
            .iter()
            .map(|l| match l {
                None => Some(None),
                Some((k, v)) => Some(Some((Host::of(k.clone())?, Host::of(v.clone())?))),
            })
            .collect::<Option<Vec<_>>>()?,
    };

    let start = cache.as_ref().map_or(0, |c| c.seen);
    let e = model.wte.weight.dims()[1];
    let n = b * t;
    let eps = model.ln_eps as f32;
    let mut x = embed(&ids.to_data(), wte.get(), wpe.get(), e, t, start);
    let mut normed = vec![0.0; n * e];
    let mut attn_out = vec![0.0; n * e];
    let mut qkv = Vec::new();
    let mut inner = Vec::new();
    let mut new_cache = Vec::new();
    for (i, (block, w)) in model.h.iter().zip(&blocks).enumerate() {
        w.ln_1.apply(&x, &mut normed, eps);
        qkv.resize(n * w.c_attn.d_out(), 0.0);
        kernels::linear(
            &mut qkv,
            false,
            &normed,
            e,
            w.c_attn.weight(),
            w.c_attn.bias.get(),
        );
        let layer_past = past.get(i).and_then(|p| p.as_ref());
        let keep = cache.is_some();
        let kv = attend(
            &block.attn,
            &qkv,
            layer_past,
            [b, t, start],
            keep,
            &mut attn_out,
        );
        new_cache.extend(kv);
        kernels::linear(
            &mut x,
            true,
            &attn_out,
            e,
            w.attn_proj.weight(),
            w.attn_proj.bias.get(),
        );

        w.ln_2.apply(&x, &mut normed, eps);
        let d_inner = w.c_fc.d_out();
        inner.resize(n * d_inner, 0.0);
        let dims = (n, e, d_inner);
        let threads = gemm::Parallelism::Rayon(0);
        let xm = Mat::rows(&normed, e);
        // c_fc's bias is added in the GELU pass rather than in a pass of its own.
        kernels::matmul(
            &mut inner,
            d_inner,
            false,
            xm,
            w.c_fc.weight(),
            dims,
            1.0,
            threads,
        );
        kernels::bias_gelu_tanh(&mut inner, w.c_fc.bias.get());
        kernels::linear(
            &mut x,
            true,
            &inner,
            d_inner,
            w.mlp_proj.weight(),
            w.mlp_proj.bias.get(),
        );
    }
    if let Some(c) = cache {
        let device = ids.device();
        let tensor = |(data, shape): (Vec<f32>, [usize; 4])| {
            Tensor::<4>::from_data(TensorData::new(data, shape), &device)
        };
        c.layers = new_cache
            .into_iter()
            .map(|(k, v)| Some((tensor(k), tensor(v))))
            .collect();
        c.seen += t;
    }
    ln_f.apply(&x, &mut normed, eps);
    Some(Tensor::from_data(
        TensorData::new(normed, [b, t, e]),
        &ids.device(),
    ))
}

/// Logits `[b, t, vocab]` = `hidden · weightᵀ` for `weight` `[vocab, n_embd]`, read in place
/// (burn's `linear` would first copy the transpose); `None` when not eligible.
pub(crate) fn logits(hidden: &Tensor<3>, weight: Tensor<2>) -> Option<Tensor<3>> {
    let weight = Host::of(weight)?;
    let h = Host::of(hidden.clone())?;
    let [b, t, e] = hidden.dims();
    let vocab = weight.get().len() / e;
    let mut out = vec![0.0; b * t * vocab];
    let (x, w) = (Mat::rows(h.get(), e), Mat::transposed(weight.get(), e));
    let threads = gemm::Parallelism::Rayon(0);
    kernels::matmul(
        &mut out,
        vocab,
        false,
        x,
        w,
        (b * t, e, vocab),
        1.0,
        threads,
    );
    Some(Tensor::from_data(
        TensorData::new(out, [b, t, vocab]),
        &hidden.device(),
    ))
}

/// Token plus position embeddings `[b * t, e]`; positions start at `start`.
fn embed(ids: &TensorData, wte: &[f32], wpe: &[f32], e: usize, t: usize, start: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(ids.num_elements() * e);
    for (i, id) in ids.iter::<i64>().enumerate() {
        let id = usize::try_from(id).expect("token ids are non-negative");
        assert!(
            (id + 1) * e <= wte.len(),
            "token id {id} is outside the vocabulary"
        );
        let pos = start + i % t;
        let (tok, pos) = (&wte[id * e..][..e], &wpe[pos * e..][..e]);
        x.extend(tok.iter().zip(pos).map(|(a, b)| a + b));
    }
    x
}

/// A layer's keys and values for the cache: `(data, [b, kv_heads, seen, head_dim])` each.
type CacheEntry = ((Vec<f32>, [usize; 4]), (Vec<f32>, [usize; 4]));

/// Causal attention of the new positions in `qkv` (`[b * t, c_attn width]`) into `out`
/// (`[b * t, n_embd]`), after the `start` positions of `past` (the layer's cached keys and
/// values, `None` when `start` is 0). Returns the keys and values of all `start + t` positions
/// when `keep` (for the cache); without a cache they are read where `qkv` has them, no copy.
fn attend(
    attn: &Attention,
    qkv: &[f32],
    past: Option<&(Host, Host)>,
    [b, t, start]: [usize; 3],
    keep: bool,
    out: &mut [f32],
) -> Option<CacheEntry> {
    assert_eq!(
        past.is_some(),
        start > 0,
        "a cache holds every layer once it holds positions"
    );
    let (h, kvh, hd) = (attn.n_head, attn.kv_heads, attn.head_dim);
    let e = h * hd;
    let width = qkv.len() / (b * t);
    // MQA: q (all heads) | k | v. MHA: per head q | k | v, as HF views it ([heads, 3 * hd]).
    let (head_stride, k_off, v_off) = if kvh == 1 {
        (hd, e, e + hd)
    } else {
        (3 * hd, hd, 2 * hd)
    };
    let in_qkv = |offset| Heads {
        offset,
        batch_stride: t * width,
        head_stride,
        row_stride: width,
    };
    let q = in_qkv(0);
    let shape = AttnShape {
        batch: b,
        heads: h,
        kv_heads: kvh,
        head_dim: hd,
        t,
        past: start,
        scale: attn.scale as f32,
    };
    if !keep {
        kernels::causal_attention(out, qkv, q, qkv, in_qkv(k_off), qkv, in_qkv(v_off), shape);
        return None;
    }
    let shape4 = [b, kvh, start + t, hd];
    let (pk, pv) = past.map(|(k, v)| (k.get(), v.get())).unzip();
    let k = gather(qkv, in_qkv(k_off), shape4, pk);
    let v = gather(qkv, in_qkv(v_off), shape4, pv);
    let cached = Heads {
        offset: 0,
        batch_stride: kvh * (start + t) * hd,
        head_stride: (start + t) * hd,
        row_stride: hd,
    };
    kernels::causal_attention(out, qkv, q, &k.0, cached, &v.0, cached, shape);
    Some((k, v))
}

/// Keys or values `[b, kv_heads, seen, head_dim]`: the first `seen - t` positions from `past`
/// (laid out the same way, `seen - t` positions), the last `t` from `src` through `at`.
fn gather(
    src: &[f32],
    at: Heads,
    [b, kvh, seen, hd]: [usize; 4],
    past: Option<&[f32]>,
) -> (Vec<f32>, [usize; 4]) {
    let old = past.map_or(0, |p| p.len() / (b * kvh * hd));
    let t = seen - old;
    let mut data = Vec::with_capacity(b * kvh * seen * hd);
    for bi in 0..b {
        for kh in 0..kvh {
            if let Some(p) = past {
                data.extend_from_slice(&p[(bi * kvh + kh) * old * hd..][..old * hd]);
            }
            for tt in 0..t {
                let i = at.offset + bi * at.batch_stride + kh * at.head_stride + tt * at.row_stride;
                data.extend_from_slice(&src[i..i + hd]);
            }
        }
    }
    (data, [b, kvh, seen, hd])
}

#[cfg(test)]
pub(crate) mod tests {
    use burn::tensor::{Device, Int, Tensor, TensorData};

    use crate::config::GptBigCodeConfig;
    use crate::model::{GptBigCode, KvCache};
    use crate::weights;

    pub(crate) fn model(preset: &str, device: &Device) -> GptBigCode {
        let config = GptBigCodeConfig::preset(preset, 97, 0).unwrap();
        // A wide init, so attention is far from uniform and the MLP leaves GELU's linear part.
        weights::build(&config, weights::init(&config, 0.2, 7), device).unwrap()
    }

    fn ids(rows: &[Vec<i64>], device: &Device) -> Tensor<2, Int> {
        let t = rows[0].len();
        let flat = rows.concat();
        Tensor::from_data(TensorData::new(flat, [rows.len(), t]), device)
    }

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    pub(crate) fn worst(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// The same weights on an autodiff device run burn's ops (never this module); on the plain
    /// device they run this module. Rows end in padding (id 0), as right-padded batches do.
    #[test]
    fn matches_burns_forward_for_mqa_and_mha() {
        for preset in ["tiny-mqa", "tiny-mha"] {
            let plain = Device::flex();
            let fast = model(preset, &plain);
            let reference = model(preset, &Device::flex().autodiff());
            let rows: Vec<Vec<i64>> = (0..3)
                .map(|r| {
                    (0..40)
                        .map(|i| {
                            if i < 30 + 3 * r {
                                (i * 7 + r * 13) % 97
                            } else {
                                0
                            }
                        })
                        .collect()
                })
                .collect();
            assert!(super::hidden(&fast, &ids(&rows, &plain), None).is_some());
            let reference_ids = ids(&rows, &reference.device());
            assert!(super::hidden(&reference, &reference_ids, None).is_none());
            let got = values(fast.forward(ids(&rows, &plain)));
            let want = values(reference.forward(reference_ids));
            assert!(
                worst(&got, &want) < 1e-4,
                "{preset}: {}",
                worst(&got, &want)
            );
        }
    }

    /// A prompt, then one token a step, through the cache: the logits of the uncached forward.
    #[test]
    fn cached_steps_match_the_full_forward() {
        for preset in ["tiny-mqa", "tiny-mha"] {
            let device = Device::flex();
            let m = model(preset, &device);
            let rows: Vec<Vec<i64>> = (0..2)
                .map(|r| (0..20).map(|i| (i * 5 + r * 11 + 1) % 97).collect())
                .collect();
            let full = m.forward(ids(&rows, &device));
            let mut cache = KvCache::new();
            let prompt: Vec<Vec<i64>> = rows.iter().map(|r| r[..17].to_vec()).collect();
            let mut got = vec![m.forward_cached(ids(&prompt, &device), &mut cache)];
            for i in 17..20 {
                let step: Vec<Vec<i64>> = rows.iter().map(|r| vec![r[i]]).collect();
                got.push(m.forward_cached(ids(&step, &device), &mut cache));
            }
            assert_eq!(cache.len(), 20);
            let diff = worst(&values(Tensor::cat(got, 1)), &values(full));
            assert!(diff < 1e-5, "{preset}: {diff}");
        }
    }
}
