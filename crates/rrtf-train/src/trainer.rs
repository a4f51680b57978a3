//! The training loop: micro-batches of ranked groups, gradient accumulation, global-norm
//! clipping, AdamW, per-step metrics (JSONL), evaluation on the held-out groups, burnpack
//! checkpoints and exact resume.
//!
//! Data order: epoch `e` visits the training groups in the order of a shuffle seeded by
//! `seed + e`; an optimizer step takes the next `batch_size × grad_accum` groups from that
//! stream (crossing into the next epoch when one ends). The model has no dropout, so
//! `(step, epoch, cursor)` is all the randomness state there is: a checkpoint holds it in
//! `state.json` beside `model.bpk` and `optim.bpk` (AdamW moments), and the learning rate is a
//! function of the step ([`crate::optim::lr_at`]). Resuming from `step-N/` therefore replays
//! exactly what the uninterrupted run did (the resume test checks identical weights).
//!
//! Loss scaling: each micro-batch's loss is the mean over its groups, divided by `grad_accum`,
//! so a step's gradient is that of the mean over its micro-batches.
//!
//! Checkpoints are written atomically (`rrtf_model::durable`, as `Checkpoint::save`): into
//! `.step-N.tmp/` (each file fsynced, then the directory), renamed to `step-N/`, and the parent
//! directory fsynced, so a kill during a save
//! leaves either the whole checkpoint or none (plus a temporary directory that the next save
//! removes and nothing takes for a checkpoint). `state.json` is written last and records the
//! size of `model.bpk` and `optim.bpk`; [`checkpoint_problem`] checks a directory against it
//! and [`latest_checkpoint`] returns the newest complete one.
//!
//! LoRA (`[training] lora`): the adapters are attached when the run is created, `A` drawn by
//! flex's RNG seeded with the run's seed on any device (so `A` is reproducible, and the same on
//! a GPU; [`lora::apply_config`]); a resume attaches them the same way and then loads the saved
//! factors. DPO's reference is the base model as given to [`Trainer::new`] (before adapters),
//! kept frozen as an inference copy on the same device.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsAccumulator, ModuleOptimizer};
use burn::tensor::Device;
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use rrtf_config::{GradientCheckpointing, Training};
use rrtf_model::{GptBigCode, durable};
use serde::{Deserialize, Serialize};

use crate::data::EncodedGroup;
use crate::error::{Result, TrainError};
use crate::lora;
use crate::loss::{
    LossConfig, PairCounts, batch_loss_with_reference, host_sum, pair_counts, to_vec,
};
use crate::optim::{adamw, clip_global_norm, lr_at};
use crate::parallel::{self, Replica};

/// Where a run is in its data and schedule: everything a resume needs besides the tensors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainState {
    /// Completed optimizer steps.
    pub step: u64,
    pub total_steps: u64,
    pub epoch: u64,
    /// Groups of the current epoch's order already consumed.
    pub cursor: usize,
    pub seed: u64,
    /// Fingerprint of the training groups (ids and scores), checked on resume.
    pub data_hash: u64,
}

/// Metrics of one optimizer step (one JSON line of `metrics.jsonl`).
#[derive(Debug, Clone, Serialize)]
pub struct StepMetrics {
    pub step: u64,
    pub epoch: u64,
    pub loss: f64,
    pub rank_loss: f64,
    pub sft_loss: f64,
    /// The fine-tuning term per response token (`sft_loss` is per `sft_normalize`: with
    /// `"sum"` it grows with the answers' length).
    pub sft_loss_per_token: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub tokens: usize,
    pub tokens_per_s: f64,
    /// Share of the step's pairs with `p_better > p_worse` among those not tied; None when
    /// there is no such pair.
    pub preference_accuracy: Option<f64>,
    /// The step's pairs with `p_better == p_worse` (neither right nor wrong).
    pub preference_ties: usize,
    /// The step's pairs.
    pub pairs: usize,
}

