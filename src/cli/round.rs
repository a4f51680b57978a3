//! `rrtf round`: one RRTF round end to end. Each stage runs as a child `rrtf --json <stage>`
//! process (the same command a user would type, so a stage behaves identically alone and in a
//! round), its JSON summary is kept, and a `round/<stage>` run is recorded when it succeeds.
//! A stage recorded as done under the same config hash is skipped, so a round killed at any
//! point continues where it stopped; the stages themselves resume inside (stored request keys,
//! pending executions, training checkpoints).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::{Args, ValueEnum};
use rrtf_config::RoundConfig;
use rrtf_store::ModelRole;
use serde::Serialize;
use serde_json::{Value, json};

use super::{BadInput, Ctx, REVISION};

#[derive(Debug, Args)]
pub struct RoundArgs {
    /// The round's configuration (see configs/round.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Start here: earlier stages are not run, this one and later ones run even if done.
    #[arg(long, value_enum)]
    pub from: Option<Stage>,
    /// Stop after this stage.
    #[arg(long, value_enum)]
    pub until: Option<Stage>,
    /// Where the HTML report goes (default: report-r<N>.html beside the database).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// The stages of a round, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Evolve,
    SynthTests,
    Sample,
    Exec,
    Rank,
    Train,
    Evaluate,
    Register,
    Report,
}

const STAGES: [Stage; 9] = [
    Stage::Evolve,
    Stage::SynthTests,
    Stage::Sample,
    Stage::Exec,
    Stage::Rank,
    Stage::Train,
    Stage::Evaluate,
    Stage::Register,
    Stage::Report,
];

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Evolve => "evolve",
            Stage::SynthTests => "synth-tests",
            Stage::Sample => "sample",
            Stage::Exec => "exec",
            Stage::Rank => "rank",
            Stage::Train => "train",
            Stage::Evaluate => "evaluate",
            Stage::Register => "register",
            Stage::Report => "report",
        }
    }

    fn run_name(self) -> String {
        format!("round/{}", self.name())
    }
}

/// What happened to a stage.
#[derive(Debug, Serialize)]
struct StageResult {
    stage: Stage,
    /// ran, skipped (done before under this config), disabled (by the config), failed.
    status: &'static str,
    seconds: f64,
    /// Why it was disabled, or the stage's own JSON summary.
    #[serde(skip_serializing_if = "Value::is_null")]
    detail: Value,
}

struct Plan<'a> {
    ctx: &'a Ctx,
    config_path: &'a Path,
    config: &'a RoundConfig,
    report: PathBuf,
}

