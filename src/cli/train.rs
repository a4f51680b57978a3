//! `rrtf train`: run the RRTF trainer on a round config, and `rrtf train loss` to print the
//! objective of a checkpoint on ranked groups without training. All logic lives in
//! `rrtf-train`; this module reads inputs (a JSONL file, or the store through an `rrtf`-format
//! export), drives the progress bar and prints results.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use rrtf_config::{RoundConfig, Training};
use rrtf_model::{Checkpoint, SaveDtype};
use rrtf_train::{
    Encoded, LossConfig, MetricsLog, Templates, Trainer, batch_loss_with_reference, encode_group,
    encode_groups,
};

use super::{BadInput, Ctx};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TrainArgs {
    #[command(subcommand)]
    pub command: Option<TrainCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Per group: p of each response, rank, fine-tuning and total loss (one JSON line each).
    Loss(Box<LossArgs>),
    /// Training tokens/s on synthetic ranked groups (steady state), matmul rate and MFU.
    Bench(super::train_bench::BenchArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Round config; its [training] section drives the run.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Ranked groups as `rrtf`-format JSON lines; default: the store's latest ranking
    /// (reviews applied), exported to `<output_dir>/groups.jsonl`.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Continue from a checkpoint directory (`<output_dir>/checkpoints/step-N`).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Total optimizer steps (overrides training.max_steps and epochs).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// `cpu`, or `cuda:N` in a build with the `cuda` feature (overrides training.device).
    #[arg(long)]
    pub device: Option<String>,
}

/// `rrtf train loss`: by default it scores what `rrtf train` trains on with the `[training]`
/// defaults (or `--config`'s section): the same objective, prompt templates per prompt kind,
/// extracted code (`details[i].code`) and max-length rule. Flags override single keys.
#[derive(Debug, Args)]
pub struct LossArgs {
    /// Checkpoint directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// `rrtf`-format JSON lines: {"prompt", "responses": [...], "scores": [...]} and optional
    /// "pairs", "kind", "details".
    #[arg(long)]
    pub input: PathBuf,
    /// Round config whose [training] section is used (default: the section's defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// rrtf (the paper's hinge; rrhf is the same loss), dpo (against --reference) or sft.
    #[arg(long)]
    pub objective: Option<String>,
    /// none (the paper) or gap: weight each hinge pair by its score gap.
    #[arg(long)]
    pub rank_weighting: Option<String>,
    /// sum (the paper) or mean of a group's pair terms.
    #[arg(long)]
    pub pair_reduction: Option<String>,
    #[arg(long)]
    pub rank_weight: Option<f64>,
    #[arg(long)]
    pub sft_weight: Option<f64>,
    /// sum or mean over the best response's tokens (default: sum, mean for dpo).
    #[arg(long)]
    pub sft_normalize: Option<String>,
    /// With --objective sft: all (default), best or teachers.
    #[arg(long)]
    pub sft_responses: Option<String>,
    /// DPO's beta.
    #[arg(long)]
    pub dpo_beta: Option<f64>,
    /// sigmoid (DPO) or ipo.
    #[arg(long)]
    pub dpo_loss: Option<String>,
    /// Conservative DPO's label smoothing, in [0, 0.5).
    #[arg(long)]
    pub dpo_label_smoothing: Option<f64>,
    /// DPO's frozen reference checkpoint (same tokenizer); default: --model itself.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Template of instruction prompts (`{prompt}` is replaced by the prompt).
    #[arg(long)]
    pub prompt_template: Option<String>,
    /// Template of completion prompts.
    #[arg(long)]
    pub completion_template: Option<String>,
    /// Score the raw responses, not their extracted code (training.code_only = false).
    #[arg(long)]
    pub raw: bool,
}

impl LossArgs {
    /// The `[training]` section this run scores with: the config's (or the defaults), with the
    /// flags applied, checked as a config is.
    fn training(&self) -> anyhow::Result<Training> {
        let mut config = match &self.config {
            Some(path) => RoundConfig::load(path)?,
            None => RoundConfig::default(),
        };
        let t = &mut config.training;
        fn set<T: serde::de::DeserializeOwned>(
            flag: &str,
            value: &Option<String>,
            slot: &mut T,
        ) -> anyhow::Result<()> {
            if let Some(v) = value {
                *slot = serde_json::from_value(serde_json::Value::String(v.clone()))
                    .map_err(|e| BadInput(format!("--{flag} {v}: {e}")))?;
            }
            Ok(())
        }
        set("objective", &self.objective, &mut t.objective)?;
        set(
            "rank-weighting",
            &self.rank_weighting,
            &mut t.rank_weighting,
        )?;
        set(
            "pair-reduction",
            &self.pair_reduction,
            &mut t.pair_reduction,
        )?;
        set("dpo-loss", &self.dpo_loss, &mut t.dpo_loss)?;
        if let Some(v) = &self.sft_responses {
            let mut r = rrtf_config::SftResponses::All;
            set("sft-responses", &Some(v.clone()), &mut r)?;
            t.sft_responses = Some(r);
        }
        if let Some(v) = &self.sft_normalize {
            let mut n = rrtf_config::SftNormalize::Sum;
            set("sft-normalize", &Some(v.clone()), &mut n)?;
            t.sft_normalize = Some(n);
        }
        for (value, slot) in [
            (self.rank_weight, &mut t.rank_weight),
            (self.sft_weight, &mut t.sft_weight),
            (self.dpo_beta, &mut t.dpo_beta),
            (self.dpo_label_smoothing, &mut t.dpo_label_smoothing),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if let Some(v) = &self.prompt_template {
            t.prompt_template = v.clone();
        }
        if let Some(v) = &self.completion_template {
            t.completion_template = v.clone();
        }
        if self.raw {
            t.code_only = false;
        }
        config.validate().map_err(|(key, message)| {
            BadInput(format!("`{key}` {message} (from --config or a flag)"))
        })?;
        Ok(config.training)
    }
}

pub async fn run(ctx: &Ctx, a: TrainArgs) -> anyhow::Result<()> {
    match a.command {
        Some(TrainCommand::Loss(l)) => loss(*l),
        Some(TrainCommand::Bench(b)) => super::train_bench::bench(ctx, b),
        None => train(ctx, a.run).await,
    }
}

fn loss(a: LossArgs) -> anyhow::Result<()> {
    let t = a.training()?;
    let cfg = LossConfig::from_training(&t)?;
    if a.reference.is_some() && !cfg.needs_reference() {
        return Err(BadInput(format!(
            "--reference is DPO's reference model: add --objective dpo (got {})",
            serde_json::to_value(t.objective)?
        ))
        .into());
    }
    let device = rrtf_model::default_device();
    let ckpt = Checkpoint::load(&a.model, &device)?;
    let reference = match &a.reference {
        Some(dir) => {
            let r = Checkpoint::load(dir, &device)?;
            if r.tokenizer.vocab_size() != ckpt.tokenizer.vocab_size() {
                return Err(BadInput(format!(
                    "--reference {}: its tokenizer has {} tokens, --model's {}: DPO needs the same tokenizer",
                    dir.display(),
                    r.tokenizer.vocab_size(),
                    ckpt.tokenizer.vocab_size()
                ))
                .into());
            }
            Some(r.model)
        }
        None => cfg.needs_reference().then(|| ckpt.model.clone()),
    };
    let groups = rrtf_train::read_jsonl(&a.input, t.code_only)?;
    let templates = Templates::from_training(&t);
    let max_len = (t.max_length as usize).min(ckpt.config.n_positions);
    let eos = ckpt.tokenizer.eos_id();
    // DPO's per-response values are implicit rewards, not length-normalised log-probs.
    let p_key = if cfg.needs_reference() { "reward" } else { "p" };
    for g in &groups {
        let row = match encode_group(g, &ckpt.tokenizer, &templates, max_len)? {
            Encoded::Dropped { reason, dropped } => serde_json::json!({
                "prompt": g.prompt, "dropped": reason, "dropped_responses": dropped,
            }),
            Encoded::Kept { group, .. }
                if cfg
                    .targets(&group)
                    .map_err(|m| BadInput(format!("--sft-responses / training.sft_responses {m}")))?
                    .is_empty() =>
            {
                serde_json::json!({
                    "prompt": g.prompt,
                    "dropped": "no response to fine-tune on (sft_responses = \"teachers\": no teacher response)",
                })
            }
            Encoded::Kept { group, dropped, .. } => {
                let out = batch_loss_with_reference(
                    &ckpt.model,
                    reference.as_ref(),
                    std::slice::from_ref(&group),
                    &cfg,
                    eos,
                )?;
                let v = |t| rrtf_train::loss::to_vec(t).map_err(anyhow::Error::from);
                // One value per input response: null for a response dropped for length.
                let mut kept = v(out.p)?.into_iter();
                let values: Vec<Option<f32>> = (0..g.responses.len())
                    .map(|i| {
                        if dropped.contains(&i) {
                            None
                        } else {
                            kept.next()
                        }
                    })
                    .collect();
                let mut row = serde_json::json!({
                    "prompt": g.prompt,
                    p_key: values,
                    "rank_loss": v(out.rank)?[0],
                    "sft_loss": v(out.sft)?[0],
                    "loss": v(out.loss)?[0],
                });
                if !dropped.is_empty() {
                    row["dropped_responses"] = serde_json::json!(dropped);
                }
                row
            }
        };
        println!("{row}");
    }
    Ok(())
}

fn need<'a>(value: &'a Option<PathBuf>, key: &str) -> anyhow::Result<&'a Path> {
    value.as_deref().ok_or_else(|| {
        BadInput(format!(
            "training.{key} is not set: give it in the config's [training] section"
        ))
        .into()
    })
}

