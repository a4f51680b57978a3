//! The GPTBigCode architecture (StarCoder, SantaCoder; "SantaCoder: don't reach for the stars!",
//! arXiv 2301.03988): learned position embeddings, pre-LayerNorm blocks, multi-query attention
//! (one key/value head shared by all query heads) or, with `multi_query = false`, multi-head
//! attention, a GELU MLP and an LM head tied to the token embedding.
//!
//! Field names mirror the checkpoint: `wte`, `wpe`, `h.{i}.ln_1`, `h.{i}.attn.c_attn`, ...
//! (`transformer.` prefix dropped). Weights are f32; `Linear` weights are stored `[d_in, d_out]`
//! (the transpose of PyTorch), which `weights.rs` handles on load and save.
//!
//! The ops here are the reference and what training differentiates, and what every device other
//! than flex runs (cuda, wgpu: tensors stay on the device). An inference copy of the model on the
//! CPU (no autodiff) runs the same computation through `infer.rs` instead, which is several
//! times faster on small shapes ([`GptBigCode::host_kernels`] says which path a model takes).
//!
//! This module does not read files or tokenize: see `weights.rs` and `tokenizer.rs`.

use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::module::{attention, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Int, Tensor, TensorData, activation};

use crate::config::{Activation, GptBigCodeConfig};
use crate::infer;

/// Causal self-attention; one key/value head (MQA) or `n_head` of them (MHA).
#[derive(Module, Debug)]
pub struct Attention {
    /// `[n_embd, n_embd + 2 * kv_heads * head_dim]`; output is q | k | v (MQA) or, per head,
    /// q | k | v (MHA: HF views it as `[heads, 3 * head_dim]`).
    pub c_attn: Linear,
    pub c_proj: Linear,
    pub(crate) n_head: usize,
    pub(crate) kv_heads: usize,
    pub(crate) head_dim: usize,
    pub(crate) scale: f64,
}

/// The MLP: `c_proj(act(c_fc(x)))`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub c_fc: Linear,
    pub c_proj: Linear,
    pub(crate) tanh_gelu: bool,
}

/// One pre-LayerNorm transformer block.
#[derive(Module, Debug)]
pub struct Block {
    pub ln_1: LayerNorm,
    pub attn: Attention,
    pub ln_2: LayerNorm,
    pub mlp: Mlp,
}

/// `GPTBigCodeForCausalLM`: the transformer plus the LM head.
#[derive(Module, Debug)]
pub struct GptBigCode {
    /// Token embedding `[vocab_size, n_embd]`; also the LM head when tied.
    pub wte: Embedding,
    /// Position embedding `[n_positions, n_embd]`.
    pub wpe: Embedding,
    pub h: Vec<Block>,
    pub ln_f: LayerNorm,
    /// Untied LM head `[vocab_size, n_embd]` (PyTorch layout), `None` when tied to `wte`.
    pub lm_head: Option<Param<Tensor<2>>>,
    n_positions: usize,
    /// The LayerNorms' epsilon (burn's `LayerNorm` keeps its own private), for `infer.rs`.
    pub(crate) ln_eps: f64,
    /// The linear layers hold int8 values times their scales (`quant.rs`): decoding steps
    /// read them as int8 (`batch::Decoder`).
    pub(crate) int8: bool,
}

/// Per-layer keys and values of the tokens seen so far, for incremental decoding.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    /// `(k, v)`, each `[batch, kv_heads, seen, head_dim]`, one entry a layer.
    pub(crate) layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    pub(crate) seen: usize,
}

impl KvCache {
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of positions already in the cache.
    pub fn len(&self) -> usize {
        self.seen
    }
    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }
}

impl Attention {
    pub(crate) fn new(c_attn: Linear, c_proj: Linear, config: &GptBigCodeConfig) -> Self {
        let head_dim = config.head_dim();
        Self {
            c_attn,
            c_proj,
            n_head: config.n_head,
            kv_heads: config.kv_heads(),
            head_dim,
            scale: if config.scale_attn_weights {
                1.0 / (head_dim as f64).sqrt()
            } else {
                1.0
            },
        }
    }

