//! Data parallelism over several devices (`training.devices`, `rrtf train --devices`).
//!
//! Each micro-batch of `batch_size` groups is cut into one contiguous shard per device (sizes
//! differing by at most one; a device without a group that step sits it out). Every device holds
//! a replica of the model (and of DPO's frozen reference) and computes its shard's loss and
//! gradients in its own thread; the gradients are moved to the first device and summed there in
//! shard order, with each shard's loss scaled by its share of the batch (`shard / batch_size`),
//! so the sum is exactly the gradient of the whole batch's mean loss (up to float rounding: a
//! shard pads to its own longest sequence, and the terms are added in another order). Clipping,
//! AdamW and its state stay on the first device, as on one device; after the step the updated
//! trainable parameters (all of them, or only the adapters under LoRA) are copied to every
//! replica, so all replicas hold the same weights before the next step.
//!
//! This is the gather-and-broadcast scheme, written with burn's device-generic ops only, so it
//! runs on any mix of devices this build has (`cpu,cpu` and `cpu,wgpu` are tested here). It is
//! not burn's DDP (`burn-train`'s NCCL all-reduce during the backward pass, CUDA only): that
//! overlaps the transfers with computation and would be faster on several GPUs, but burn 0.22.1
//! implements its collectives for CUDA alone and nothing here can run them (ARCHITECTURE.md).

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use rrtf_model::GptBigCode;

use crate::data::EncodedGroup;
use crate::error::{Result, TrainError};
use crate::loss::{
    LossConfig, PairCounts, batch_loss_with_reference, host_sum, pair_counts, to_vec,
};

/// A copy of the model (and DPO's reference) on another device.
pub(crate) struct Replica {
    pub device: Device,
    pub model: GptBigCode,
    pub reference: Option<GptBigCode>,
}

impl Replica {
    /// `model` (an autodiff model) and `reference` forked to `device` (an autodiff device).
    pub fn new(model: &GptBigCode, reference: Option<&GptBigCode>, device: &Device) -> Self {
        Self {
            device: device.clone(),
            model: model.clone().fork(device),
            reference: reference.map(|r| r.clone().fork(&device.clone().without_autodiff())),
        }
    }
}

/// `groups` cut into at most `n` contiguous, non-empty shards whose sizes differ by at most one
/// (the first ones take the remainder).
pub(crate) fn shards(groups: Vec<EncodedGroup>, n: usize) -> Vec<Vec<EncodedGroup>> {
    let n = n.max(1).min(groups.len().max(1));
    let (base, extra) = (groups.len() / n, groups.len() % n);
    let mut out = Vec::with_capacity(n);
    let mut it = groups.into_iter();
    for k in 0..n {
        let size = base + usize::from(k < extra);
        let shard: Vec<_> = it.by_ref().take(size).collect();
        if !shard.is_empty() {
            out.push(shard);
        }
    }
    out
}

/// What one shard contributes to a step: its gradients (on the first device) and the sums its
/// metrics are made of.
pub(crate) struct ShardOut {
    pub grads: GradientsParams,
    /// The scaled loss whose gradient `grads` is.
    pub loss: f64,
    pub rank_sum: f64,
    pub sft_sum: f64,
    pub sft_per_token_sum: f64,
    pub counts: PairCounts,
    pub pairs: usize,
    pub tokens: usize,
}

/// How every shard of a step computes its loss and gradients.
#[derive(Clone, Copy)]
pub(crate) struct StepSpec<'a> {
    pub loss: &'a LossConfig,
    pub pad_id: u32,
    /// Micro-batches a step accumulates (each shard's loss is divided by it).
    pub accum: usize,
    /// Per-layer gradient checkpointing (`rrtf_model::checkpoint`).
    pub layer_checkpoints: bool,
}