async fn train(ctx: &Ctx, a: RunArgs) -> anyhow::Result<()> {
    let Some(config_path) = &a.config else {
        return Err(
            BadInput("rrtf train needs --config FILE (or the `loss` subcommand)".into()).into(),
        );
    };
    let config = RoundConfig::load(config_path)?;
    let mut t: Training = config.training.clone();
    if let Some(n) = a.max_steps {
        if n == 0 {
            return Err(BadInput("--max-steps 0: must be at least 1".into()).into());
        }
        t.max_steps = Some(n);
    }
    if let Some(d) = &a.device {
        t.device = d.clone();
    }
    let device = rrtf_model::parse_device(&t.device)
        .map_err(|e| BadInput(format!("training.device / --device: {e}")))?
        .autodiff();
    let base = need(&t.base_model, "base_model")?.to_owned();
    let out_dir = need(&t.output_dir, "output_dir")?.to_owned();
    // Held to the end of the run: a second trainer on this directory refuses, naming this one.
    let _lock = rrtf_train::DirLock::acquire(&out_dir, "rrtf train")?;
    let input = match &a.input {
        Some(p) => p.clone(),
        None => export_from_store(ctx, &config, &out_dir).await?,
    };
    let ckpt = Checkpoint::load(&base, &device)?;
    let groups = rrtf_train::read_jsonl(&input, t.code_only)?;
    let max_len = (t.max_length as usize).min(ckpt.config.n_positions);
    let templates = Templates::from_training(&t);
    // Held out by lineage before encoding, so a root's groups stay on one side.
    let (train_groups, eval_groups) =
        rrtf_train::split_groups(&groups, t.eval_fraction, config.round.seed);
    let encode = |gs: &[rrtf_train::Group]| {
        encode_groups(gs, &ckpt.tokenizer, &templates, max_len).map_err(anyhow::Error::from)
    };
    let (train_set, train_stats) = encode(&train_groups)?;
    let (eval_set, eval_stats) = encode(&eval_groups)?;
    let stats = train_stats + eval_stats;
    // objective = "sft" with sft_responses = "teachers": prompts without a teacher response.
    let loss_cfg = LossConfig::from_training(&t)?;
    let (train_set, no_target) = loss_cfg.keep_trainable(train_set)?;
    let (eval_set, no_target_eval) = loss_cfg.keep_trainable(eval_set)?;
    if no_target + no_target_eval > 0 {
        eprintln!(
            "{} groups have no response to fine-tune on under training.sft_responses (no \
             teacher response) and are left out",
            no_target + no_target_eval
        );
    }
    eprintln!(
        "{} groups, {} pairs ({} groups and {} responses dropped for not fitting {max_len} tokens, \
         {} pairs with them): {} train, {} held out (by lineage)",
        stats.groups,
        stats.pairs,
        stats.groups_dropped,
        stats.responses_dropped,
        stats.pairs_dropped,
        train_set.len(),
        eval_set.len()
    );
    let eos = ckpt.tokenizer.eos_id();
    let mut trainer = match &a.resume {
        Some(dir) => Trainer::resume(dir, ckpt.model, t.clone(), train_set, eos),
        None => Trainer::new(ckpt.model, t.clone(), train_set, eos, config.round.seed),
    }?;
    let params = trainer.param_counts();
    if let Some(l) = &t.lora {
        eprintln!(
            "LoRA rank {} alpha {} on {} projections: {} trainable parameters of {} ({:.2}%)",
            l.rank,
            l.alpha,
            params.adapted,
            params.trainable,
            params.total,
            100.0 * params.trainable as f64 / params.total.max(1) as f64
        );
    }
    let checkpoints = rrtf_train::checkpoints_dir(&out_dir);
    if a.resume.is_none() {
        // A fresh run owns its output directory: an earlier run's checkpoints and metrics
        // would otherwise mix with this one's (and a later resume could pick them up).
        fresh_outputs(&checkpoints, &out_dir.join("metrics.jsonl"))?;
    }
    let mut log = MetricsLog::open(&out_dir.join("metrics.jsonl"))?;
    let mut db = StoreLog::open(ctx, &config, &base, &out_dir).await?;
    let bar = super::progress_bar(ctx, trainer.state.total_steps, "training");
    bar.set_position(trainer.state.step);
    let mut last = None;
    while !trainer.done() {
        let m = trainer.step()?;
        log.write("step", &m)?;
        db.step(&m).await?;
        bar.set_position(m.step);
        bar.set_message(format!("training, loss {:.4}", m.loss));
        let at_checkpoint = m.step % t.checkpoint_every == 0;
        if at_checkpoint && !trainer.done() {
            trainer.save_checkpoint(&checkpoints)?;
            if !eval_set.is_empty() {
                let e = trainer.evaluate(&eval_set)?;
                log.write("eval", &e)?;
                db.eval(&e).await?;
            }
        }
        last = Some(m);
    }
    bar.finish_and_clear();
    let eval = if eval_set.is_empty() {
        None
    } else {
        let e = trainer.evaluate(&eval_set)?;
        log.write("eval", &e)?;
        db.eval(&e).await?;
        Some(e)
    };
    let final_ckpt = trainer.save_checkpoint(&checkpoints)?;
    let saved = Checkpoint {
        config: ckpt.config,
        model: trainer.inference_model(),
        tokenizer: ckpt.tokenizer,
    };
    saved
        .save(&out_dir, SaveDtype::F32)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("saving the trained model to {}", out_dir.display()))?;
    let summary = serde_json::json!({
        "steps": trainer.state.step, "output_dir": out_dir, "checkpoint": final_ckpt,
        "encode": stats, "groups_without_sft_target": no_target + no_target_eval,
        "last_step": last, "eval": eval, "device": t.device,
        "objective": t.objective, "params": params, "lora": t.lora,
    });
    db.finish(&summary).await?;
    ctx.emit(
        || {
            let mut s = format!(
                "trained {} steps; model saved to {} (HF layout); last checkpoint {}; metrics {}",
                trainer.state.step,
                out_dir.display(),
                final_ckpt.display(),
                out_dir.join("metrics.jsonl").display()
            );
            if let Some(m) = &last {
                s += &format!(
                    "\nlast step: loss {:.4} (rank {:.4}, sft {:.4}), {:.0} tokens/s",
                    m.loss, m.rank_loss, m.sft_loss, m.tokens_per_s
                );
            }
            if let Some(e) = &eval {
                s += &format!(
                    "\nheld out ({} groups): loss {:.4}, preference accuracy {} ({} of {} pairs tied, counted neither way)",
                    e.groups,
                    e.loss,
                    e.preference_accuracy
                        .map_or("n/a".into(), |a| format!("{a:.3}")),
                    e.preference_ties,
                    e.pairs
                );
            }
            s
        },
        || summary.clone(),
    );
    Ok(())
}

