//! The optimizer side of a step: AdamW with PyTorch's defaults set explicitly, global-norm
//! gradient clipping, and the learning-rate schedule.
//!
//! - AdamW: burn's `AdamWConfig` defaults differ from PyTorch (epsilon 1e-5 vs 1e-8, weight
//!   decay 1e-4 vs 1e-2); every value is set from `[training]`, whose defaults are PyTorch's.
//!   Weight decay applies to every parameter, as `torch.optim.AdamW(model.parameters())`.
//! - Clipping: burn's `GradientClippingConfig::Norm` clips each tensor separately. We clip the
//!   global L2 norm like `torch.nn.utils.clip_grad_norm_`: one pass sums squares over all
//!   gradients, a second scales them by `min(1, max_norm / (norm + 1e-6))`.
//! - Schedule: as transformers' `get_{cosine,linear,constant}_schedule_with_warmup`, a pure
//!   function of the step (so a resume needs only the step count): the multiplier is
//!   `s / warmup` for `s < warmup`, then cosine `0.5 (1 + cos(π q))`, linear `1 − q` or 1, with
//!   `q = (s − warmup) / (total − warmup)`, where `s` counts completed optimizer steps.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, GradientsParams, LearningRate,
    ModuleOptimizer, Optimizer,
};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rayon::prelude::*;
use rrtf_config::{Schedule, Training};

/// AdamW from `[training]` (betas, epsilon, weight decay); no built-in (per-tensor) clipping.
pub fn adamw(t: &Training) -> ModuleOptimizer {
    ModuleOptimizer::from(FusedAdamW::new(t))
}

fn adamw_config(t: &Training) -> AdamWConfig {
    AdamWConfig::new()
        .with_beta_1(t.beta1 as f32)
        .with_beta_2(t.beta2 as f32)
        .with_epsilon(t.epsilon as f32)
        .with_weight_decay(t.weight_decay as f32)
        .with_cautious_weight_decay(false)
        .with_amsgrad(false)
        .with_grad_clipping(None)
}

/// AdamW as one pass over each parameter on the CPU.
///
/// burn's `AdamW` writes the update as ~14 tensor operations, each a single-threaded pass that
/// allocates its result (`m·β1`, `g·(1−β1)`, their sum, `g²`, ..., `p·(1−lr·λ)`, `p − lr·Δ`).
/// On flex tensors of f32 this does the same arithmetic, in the same order and precision, in one
/// multi-threaded loop over `(p, g, m, v)`, in place when the buffers are not shared. Anywhere
/// else (a GPU device, another dtype) it calls burn's `AdamW`, so results do not depend on the
/// path. The state is burn's `AdamWState`, so `optim.bpk` files are the same either way.
#[derive(Clone)]
pub struct FusedAdamW {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
    fallback: AdamW,
}

impl FusedAdamW {
    pub fn new(t: &Training) -> Self {
        Self {
            beta_1: t.beta1 as f32,
            beta_2: t.beta2 as f32,
            epsilon: t.epsilon as f32,
            weight_decay: t.weight_decay as f32,
            fallback: adamw_config(t).build(),
        }
    }
}

/// Whether [`FusedAdamW`] may run its own loop for parameters on `device` (flex, with or
/// without autodiff; f32 is checked per tensor). Elsewhere (cuda, wgpu) burn's `AdamW` updates
/// the parameters on the device.
pub fn fused_adamw_applies(device: &Device) -> bool {
    device.clone().without_autodiff() == Device::flex()
}

/// Whether [`FusedAdamW`] runs its own loop (f32 everywhere, on the CPU) or burn's `AdamW`.
fn fused_applies<const D: usize>(
    tensor: &Tensor<D>,
    grad: &Tensor<D>,
    state: Option<&AdamWState<D>>,
) -> bool {
    let f32s = |t: &Tensor<D>| t.dtype() == DType::F32;
    fused_adamw_applies(&tensor.device())
        && f32s(tensor)
        && f32s(grad)
        && state.is_none_or(|s| f32s(&s.momentum.moment_1) && f32s(&s.momentum.moment_2))
}

/// Elements per task of the fused loop: large enough that rayon's overhead vanishes, small
/// enough that both threads share a 2-D weight.
const CHUNK: usize = 1 << 16;