/// Mean loss terms and preference accuracy on a set of groups (no gradients).
#[derive(Debug, Clone, Serialize)]
pub struct EvalMetrics {
    pub step: u64,
    pub groups: usize,
    pub loss: f64,
    pub rank_loss: f64,
    pub sft_loss: f64,
    /// The fine-tuning term per response token (`sft_loss` is per `sft_normalize`: with
    /// `"sum"` it grows with the answers' length).
    pub sft_loss_per_token: f64,
    /// Right over right + wrong; ties count for neither.
    pub preference_accuracy: Option<f64>,
    /// Pairs with equal values (neither right nor wrong).
    pub preference_ties: usize,
    pub pairs: usize,
}

/// A trainer over in-memory groups. `model` must live on an autodiff device.
pub struct Trainer {
    pub model: GptBigCode,
    optim: ModuleOptimizer,
    cfg: Training,
    loss: LossConfig,
    pad_id: u32,
    pub state: TrainState,
    train: Vec<EncodedGroup>,
    /// DPO's frozen reference (inference copy of the base model).
    reference: Option<GptBigCode>,
    /// Data parallelism: the model on the other devices ([`Trainer::data_parallel`]).
    replicas: Vec<Replica>,
}

/// Steps of a run: `max_steps`, else enough for `epochs` passes over `n_train` groups.
pub fn total_steps(t: &Training, n_train: usize) -> u64 {
    let per_step = (t.batch_size as u64 * t.grad_accum as u64).max(1);
    t.max_steps
        .unwrap_or_else(|| (t.epochs as u64 * n_train as u64).div_ceil(per_step))
}

fn data_hash(groups: &[EncodedGroup]) -> u64 {
    // FNV-1a over ids and score bits: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        for b in x.to_le_bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    };
    for g in groups {
        g.prompt_ids.iter().for_each(|&i| eat(i as u64));
        for (r, s) in g.responses.iter().zip(&g.scores) {
            eat(u64::MAX);
            r.iter().for_each(|&i| eat(i as u64));
            eat(s.to_bits());
        }
        eat(u64::MAX - 1);
        eat(g.best as u64);
        for &(i, j) in &g.pairs {
            eat(i as u64);
            eat(j as u64);
        }
    }
    h
}

impl Trainer {
    /// A fresh run. `seed` orders the data (the split is the caller's).
    pub fn new(
        model: GptBigCode,
        cfg: Training,
        train: Vec<EncodedGroup>,
        pad_id: u32,
        seed: u64,
    ) -> Result<Self> {
        let loss = LossConfig::from_training(&cfg)?;
        if train.is_empty() {
            return Err(TrainError::input(
                "training set",
                "no groups left to train on",
            ));
        }
        for (k, g) in train.iter().enumerate() {
            let targets = loss
                .targets(g)
                .map_err(|m| TrainError::input("training.sft_responses", m))?;
            if targets.is_empty() {
                return Err(TrainError::input(
                    "training set",
                    format!(
                        "group {k} has no response to train on under sft_responses = \"teachers\" \
                         (no teacher response): drop such groups first (LossConfig::keep_trainable)"
                    ),
                ));
            }
        }
        // DPO's reference is the frozen base: the model before its adapters, or, over a bf16
        // base, the adapted model at its start (B = 0: it composes exactly the bf16 base), which
        // shares the policy's bf16 weights instead of keeping an f32 copy.
        let bf16_base = cfg.bf16_lora_base();
        let mut reference = (loss.needs_reference() && !bf16_base).then(|| model.valid());
        let model = match &cfg.lora {
            Some(l) => lora::apply_config(model, l, seed)?,
            None => model,
        };
        if loss.needs_reference() && bf16_base {
            reference = Some(model.valid());
        }
        let state = TrainState {
            step: 0,
            total_steps: total_steps(&cfg, train.len()),
            epoch: 0,
            cursor: 0,
            seed,
            data_hash: data_hash(&train),
        };
        Ok(Self {
            model,
            optim: adamw(&cfg),
            cfg,
            loss,
            pad_id,
            state,
            train,
            reference,
            replicas: Vec::new(),
        })
    }