/// Remove an earlier run's checkpoints and metrics from the output directory, saying so.
fn fresh_outputs(checkpoints: &Path, metrics: &Path) -> anyhow::Result<()> {
    if checkpoints.is_dir() {
        eprintln!(
            "starting afresh: removing the previous run's {} (pass --resume DIR to continue it)",
            checkpoints.display()
        );
        std::fs::remove_dir_all(checkpoints)
            .with_context(|| format!("removing {}", checkpoints.display()))?;
    }
    match std::fs::remove_file(metrics) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", metrics.display())),
    }
}

/// Export the store's latest ranking (reviews applied) as `rrtf` rows for training, with the
/// pairs its ranking config names (`ranking.pairs`, `ranking.min_gap`), as every export.
async fn export_from_store(
    ctx: &Ctx,
    config: &RoundConfig,
    out_dir: &Path,
) -> anyhow::Result<PathBuf> {
    use rrtf_data::export::{ExportFormat, ExportOptions, TextField, export};
    let (code_only, rounds) = (config.training.code_only, config.training.rounds.clone());
    let store = ctx.store().await?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let out = out_dir.join("groups.jsonl");
    let opts = ExportOptions {
        format: ExportFormat::Rrtf,
        out: out.clone(),
        // The ranking config's pairs (`ranking.pairs`, `ranking.min_gap`), as every export.
        pairs: None,
        min_gap: None,
        text: if code_only {
            TextField::Code
        } else {
            TextField::Raw
        },
        ranker: None,
        rounds: rounds.clone(),
        name: None,
    };
    let report = export(&store, &opts).await?;
    store.close().await;
    let which = match &rounds {
        Some(r) => format!(
            " of round{} {}",
            if r.len() == 1 { "" } else { "s" },
            r.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ),
        None => String::new(),
    };
    eprintln!(
        "read {} ranked prompts{which} from the store (ranker {})",
        report.prompts,
        &report.ranker[..report.ranker.len().min(12)]
    );
    if report.prompts == 0 {
        return Err(BadInput(format!(
            "no ranked prompts{which} in the store: run `rrtf rank` first{}",
            if rounds.is_some() {
                ", or check training.rounds"
            } else {
                ""
            }
        ))
        .into());
    }
    Ok(out)
}