impl Plan<'_> {
    fn round(&self) -> i64 {
        self.config.round.number
    }

    fn output_dir(&self) -> Option<&Path> {
        self.config.training.output_dir.as_deref()
    }

    /// Why a stage does not apply to this config, if it does not.
    fn disabled(&self, stage: Stage) -> Option<String> {
        let c = self.config;
        let training = c.training.base_model.is_some() && c.training.output_dir.is_some();
        match stage {
            Stage::Evolve if !c.evolution.enabled => Some("[evolution] enabled = false".into()),
            Stage::SynthTests if !c.test_synthesis.enabled => {
                Some("[test_synthesis] enabled = false".into())
            }
            Stage::Sample if c.teachers.is_empty() && c.student.is_none() => {
                Some("no [[teachers]] and no [student]".into())
            }
            Stage::Train | Stage::Register if !training => {
                Some("[training] base_model and output_dir are not both set".into())
            }
            Stage::Evaluate if c.round.benchmark.is_none() => {
                Some("[round] benchmark is not set".into())
            }
            Stage::Evaluate if !training => Some("no model is trained in this round".into()),
            _ => None,
        }
    }

    /// The `rrtf` arguments that run a stage.
    fn command(&self, stage: Stage) -> Vec<String> {
        let config = self.config_path.display().to_string();
        let v = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        match stage {
            Stage::Evolve => v(&["evolve", "--config", &config]),
            Stage::SynthTests => v(&["synth-tests", "--config", &config]),
            Stage::Sample => v(&["sample", "--config", &config]),
            // Every prompt of every round: earlier rounds' data stay in the training set.
            Stage::Exec => v(&["exec", "--config", &config]),
            Stage::Rank => v(&["rank", "--config", &config]),
            Stage::Train => {
                let mut args = v(&["train", "--config", &config]);
                if let Some(step) = self.output_dir().and_then(interrupted_checkpoint) {
                    args.push("--resume".into());
                    args.push(step.display().to_string());
                }
                args
            }
            Stage::Report => v(&["report", "--out", &self.report.display().to_string()]),
            Stage::Evaluate | Stage::Register => unreachable!("run in process"),
        }
    }

    async fn child(&self, args: &[String]) -> Result<Value> {
        child(self.ctx, args, "round").await
    }

    async fn evaluate(&self) -> Result<Value> {
        let c = self.config;
        let ev = &c.evaluation;
        let mut models = vec![("trained", self.output_dir().expect("checked"))];
        if ev.baseline {
            models.insert(
                0,
                (
                    "base",
                    c.training
                        .base_model
                        .as_deref()
                        .expect("checked by disabled()"),
                ),
            );
        }
        let mut out = serde_json::Map::new();
        for (label, dir) in models {
            let args = eval_args(c, dir);
            eprintln!("evaluating the {label} model ({})", dir.display());
            out.insert(label.into(), self.child(&args).await?);
        }
        Ok(Value::Object(out))
    }

    /// The trained model becomes the next round's student: stored as a model, and a config
    /// for round N+1 written beside it.
    async fn register(&self) -> Result<Value> {
        let c = self.config;
        let out = self.output_dir().expect("checked by disabled()");
        if !out.join("config.json").is_file() {
            return Err(anyhow!(
                "{} holds no trained model (no config.json): run the train stage first",
                out.display()
            ));
        }
        let next = self.round() + 1;
        let name = format!("student-r{next}");
        let served = c.student.as_ref().map_or("student", |s| s.model.as_str());
        let store = self.ctx.store().await?;
        store
            .upsert_model(
                &name,
                ModelRole::Student,
                Some(&format!("local:{}", out.display())),
                Some(served),
            )
            .await?;
        store.close().await;

        let mut n = c.clone();
        n.round.number = next;
        n.training.base_model = Some(out.to_owned());
        n.training.output_dir = Some(next_output_dir(out, self.round(), next));
        let mut student = c
            .student
            .clone()
            .unwrap_or_else(|| rrtf_config::Endpoint::local_model(&name, served, out.to_owned()));
        student.name = name.clone();
        student.base_url = String::new();
        student.replay = None;
        student.local_model = Some(out.to_owned());
        n.student = Some(student);
        let text = n.to_toml().context("writing the next round's config")?;
        let path = out.join(format!("round-{next}.toml"));
        let header = format!(
            "# Round {next}: written by `rrtf round` after round {} ({}); the student is the model\n\
             # trained in round {}. Run it with: rrtf round --config {}\n\n",
            self.round(),
            REVISION,
            self.round(),
            path.display()
        );
        std::fs::write(&path, header + &text)
            .with_context(|| format!("writing {}", path.display()))?;
        RoundConfig::load(&path).with_context(|| format!("checking {}", path.display()))?;
        Ok(json!({ "student": name, "model_dir": out, "next_config": path }))
    }
}

/// The latest checkpoint of an interrupted training run in `out`, to resume from; `None` when
/// there is none or the run finished (then the stage trains afresh: its config changed or
/// `--from` asked for it again).
fn interrupted_checkpoint(out: &Path) -> Option<PathBuf> {
    let dir = latest_checkpoint(out)?;
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).ok()?).ok()?;
    let (step, total) = (state["step"].as_u64()?, state["total_steps"].as_u64()?);
    (step < total).then_some(dir)
}

