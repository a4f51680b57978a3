//! `rrtf train`'s run: a round config's `[training]` over ranked groups (a JSONL file, or the
//! store's latest ranking exported as `rrtf` rows), held-out split, the trainer's loop with its
//! checkpoints and evaluations, the final HF-layout model, and the metrics written to
//! `metrics.jsonl` and, when the project database exists, to `training_runs` /
//! `training_metrics` as they are produced.
//!
//! Not here: the trainer itself (`rrtf-train`), the progress bar and the printed summary (the
//! binary, through [`TrainProgress`] and [`TrainReport`]).

use std::path::{Path, PathBuf};

use rrtf_config::{RoundConfig, Training};
use rrtf_model::{Checkpoint, SaveDtype};
use rrtf_store::{MetricPoint, RunRef, Store, TrainingRef};
use rrtf_train::{
    EvalMetrics, LossConfig, MetricsLog, StepMetrics, Templates, TrainError, Trainer,
};

use crate::stop::{Signal, Stop};
use crate::{PipelineError, Result, Rrtf};

/// What `rrtf train` was asked: the config (loaded), and the flags that override it.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    pub config: RoundConfig,
    /// Ranked groups as `rrtf` JSON lines; None: the store's latest ranking.
    pub input: Option<PathBuf>,
    /// A checkpoint directory to continue from. Without it (and without `restart`) an
    /// earlier run in `output_dir` is continued from its newest complete checkpoint.
    pub resume: Option<PathBuf>,
    /// Discard an earlier run's checkpoints and metrics in `output_dir` and train afresh.
    pub restart: bool,
    pub max_steps: Option<u64>,
    pub device: Option<String>,
    /// Overrides `training.devices` (data parallelism over these devices).
    pub devices: Option<Vec<String>>,
    /// Asked between steps: the run stops after the step in flight, saves a checkpoint and is
    /// recorded as `interrupted`.
    pub stop: Stop,
}

/// Where the loop is (a progress bar).
pub trait TrainProgress {
    /// The run's total steps and the step it starts at (not 0 on a resume).
    fn start(&mut self, _total: u64, _step: u64) {}
    fn step(&mut self, _m: &StepMetrics) {}
    fn finish(&mut self) {}
}

/// No progress shown.
impl TrainProgress for () {}

/// What a finished run did: `summary` is the JSON recorded with the `train` run (and printed
/// by `--json`).
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub steps: u64,
    pub total_steps: u64,
    pub output_dir: PathBuf,
    /// The newest checkpoint (None: stopped before the first step).
    pub checkpoint: Option<PathBuf>,
    /// The checkpoint this run continued from.
    pub resumed_from: Option<PathBuf>,
    /// Stopped by this signal before the last step (no final model written).
    pub interrupted: Option<Signal>,
    pub metrics: PathBuf,
    pub last: Option<StepMetrics>,
    pub eval: Option<EvalMetrics>,
    pub summary: serde_json::Value,
}

fn need<'a>(value: &'a Option<PathBuf>, key: &str) -> Result<&'a Path> {
    value.as_deref().ok_or_else(|| {
        PipelineError::Invalid(format!(
            "training.{key} is not set: give it in the config's [training] section"
        ))
    })
}