/// Metrics into the project database (when there is one): a `train` run, its training run row
/// and every step's and evaluation's values, written as they are produced.
struct StoreLog {
    inner: Option<(
        rrtf_store::Store,
        rrtf_store::RunRef,
        rrtf_store::TrainingRef,
    )>,
}

impl StoreLog {
    async fn open(
        ctx: &Ctx,
        config: &RoundConfig,
        base: &Path,
        out_dir: &Path,
    ) -> anyhow::Result<StoreLog> {
        if !ctx.db.exists() {
            return Ok(StoreLog { inner: None });
        }
        let store = ctx.store().await?;
        let round = config.round.number;
        let run = store
            .begin_run(&rrtf_pipeline::round_run(config, "train", super::REVISION))
            .await?;
        let training = store
            .begin_training(
                Some(run),
                round,
                &base.display().to_string(),
                &out_dir.display().to_string(),
                &config.snapshot_json(),
                &config.hash(),
            )
            .await?;
        Ok(StoreLog {
            inner: Some((store, run, training)),
        })
    }

    async fn write(
        &mut self,
        step: u64,
        split: &str,
        values: &[(&str, Option<f64>)],
    ) -> anyhow::Result<()> {
        let Some((store, _, training)) = &self.inner else {
            return Ok(());
        };
        let points: Vec<rrtf_store::MetricPoint> = values
            .iter()
            .filter_map(|(name, v)| {
                v.filter(|v| v.is_finite())
                    .map(|value| rrtf_store::MetricPoint {
                        step: step as i64,
                        split: split.into(),
                        name: (*name).into(),
                        value,
                    })
            })
            .collect();
        store.insert_training_metrics(*training, &points).await?;
        Ok(())
    }