    /// Train data-parallel over the model's device and `others` (autodiff devices; the same
    /// device may appear twice): each micro-batch is split among them ([`crate::parallel`]).
    /// Call it after [`Trainer::new`] or [`Trainer::resume`]: the replicas copy the weights
    /// as they are.
    pub fn data_parallel(mut self, others: &[Device]) -> Self {
        self.replicas = others
            .iter()
            .map(|d| Replica::new(&self.model, self.reference.as_ref(), d))
            .collect();
        self
    }

    /// The replicas' models (the same weights as [`Trainer::model`] between steps).
    pub fn replicas(&self) -> impl Iterator<Item = &GptBigCode> {
        self.replicas.iter().map(|r| &r.model)
    }

    /// The devices the run trains on: the model's first, then the replicas'.
    pub fn devices(&self) -> Vec<Device> {
        std::iter::once(self.model.device())
            .chain(self.replicas.iter().map(|r| r.device.clone()))
            .collect()
    }

    /// Continue the run saved in checkpoint `dir` (see [`Trainer::save_checkpoint`]): `model`
    /// is the base model (its parameters are replaced), `train` must be the same groups.
    pub fn resume(
        dir: &Path,
        model: GptBigCode,
        cfg: Training,
        train: Vec<EncodedGroup>,
        pad_id: u32,
    ) -> Result<Self> {
        let ck = |m: String| TrainError::Checkpoint {
            path: dir.to_owned(),
            message: m,
        };
        let saved_config = read_saved(dir).map_err(ck)?.config;
        let state = read_checkpoint(dir).map_err(ck)?;
        let mut t = Self::new(model, cfg, train, pad_id, state.seed)?;
        if state.data_hash != t.state.data_hash {
            return Err(ck(
                "the training groups differ from the run's (data, config split or seed changed): resume with the same input and config"
                    .into(),
            ));
        }
        if state.total_steps != t.state.total_steps {
            return Err(ck(format!(
                "the run had {} total steps, this config gives {}: keep epochs, max_steps, batch_size and grad_accum",
                state.total_steps, t.state.total_steps
            )));
        }
        if let Some(saved) = &saved_config {
            let changed = changed_keys(saved, &resume_config(&t.cfg));
            if !changed.is_empty() {
                return Err(ck(format!(
                    "the [training] config changed since this checkpoint: {}; resume with the \
                     run's config",
                    changed.join(", ")
                )));
            }
        }
        t.model = t
            .model
            .try_load_file(dir.join("model.bpk"))
            .map_err(|e| ck(format!("model.bpk: {e:?}")))?;
        t.optim = t
            .optim
            .load(dir.join("optim.bpk"))
            .map_err(|e| ck(format!("optim.bpk: {e:?}")))?;
        t.state = state;
        Ok(t)
    }