impl Rrtf {
    /// Train under `req.config`'s `[training]`; one writer per `output_dir`
    /// ([`rrtf_train::DirLock`], held to the end).
    pub async fn train(
        &self,
        req: TrainRequest,
        progress: &mut dyn TrainProgress,
    ) -> Result<TrainReport> {
        let config = &req.config;
        let mut t: Training = config.training.clone();
        if let Some(n) = req.max_steps {
            if n == 0 {
                return Err(PipelineError::Invalid(
                    "--max-steps 0: must be at least 1".into(),
                ));
            }
            t.max_steps = Some(n);
        }
        if let Some(d) = &req.device {
            t.device = d.clone();
            t.devices.clear();
        }
        if let Some(ds) = &req.devices {
            t.devices = ds.clone();
        }
        let names: Vec<&String> = if t.devices.is_empty() {
            vec![&t.device]
        } else {
            t.devices.iter().collect()
        };
        if t.devices.len() == 1 {
            return Err(PipelineError::Invalid(format!(
                "--devices {}: one device; pass --device {} instead, or two or more devices to \
                 train data-parallel",
                t.devices[0], t.devices[0]
            )));
        }
        if let Some(why) = t.device_conflict() {
            return Err(PipelineError::Invalid(format!(
                "training.lora.base_dtype {why}"
            )));
        }
        let mut devices = Vec::with_capacity(names.len());
        for name in names {
            let mut device = rrtf_model::parse_device(name)
                .map_err(|e| {
                    let key = if t.devices.is_empty() {
                        "training.device / --device"
                    } else {
                        "training.devices / --devices"
                    };
                    PipelineError::Invalid(format!("{key}: {e}"))
                })?
                .autodiff();
            if t.gradient_checkpointing == rrtf_config::GradientCheckpointing::Ops {
                device = device.gradient_checkpointing();
            }
            devices.push(device);
        }
        let device = devices[0].clone();
        let base = need(&t.base_model, "base_model")?.to_owned();
        let out_dir = need(&t.output_dir, "output_dir")?.to_owned();
        // Held to the end of the run: a second trainer on this directory refuses, naming this
        // one.
        let _lock = rrtf_train::DirLock::acquire(&out_dir, "rrtf train")?;
        let input = match &req.input {
            Some(p) => p.clone(),
            None => self.export_for_training(config, &out_dir).await?,
        };
        // Over a bf16 LoRA base the projections go to the device in bf16 (never in f32).
        let ckpt = Checkpoint::load_with(&base, &device, t.bf16_lora_base())?;
        if ckpt.is_int8() {
            return Err(PipelineError::Invalid(format!(
                "training.base_model {} is an int8 checkpoint (saved by `rrtf model quantize`): \
                 training would move its weights off the int8 grid; train the f32 checkpoint it \
                 was quantized from, then quantize the result",
                base.display()
            )));
        }
        let groups = rrtf_train::read_jsonl(&input, t.code_only)?;
        let max_len = (t.max_length as usize).min(ckpt.config.n_positions);
        let templates = Templates::from_training(&t);
        if let Some(warning) = templates.silent_about_language(&groups) {
            self.log(&warning);
        }
        // Held out by lineage before encoding, so a root's groups stay on one side.
        let (train_groups, eval_groups) =
            rrtf_train::split_groups(&groups, t.eval_fraction, config.round.seed);
        let encode = |gs: &[rrtf_train::Group]| {
            rrtf_train::encode_groups(gs, &ckpt.tokenizer, &templates, max_len)
        };
        let (train_set, train_stats) = encode(&train_groups)?;
        let (eval_set, eval_stats) = encode(&eval_groups)?;
        let stats = train_stats + eval_stats;
        // objective = "sft" with sft_responses = "teachers": prompts without a teacher response.
        let loss_cfg = LossConfig::from_training(&t)?;
        let (train_set, no_target) = loss_cfg.keep_trainable(train_set)?;
        let (eval_set, no_target_eval) = loss_cfg.keep_trainable(eval_set)?;
        if no_target + no_target_eval > 0 {
            self.log(&format!(
                "{} groups have no response to fine-tune on under training.sft_responses (no \
                 teacher response) and are left out",
                no_target + no_target_eval
            ));
        }
        self.log(&format!(
            "{} groups, {} pairs ({} groups and {} responses dropped for not fitting {max_len} \
             tokens, {} pairs with them): {} train, {} held out (by lineage)",
            stats.groups,
            stats.pairs,
            stats.groups_dropped,
            stats.responses_dropped,
            stats.pairs_dropped,
            train_set.len(),
            eval_set.len()
        ));
        let eos = ckpt.tokenizer.eos_id();
        let checkpoints = rrtf_train::checkpoints_dir(&out_dir);
        let metrics = out_dir.join("metrics.jsonl");
        let resume_from = match (&req.resume, req.restart) {
            (Some(_), true) => {
                return Err(PipelineError::Invalid(
                    "--resume DIR and --restart: pass one (continue that checkpoint, or train \
                     afresh)"
                        .into(),
                ));
            }
            (Some(dir), false) => Some(dir.clone()),
            (None, true) => None,
            (None, false) => rrtf_train::latest_checkpoint(&checkpoints),
        };
        // Found in output_dir rather than named by --resume.
        let found = req.resume.is_none() && resume_from.is_some();
        let mut trainer = match &resume_from {
            Some(dir) => match Trainer::resume(dir, ckpt.model, t.clone(), train_set, eos) {
                Ok(trainer) => trainer,
                Err(e @ TrainError::Checkpoint { .. }) if found => {
                    return Err(PipelineError::Invalid(format!(
                        "{} holds an earlier run that this one cannot continue: {e}; pass \
                         --restart to discard its checkpoints and metrics and train afresh",
                        out_dir.display()
                    )));
                }
                Err(e) => return Err(e.into()),
            },
            None => Trainer::new(ckpt.model, t.clone(), train_set, eos, config.round.seed)?,
        };
        if devices.len() > 1 {
            trainer = trainer.data_parallel(&devices[1..]);
            let batch = t.batch_size.max(1) as usize;
            self.log(&format!(
                "data-parallel over {} devices ({}): each micro-batch of {batch} groups is split \
                 among them{}",
                devices.len(),
                t.devices.join(", "),
                if batch < devices.len() {
                    format!(
                        "; batch_size {batch} leaves {} of them idle: raise training.batch_size",
                        devices.len() - batch
                    )
                } else {
                    String::new()
                }
            ));
        }
        let start_step = trainer.state.step;
        if let Some(dir) = &resume_from
            && !rrtf_train::checkpoint_records_config(dir)
        {
            self.log(&format!(
                "warning: {} was written by an older rrtf that did not record its [training] \
                 config, so a changed key (learning_rate, objective, ...) cannot be detected: \
                 resume it only with the config it was trained under, or pass --restart",
                dir.display()
            ));
        }
        if let (true, Some(dir)) = (found, &resume_from) {
            self.log(&if trainer.done() {
                format!(
                    "the run in {} already finished ({} steps): evaluating and saving its model \
                     again (pass --restart to train afresh)",
                    out_dir.display(),
                    start_step
                )
            } else {
                format!(
                    "resuming the earlier run from {} (step {start_step} of {}; pass --restart to \
                     train afresh instead)",
                    dir.display(),
                    trainer.state.total_steps
                )
            });
        }
        let params = trainer.param_counts();
        if let Some(l) = &t.lora {
            self.log(&format!(
                "LoRA rank {} alpha {} on {} projections: {} trainable parameters of {} ({:.2}%)",
                l.rank,
                l.alpha,
                params.adapted,
                params.trainable,
                params.total,
                100.0 * params.trainable as f64 / params.total.max(1) as f64
            ));
        }
        // The held-out losses of the checkpoints kept so far (the best one is never pruned).
        let mut evals = match &resume_from {
            // Steps after the checkpoint are trained again: their lines would be duplicates.
            Some(_) => keep_metrics_through(&metrics, start_step)?,
            // A fresh run owns its output directory: an earlier run's checkpoints and metrics
            // would otherwise mix with this one's (and a later resume could pick them up).
            None => {
                self.fresh_outputs(&checkpoints, &metrics, req.restart)?;
                Vec::new()
            }
        };
        let mut log = MetricsLog::open(&metrics)?;
        let mut db = StoreLog::open(self, config, &base, &out_dir, start_step).await?;
        let keep = t.keep_checkpoints as usize;
        let prune = |evals: &[(u64, f64)]| -> Result<()> {
            let best = evals
                .iter()
                .filter(|(s, _)| checkpoints.join(format!("step-{s}")).is_dir())
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(s, _)| *s);
            rrtf_train::prune_checkpoints(&checkpoints, keep, best)?;
            Ok(())
        };
        progress.start(trainer.state.total_steps, trainer.state.step);
        let mut last = None;
        // The newest step with a checkpoint (a fresh run needs none at step 0).
        let mut saved = resume_from.as_ref().map(|_| start_step);
        let mut interrupted = None;
        while !trainer.done() {
            if let Some(signal) = req.stop.requested() {
                interrupted = Some(signal);
                break;
            }
            let m = trainer.step()?;
            log.write("step", &m)?;
            db.step(&m).await?;
            progress.step(&m);
            let at_checkpoint = m.step % t.checkpoint_every == 0;
            if at_checkpoint && !trainer.done() {
                trainer.save_checkpoint(&checkpoints)?;
                saved = Some(m.step);
                if !eval_set.is_empty() {
                    let e = trainer.evaluate(&eval_set)?;
                    log.write("eval", &e)?;
                    db.eval(&e).await?;
                    evals.push((e.step, e.loss));
                }
                prune(&evals)?;
            }
            last = Some(m);
        }
        progress.finish();
        if let Some(signal) = interrupted {
            // The step in flight finished; keep it, so that a rerun loses nothing.
            let step = trainer.state.step;
            if saved != Some(step) && step > 0 {
                trainer.save_checkpoint(&checkpoints)?;
                prune(&evals)?;
            }
            let checkpoint = rrtf_train::latest_checkpoint(&checkpoints);
            let summary = serde_json::json!({
                "interrupted": signal.name(), "steps": step,
                "total_steps": trainer.state.total_steps, "output_dir": out_dir,
                "checkpoint": checkpoint, "resumed_from": resume_from, "encode": stats,
                "last_step": last, "device": t.device, "devices": t.devices, "objective": t.objective,
            });
            db.interrupt(&summary).await?;
            return Ok(TrainReport {
                steps: step,
                total_steps: trainer.state.total_steps,
                output_dir: out_dir,
                checkpoint,
                resumed_from: resume_from,
                interrupted: Some(signal),
                metrics,
                last,
                eval: None,
                summary,
            });
        }
        let eval = if eval_set.is_empty() {
            None
        } else {
            let e = trainer.evaluate(&eval_set)?;
            log.write("eval", &e)?;
            db.eval(&e).await?;
            evals.push((e.step, e.loss));
            Some(e)
        };
        let final_ckpt = trainer.save_checkpoint(&checkpoints)?;
        prune(&evals)?;
        let model = if trainer.bf16_base() {
            // Merge the adapters into the f32 base as it is on disk, not into its bf16 rounding.
            let f32_base = Checkpoint::load(&base, &rrtf_model::Device::flex())?;
            trainer.merged_over(&f32_base.model)
        } else {
            trainer.inference_model()
        };
        let saved = Checkpoint {
            config: ckpt.config,
            model,
            tokenizer: ckpt.tokenizer,
        };
        saved
            .save(&out_dir, SaveDtype::F32)
            .map_err(|source| PipelineError::SaveModel {
                path: out_dir.clone(),
                source,
            })?;
        let summary = serde_json::json!({
            "steps": trainer.state.step, "output_dir": out_dir, "checkpoint": final_ckpt,
            "resumed_from": resume_from,
            "encode": stats, "groups_without_sft_target": no_target + no_target_eval,
            "last_step": last, "eval": eval, "device": t.device, "devices": t.devices,
            "objective": t.objective, "params": params, "lora": t.lora,
        });
        db.finish(&summary).await?;
        Ok(TrainReport {
            steps: trainer.state.step,
            total_steps: trainer.state.total_steps,
            output_dir: out_dir,
            checkpoint: Some(final_ckpt),
            resumed_from: resume_from,
            interrupted: None,
            metrics,
            last,
            eval,
            summary,
        })
    }

    /// Remove an earlier run's checkpoints and metrics from the output directory, saying so.
    fn fresh_outputs(&self, checkpoints: &Path, metrics: &Path, restart: bool) -> Result<()> {
        if checkpoints.is_dir() {
            self.log(&format!(
                "starting afresh: removing the previous run's {} ({})",
                checkpoints.display(),
                if restart {
                    "--restart"
                } else {
                    "no complete checkpoint to resume from"
                }
            ));
            std::fs::remove_dir_all(checkpoints)
                .map_err(|e| PipelineError::io(format!("removing {}", checkpoints.display()), e))?;
        }
        match std::fs::remove_file(metrics) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(PipelineError::io(
                format!("removing {}", metrics.display()),
                e,
            )),
        }
    }

    /// Export the store's latest ranking (reviews applied) as `rrtf` rows for training
    /// (`<out_dir>/groups.jsonl`), with the pairs its ranking config names (`ranking.pairs`,
    /// `ranking.min_gap`), as every export.
    async fn export_for_training(&self, config: &RoundConfig, out_dir: &Path) -> Result<PathBuf> {
        use rrtf_data::export::{ExportFormat, ExportOptions, TextField, export};
        let (code_only, rounds) = (config.training.code_only, config.training.rounds.clone());
        let store = self.store().await?;
        std::fs::create_dir_all(out_dir)
            .map_err(|e| PipelineError::io(format!("creating {}", out_dir.display()), e))?;
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
            layout: Default::default(),
            system: None,
            license: None,
            data_format: Some(rrtf_data::export::DataFormat::Jsonl),
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
        self.log(&format!(
            "read {} ranked prompts{which} from the store (ranker {})",
            report.prompts,
            &report.ranker[..report.ranker.len().min(12)]
        ));
        if report.prompts == 0 {
            return Err(PipelineError::Invalid(format!(
                "no ranked prompts{which} in the store: run `rrtf rank` first{}",
                if rounds.is_some() {
                    ", or check training.rounds"
                } else {
                    ""
                }
            )));
        }
        Ok(out)
    }
}

