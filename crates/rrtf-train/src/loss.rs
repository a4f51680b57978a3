//! The RRTF objective (PanGu-Coder2 §3.4, which is RRHF's loss; `/work/shared/RRTF.md`) and
//! the DPO / IPO alternatives, on a batch of ranked groups of any sizes.
//!
//! For response `i` of a group with score `r_i`, `p_i = (1/|y_i|) Σ_t log π(y_i,t | x, y_i,<t)`
//! over response tokens only (the appended end-of-text counts; prompt and padding never enter:
//! they are masked out by [`rrtf_model::Batch`]). Per group, over its pairs `P` (the
//! `(better, worse)` pairs of [`EncodedGroup::pairs`], see [`crate::data`]):
//!
//! - `L_rank = Σ_{(i,j) ∈ P} w_ij · max(0, p_j − p_i)` with `w_ij = 1` (the paper; `rrtf` and
//!   `rrhf` are the same loss) or `w_ij = |r_i − r_j|` (`rank_weighting = "gap"`, an option;
//!   the absolute value because a reviewer's reorder can pair a lower score first);
//! - `L_ft = −Σ_t log π(y_b,t | ..)`, `b` the group's best ([`EncodedGroup::best`]: the first
//!   of the best tier, or of the highest scores) (`sft_normalize = "mean"` divides it by
//!   `|y_b|`, as RPO's NLL term);
//! - `pair_reduction = "mean"` divides `L_rank` by `|P|` (0 without pairs);
//! - `L = rank_weight · L_rank + sft_weight · L_ft`.
//!
//! Ties make no pair (the data layer never derives one; the export never writes one). Several
//! responses sharing the top: `b` is the first of them in the group's order (the export lists
//! the best first, so the ranking position decides).
//!
//! A batch's loss is the mean of its groups' `L` (so a batch of one group is that group's loss).
//!
//! DPO (`objective = "dpo"`) replaces the hinge with a term per pair against a frozen reference
//! model (the base model), as TRL's `DPOTrainer.dpo_loss` defines them, with
//! `h = (s_i − s_i^ref) − (s_j − s_j^ref)`:
//!
//! - `dpo_loss = "sigmoid"` (Rafailov et al. 2023, eq. 7; TRL `loss_type="sigmoid"`), `s` the
//!   summed response log-prob: `−(1 − ε) log σ(β h) − ε log σ(−β h)`, `ε` =
//!   `dpo_label_smoothing` (conservative DPO, Mitchell 2023, eq. 3; TRL's `label_smoothing`);
//! - `dpo_loss = "ipo"` (Azar et al. 2023, eq. 17; TRL `loss_type="ipo"`), `s` the
//!   length-normalised log-prob (TRL divides IPO's log-probs by the response length):
//!   `(h − 1/(2β))²`.
//!
//! SFT (`objective = "sft"`) has no ranking term: a group's loss is the mean, over the
//! responses `sft_responses` chooses ([`sft_targets`]: every response, the best one, or the
//! teachers'), of the fine-tuning term above (`sft_weight` times the token sum, or mean under
//! `sft_normalize = "mean"`). With `best` it is exactly `L_ft` of `rrtf` on the same batch. The
//! length-normalised `p` and the group's pairs are still computed, so preference accuracy is
//! reported for SFT runs as for the others (it measures, it does not train).
//!
//! The implicit reward `β (s − s^ref)` is each response's value for preference accuracy. The
//! fine-tuning term stays (`sft_weight = 0` for plain DPO); its default normalisation for DPO
//! is the token mean, as RPO (Pang et al. 2024; TRL's `rpo_alpha` adds the mean NLL of the
//! chosen response), so it does not dwarf the preference term.

use burn::tensor::{Device, Int, Tensor, TensorData, activation::relu, activation::sigmoid};
use rrtf_config::{DpoLoss, Objective, PairReduction, RankWeighting, SftNormalize, SftResponses};
use rrtf_model::{Batch, GptBigCode, sequence_logprobs};
use serde::Serialize;

