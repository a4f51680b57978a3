//! LoRA adapters (Hu et al. 2021) on the attention and MLP projections, through burn's
//! reparameterization (`Module::apply_lora`): each adapted weight `W [d_in, d_out]` becomes
//! `W + (alpha / rank) · A B` with `A [d_in, rank] ~ N(0, 1/rank)` and `B [rank, d_out] = 0`,
//! so the adapted model starts out identical to the base. Every base parameter is frozen
//! (biases, LayerNorms and both embeddings included): only `A` and `B` get gradients and
//! optimizer state, which is what lets a large base fit one device.
//!
//! Targets: `h.{i}.attn.c_attn`, `h.{i}.attn.c_proj`, `h.{i}.mlp.c_fc`, `h.{i}.mlp.c_proj`
//! (never `wte`, `wpe` or an untied `lm_head`). The final model is saved merged
//! (`Module::materialize`), so it is a plain checkpoint that transformers, vLLM and the next
//! round read like any other; checkpoints for `--resume` keep the factors.
//!
//! With `base_dtype = "bf16"` the adapted weights are cast to bf16 before the adapters are
//! attached (the adapters, their gradients and AdamW's moments stay f32): half the memory of the
//! frozen projections at rest. burn's LoRA composes an f32 weight from them at each forward pass
//! (`LoraAdapter::apply` casts the base to the factors' dtype), which autodiff keeps until the
//! backward pass; with per-layer gradient checkpointing that is one block's at a time. The
//! merged model is written over the f32 base read again from disk ([`merged_over`]), not over
//! its bf16 rounding. Embeddings, biases and LayerNorms stay f32 (the embeddings are the tied
//! LM head; all of them together are a few percent of a StarCoder model).
//!
//! `A` is drawn by flex's RNG on every device (on another device the factors burn drew there are
//! replaced by flex's draws, moved over once), so a seed gives the same adapters, and the same
//! run, on the CPU and on a GPU.

use std::collections::HashMap;

use burn::module::{Lora, Module, ModuleMapper, ModuleVisitor, Param, ParamGroup};
use burn::tensor::{DType, Device, Distribution, FloatDType, Tensor, TensorData};
use rrtf_config::LoraBaseDtype;
use rrtf_model::GptBigCode;
use serde::Serialize;

use crate::error::{Result, TrainError};

/// Parameter paths that receive an adapter.
pub const TARGETS: &str = r"^h\.[0-9]+\.(attn\.(c_attn|c_proj)|mlp\.(c_fc|c_proj))\.weight$";

/// Whether `path` (a parameter's module path) is one of [`TARGETS`].
fn is_target(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("h.") else {
        return false;
    };
    let Some((layer, rest)) = rest.split_once('.') else {
        return false;
    };
    !layer.is_empty()
        && layer.bytes().all(|b| b.is_ascii_digit())
        && matches!(
            rest,
            "attn.c_attn.weight" | "attn.c_proj.weight" | "mlp.c_fc.weight" | "mlp.c_proj.weight"
        )
}

/// Attach the adapters `cfg` asks for to the projections of `model` (with a bf16 base when it
/// says so), with `A` factors drawn from flex's RNG seeded with `seed` (the same factors on
/// every device).
pub fn apply_config(model: GptBigCode, cfg: &rrtf_config::Lora, seed: u64) -> Result<GptBigCode> {
    let model = match cfg.base_dtype {
        LoraBaseDtype::F32 => model,
        LoraBaseDtype::Bf16 => model.map(&mut CastTargets {
            path: Vec::new(),
            cast: 0,
        }),
    };
    apply_seeded(model, cfg.rank as usize, cfg.alpha, seed)
}

/// Casts every adapted weight ([`TARGETS`]) to bf16.
struct CastTargets {
    path: Vec<String>,
    cast: usize,
}

impl ModuleMapper for CastTargets {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !is_target(&self.path.join(".")) {
            return param;
        }
        self.cast += 1;
        param.map(|t| t.cast(DType::BF16).set_require_grad(false))
    }
}

/// The merged model (adapters folded into their weights, as [`Module::materialize`] does) of
/// `model`, a LoRA model on any device, with every bf16 adapted weight replaced first by the
/// same weight of `base` (the f32 base as loaded from disk, on any device): the merge is then
/// `W + scale·A·B` on the f32 weights, not on their bf16 rounding. Without a bf16 base it is
/// `model.valid().materialize()`.
pub fn merged_over(model: &GptBigCode, base: &GptBigCode) -> GptBigCode {
    struct Collect {
        path: Vec<String>,
        found: HashMap<String, TensorData>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let path = self.path.join(".");
            if is_target(&path) {
                self.found.insert(path, param.val().into_data());
            }
        }
    }
    struct Replace {
        path: Vec<String>,
        found: HashMap<String, TensorData>,
    }
    impl ModuleMapper for Replace {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let path = self.path.join(".");
            if !is_target(&path) || param.base().dtype() != DType::BF16 {
                return param;
            }
            let data = self
                .found
                .remove(&path)
                .unwrap_or_else(|| panic!("the base has no {path}"));
            param.map(|t| Tensor::from_data(data, &t.device()))
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        found: HashMap::new(),
    };
    base.visit(&mut collect);
    let mut replace = Replace {
        path: Vec::new(),
        found: collect.found,
    };
    model.valid().map(&mut replace).materialize()
}