/// Run `rrtf --db DB --json ARGS`; its stdout is one JSON document, its stderr is shown.
/// `what` names the command to run again after a failure ("round", "sweep").
pub(super) async fn child(ctx: &Ctx, args: &[String], what: &str) -> Result<Value> {
    let exe = std::env::current_exe().context("locating the rrtf binary")?;
    let out = tokio::process::Command::new(exe)
        .arg("--db")
        .arg(&ctx.db)
        .arg("--json")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("starting `rrtf {}`", args.join(" ")))?;
    if !out.status.success() {
        let code = out.status.code().unwrap_or(1);
        let msg = format!(
            "`rrtf {}` failed (exit code {code}); fix the cause and run the {what} again: \
             what finished is skipped",
            args.join(" ")
        );
        return Err(if code == 2 {
            BadInput(msg).into()
        } else {
            anyhow!(msg)
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("null");
    Ok(serde_json::from_str(last).unwrap_or_else(|_| json!({ "output": text.trim() })))
}

/// The `rrtf eval` arguments that evaluate `dir` as the config's [evaluation] says.
pub(super) fn eval_args(c: &RoundConfig, dir: &Path) -> Vec<String> {
    let ev = &c.evaluation;
    let benchmark = c.round.benchmark.as_ref().expect("checked by the caller");
    let k: Vec<String> = ev.k.iter().map(u32::to_string).collect();
    let mut args = vec![
        "eval".to_owned(),
        "--model".into(),
        dir.display().to_string(),
        "--benchmark".into(),
        benchmark.display().to_string(),
        "--samples".into(),
        ev.samples.to_string(),
        "-k".into(),
        k.join(","),
        "--temperature".into(),
        ev.temperature.to_string(),
        "--top-p".into(),
        ev.top_p.to_string(),
        "--max-new-tokens".into(),
        ev.max_new_tokens.to_string(),
        "--seed".into(),
        c.round.seed.to_string(),
        "--timeout".into(),
        c.execution.timeout_s.to_string(),
    ];
    if let Some(n) = ev.max_problems {
        args.push("--max-problems".into());
        args.push(n.to_string());
    }
    if c.execution.insecure_sandbox {
        args.push("--insecure-sandbox".into());
    }
    args
}

/// `dir/checkpoints/step-N` with the largest N whose checkpoint is complete, if any (a partial
/// or damaged one is skipped: `rrtf_train::latest_checkpoint`).
pub(super) fn latest_checkpoint(out: &Path) -> Option<PathBuf> {
    rrtf_train::latest_checkpoint(&out.join("checkpoints"))
}

/// `models/student-r1` -> `models/student-r2`; any other name gets `-r<next>` appended.
fn next_output_dir(out: &Path, round: i64, next: i64) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = format!("r{round}");
    let new = match name.strip_suffix(&suffix) {
        Some(stem) if !stem.is_empty() => format!("{stem}r{next}"),
        _ => format!("{name}-r{next}"),
    };
    out.with_file_name(new)
}

pub async fn run(ctx: &Ctx, a: RoundArgs) -> Result<()> {
    let config = RoundConfig::load(&a.config)?;
    if let (Some(from), Some(until)) = (a.from, a.until)
        && from > until
    {
        return Err(BadInput(format!(
            "--from {} comes after --until {}: stages run in the order {}",
            from.name(),
            until.name(),
            STAGES.map(Stage::name).join(", ")
        ))
        .into());
    }
    let round = config.round.number;
    let hash = config.hash();
    let report = a.report.clone().unwrap_or_else(|| {
        let dir = ctx.db.parent().unwrap_or(Path::new("."));
        dir.join(format!("report-r{round}.html"))
    });
    let plan = Plan {
        ctx,
        config_path: &a.config,
        config: &config,
        report,
    };
    let store = ctx.store().await?;
    let round_run = store
        .begin_run(
            round,
            "round",
            &config.snapshot_json(),
            &hash,
            Some(REVISION),
            Some(config.round.seed as i64),
        )
        .await?;
    store.close().await;

    let started = Instant::now();
    let mut results: Vec<StageResult> = Vec::new();
    let mut failure = None;
    for stage in STAGES {
        if a.from.is_some_and(|f| stage < f) || a.until.is_some_and(|u| stage > u) {
            continue;
        }
        let t = Instant::now();
        if let Some(why) = plan.disabled(stage) {
            eprintln!("round {round}: {} disabled ({why})", stage.name());
            results.push(StageResult {
                stage,
                status: "disabled",
                seconds: 0.0,
                detail: json!(why),
            });
            continue;
        }
        let forced = a.from.is_some_and(|f| stage >= f);
        if !forced {
            let store = ctx.store().await?;
            let done = store.last_done_run(round, &stage.run_name(), &hash).await?;
            store.close().await;
            if let Some(done) = done {
                eprintln!(
                    "round {round}: {} done at {} (skipped; --from {} runs it again)",
                    stage.name(),
                    done.finished_at,
                    stage.name()
                );
                results.push(StageResult {
                    stage,
                    status: "skipped",
                    seconds: 0.0,
                    detail: done.summary.unwrap_or(Value::Null),
                });
                continue;
            }
        }
        eprintln!("round {round}: {}", stage.name());
        let outcome = match stage {
            Stage::Evaluate => plan.evaluate().await,
            Stage::Register => plan.register().await,
            _ => plan.child(&plan.command(stage)).await,
        };
        let seconds = t.elapsed().as_secs_f64();
        match outcome {
            Ok(summary) => {
                let store = ctx.store().await?;
                let run = store
                    .begin_run(
                        round,
                        &stage.run_name(),
                        &config.snapshot_json(),
                        &hash,
                        Some(REVISION),
                        Some(config.round.seed as i64),
                    )
                    .await?;
                store.finish_run(run, true, &summary).await?;
                store.close().await;
                results.push(StageResult {
                    stage,
                    status: "ran",
                    seconds,
                    detail: summary,
                });
            }
            Err(e) => {
                results.push(StageResult {
                    stage,
                    status: "failed",
                    seconds,
                    detail: json!(format!("{e:#}")),
                });
                failure = Some(e);
                break;
            }
        }
    }

    let pass_at_k = results
        .iter()
        .find(|r| r.stage == Stage::Evaluate && matches!(r.status, "ran" | "skipped"))
        .map(|r| r.detail.clone());
    let next_config = results
        .iter()
        .find(|r| r.stage == Stage::Register && matches!(r.status, "ran" | "skipped"))
        .and_then(|r| r.detail.get("next_config").cloned());
    let summary = json!({
        "round": round,
        "config": a.config,
        "config_hash": hash,
        "revision": REVISION,
        "seed": config.round.seed,
        "ok": failure.is_none(),
        "seconds": started.elapsed().as_secs_f64(),
        "stages": results,
        "evaluation": pass_at_k,
        "next_config": next_config,
        "report": results.iter().any(|r| r.stage == Stage::Report && r.status == "ran")
            .then(|| plan.report.clone()),
    });
    let store = ctx.store().await?;
    store
        .finish_run(round_run, failure.is_none(), &summary)
        .await?;
    store.close().await;
    ctx.emit(|| human(&summary, &results), || summary.clone());
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn human(summary: &Value, results: &[StageResult]) -> String {
    let hash = summary["config_hash"].as_str().unwrap_or("");
    let mut s = format!(
        "round {} ({}s, config {}):\n",
        summary["round"],
        summary["seconds"].as_f64().map_or(0, |v| v.round() as i64),
        &hash[..hash.len().min(12)]
    );
    for r in results {
        s += &format!(
            "  {:<12} {:<9} {:>7.1}s\n",
            r.stage.name(),
            r.status,
            r.seconds
        );
    }
    if let Some(ev) = summary["evaluation"].as_object() {
        for (label, v) in ev {
            if let Some(p) = v["pass_at_k"].as_object() {
                let scores: Vec<String> = p
                    .iter()
                    .map(|(k, v)| format!("{k} {:.4}", v.as_f64().unwrap_or(0.0)))
                    .collect();
                s += &format!("  {label} model: {}\n", scores.join(", "));
            }
        }
    }
    if let Some(n) = summary["next_config"].as_str() {
        s += &format!("next round: rrtf round --config {n}\n");
    }
    if let Some(r) = summary["report"].as_str() {
        s += &format!("report: {r}\n");
    }
    s
}