/// The loss of `groups` on `model` times `share` (the shard's part of its micro-batch) over
/// `accum` micro-batches, its backward pass, and the gradients moved to `primary` when given (a
/// replica's). One shard on one device scales exactly as a plain step: `x · 1 / accum`.
pub(crate) fn shard_step(
    model: &GptBigCode,
    reference: Option<&GptBigCode>,
    groups: &[EncodedGroup],
    spec: StepSpec<'_>,
    share: f64,
    primary: Option<&Device>,
) -> Result<ShardOut> {
    let StepSpec {
        loss: loss_cfg,
        pad_id,
        accum,
        layer_checkpoints,
    } = spec;
    let (out, tapes) = if layer_checkpoints {
        let (out, tapes) = rrtf_model::checkpoint::record(|| {
            batch_loss_with_reference(model, reference, groups, loss_cfg, pad_id)
        });
        (out?, Some(tapes))
    } else {
        (
            batch_loss_with_reference(model, reference, groups, loss_cfg, pad_id)?,
            None,
        )
    };
    let p = to_vec(out.p.clone())?;
    let weighted = if share == 1.0 {
        out.loss
    } else {
        out.loss.mul_scalar(share)
    };
    let scaled = weighted.div_scalar(accum as f64);
    let loss = scaled.clone().into_scalar::<f32>() as f64;
    let mut grads = match tapes {
        Some(tapes) => tapes.backward(model, scaled.backward()),
        None => GradientsParams::from_grads(scaled.backward(), model),
    };
    if let Some(device) = primary {
        grads = grads.to_device(device, model);
    }
    Ok(ShardOut {
        grads,
        loss,
        rank_sum: host_sum(out.rank)?,
        sft_sum: host_sum(out.sft)?,
        sft_per_token_sum: host_sum(out.sft_per_token)?,
        counts: pair_counts(&p, &out.pairs),
        pairs: out.pairs.len(),
        tokens: out.tokens,
    })
}

/// The shards of one micro-batch on the first device (`model`, `reference`) and the replicas,
/// each in its own thread; results in shard order. A shard's loss is weighted by its share of
/// the micro-batch (its size over all shards' sizes) and divided by `accum`.
pub(crate) fn run_shards(
    model: &GptBigCode,
    reference: Option<&GptBigCode>,
    replicas: &[Replica],
    shards: &[Vec<EncodedGroup>],
    spec: StepSpec<'_>,
) -> Result<Vec<ShardOut>> {
    let primary = model.device();
    let b: usize = shards.iter().map(Vec::len).sum();
    let scale = |size: usize| size as f64 / b as f64;
    std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, shard)| {
                let r = &replicas[k - 1];
                let primary = &primary;
                s.spawn(move || {
                    shard_step(
                        &r.model,
                        r.reference.as_ref(),
                        shard,
                        spec,
                        scale(shard.len()),
                        Some(primary),
                    )
                })
            })
            .collect();
        let first = shard_step(
            model,
            reference,
            &shards[0],
            spec,
            scale(shards[0].len()),
            None,
        );
        let mut outs = vec![first];
        for h in handles {
            outs.push(h.join().unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".into());
                Err(TrainError::Backend(format!(
                    "a data-parallel replica failed: {what}"
                )))
            }));
        }
        outs.into_iter().collect()
    })
}

/// `to` with every trainable parameter (`require_grad`) replaced by `from`'s value of the same
/// parameter id, moved to `to`'s device: after an optimizer step on `from`, the replica `to`
/// holds the same weights. Frozen parameters (a LoRA base) are not copied.
pub(crate) fn sync_trainable(from: &GptBigCode, to: GptBigCode) -> GptBigCode {
    let mut collect = Collect(HashMap::new());
    from.visit(&mut collect);
    let mut copy = CopyInto(collect.0);
    let to = to.map(&mut copy);
    debug_assert!(copy.0.is_empty(), "a trainable parameter has no replica");
    to
}

/// Trainable parameters, flattened and detached, by id.
struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let v = param.val();
        if v.is_require_grad() {
            let n = v.shape().num_elements();
            self.0.insert(param.id, v.detach().reshape([n]));
        }
    }
}

struct CopyInto(HashMap<ParamId, Tensor<1>>);

impl ModuleMapper for CopyInto {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(flat) = self.0.remove(&param.id) else {
            return param;
        };
        param.map(|old| {
            let device = old.device();
            flat.reshape(old.dims())
                .to_device(&device)
                .detach()
                .set_require_grad(old.is_require_grad())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(k: usize) -> EncodedGroup {
        EncodedGroup {
            prompt_ids: vec![k as u32],
            responses: vec![],
            scores: vec![],
            pairs: vec![],
            best: 0,
            roles: None,
        }
    }

    #[test]
    fn shards_are_contiguous_and_balanced() {
        let ids = |s: &Vec<Vec<EncodedGroup>>| -> Vec<Vec<u32>> {
            s.iter()
                .map(|sh| sh.iter().map(|g| g.prompt_ids[0]).collect())
                .collect()
        };
        let gs = |n| (0..n).map(group).collect::<Vec<_>>();
        assert_eq!(ids(&shards(gs(5), 2)), vec![vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(
            ids(&shards(gs(4), 4)),
            vec![vec![0], vec![1], vec![2], vec![3]]
        );
        // Fewer groups than devices: the last devices sit the step out.
        assert_eq!(ids(&shards(gs(2), 3)), vec![vec![0], vec![1]]);
        assert_eq!(ids(&shards(gs(3), 1)), vec![vec![0, 1, 2]]);
    }
}