impl Optimizer for FusedAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !fused_applies(&tensor, &grad, state.as_ref()) {
            return self.fallback.step(lr, tensor, grad, state);
        }
        let device = tensor.device();
        let shape = tensor.shape();
        let n = shape.num_elements();
        let (time, m, v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                s.momentum.moment_1.into_data(),
                s.momentum.moment_2.into_data(),
            ),
            None => {
                let zeros = || TensorData::new(vec![0f32; n], shape.clone());
                (1, zeros(), zeros())
            }
        };
        let (mut p, g, mut m, mut v) = (tensor.into_data(), grad.into_data(), m, v);
        {
            fn slice(d: &mut TensorData) -> &mut [f32] {
                d.as_mut_slice::<f32>().expect("f32 checked above")
            }
            let g = g.as_slice::<f32>().expect("f32 checked above");
            let (p, m, v) = (slice(&mut p), slice(&mut m), slice(&mut v));
            // The operations and roundings of burn's AdamW (`AdaptiveMomentumW::transform`, then
            // `AdamW::step`): scalars are converted to f32 where burn's `mul_scalar` converts them.
            let (b1, b2) = (self.beta_1, self.beta_2);
            let (f1, f2) = (1.0 - b1, 1.0 - b2);
            let time = time as i32;
            let (c1, c2) = (1f32 - b1.powi(time), 1f32 - b2.powi(time));
            let decay = lr * self.weight_decay as f64;
            let keep = (1.0 - decay) as f32;
            let (lr, eps) = (lr as f32, self.epsilon);
            let first = time == 1;
            p.par_chunks_mut(CHUNK)
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .zip(g.par_chunks(CHUNK))
                .for_each(|(((p, m), v), g)| {
                    // Iterators, not indices: no bounds checks, so the loop vectorises.
                    let lanes = p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g);
                    for (((p, m), v), &g) in lanes {
                        let (mi, vi) = if first {
                            (g * f1, g * g * f2)
                        } else {
                            (*m * b1 + g * f1, *v * b2 + g * g * f2)
                        };
                        *m = mi;
                        *v = vi;
                        let delta = (mi / c1) / ((vi / c2).sqrt() + eps);
                        let decayed = if decay == 0.0 { *p } else { *p * keep };
                        *p = decayed - delta * lr;
                    }
                });
        }
        let state = AdamWState::new(AdaptiveMomentumState::new(
            time,
            Tensor::from_data(m, &device),
            Tensor::from_data(v, &device),
        ));
        (Tensor::from_data(p, &device), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamW::to_device(state, device)
    }
}

/// Learning rate for the optimizer step that follows `step` completed steps.
pub fn lr_at(step: u64, total: u64, warmup: u64, peak: f64, schedule: Schedule) -> f64 {
    if step < warmup {
        return peak * step as f64 / warmup.max(1) as f64;
    }
    let q = (step - warmup) as f64 / total.saturating_sub(warmup).max(1) as f64;
    let m = match schedule {
        Schedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * q.min(1.0)).cos()),
        Schedule::Linear => (1.0 - q).max(0.0),
        Schedule::Constant => 1.0,
    };
    peak * m
}

/// Sums the squares of every parameter's gradient into one scalar tensor.
struct SquareSum<'a> {
    grads: &'a GradientsParams,
    acc: Option<Tensor<1>>,
}

impl ModuleVisitor for SquareSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.acc = Some(match self.acc.take() {
                Some(a) => a + s,
                None => s,
            });
        }
    }
}

/// Multiplies every parameter's gradient by a factor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Global L2 norm of the gradients of `module`'s parameters.
pub fn grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut v = SquareSum { grads, acc: None };
    module.visit(&mut v);
    v.acc
        .map(|a| (a.into_scalar::<f32>() as f64).sqrt())
        .unwrap_or(0.0)
}