    /// Write `dir/step-N/` (model.bpk, optim.bpk, state.json) atomically (module doc) and
    /// return its path.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<PathBuf> {
        let name = format!("step-{}", self.state.step);
        let out = dir.join(&name);
        let tmp = durable::staging_dir(dir, &format!(".{name}{TMP_SUFFIX}"), ".step-", TMP_SUFFIX)
            .map_err(io)?;
        let be = |e| TrainError::Backend(format!("saving {}: {e:?}", tmp.display()));
        self.model
            .clone()
            .save_file(tmp.join(MODEL_FILE))
            .map_err(be)?;
        self.optim.save(tmp.join(OPTIM_FILE)).map_err(be)?;
        let mut files = std::collections::BTreeMap::new();
        for f in [MODEL_FILE, OPTIM_FILE] {
            let path = tmp.join(f);
            files.insert(f.to_owned(), durable::sync_file(&path).map_err(io)?);
        }
        let saved = SavedState {
            state: self.state.clone(),
            files,
            config: Some(resume_config(&self.cfg)),
        };
        let text = serde_json::to_string_pretty(&saved).expect("state serializes") + "\n";
        let path = tmp.join(STATE_FILE);
        std::fs::write(&path, text).map_err(|e| TrainError::io(&path, e))?;
        durable::sync_file(&path).map_err(io)?;
        durable::sync_dir(&tmp).map_err(io)?;
        if out.exists() {
            // The same step saved again (a resumed run's first checkpoint): replace it whole.
            std::fs::remove_dir_all(&out).map_err(|e| TrainError::io(&out, e))?;
        }
        std::fs::rename(&tmp, &out).map_err(|e| TrainError::io(&out, e))?;
        durable::sync_dir(dir).map_err(io)?;
        Ok(out)
    }

    pub fn done(&self) -> bool {
        self.state.step >= self.state.total_steps
    }

    fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.train.len()).collect();
        idx.shuffle(&mut StdRng::seed_from_u64(
            self.state.seed.wrapping_add(epoch),
        ));
        idx
    }

    /// The next `n` groups of the data stream, advancing the cursor.
    fn next_groups(&mut self, n: usize) -> Vec<EncodedGroup> {
        let mut out = Vec::with_capacity(n);
        let mut order = self.epoch_order(self.state.epoch);
        while out.len() < n {
            if self.state.cursor >= order.len() {
                self.state.epoch += 1;
                self.state.cursor = 0;
                order = self.epoch_order(self.state.epoch);
            }
            out.push(self.train[order[self.state.cursor]].clone());
            self.state.cursor += 1;
        }
        out
    }

    /// One optimizer step over `grad_accum` micro-batches.
    pub fn step(&mut self) -> Result<StepMetrics> {
        let start = Instant::now();
        let accum = self.cfg.grad_accum.max(1) as usize;
        let mut acc = GradientsAccumulator::<GptBigCode>::new();
        let (mut loss, mut rank, mut sft, mut sft_tok, mut tokens) = (0.0, 0.0, 0.0, 0.0, 0);
        let (mut counts, mut pairs) = (PairCounts::default(), 0usize);
        for _ in 0..accum {
            let groups = self.next_groups(self.cfg.batch_size.max(1) as usize);
            // Each shard's loss is its groups' mean: weighted by its share of the micro-batch,
            // the shards' gradients sum to the micro-batch mean's (one shard on one device).
            let b = groups.len();
            let shards = parallel::shards(groups, 1 + self.replicas.len());
            let outs = parallel::run_shards(
                &self.model,
                self.reference.as_ref(),
                &self.replicas,
                &shards,
                parallel::StepSpec {
                    loss: &self.loss,
                    pad_id: self.pad_id,
                    accum,
                    layer_checkpoints: self.cfg.gradient_checkpointing
                        == GradientCheckpointing::Layers,
                },
            )?;
            for out in outs {
                let per_group = |v: f64| v / b as f64 / accum as f64;
                rank += per_group(out.rank_sum);
                sft += per_group(out.sft_sum);
                sft_tok += per_group(out.sft_per_token_sum);
                pairs += out.pairs;
                counts += out.counts;
                tokens += out.tokens;
                loss += out.loss;
                acc.accumulate(&self.model, out.grads);
            }
        }
        let mut grads = acc.grads();
        let grad_norm = clip_global_norm(&self.model, &mut grads, self.cfg.clip_norm);
        let lr = self.lr();
        self.model = self.optim.step(lr, self.model.clone(), grads);
        for r in &mut self.replicas {
            r.model = parallel::sync_trainable(&self.model, r.model.clone());
        }
        self.state.step += 1;
        Ok(StepMetrics {
            step: self.state.step,
            epoch: self.state.epoch,
            loss,
            rank_loss: rank,
            sft_loss: sft,
            sft_loss_per_token: sft_tok,
            lr,
            grad_norm,
            tokens,
            tokens_per_s: tokens as f64 / start.elapsed().as_secs_f64().max(1e-9),
            preference_accuracy: counts.accuracy(),
            preference_ties: counts.ties,
            pairs,
        })
    }

    /// Learning rate of the next step.
    pub fn lr(&self) -> f64 {
        lr_at(
            self.state.step,
            self.state.total_steps,
            self.cfg.warmup_steps,
            self.cfg.learning_rate,
            self.cfg.schedule,
        )
    }

    /// Loss terms and preference accuracy on `groups`, without gradients.
    pub fn evaluate(&self, groups: &[EncodedGroup]) -> Result<EvalMetrics> {
        evaluate(
            &self.model.valid(),
            self.reference.as_ref(),
            groups,
            &self.loss,
            self.pad_id,
            self.cfg.batch_size.max(1) as usize,
            self.state.step,
        )
    }

    /// The inference copy of the current model with any LoRA adapters merged into their
    /// weights (for saving in HF layout). Over a bf16 base this merges into the bf16-rounded
    /// weights: save [`Trainer::merged_over`] the f32 base instead.
    pub fn inference_model(&self) -> GptBigCode {
        self.model.valid().materialize()
    }

    /// [`Trainer::inference_model`] with a bf16 LoRA base's weights replaced by `base`'s (the
    /// f32 base model, loaded again from disk) before the merge ([`lora::merged_over`]).
    pub fn merged_over(&self, base: &GptBigCode) -> GptBigCode {
        lora::merged_over(&self.model, base)
    }

    /// Whether the frozen base is stored in bf16 under LoRA (`training.lora.base_dtype`).
    pub fn bf16_base(&self) -> bool {
        self.cfg.bf16_lora_base()
    }

    /// Parameter counts of the model being trained (adapters included).
    pub fn param_counts(&self) -> lora::ParamCounts {
        lora::param_counts(&self.model)
    }
}