use crate::data::{EncodedGroup, Role};
use crate::error::{Result, TrainError};

/// The ranking term.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RankTerm {
    /// Hinge on length-normalised log-probs over the group's pairs, each weighted by its score
    /// gap (`gap_weighted`, an option) or not (the paper).
    Hinge { gap_weighted: bool },
    /// DPO / IPO on the group's pairs against a frozen reference model.
    Dpo {
        beta: f64,
        loss: DpoLoss,
        label_smoothing: f64,
    },
    /// No ranking term (plain SFT): the fine-tuning term over the responses `responses`
    /// chooses, averaged per group.
    Sft { responses: SftResponses },
}

impl RankTerm {
    /// Plain DPO (sigmoid loss, no label smoothing).
    pub fn dpo(beta: f64) -> Self {
        RankTerm::Dpo {
            beta,
            loss: DpoLoss::Sigmoid,
            label_smoothing: 0.0,
        }
    }
}

/// Which ranking term and how the terms are weighted and reduced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossConfig {
    pub term: RankTerm,
    pub rank_weight: f64,
    pub sft_weight: f64,
    pub pair_reduction: PairReduction,
    pub sft_normalize: SftNormalize,
}

impl LossConfig {
    /// PanGu-Coder2's objective: `L_rank + L_ft`, unweighted hinge summed over the pairs,
    /// token-sum cross-entropy.
    pub const RRTF: LossConfig = LossConfig {
        term: RankTerm::Hinge {
            gap_weighted: false,
        },
        rank_weight: 1.0,
        sft_weight: 1.0,
        pair_reduction: PairReduction::Sum,
        sft_normalize: SftNormalize::Sum,
    };

    /// From the `[training]` section.
    pub fn from_training(t: &rrtf_config::Training) -> Result<Self> {
        let term = match t.objective {
            Objective::Rrtf | Objective::Rrhf => RankTerm::Hinge {
                gap_weighted: t.rank_weighting == RankWeighting::Gap,
            },
            Objective::Dpo => RankTerm::Dpo {
                beta: t.dpo_beta,
                loss: t.dpo_loss,
                label_smoothing: t.dpo_label_smoothing,
            },
            Objective::Sft => RankTerm::Sft {
                responses: t.sft_responses.unwrap_or_default(),
            },
        };
        let sft_normalize = t.sft_normalize.unwrap_or(match t.objective {
            Objective::Dpo => SftNormalize::Mean,
            Objective::Rrtf | Objective::Rrhf | Objective::Sft => SftNormalize::Sum,
        });
        Ok(LossConfig {
            term,
            rank_weight: t.rank_weight,
            sft_weight: t.sft_weight,
            pair_reduction: t.pair_reduction,
            sft_normalize,
        })
    }

    /// DPO needs reference log-probs.
    pub fn needs_reference(&self) -> bool {
        matches!(self.term, RankTerm::Dpo { .. })
    }

    /// The responses of `group` its fine-tuning term covers: the best one, or under
    /// `objective = "sft"` the ones `sft_responses` chooses ([`sft_targets`]).
    pub fn targets(&self, group: &EncodedGroup) -> std::result::Result<Vec<usize>, String> {
        match self.term {
            RankTerm::Sft { responses } => sft_targets(group, responses),
            RankTerm::Hinge { .. } | RankTerm::Dpo { .. } => Ok(vec![group.best]),
        }
    }

    /// Keep the groups that have a fine-tuning target ([`LossConfig::targets`]); the others
    /// (under `sft_responses = "teachers"`, a prompt no teacher response of which fits) are
    /// dropped and counted. A group whose targets cannot be told (no roles) is an error.
    pub fn keep_trainable(&self, groups: Vec<EncodedGroup>) -> Result<(Vec<EncodedGroup>, usize)> {
        let mut kept = Vec::with_capacity(groups.len());
        let mut dropped = 0;
        for g in groups {
            if self
                .targets(&g)
                .map_err(|m| TrainError::input("training.sft_responses", m))?
                .is_empty()
            {
                dropped += 1;
            } else {
                kept.push(g);
            }
        }
        Ok((kept, dropped))
    }
}

