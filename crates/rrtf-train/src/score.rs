//! `rrtf train loss`: the objective of a checkpoint on ranked groups, without training. Each
//! group is templated, encoded and cut by the same functions as `rrtf train` ([`encode_group`])
//! and scored by the same loss ([`batch_loss_with_reference`]), one group per batch.
//!
//! [`score_checkpoint`] reads the checkpoints and the groups' file; [`score_groups`] takes them
//! in memory.
//!
//! Not here: reading the flags (the caller hands over the `[training]` section), printing.

use std::path::Path;

use rrtf_config::Training;
use rrtf_model::{Checkpoint, CodeTokenizer, GptBigCode};
use serde::Serialize;

use crate::data::{Encoded, Group, Templates, encode_group};
use crate::error::{Result, TrainError};
use crate::loss::{LossConfig, batch_loss_with_reference, to_vec};

/// One group's line of `rrtf train loss` (serialised as it is printed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GroupScore {
    /// Every response (or the prompt itself) is too long to fit.
    Dropped {
        prompt: String,
        dropped: String,
        dropped_responses: Vec<usize>,
    },
    /// Nothing to fine-tune on (`sft_responses = "teachers"` and no teacher response).
    NoTarget { prompt: String, dropped: String },
    Scored {
        prompt: String,
        /// Per input response (null: dropped for length): the length-normalised log-prob...
        #[serde(skip_serializing_if = "Option::is_none")]
        p: Option<Vec<Option<f32>>>,
        /// ...or, under DPO, the implicit reward.
        #[serde(skip_serializing_if = "Option::is_none")]
        reward: Option<Vec<Option<f32>>>,
        rank_loss: f32,
        sft_loss: f32,
        loss: f32,
        /// Indices of the responses dropped for length.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        dropped_responses: Vec<usize>,
    },
}

/// `rrtf train loss`: the checkpoint `model` on the `rrtf`-format groups of `input`
/// ([`crate::read_jsonl`]) under `t`, with DPO's frozen `reference` checkpoint (which must share
/// the model's tokenizer; None: the model itself), on the default device.
pub fn score_checkpoint(
    model: &Path,
    reference: Option<&Path>,
    input: &Path,
    t: &Training,
) -> Result<Vec<GroupScore>> {
    if reference.is_some() && !LossConfig::from_training(t)?.needs_reference() {
        return Err(TrainError::input(
            "--reference is DPO's reference model",
            format!(
                "add --objective dpo (got {})",
                serde_json::to_value(t.objective).expect("objective serialises")
            ),
        ));
    }
    let device = rrtf_model::default_device();
    let ckpt = Checkpoint::load(model, &device)?;
    let reference = match reference {
        Some(dir) => {
            let r = Checkpoint::load(dir, &device)?;
            if r.tokenizer.vocab_size() != ckpt.tokenizer.vocab_size() {
                return Err(TrainError::input(
                    format!("--reference {}", dir.display()),
                    format!(
                        "its tokenizer has {} tokens, --model's {}: DPO needs the same tokenizer",
                        r.tokenizer.vocab_size(),
                        ckpt.tokenizer.vocab_size()
                    ),
                ));
            }
            Some(r.model)
        }
        None => None,
    };
    let groups = crate::read_jsonl(input, t.code_only)?;
    score_groups(
        &ckpt.model,
        reference.as_ref(),
        &ckpt.tokenizer,
        ckpt.config.n_positions,
        &groups,
        t,
    )
}

/// Score `groups` under `t` (objective, templates, max length): `reference` is DPO's frozen
/// reference (None: the model itself when the objective needs one).
pub fn score_groups(
    model: &GptBigCode,
    reference: Option<&GptBigCode>,
    tokenizer: &CodeTokenizer,
    n_positions: usize,
    groups: &[Group],
    t: &Training,
) -> Result<Vec<GroupScore>> {
    let cfg = LossConfig::from_training(t)?;
    let reference = match reference {
        Some(r) => Some(r.clone()),
        None => cfg.needs_reference().then(|| model.clone()),
    };
    let templates = Templates::from_training(t);
    let max_len = (t.max_length as usize).min(n_positions);
    let eos = tokenizer.eos_id();
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let score = match encode_group(g, tokenizer, &templates, max_len)? {
            Encoded::Dropped { reason, dropped } => GroupScore::Dropped {
                prompt: g.prompt.clone(),
                dropped: reason,
                dropped_responses: dropped,
            },
            Encoded::Kept { group, .. }
                if cfg
                    .targets(&group)
                    .map_err(|m| TrainError::input("--sft-responses / training.sft_responses", m))?
                    .is_empty() =>
            {
                GroupScore::NoTarget {
                    prompt: g.prompt.clone(),
                    dropped: "no response to fine-tune on (sft_responses = \"teachers\": no \
                              teacher response)"
                        .into(),
                }
            }
            Encoded::Kept { group, dropped, .. } => {
                let loss = batch_loss_with_reference(
                    model,
                    reference.as_ref(),
                    std::slice::from_ref(&group),
                    &cfg,
                    eos,
                )?;
                // One value per input response: None for a response dropped for length.
                let mut kept = to_vec(loss.p)?.into_iter();
                let values: Vec<Option<f32>> = (0..g.responses.len())
                    .map(|i| {
                        if dropped.contains(&i) {
                            None
                        } else {
                            kept.next()
                        }
                    })
                    .collect();
                // DPO's per-response values are implicit rewards, not length-normalised
                // log-probs.
                let (p, reward) = if cfg.needs_reference() {
                    (None, Some(values))
                } else {
                    (Some(values), None)
                };
                GroupScore::Scored {
                    prompt: g.prompt.clone(),
                    p,
                    reward,
                    rank_loss: to_vec(loss.rank)?[0],
                    sft_loss: to_vec(loss.sft)?[0],
                    loss: to_vec(loss.loss)?[0],
                    dropped_responses: dropped,
                }
            }
        };
        out.push(score);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_the_keys_and_their_order() {
        let scored = GroupScore::Scored {
            prompt: "p".into(),
            p: None,
            reward: Some(vec![Some(0.5), None]),
            rank_loss: 1.0,
            sft_loss: 2.0,
            loss: 3.0,
            dropped_responses: vec![1],
        };
        // Printed as a `serde_json::Value`, as `rrtf train loss` prints it.
        assert_eq!(
            serde_json::to_value(&scored).unwrap().to_string(),
            r#"{"prompt":"p","reward":[0.5,null],"rank_loss":1.0,"sft_loss":2.0,"loss":3.0,"dropped_responses":[1]}"#
        );
        let dropped = GroupScore::Dropped {
            prompt: "p".into(),
            dropped: "too long".into(),
            dropped_responses: vec![],
        };
        assert_eq!(
            serde_json::to_value(&dropped).unwrap().to_string(),
            r#"{"prompt":"p","dropped":"too long","dropped_responses":[]}"#
        );
    }
}