/// Mean loss terms over `groups` and preference accuracy over all their pairs (ties counted
/// apart).
pub fn evaluate(
    model: &GptBigCode,
    reference: Option<&GptBigCode>,
    groups: &[EncodedGroup],
    loss: &LossConfig,
    pad_id: u32,
    batch_size: usize,
    step: u64,
) -> Result<EvalMetrics> {
    let (mut l, mut r, mut s, mut st) = (0.0, 0.0, 0.0, 0.0);
    let (mut counts, mut pairs) = (PairCounts::default(), 0usize);
    for chunk in groups.chunks(batch_size.max(1)) {
        let out = batch_loss_with_reference(model, reference, chunk, loss, pad_id)?;
        l += out.loss.clone().into_scalar::<f32>() as f64 * chunk.len() as f64;
        r += host_sum(out.rank.clone())?;
        s += host_sum(out.sft.clone())?;
        st += host_sum(out.sft_per_token.clone())?;
        counts += pair_counts(&to_vec(out.p.clone())?, &out.pairs);
        pairs += out.pairs.len();
    }
    let n = groups.len().max(1) as f64;
    Ok(EvalMetrics {
        step,
        groups: groups.len(),
        loss: l / n,
        rank_loss: r / n,
        sft_loss: s / n,
        sft_loss_per_token: st / n,
        preference_accuracy: counts.accuracy(),
        preference_ties: counts.ties,
        pairs,
    })
}

const MODEL_FILE: &str = "model.bpk";
const OPTIM_FILE: &str = "optim.bpk";
const STATE_FILE: &str = "state.json";
const TMP_SUFFIX: &str = ".tmp";

/// `state.json`: the run's state and the size of each tensor file written before it.
#[derive(Debug, Serialize, Deserialize)]
struct SavedState {
    #[serde(flatten)]
    state: TrainState,
    /// File name -> bytes. Absent in checkpoints of older versions (then only presence is
    /// checked).
    #[serde(default)]
    files: std::collections::BTreeMap<String, u64>,
    /// The `[training]` keys that decide the run's weights ([`resume_config`]); absent in
    /// checkpoints of older versions (then not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<serde_json::Value>,
}

/// The `[training]` keys a resume must keep: all but where the model comes from and goes
/// (`base_model`, `output_dir`), the devices (a run resumes on others), how often and how
/// many checkpoints are written, op-level gradient checkpointing (same steps, less memory), and
/// `rounds` (the data's fingerprint covers what it selects).
fn resume_config(cfg: &Training) -> serde_json::Value {
    let mut v = serde_json::to_value(cfg).expect("config serializes");
    if let Some(map) = v.as_object_mut() {
        for key in [
            "base_model",
            "output_dir",
            "device",
            "devices",
            "checkpoint_every",
            "keep_checkpoints",
            "gradient_checkpointing",
            "rounds",
        ] {
            map.remove(key);
        }
    }
    v
}