/// The responses `objective = "sft"` trains on in `group`: every one (`all`), the fine-tuning
/// target of `rrtf` (`best`), or the teachers' (`teachers`, which needs the roles an `rrtf`
/// export writes in `details[i].role`; a group without a teacher response gives none).
pub fn sft_targets(
    group: &EncodedGroup,
    responses: SftResponses,
) -> std::result::Result<Vec<usize>, String> {
    match responses {
        SftResponses::All => Ok((0..group.responses.len()).collect()),
        SftResponses::Best => Ok(vec![group.best]),
        SftResponses::Teachers => match &group.roles {
            Some(roles) => Ok((0..roles.len())
                .filter(|&i| roles[i] == Role::Teacher)
                .collect()),
            None => Err(
                "is \"teachers\" but the input does not say who wrote each response: \
                 give every line `details` with a `role` (\"teacher\" or \"student\") per \
                 response, as `rrtf export --format rrtf` writes, or use \"all\" or \"best\""
                    .into(),
            ),
        },
    }
}

/// A batch's loss and its parts, as tensors (differentiable on an autodiff device).
#[derive(Debug, Clone)]
pub struct BatchLoss {
    /// `[1]`: mean over groups of `rank_weight · L_rank + sft_weight · L_ft`.
    pub loss: Tensor<1>,
    /// `[g]` per group.
    pub rank: Tensor<1>,
    /// `[g]` per group.
    pub sft: Tensor<1>,
    /// `[g]` per group: the fine-tuning term per response token (`−s / len`, averaged over the
    /// same targets as `sft`), whatever `sft_normalize` says; no gradient (a metric: with
    /// `sft_normalize = "sum"` the raw term grows with the answer's length).
    pub sft_per_token: Tensor<1>,
    /// `[n]` per response, groups concatenated in order: the length-normalised log-prob
    /// (hinge objectives) or the implicit reward `β (s − s^ref)` (DPO). Preference accuracy
    /// compares these over `pairs`.
    pub p: Tensor<1>,
    /// The groups' pairs `(better, worse)` as indices into `p`.
    pub pairs: Vec<(usize, usize)>,
    /// Response tokens in the batch.
    pub tokens: usize,
}

/// Compute [`BatchLoss`] for `groups` in one padded forward pass (hinge objectives; DPO needs
/// [`batch_loss_with_reference`]).
pub fn batch_loss(
    model: &GptBigCode,
    groups: &[EncodedGroup],
    cfg: &LossConfig,
    pad_id: u32,
) -> Result<BatchLoss> {
    batch_loss_with_reference(model, None, groups, cfg, pad_id)
}

/// Summed response log-probs of every response of `groups` under `model`, without gradients
/// (DPO's reference values), groups concatenated in order.
pub fn reference_logprobs(
    model: &GptBigCode,
    groups: &[EncodedGroup],
    pad_id: u32,
) -> Result<Vec<f32>> {
    let device: Device = model.device();
    let pairs: Vec<_> = groups.iter().flat_map(EncodedGroup::pairs).collect();
    let batch = Batch::new(&pairs, pad_id, model.n_positions(), &device)?;
    to_vec(sequence_logprobs(model, &batch))
}

/// [`reference_logprobs`] as a constant `[n]` tensor for a policy on `device`, without leaving
/// the device: the frozen reference runs on the policy's backend (an inference copy), and its
/// result joins the policy's autodiff context as a leaf.
fn reference_sequence(
    model: &GptBigCode,
    groups: &[EncodedGroup],
    pad_id: u32,
    device: &Device,
) -> Result<Tensor<1>> {
    let pairs: Vec<_> = groups.iter().flat_map(EncodedGroup::pairs).collect();
    let batch = Batch::new(&pairs, pad_id, model.n_positions(), &model.device())?;
    let seq = sequence_logprobs(model, &batch);
    Ok(if device.is_autodiff() {
        seq.autodiff()
    } else {
        seq
    })
}