/// Metrics into the project database (when there is one): a `train` run, its training run row
/// and every step's and evaluation's values, written as they are produced.
struct StoreLog {
    inner: Option<(Store, RunRef, TrainingRef)>,
}

impl StoreLog {
    /// `from_step`: the step the run starts at; metrics recorded after it (an earlier run's,
    /// or the steps a resumed run trains again) are forgotten.
    async fn open(
        rrtf: &Rrtf,
        config: &RoundConfig,
        base: &Path,
        out_dir: &Path,
        from_step: u64,
    ) -> Result<StoreLog> {
        // Training outside a project (no database file) records nothing.
        if let rrtf_store::Location::Sqlite(path) = rrtf_store::Location::parse(&rrtf.db)
            && !path.exists()
        {
            return Ok(StoreLog { inner: None });
        }
        let store = rrtf.store().await?;
        let run = store.begin_run(&rrtf.run_of(config, "train")).await?;
        let training = store
            .begin_training(
                Some(run),
                config.round.number,
                &base.display().to_string(),
                &out_dir.display().to_string(),
                &config.snapshot_json(),
                &config.hash(),
            )
            .await?;
        store
            .truncate_training_metrics(training, Some(from_step as i64))
            .await?;
        if from_step == 0 {
            store.training_started_now(training).await?;
        }
        Ok(StoreLog {
            inner: Some((store, run, training)),
        })
    }