/// `training.KEY (saved -> now)` for each key whose value differs.
fn changed_keys(saved: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (
        saved.as_object().unwrap_or(&empty),
        now.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let show = |v: Option<&serde_json::Value>| v.map_or("unset".to_owned(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("training.{k} ({} -> {})", show(a.get(k)), show(b.get(k))))
        .collect()
}

/// An I/O error of a checkpoint save ([`durable`]) as a [`TrainError`].
fn io((path, e): durable::IoAt) -> TrainError {
    TrainError::io(&path, e)
}

/// The state of the checkpoint in `dir`, or what makes it incomplete: `state.json` missing or
/// unreadable, a tensor file missing or not of the size `state.json` recorded.
fn read_checkpoint(dir: &Path) -> std::result::Result<TrainState, String> {
    let saved = read_saved(dir)?;
    for f in [MODEL_FILE, OPTIM_FILE] {
        let len = std::fs::metadata(dir.join(f))
            .map_err(|e| format!("{f}: {e}: resume from an earlier step-N"))?
            .len();
        if let Some(&want) = saved.files.get(f)
            && want != len
        {
            return Err(format!(
                "{f} has {len} bytes, {STATE_FILE} recorded {want}: the file is damaged; \
                 resume from an earlier step-N"
            ));
        }
    }
    Ok(saved.state)
}

/// `state.json` of the checkpoint in `dir`, parsed (its tensor files unchecked).
fn read_saved(dir: &Path) -> std::result::Result<SavedState, String> {
    let text = std::fs::read_to_string(dir.join(STATE_FILE)).map_err(|e| {
        format!("cannot read {STATE_FILE} ({e}): pass a complete step-N directory of a run")
    })?;
    serde_json::from_str(&text).map_err(|e| {
        format!("{STATE_FILE} is not a complete run state ({e}): resume from an earlier step-N")
    })
}

/// Why the checkpoint in `dir` cannot be resumed from, or `None` when it is complete.
pub fn checkpoint_problem(dir: &Path) -> Option<String> {
    read_checkpoint(dir).err()
}

/// The run state saved in the checkpoint `dir` (its step and the run's total steps, ...), or
/// why it is incomplete (as [`checkpoint_problem`] says).
pub fn checkpoint_state(dir: &Path) -> std::result::Result<TrainState, String> {
    read_checkpoint(dir)
}

/// Whether the checkpoint `dir` records the `[training]` config it was written under (every
/// checkpoint since 2026-12-04 does). Without it [`Trainer::resume`] cannot tell a changed key
/// and resumes on trust: the caller should say so.
pub fn checkpoint_records_config(dir: &Path) -> bool {
    read_saved(dir).is_ok_and(|s| s.config.is_some())
}

/// Where a training run whose model goes to `output_dir` keeps its `step-N` checkpoints.
pub fn checkpoints_dir(output_dir: &Path) -> PathBuf {
    output_dir.join("checkpoints")
}

/// `checkpoints/step-N` with the largest N that is complete ([`checkpoint_problem`]); partial
/// saves and damaged checkpoints are skipped.
pub fn latest_checkpoint(checkpoints: &Path) -> Option<PathBuf> {
    std::fs::read_dir(checkpoints)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step: u64 = name.strip_prefix("step-")?.parse().ok()?;
            Some((step, e.path()))
        })
        .filter(|(_, p)| checkpoint_problem(p).is_none())
        .max_by_key(|(step, _)| *step)
        .map(|(_, p)| p)
}