/// Clip the global gradient norm to `max_norm` (0 = off) like PyTorch's `clip_grad_norm_`;
/// returns the norm before clipping.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let norm = grad_norm(module, grads);
    if max_norm > 0.0 {
        let factor = (max_norm / (norm + 1e-6)).min(1.0);
        if factor < 1.0 {
            module.visit(&mut Scale { grads, factor });
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn training(weight_decay: f64) -> Training {
        Training {
            beta1: 0.9,
            beta2: 0.95,
            epsilon: 1e-8,
            weight_decay,
            ..Training::default()
        }
    }

    fn random(shape: [usize; 2], seed: u64) -> Tensor<2> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let n = shape[0] * shape[1];
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Tensor::from_data(TensorData::new(v, shape), &Device::flex())
    }

    fn values(t: &Tensor<2>) -> Vec<f32> {
        t.to_data().try_to_vec::<f32>().unwrap()
    }

    /// The fused loop and burn's AdamW give the same bits over several steps (first step,
    /// moments carried over, weight decay on and off), on a tensor that spans several chunks.
    #[test]
    fn fused_adamw_equals_burns_adamw_bit_for_bit() {
        for wd in [0.0, 0.01] {
            let cfg = training(wd);
            let (fused, burn) = (FusedAdamW::new(&cfg), adamw_config(&cfg).build());
            let shape = [3, CHUNK / 2 + 7];
            let (mut a, mut b) = (random(shape, 1), random(shape, 1));
            let (mut sa, mut sb) = (None, None);
            for step in 0..4u64 {
                let g = random(shape, 10 + step);
                assert!(
                    fused_applies(&a, &g, sa.as_ref()),
                    "the fused loop runs on flex f32"
                );
                let lr = 1e-3 * (step + 1) as f64;
                (a, sa) = fused.step(lr, a, g.clone(), sa);
                (b, sb) = burn.step(lr, b, g, sb);
                assert_eq!(
                    values(&a),
                    values(&b),
                    "weights after step {step}, decay {wd}"
                );
                let (ma, mb) = (
                    &sa.as_ref().unwrap().momentum,
                    &sb.as_ref().unwrap().momentum,
                );
                assert_eq!(ma.time, mb.time);
                assert_eq!(values(&ma.moment_1), values(&mb.moment_1));
                assert_eq!(values(&ma.moment_2), values(&mb.moment_2));
            }
        }
    }

    /// Against `torch.optim.AdamW`'s update written out in f64 (its denominator is
    /// `sqrt(v) / sqrt(1 - β2^t) + ε`, burn's `sqrt(v / (1 - β2^t)) + ε`: equal up to rounding).
    #[test]
    fn fused_adamw_follows_pytorchs_formula() {
        let cfg = training(0.01);
        let (b1, b2, eps, wd) = (cfg.beta1, cfg.beta2, cfg.epsilon, cfg.weight_decay);
        let fused = FusedAdamW::new(&cfg);
        let shape = [4, 33];
        let mut p = random(shape, 7);
        let mut want: Vec<f64> = values(&p).iter().map(|&x| x as f64).collect();
        let (mut m, mut v) = (vec![0f64; want.len()], vec![0f64; want.len()]);
        let mut state = None;
        for t in 1..=3 {
            let g = random(shape, 100 + t as u64);
            let lr = 2e-3;
            for (i, &gi) in values(&g).iter().enumerate() {
                let gi = gi as f64;
                want[i] *= 1.0 - lr * wd;
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                let denom = v[i].sqrt() / (1.0 - b2.powi(t)).sqrt() + eps;
                want[i] -= lr / (1.0 - b1.powi(t)) * m[i] / denom;
            }
            (p, state) = fused.step(lr, p, g, state);
        }
        for (i, (&got, &want)) in values(&p).iter().zip(&want).enumerate() {
            assert!(
                (got as f64 - want).abs() < 1e-6,
                "element {i}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn schedule_matches_transformers_formulas() {
        // (step, total, warmup, schedule, expected multiplier): values of transformers'
        // get_*_schedule_with_warmup lambdas.
        let cases = [
            (0, 10, 2, Schedule::Cosine, 0.0),
            (1, 10, 2, Schedule::Cosine, 0.5),
            (2, 10, 2, Schedule::Cosine, 1.0),
            (6, 10, 2, Schedule::Cosine, 0.5),
            (10, 10, 2, Schedule::Cosine, 0.0),
            (4, 10, 2, Schedule::Linear, 0.75),
            (10, 10, 2, Schedule::Linear, 0.0),
            (7, 10, 2, Schedule::Constant, 1.0),
            (0, 4, 0, Schedule::Cosine, 1.0),
        ];
        for (step, total, warmup, sched, want) in cases {
            let got = lr_at(step, total, warmup, 2.0, sched) / 2.0;
            assert!(
                (got - want).abs() < 1e-12,
                "{sched:?} step {step}/{total} warmup {warmup}: {got} != {want}"
            );
        }
    }
}