/// The batch's pairs as flat indices, with each pair's weight (gap or 1, divided by the group's
/// pair count under `pair_reduction = "mean"`) and owning group.
struct FlatPairs {
    hi: Vec<i64>,
    lo: Vec<i64>,
    weight: Vec<f32>,
    owner: Vec<usize>,
    flat: Vec<(usize, usize)>,
}

fn flat_pairs(groups: &[EncodedGroup], gap_weighted: bool, reduction: PairReduction) -> FlatPairs {
    let mut f = FlatPairs {
        hi: Vec::new(),
        lo: Vec::new(),
        weight: Vec::new(),
        owner: Vec::new(),
        flat: Vec::new(),
    };
    let mut offset = 0;
    for (k, grp) in groups.iter().enumerate() {
        let scale = match reduction {
            PairReduction::Sum => 1.0,
            PairReduction::Mean => 1.0 / grp.pairs.len().max(1) as f64,
        };
        for &(i, j) in &grp.pairs {
            let gap = if gap_weighted {
                (grp.scores[i] - grp.scores[j]).abs()
            } else {
                1.0
            };
            f.hi.push((offset + i) as i64);
            f.lo.push((offset + j) as i64);
            f.weight.push((gap * scale) as f32);
            f.owner.push(k);
            f.flat.push((offset + i, offset + j));
        }
        offset += grp.responses.len();
    }
    f
}

impl FlatPairs {
    /// `[g]`: each group's weighted sum of the pair terms `[np]` (a `[g, np]` 0/1 matmul).
    fn per_group(&self, terms: Tensor<1>, g: usize, device: &Device) -> Tensor<1> {
        let np = self.hi.len();
        let weights = Tensor::<1>::from_data(TensorData::new(self.weight.clone(), [np]), device);
        let mut onehot = vec![0.0f32; g * np];
        for (col, &k) in self.owner.iter().enumerate() {
            onehot[k * np + col] = 1.0;
        }
        let m = Tensor::<2>::from_data(TensorData::new(onehot, [g, np]), device);
        m.matmul((terms * weights).reshape([np, 1])).reshape([g])
    }

    /// (better, worse) values of `v` at the pairs.
    fn select(&self, v: &Tensor<1>, device: &Device) -> (Tensor<1>, Tensor<1>) {
        let np = self.hi.len();
        let idx = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [np]), device);
        (
            v.clone().select(0, idx(self.hi.clone())),
            v.clone().select(0, idx(self.lo.clone())),
        )
    }
}

