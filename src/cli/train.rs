//! `rrtf train`: run the RRTF trainer on a round config, and `rrtf train loss` to print the
//! objective of a checkpoint on ranked groups without training. The run is
//! `rrtf_pipeline::train` (over `rrtf-train`), the scoring `rrtf_train::score`; this module
//! parses the flags, drives the progress bar and prints results.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use rrtf_config::{RoundConfig, Training, TrainingFlags};
use rrtf_pipeline::train::{TrainProgress, TrainRequest};

use super::{BadInput, Bar, Ctx};

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
    /// Device memory a run needs (weights, gradients, AdamW, activations, DPO's reference) and
    /// whether it fits; nothing is loaded.
    Plan(super::train_plan::PlanArgs),
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
    /// Continue from this checkpoint directory (`<output_dir>/checkpoints/step-N`). Without
    /// it, an earlier run in output_dir continues from its newest complete checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Discard an earlier run's checkpoints and metrics in output_dir and train afresh.
    #[arg(long, conflicts_with = "resume")]
    pub restart: bool,
    /// Total optimizer steps (overrides training.max_steps and epochs).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// `cpu`, `cuda:N` (a `cuda` build) or `wgpu` (a `wgpu` build); overrides
    /// training.device and training.devices.
    #[arg(long)]
    pub device: Option<String>,
    /// Train data-parallel on these devices (comma-separated, e.g. `cuda:0,cuda:1`; overrides
    /// training.devices): each micro-batch is split among them and the gradients are summed on
    /// the first.
    #[arg(long, value_delimiter = ',', conflicts_with = "device", num_args = 1..)]
    pub devices: Option<Vec<String>>,
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
        let config = match &self.config {
            Some(path) => RoundConfig::load(path)?,
            None => RoundConfig::default(),
        };
        let flags = TrainingFlags {
            objective: self.objective.clone(),
            rank_weighting: self.rank_weighting.clone(),
            pair_reduction: self.pair_reduction.clone(),
            rank_weight: self.rank_weight,
            sft_weight: self.sft_weight,
            sft_normalize: self.sft_normalize.clone(),
            sft_responses: self.sft_responses.clone(),
            dpo_beta: self.dpo_beta,
            dpo_loss: self.dpo_loss.clone(),
            dpo_label_smoothing: self.dpo_label_smoothing,
            prompt_template: self.prompt_template.clone(),
            completion_template: self.completion_template.clone(),
            raw: self.raw,
        };
        Ok(flags.apply(config)?)
    }
}

pub async fn run(ctx: &Ctx, a: TrainArgs) -> anyhow::Result<()> {
    match a.command {
        Some(TrainCommand::Loss(l)) => loss(*l),
        Some(TrainCommand::Bench(b)) => super::train_bench::bench(ctx, b),
        Some(TrainCommand::Plan(p)) => super::train_plan::run(ctx, p),
        None => train(ctx, a.run).await,
    }
}

fn loss(a: LossArgs) -> anyhow::Result<()> {
    let t = a.training()?;
    let scores = rrtf_train::score_checkpoint(&a.model, a.reference.as_deref(), &a.input, &t)?;
    for score in scores {
        super::print_out(&serde_json::to_value(score)?.to_string());
    }
    Ok(())
}

impl TrainProgress for Bar {
    fn start(&mut self, total: u64, step: u64) {
        let bar = super::progress_bar(total, "training");
        bar.set_position(step);
        self.1 = Some(bar);
    }
    fn step(&mut self, m: &rrtf_train::StepMetrics) {
        if let Some(bar) = &self.1 {
            bar.set_position(m.step);
            bar.set_message(format!("training, loss {:.4}", m.loss));
            super::progress_tick(bar);
        }
    }
    fn finish(&mut self) {
        Bar::finish(self)
    }
}

async fn train(ctx: &Ctx, a: RunArgs) -> anyhow::Result<()> {
    let Some(config_path) = &a.config else {
        return Err(
            BadInput("rrtf train needs --config FILE (or the `loss` subcommand)".into()).into(),
        );
    };
    let request = TrainRequest {
        config: RoundConfig::load(config_path)?,
        input: a.input,
        resume: a.resume,
        restart: a.restart,
        max_steps: a.max_steps,
        device: a.device,
        devices: a.devices,
        stop: rrtf_pipeline::stop::Stop::on_signals(),
    };
    let r = ctx
        .rrtf()?
        .train(request, &mut Bar::new("training"))
        .await?;
    if let Some(signal) = r.interrupted {
        let checkpoint = r
            .checkpoint
            .as_ref()
            .map_or("none yet".into(), |c| c.display().to_string());
        ctx.emit(
            || {
                format!(
                    "stopped after step {} of {}; checkpoint {}; metrics {}",
                    r.steps,
                    r.total_steps,
                    checkpoint,
                    r.metrics.display()
                )
            },
            || r.summary.clone(),
        );
        return Err(rrtf_pipeline::stop::Interrupted {
            stage: "rrtf train".into(),
            signal,
            done: format!(
                "the run is recorded as interrupted after step {} of {} (checkpoint {checkpoint})",
                r.steps, r.total_steps
            ),
            // Without --resume: the run continues from its newest checkpoint by default.
            resume: super::same_command(&[("--resume", true), ("--restart", false)]),
        }
        .into());
    }
    let checkpoint = r
        .checkpoint
        .as_ref()
        .map_or(String::new(), |c| c.display().to_string());
    ctx.emit(
        || {
            let mut s = format!(
                "trained {} steps; model saved to {} (HF layout); last checkpoint {}; metrics {}",
                r.steps,
                r.output_dir.display(),
                checkpoint,
                r.metrics.display()
            );
            if let Some(m) = &r.last {
                s += &format!(
                    "\nlast step: loss {:.4} (rank {:.4}, sft {:.4}), {:.0} tokens/s",
                    m.loss, m.rank_loss, m.sft_loss, m.tokens_per_s
                );
            }
            if let Some(e) = &r.eval {
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
        || r.summary.clone(),
    );
    Ok(())
}