/// Every `step-N` directory in `checkpoints` (complete or not), by step.
fn step_dirs(checkpoints: &Path) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(checkpoints)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step: u64 = name.strip_prefix("step-")?.parse().ok()?;
            Some((step, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Remove the `step-N` checkpoints of `checkpoints` that are neither among the `keep_last`
/// newest complete ones nor the step `best` (the best held-out loss); an incomplete one newer
/// than every kept one is left (nothing resumes from it, and it may be a save in progress
/// elsewhere). Returns the removed directories.
pub fn prune_checkpoints(
    checkpoints: &Path,
    keep_last: usize,
    best: Option<u64>,
) -> Result<Vec<PathBuf>> {
    let all = step_dirs(checkpoints);
    let mut kept: Vec<u64> = all
        .iter()
        .rev()
        .filter(|(_, p)| checkpoint_problem(p).is_none())
        .take(keep_last.max(1))
        .map(|(s, _)| *s)
        .collect();
    kept.extend(best);
    let Some(&newest) = kept.iter().max() else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for (step, path) in all {
        if step < newest && !kept.contains(&step) {
            std::fs::remove_dir_all(&path).map_err(|e| TrainError::io(&path, e))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Appends JSON lines to a metrics file.
pub struct MetricsLog {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
}

impl MetricsLog {
    /// Open `path` for appending (a resumed run continues the same file).
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| TrainError::io(path, e))?;
        Ok(Self {
            file: std::io::BufWriter::new(file),
            path: path.to_owned(),
        })
    }

    /// Write `{"kind": kind, ...value}` as one line and flush.
    pub fn write(&mut self, kind: &str, value: &impl Serialize) -> Result<()> {
        let mut v = serde_json::to_value(value).expect("metrics serialize");
        if let Some(map) = v.as_object_mut() {
            map.insert("kind".into(), kind.into());
        }
        writeln!(self.file, "{v}").map_err(|e| TrainError::io(&self.path, e))?;
        self.file.flush().map_err(|e| TrainError::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A complete `step-N` as `save_checkpoint` leaves it (tensor files of any content).
    fn fake_checkpoint(dir: &Path, step: u64) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(MODEL_FILE), b"model").unwrap();
        std::fs::write(dir.join(OPTIM_FILE), b"optim").unwrap();
        let saved = SavedState {
            state: TrainState {
                step,
                total_steps: 100,
                epoch: 0,
                cursor: 0,
                seed: 1,
                data_hash: 2,
            },
            files: [(MODEL_FILE.to_owned(), 5), (OPTIM_FILE.to_owned(), 5)].into(),
            config: None,
        };
        std::fs::write(dir.join(STATE_FILE), serde_json::to_string(&saved).unwrap()).unwrap();
    }

    fn steps(dir: &Path) -> Vec<u64> {
        step_dirs(dir).into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn pruning_keeps_the_last_k_complete_checkpoints_and_the_best() {
        let tmp = tempfile::tempdir().unwrap();
        let ck = tmp.path();
        for s in [1, 2, 3, 4, 5, 6] {
            fake_checkpoint(&ck.join(format!("step-{s}")), s);
        }
        // step-5 is damaged: it does not count among the last ones, and goes.
        std::fs::write(ck.join("step-5").join(MODEL_FILE), b"cut").unwrap();
        let removed = prune_checkpoints(ck, 2, Some(2)).unwrap();
        assert_eq!(steps(ck), [2, 4, 6]);
        assert_eq!(removed.len(), 3);
        // Without a best, the last two; a newer incomplete one stays.
        std::fs::create_dir_all(ck.join("step-9")).unwrap();
        prune_checkpoints(ck, 2, None).unwrap();
        assert_eq!(steps(ck), [4, 6, 9]);
        assert!(latest_checkpoint(ck).unwrap().ends_with("step-6"));
    }

    #[test]
    fn a_changed_training_key_is_named_with_both_values() {
        let a = Training::default();
        let mut b = a.clone();
        b.learning_rate = 1e-3;
        b.device = "wgpu".into();
        b.checkpoint_every = 7;
        assert_eq!(
            changed_keys(&resume_config(&a), &resume_config(&b)),
            ["training.learning_rate (0.00002 -> 0.001)"]
        );
        assert!(changed_keys(&resume_config(&a), &resume_config(&a)).is_empty());
    }
}