    /// `x`: `[b, t, n_embd]` → `[b, t, n_embd]`. With `past`, keys and values are appended to it.
    fn forward(
        &self,
        x: Tensor<3>,
        past: Option<&mut Option<(Tensor<4>, Tensor<4>)>>,
    ) -> Tensor<3> {
        let [b, t, e] = x.dims();
        let (h, hd) = (self.n_head, self.head_dim);
        let qkv = self.c_attn.forward(x);
        let (q, k, v) = if self.kv_heads == 1 {
            // [b, t, e + 2 hd]: q | k | v
            let q = qkv
                .clone()
                .narrow(2, 0, e)
                .reshape([b, t, h, hd])
                .swap_dims(1, 2);
            let k = qkv.clone().narrow(2, e, hd).reshape([b, 1, t, hd]);
            let v = qkv.narrow(2, e + hd, hd).reshape([b, 1, t, hd]);
            (q, k, v)
        } else {
            // [b, t, h, 3 hd] → [b, h, t, 3 hd]; each head holds its own q | k | v.
            let qkv = qkv.reshape([b, t, h, 3 * hd]).swap_dims(1, 2);
            let q = qkv.clone().narrow(3, 0, hd);
            let k = qkv.clone().narrow(3, hd, hd);
            let v = qkv.narrow(3, 2 * hd, hd);
            (q, k, v)
        };
        let (k, v) = match past {
            None => (k, v),
            Some(slot) => {
                let (k, v) = match slot.take() {
                    None => (k, v),
                    Some((pk, pv)) => (Tensor::cat(vec![pk, k], 2), Tensor::cat(vec![pv, v], 2)),
                };
                *slot = Some((k.clone(), v.clone()));
                (k, v)
            }
        };
        // Causal with the diagonal aligned bottom-right, so cached decoding sees every past key.
        let options = AttentionModuleOptions {
            scale: Some(self.scale),
            softcap: None,
            is_causal: true,
        };
        let out = attention(q, k, v, None, None, options); // [b, h, t, hd]
        self.c_proj.forward(out.swap_dims(1, 2).reshape([b, t, e]))
    }
}

impl Mlp {
    pub(crate) fn new(c_fc: Linear, c_proj: Linear, act: Activation) -> Self {
        Self {
            c_fc,
            c_proj,
            tanh_gelu: act == Activation::GeluTanh,
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.c_fc.forward(x);
        let x = if self.tanh_gelu {
            match x.is_tracked() {
                true => gelu_tanh_tracked(x),
                false => gelu_tanh(x),
            }
        } else {
            activation::gelu(x)
        };
        self.c_proj.forward(x)
    }
}

/// `0.5 x (1 + tanh(u))` with `u = sqrt(2/π) (x + 0.044715 x³)`, as PyTorch's
/// `gelu(approximate="tanh")`, computed as the identical `x * sigmoid(2u)` with
/// `2u = x (a + b x²)`: flex's sigmoid is several times faster than its tanh, and this form is
/// six element-wise passes (each with its own backward under autodiff) instead of seven.
/// `x²` rather than a float power because a float power of a negative base is NaN on some
/// backends.
fn gelu_tanh(x: Tensor<3>) -> Tensor<3> {
    const A: f64 = 2.0 * 0.797_884_560_802_865_4;
    const B: f64 = A * 0.044715;
    let two_u = x.clone().square().mul_scalar(B).add_scalar(A) * x.clone();
    x * activation::sigmoid(two_u)
}

/// [`gelu_tanh`] under autodiff: the value and the derivative `d = gelu'(x)` in one fused pass
/// over the flex buffer (`kernels::gelu_tanh_with_grad`), then `(x - detach(x)) * d + y`, whose
/// value is `y` exactly and whose gradient is `d * grad`. burn's ops would take six forward
/// passes over the MLP's widest activation and about ten more in the backward pass; this takes
/// four and one. Other backends or dtypes use [`gelu_tanh`].
fn gelu_tanh_tracked(x: Tensor<3>) -> Tensor<3> {
    let value = x.clone().inner();
    let device = value.device();
    let Some(host) = infer::Host::of(value) else {
        return gelu_tanh(x);
    };
    let (y, d) = crate::kernels::gelu_tanh_with_grad(host.get());
    let shape = x.shape();
    let constant = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, shape.clone()), &device);
    (x.clone() - x.detach()) * constant(d) + constant(y)
}

impl Block {
    pub(crate) fn forward(
        &self,
        x: Tensor<3>,
        past: Option<&mut Option<(Tensor<4>, Tensor<4>)>>,
    ) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.ln_1.forward(x), past);
        x.clone() + self.mlp.forward(self.ln_2.forward(x))
    }
}

impl GptBigCode {
    pub(crate) fn new(
        wte: Embedding,
        wpe: Embedding,
        h: Vec<Block>,
        ln_f: LayerNorm,
        lm_head: Option<Param<Tensor<2>>>,
        ln_eps: f64,
    ) -> Self {
        let n_positions = wpe.weight.dims()[0];
        Self {
            wte,
            wpe,
            h,
            ln_f,
            lm_head,
            n_positions,
            ln_eps,
            int8: false,
        }
    }

    pub fn n_positions(&self) -> usize {
        self.n_positions
    }

    pub fn device(&self) -> Device {
        self.wte.weight.device()
    }

    /// Whether this model's forward pass runs on the host kernels of `infer.rs` (an inference
    /// copy on the plain flex device, f32 weights, tanh GELU) rather than burn's ops (autodiff,
    /// any other device). The fused training GELU likewise runs on flex only.
    pub fn host_kernels(&self) -> bool {
        infer::eligible(self)
    }

