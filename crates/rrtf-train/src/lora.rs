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
//! `A` is drawn by flex's RNG on every device (on another device the factors burn drew there are
//! replaced by flex's draws, moved over once), so a seed gives the same adapters, and the same
//! run, on the CPU and on a GPU.

use burn::module::{Lora, Module, ModuleMapper, ModuleVisitor, Param, ParamGroup};
use burn::tensor::{Device, Distribution, Tensor};
use rrtf_model::GptBigCode;
use serde::Serialize;

use crate::error::{Result, TrainError};

/// Parameter paths that receive an adapter.
pub const TARGETS: &str = r"^h\.[0-9]+\.(attn\.(c_attn|c_proj)|mlp\.(c_fc|c_proj))\.weight$";

/// Attach adapters of `rank` and `alpha` to the projections of `model`, with `A` factors drawn
/// from flex's RNG seeded with `seed` (the same factors on every device).
pub fn apply_seeded(model: GptBigCode, rank: usize, alpha: f64, seed: u64) -> Result<GptBigCode> {
    let device = model.device();
    let on_flex = device.clone().without_autodiff() == Device::flex();
    if on_flex {
        device.seed(seed);
        return apply(model, rank, alpha);
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
    Ok(model.apply_lora(Lora::new(rank, alpha).set_param_group(group)))
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