/// Attach adapters of `rank` and `alpha` to the projections of `model`, with `A` factors drawn
/// from flex's RNG seeded with `seed` (the same factors on every device).
pub fn apply_seeded(model: GptBigCode, rank: usize, alpha: f64, seed: u64) -> Result<GptBigCode> {
    // flex's RNG is one per process: seeding it and drawing must not interleave with another
    // thread's (two trainers in one process, e.g. tests run in parallel), or the factors would
    // depend on timing.
    static FLEX_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _rng = FLEX_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = model.device();
    let on_flex = device.clone().without_autodiff() == Device::flex();
    if on_flex {
        device.seed(seed);
        let model = apply(model, rank, alpha)?;
        // burn initialises parameters lazily: draw the factors now, under the lock.
        model.visit(&mut ForceInit);
        return Ok(model);
    }
    let model = apply(model, rank, alpha)?;
    // burn's `Lora` draws each `A` as `random([d_in, rank], Normal(0, 1 / rank))` in module
    // order: draw the same on flex, in the same order, and move them over.
    let host = Device::flex();
    host.seed(seed);
    let std = 1.0 / rank as f64;
    let mut redraw = RedrawA {
        path: Vec::new(),
        in_adapter: false,
        draw: move |shape: [usize; 2], device: &Device| {
            let a = Tensor::<2>::random(shape, Distribution::Normal(0.0, std), &host);
            Tensor::<2>::from_data(a.into_data(), device)
        },
        replaced: 0,
    };
    let model = model.map(&mut redraw);
    debug_assert_eq!(redraw.replaced, param_counts(&model).adapted);
    Ok(model)
}

/// Initialises every (lazily initialised) float parameter it visits.
struct ForceInit;

impl ModuleVisitor for ForceInit {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.base();
    }
}

/// Replaces every adapter's `A` factor by `draw(shape, device)`.
struct RedrawA<F> {
    path: Vec<String>,
    in_adapter: bool,
    draw: F,
    replaced: usize,
}

impl<F: FnMut([usize; 2], &Device) -> Tensor<2>> ModuleMapper for RedrawA<F> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        if container_type == "Reparameterization" {
            self.in_adapter = true;
        }
        self.path.push(name.to_owned());
    }
    fn exit_module(&mut self, _name: &str, container_type: &str) {
        if container_type == "Reparameterization" {
            self.in_adapter = false;
        }
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !(self.in_adapter && D == 2 && self.path.last().is_some_and(|n| n == "a")) {
            return param;
        }
        self.replaced += 1;
        let draw = &mut self.draw;
        param.map(|old| {
            let dims = old.dims();
            let fresh = draw([dims[0], dims[1]], &old.device());
            let fresh = Tensor::<D>::from_data(fresh.into_data(), &old.device());
            fresh.set_require_grad(old.is_require_grad())
        })
    }
}

/// Attach adapters of `rank` and `alpha` to the projections of `model`; its device's RNG
/// (seed it first) draws the `A` factors. [`apply_seeded`] draws the same ones on any device.
pub fn apply(model: GptBigCode, rank: usize, alpha: f64) -> Result<GptBigCode> {
    if rank == 0 {
        return Err(TrainError::Config {
            key: "lora.rank",
            value: "0".into(),
            message: "must be at least 1".into(),
        });
    }
    let group = ParamGroup::from_regex(TARGETS)
        .map_err(|e| TrainError::Backend(format!("LoRA target pattern: {e:?}")))?;
    // The factors in f32 whatever the base's dtype (a bf16 base composes into f32).
    Ok(model.apply_lora(
        Lora::new(rank, alpha)
            .set_param_group(group)
            .set_dtype(FloatDType::F32),
    ))
}

/// Counts of parameters (elements) by what training does with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ParamCounts {
    /// Elements that receive gradients (the adapters under LoRA, everything otherwise).
    pub trainable: usize,
    /// Every element, adapters included.
    pub total: usize,
    /// Weights carrying an adapter.
    pub adapted: usize,
}

struct Count(ParamCounts);

impl ModuleVisitor for Count {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let n = param.lazy_shape().num_elements();
        self.0.total += n;
        if param.val().is_require_grad() {
            self.0.trainable += n;
        }
    }
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        // A weight's adapter is visited as a nested "Reparameterization" module.
        if container_type == "Reparameterization" {
            self.0.adapted += 1;
        }
    }
}

/// Count `model`'s parameters (`trainable` is meaningful on an autodiff device only).
pub fn param_counts(model: &GptBigCode) -> ParamCounts {
    let mut c = Count(ParamCounts::default());
    model.visit(&mut c);
    c.0
}