/// [`batch_loss`] with a frozen reference model for DPO (ignored by the hinge objectives).
pub fn batch_loss_with_reference(
    model: &GptBigCode,
    reference: Option<&GptBigCode>,
    groups: &[EncodedGroup],
    cfg: &LossConfig,
    pad_id: u32,
) -> Result<BatchLoss> {
    if groups.is_empty() {
        return Err(TrainError::input("batch", "no groups"));
    }
    let device: Device = model.device();
    let pairs: Vec<_> = groups.iter().flat_map(EncodedGroup::pairs).collect();
    let batch = Batch::new(&pairs, pad_id, model.n_positions(), &device)?;
    let n = pairs.len();
    let g = groups.len();
    let tokens = batch.response_lens.iter().sum();
    let seq = sequence_logprobs(model, &batch); // [n]
    let lens: Vec<f32> = batch.response_lens.iter().map(|&l| l as f32).collect();
    let lens = Tensor::<1>::from_data(TensorData::new(lens, [n]), &device);
    let best: Vec<i64> = {
        let mut offset = 0;
        groups
            .iter()
            .map(|grp| {
                let b = offset + grp.best;
                offset += grp.responses.len();
                b as i64
            })
            .collect()
    };
    let best = Tensor::<1, Int>::from_data(TensorData::new(best, [g]), &device);
    let ce_per_token = seq.clone().detach().neg() / lens.clone();
    let (sft, sft_per_token) = match cfg.term {
        RankTerm::Sft { responses } if responses != SftResponses::Best => {
            let w = target_weights(groups, cfg, &device)?;
            let ce = seq.clone().neg();
            let ce = match cfg.sft_normalize {
                SftNormalize::Sum => ce,
                SftNormalize::Mean => ce / lens.clone(),
            };
            (
                weighted_per_group(&w, ce, g, n),
                weighted_per_group(&w, ce_per_token, g, n),
            )
        }
        _ => {
            let sft = seq.clone().select(0, best.clone()).neg();
            let sft = match cfg.sft_normalize {
                SftNormalize::Sum => sft,
                SftNormalize::Mean => sft / lens.clone().select(0, best.clone()),
            };
            (sft, ce_per_token.select(0, best))
        }
    };
    let gap_weighted = matches!(cfg.term, RankTerm::Hinge { gap_weighted: true });
    let fp = flat_pairs(groups, gap_weighted, cfg.pair_reduction);
    let (p, rank) = match cfg.term {
        RankTerm::Sft { .. } => (seq / lens, Tensor::<1>::zeros([g], &device)),
        RankTerm::Hinge { .. } => {
            let p = seq / lens;
            let rank = if fp.hi.is_empty() {
                Tensor::<1>::zeros([g], &device)
            } else {
                let (better, worse) = fp.select(&p, &device);
                fp.per_group(relu(worse - better), g, &device)
            };
            (p, rank)
        }
        RankTerm::Dpo {
            beta,
            loss,
            label_smoothing,
        } => {
            let Some(reference) = reference else {
                return Err(TrainError::input(
                    "objective",
                    "DPO needs a reference model (the trainer passes the base model)",
                ));
            };
            let ref_seq = reference_sequence(reference, groups, pad_id, &device)?;
            debug_assert_eq!(ref_seq.dims(), [n]);
            // IPO compares length-normalised log-probs (as TRL does for loss_type="ipo").
            let ratio = match loss {
                DpoLoss::Sigmoid => seq - ref_seq,
                DpoLoss::Ipo => (seq - ref_seq) / lens,
            };
            let reward = ratio.mul_scalar(beta); // [n]
            let rank = if fp.hi.is_empty() {
                Tensor::<1>::zeros([g], &device)
            } else {
                let (better, worse) = fp.select(&reward, &device);
                let margin = better - worse; // β h
                let terms = match loss {
                    // TRL: −logσ(βh)(1 − ε) − logσ(−βh) ε.
                    DpoLoss::Sigmoid => {
                        let t = softplus(margin.clone().neg()).mul_scalar(1.0 - label_smoothing);
                        if label_smoothing > 0.0 {
                            t + softplus(margin).mul_scalar(label_smoothing)
                        } else {
                            t
                        }
                    }
                    // TRL: (h − 1/(2β))².
                    DpoLoss::Ipo => {
                        let d = margin.div_scalar(beta).sub_scalar(1.0 / (2.0 * beta));
                        d.clone() * d
                    }
                };
                fp.per_group(terms, g, &device)
            };
            (reward, rank)
        }
    };
    let per_group =
        rank.clone().mul_scalar(cfg.rank_weight) + sft.clone().mul_scalar(cfg.sft_weight);
    Ok(BatchLoss {
        loss: per_group.mean(),
        rank,
        sft,
        sft_per_token,
        p,
        pairs: fp.flat,
        tokens,
    })
}

/// `[g]`: each group's mean of `values` (`[n]`, one per response) over its targets, as a
/// `[g, n] x [n, 1]` matmul with [`target_weights`].
fn weighted_per_group(w: &Tensor<2>, values: Tensor<1>, g: usize, n: usize) -> Tensor<1> {
    w.clone().matmul(values.reshape([n, 1])).reshape([g])
}