    /// The LM head weight `[vocab_size, n_embd]`.
    pub fn lm_head_weight(&self) -> Tensor<2> {
        match &self.lm_head {
            Some(w) => w.val(),
            None => self.wte.weight.val(),
        }
    }

    /// Final hidden states `[b, t, n_embd]` for token ids `[b, t]` (positions from 0).
    pub fn hidden(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.hidden_inner(ids, None)
    }

    /// Logits `[b, t, vocab_size]` for token ids `[b, t]` (positions from 0), no cache.
    /// Causal: position `i` of a row depends only on that row's tokens `0..=i`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.logits(self.hidden(ids))
    }

    /// Logits for `ids` `[b, t]` that continue the sequence held in `cache`, which is updated.
    pub fn forward_cached(&self, ids: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        self.logits(self.hidden_cached(ids, cache))
    }

    /// Final hidden states for `ids` continuing the sequence held in `cache`, which is updated.
    pub fn hidden_cached(&self, ids: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        self.hidden_inner(ids, Some(cache))
    }

    /// Project hidden states `[b, t, n_embd]` to logits `[b, t, vocab_size]`.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        if let Some(logits) = infer::logits(&hidden, self.lm_head_weight()) {
            return logits;
        }
        linear(hidden, self.lm_head_weight().transpose(), None)
    }

    /// Token plus position embeddings `[b, t, n_embd]` for ids `[b, t]` (positions from 0).
    pub(crate) fn embed(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [_, t] = ids.dims();
        let positions = Tensor::<1, Int>::arange(0..t as i64, &ids.device()).reshape([1, t]);
        self.wte.forward(ids) + self.wpe.forward(positions)
    }

    fn hidden_inner(&self, ids: Tensor<2, Int>, mut cache: Option<&mut KvCache>) -> Tensor<3> {
        let [_, t] = ids.dims();
        let start = cache.as_ref().map_or(0, |c| c.seen);
        assert!(
            start + t <= self.n_positions,
            "{} positions exceed n_positions = {} (callers check this first)",
            start + t,
            self.n_positions
        );
        if let Some(hidden) = infer::hidden(self, &ids, cache.as_deref_mut()) {
            return hidden;
        }
        if cache.is_none() && crate::checkpoint::active() && self.device().is_autodiff() {
            return crate::checkpoint::hidden(self, ids);
        }
        let device = ids.device();
        let positions =
            Tensor::<1, Int>::arange(start as i64..(start + t) as i64, &device).reshape([1, t]);
        let mut x = self.wte.forward(ids) + self.wpe.forward(positions);
        if let Some(c) = cache.as_deref_mut()
            && c.layers.len() != self.h.len()
        {
            c.layers = vec![None; self.h.len()];
        }
        for (i, block) in self.h.iter().enumerate() {
            let past = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            x = block.forward(x, past);
        }
        if let Some(c) = cache {
            c.seen += t;
        }
        self.ln_f.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused training GELU gives burn's ops' value and gradient (the gradient weighted by a
    /// non-uniform upstream gradient, so a wrong per-element derivative cannot cancel out).
    #[test]
    fn fused_tracked_gelu_matches_burns_ops_in_value_and_gradient() {
        let device = Device::flex().autodiff();
        let n = 3 * 50 * 400; // above flex's threading threshold
        let xs: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 2000) as f32 * 4e-3 - 4.0)
            .collect();
        let weights: Vec<f32> = (0..n).map(|i| ((i * 104_729) % 97) as f32 / 97.0).collect();
        let run = |fused: bool| {
            let x = Tensor::<3>::from_data(TensorData::new(xs.clone(), [3, 50, 400]), &device)
                .require_grad();
            assert!(x.is_tracked());
            let w = Tensor::<3>::from_data(TensorData::new(weights.clone(), [3, 50, 400]), &device);
            let y = if fused {
                gelu_tanh_tracked(x.clone())
            } else {
                gelu_tanh(x.clone())
            };
            let grads = (y.clone() * w).sum().backward();
            let grad = x.grad(&grads).expect("x has a gradient");
            let vec = |t: Tensor<3>| t.into_data().try_to_vec::<f32>().unwrap();
            (vec(y.inner()), vec(grad))
        };
        let (y_fused, g_fused) = run(true);
        let (y_ops, g_ops) = run(false);
        for i in 0..n {
            assert!(
                (y_fused[i] - y_ops[i]).abs() < 1e-5,
                "value at x = {}: {} vs {}",
                xs[i],
                y_fused[i],
                y_ops[i]
            );
            assert!(
                (g_fused[i] - g_ops[i]).abs() < 1e-5,
                "gradient at x = {}: {} vs {}",
                xs[i],
                g_fused[i],
                g_ops[i]
            );
        }
    }
}