    async fn write(
        &mut self,
        step: u64,
        split: &str,
        values: &[(&str, Option<f64>)],
    ) -> Result<()> {
        let Some((store, _, training)) = &self.inner else {
            return Ok(());
        };
        let points: Vec<MetricPoint> = values
            .iter()
            .filter_map(|(name, v)| {
                v.filter(|v| v.is_finite()).map(|value| MetricPoint {
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

    async fn step(&mut self, m: &StepMetrics) -> Result<()> {
        self.write(
            m.step,
            "train",
            &[
                ("loss", Some(m.loss)),
                ("rank_loss", Some(m.rank_loss)),
                ("sft_loss", Some(m.sft_loss)),
                ("sft_loss_per_token", Some(m.sft_loss_per_token)),
                ("lr", Some(m.lr)),
                ("grad_norm", Some(m.grad_norm)),
                ("tokens_per_s", Some(m.tokens_per_s)),
                ("preference_accuracy", m.preference_accuracy),
                ("preference_ties", Some(m.preference_ties as f64)),
            ],
        )
        .await
    }

    async fn eval(&mut self, e: &EvalMetrics) -> Result<()> {
        self.write(
            e.step,
            "eval",
            &[
                ("loss", Some(e.loss)),
                ("rank_loss", Some(e.rank_loss)),
                ("sft_loss", Some(e.sft_loss)),
                ("sft_loss_per_token", Some(e.sft_loss_per_token)),
                ("preference_accuracy", e.preference_accuracy),
                ("preference_ties", Some(e.preference_ties as f64)),
            ],
        )
        .await
    }

    /// The run stopped by a signal: `interrupted`, with what it did.
    async fn interrupt(self, summary: &serde_json::Value) -> Result<()> {
        if let Some((store, run, training)) = self.inner {
            store.interrupt_training(training).await?;
            store.interrupt_run(run, summary).await?;
            store.close().await;
        }
        Ok(())
    }

    async fn finish(self, summary: &serde_json::Value) -> Result<()> {
        if let Some((store, run, training)) = self.inner {
            store.finish_training(training, true).await?;
            store.finish_run(run, true, summary).await?;
            store.close().await;
        }
        Ok(())
    }
}

/// Drop the lines of `metrics.jsonl` after `step` (a resumed run writes them again; a line cut
/// by a kill goes too), rewriting the file whole; the held-out losses `(step, loss)` it keeps.
fn keep_metrics_through(path: &Path, step: u64) -> Result<Vec<(u64, f64)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PipelineError::io(format!("reading {}", path.display()), e)),
    };
    let mut kept = String::new();
    let mut evals = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(s) = v["step"].as_u64().filter(|s| *s <= step) else {
            continue;
        };
        if v["kind"] == "eval"
            && let Some(loss) = v["loss"].as_f64()
        {
            evals.push((s, loss));
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if kept.len() != text.len() {
        let tmp = path.with_extension("jsonl.tmp");
        std::fs::write(&tmp, &kept)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| PipelineError::io(format!("rewriting {}", path.display()), e))?;
    }
    Ok(evals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_keeps_the_metrics_through_its_checkpoint_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let lines = [
            r#"{"kind":"step","step":1,"loss":3.0}"#,
            r#"{"kind":"step","step":2,"loss":2.5}"#,
            r#"{"kind":"eval","step":2,"loss":2.7}"#,
            r#"{"kind":"step","step":3,"loss":2.0}"#,
            r#"{"kind":"step","st"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        assert_eq!(keep_metrics_through(&path, 2).unwrap(), vec![(2, 2.7)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, lines[..3].join("\n") + "\n");
        assert_eq!(
            keep_metrics_through(&dir.path().join("none.jsonl"), 2).unwrap(),
            vec![]
        );
    }
}