    async fn step(&mut self, m: &rrtf_train::StepMetrics) -> anyhow::Result<()> {
        self.write(
            m.step,
            "train",
            &[
                ("loss", Some(m.loss)),
                ("rank_loss", Some(m.rank_loss)),
                ("sft_loss", Some(m.sft_loss)),
                ("lr", Some(m.lr)),
                ("grad_norm", Some(m.grad_norm)),
                ("tokens_per_s", Some(m.tokens_per_s)),
                ("preference_accuracy", m.preference_accuracy),
                ("preference_ties", Some(m.preference_ties as f64)),
            ],
        )
        .await
    }

    async fn eval(&mut self, e: &rrtf_train::EvalMetrics) -> anyhow::Result<()> {
        self.write(
            e.step,
            "eval",
            &[
                ("loss", Some(e.loss)),
                ("rank_loss", Some(e.rank_loss)),
                ("sft_loss", Some(e.sft_loss)),
                ("preference_accuracy", e.preference_accuracy),
                ("preference_ties", Some(e.preference_ties as f64)),
            ],
        )
        .await
    }

    async fn finish(self, summary: &serde_json::Value) -> anyhow::Result<()> {
        if let Some((store, run, training)) = self.inner {
            store.finish_training(training, true).await?;
            store.finish_run(run, true, summary).await?;
            store.close().await;
        }
        Ok(())
    }
}