/// `[g, n]`: weight `1/|targets|` on each of a group's [`LossConfig::targets`] (the responses its
/// fine-tuning term averages over), 0 elsewhere.
fn target_weights(groups: &[EncodedGroup], cfg: &LossConfig, device: &Device) -> Result<Tensor<2>> {
    let g = groups.len();
    let n: usize = groups.iter().map(|grp| grp.responses.len()).sum();
    let mut w = vec![0.0f32; g * n];
    let mut offset = 0;
    for (k, grp) in groups.iter().enumerate() {
        let targets = cfg
            .targets(grp)
            .map_err(|m| TrainError::input("training.sft_responses", m))?;
        if targets.is_empty() {
            return Err(TrainError::input(
                "training.sft_responses",
                format!(
                    "group {k} of the batch has no response to train on (no teacher response): \
                     drop such groups first (LossConfig::keep_trainable)"
                ),
            ));
        }
        for i in targets.iter() {
            w[k * n + offset + i] = 1.0 / targets.len() as f32;
        }
        offset += grp.responses.len();
    }
    Ok(Tensor::<2>::from_data(TensorData::new(w, [g, n]), device))
}

/// `log(1 + e^x)`, valued as `max(x, 0) + log(1 + e^{−|x|})` (stable for any x) but
/// differentiated as the smooth `σ(x)`: the max and |x| have kinks at x = 0, exactly where
/// every DPO margin starts (policy = reference), and their zero subgradients there would leave
/// the first step, and so every later one, without a gradient.
fn softplus(x: Tensor<1>) -> Tensor<1> {
    let value = (relu(x.clone()) + x.clone().abs().neg().exp().add_scalar(1.0).log()).detach();
    let slope = sigmoid(x.clone().detach());
    let linear = x * slope;
    value + linear.clone() - linear.detach()
}

/// Read a 1-D tensor back to the host.
pub fn to_vec(t: Tensor<1>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::Backend(format!("{e:?}")))
}

/// The sum of a 1-D tensor's values, read back to the host and added in f64.
pub(crate) fn host_sum(t: Tensor<1>) -> Result<f64> {
    Ok(to_vec(t)?.iter().map(|&x| x as f64).sum())
}

/// How a model's values order a set of pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PairCounts {
    /// `p_better > p_worse`.
    pub right: usize,
    /// `p_better < p_worse`.
    pub wrong: usize,
    /// `p_better == p_worse`: neither right nor wrong.
    pub ties: usize,
}

impl std::ops::AddAssign for PairCounts {
    fn add_assign(&mut self, o: PairCounts) {
        self.right += o.right;
        self.wrong += o.wrong;
        self.ties += o.ties;
    }
}

impl PairCounts {
    /// Right over (right + wrong): ties count for neither; `None` when every pair tied or
    /// there were none.
    pub fn accuracy(&self) -> Option<f64> {
        let decided = self.right + self.wrong;
        (decided > 0).then(|| self.right as f64 / decided as f64)
    }
}

/// Count the pairs `p` orders right, wrong, or not at all (equal values).
pub fn pair_counts(p: &[f32], pairs: &[(usize, usize)]) -> PairCounts {
    let mut c = PairCounts::default();
    for &(i, j) in pairs {
        if p[i] > p[j] {
            c.right += 1;
        } else if p[i] < p[j] {
            c.wrong += 1;
        } else {
            c.ties += 1;
        }
    }
    c
}

/// Share of pairs whose better response has the higher `p`, ties counting for neither side;
/// `None` without a pair that is not a tie.
pub fn preference_accuracy(p: &[f32], pairs: &[(usize, usize)]) -> Option<f64> {
    pair_counts(p, pairs).accuracy()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15 point 3: a tie is neither right nor wrong, and is counted.
    #[test]
    fn ties_count_for_neither_side() {
        let p = [1.0, 1.0, 0.0, 2.0];
        let pairs = [(0, 1), (0, 2), (2, 3)];
        assert_eq!(
            pair_counts(&p, &pairs),
            PairCounts {
                right: 1,
                wrong: 1,
                ties: 1
            }
        );
        assert_eq!(preference_accuracy(&p, &pairs), Some(0.5));
        assert_eq!(preference_accuracy(&p, &[(0, 1)]), None, "only a tie");
        assert_eq!(preference_accuracy(&p, &[(0, 1), (0, 2)]), Some(1.0));
    }
}
