//! One RRTF round end to end (`rrtf round`). Each stage runs as a child `rrtf --json <stage>`
//! process (the same command a user would type, so a stage behaves identically alone and in a
//! round), its JSON summary is kept, and a `round/<stage>` run is recorded when it succeeds.
//! A stage recorded as done under the same config hash is skipped, so a round killed at any
//! point continues where it stopped; the stages themselves resume inside (stored request keys,
//! pending executions, training checkpoints).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rrtf_config::RoundConfig;
use rrtf_store::ModelRole;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::eval::EvalReport;
use crate::{PipelineError, Result, Rrtf};

/// The stages of a round, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

impl Stage {
    pub const ALL: [Stage; 9] = [
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

    pub fn name(self) -> &'static str {
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

impl std::str::FromStr for Stage {
    type Err = PipelineError;

    fn from_str(s: &str) -> Result<Stage> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| {
                PipelineError::Invalid(format!(
                    "unknown stage {s:?}: stages are {}",
                    Stage::ALL.map(Stage::name).join(", ")
                ))
            })
    }
}

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct RoundOptions {
    /// The round's configuration file.
    pub config: PathBuf,
    /// Start here: earlier stages are not run, this one and later ones run even if done.
    pub from: Option<Stage>,
    /// Stop after this stage.
    pub until: Option<Stage>,
    /// Where the HTML report goes (default: report-r<N>.html beside the database).
    pub report: Option<PathBuf>,
}

/// What happened to a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Ran,
    /// Done before under this config.
    Skipped,
    /// By the config.
    Disabled,
    Failed,
    /// Stopped cleanly by Ctrl-C or SIGTERM (the stage's own run says what it kept).
    Interrupted,
}

impl StageStatus {
    pub fn name(self) -> &'static str {
        match self {
            StageStatus::Ran => "ran",
            StageStatus::Skipped => "skipped",
            StageStatus::Disabled => "disabled",
            StageStatus::Failed => "failed",
            StageStatus::Interrupted => "interrupted",
        }
    }

    fn done(self) -> bool {
        matches!(self, StageStatus::Ran | StageStatus::Skipped)
    }
}

/// One stage of the round's summary.
#[derive(Clone, Debug, Serialize)]
pub struct StageResult {
    pub stage: Stage,
    pub status: StageStatus,
    pub seconds: f64,
    /// Why it was disabled, the error, or the stage's own JSON summary.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// pass@k of the models a round evaluated (the evaluate stage's summary).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The base model, with `[evaluation] baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<EvalReport>,
    pub trained: EvalReport,
}

impl Evaluation {
    /// (label, report) in the order they ran.
    pub fn models(&self) -> impl Iterator<Item = (&'static str, &EvalReport)> {
        self.base
            .iter()
            .map(|r| ("base", r))
            .chain([("trained", &self.trained)])
    }
}

/// The trained model registered as the next round's student (the register stage's summary).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    pub student: String,
    pub model_dir: PathBuf,
    pub next_config: PathBuf,
}

/// The round's summary, as `rrtf --json round` prints it and its `round` run records it.
#[derive(Clone, Debug, Serialize)]
pub struct RoundSummary {
    pub round: i64,
    pub config: PathBuf,
    pub config_hash: String,
    pub revision: String,
    pub seed: u64,
    pub ok: bool,
    /// The signal that stopped the round cleanly (`SIGINT`, `SIGTERM`), if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    pub seconds: f64,
    pub stages: Vec<StageResult>,
    pub evaluation: Option<Evaluation>,
    pub next_config: Option<PathBuf>,
    pub report: Option<PathBuf>,
}

/// A round that ran: its summary, and the error of the stage that stopped it.
#[derive(Debug)]
pub struct RoundRun {
    pub summary: RoundSummary,
    pub failure: Option<PipelineError>,
}

struct Plan<'a> {
    rrtf: &'a Rrtf,
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
                let out = self.output_dir();
                match out.and_then(interrupted_checkpoint) {
                    Some(step) => {
                        args.push("--resume".into());
                        args.push(step.display().to_string());
                    }
                    // A finished run's stage runs again because its config changed or `--from`
                    // asked for it: train afresh (`rrtf train` alone would refuse a changed
                    // config over the earlier run's checkpoints).
                    None if out.and_then(latest_checkpoint).is_some() => {
                        args.push("--restart".into())
                    }
                    None => {}
                }
                args
            }
            Stage::Report => v(&["report", "--out", &self.report.display().to_string()]),
            Stage::Evaluate | Stage::Register => unreachable!("run in process"),
        }
    }

    async fn evaluate(&self) -> Result<Value> {
        let c = self.config;
        let trained = self.output_dir().expect("checked by disabled()");
        let base = c.evaluation.baseline.then(|| {
            c.training
                .base_model
                .as_deref()
                .expect("checked by disabled()")
        });
        let mut out = serde_json::Map::new();
        for (label, dir) in base
            .map(|d| ("base", d))
            .into_iter()
            .chain([("trained", trained)])
        {
            self.rrtf
                .log(&format!("evaluating the {label} model ({})", dir.display()));
            out.insert(
                label.into(),
                self.rrtf.json(&eval_args(c, dir), "round").await?,
            );
        }
        Ok(Value::Object(out))
    }

    /// The trained model becomes the next round's student: stored as a model, and a config
    /// for round N+1 written beside it.
    async fn register(&self) -> Result<Value> {
        let c = self.config;
        let out = self.output_dir().expect("checked by disabled()");
        if !out.join("config.json").is_file() {
            return Err(PipelineError::Failed(format!(
                "{} holds no trained model (no config.json): run the train stage first",
                out.display()
            )));
        }
        let next = self.round() + 1;
        let name = format!("student-r{next}");
        let served = c.student.as_ref().map_or("student", |s| s.model.as_str());
        let store = self.rrtf.store().await?;
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
        let text = n
            .to_toml()
            .map_err(|e| PipelineError::Failed(format!("writing the next round's config: {e}")))?;
        let path = out.join(format!("round-{next}.toml"));
        let header = format!(
            "# Round {next}: written by `rrtf round` after round {} ({}); the student is the model\n\
             # trained in round {}. Run it with: rrtf round --config {}\n\n",
            self.round(),
            self.rrtf.revision,
            self.round(),
            path.display()
        );
        std::fs::write(&path, header + &text)
            .map_err(|e| PipelineError::io(format!("writing {}", path.display()), e))?;
        RoundConfig::load(&path).map_err(|source| PipelineError::WrittenConfig {
            path: path.clone(),
            source,
        })?;
        Ok(serde_json::to_value(Registered {
            student: name,
            model_dir: out.to_owned(),
            next_config: path,
        })
        .expect("serializable"))
    }
}

/// The latest checkpoint of an interrupted training run in `out`, to resume from; `None` when
/// there is none or the run finished (then the stage trains afresh: its config changed or
/// `--from` asked for it again).
pub fn interrupted_checkpoint(out: &Path) -> Option<PathBuf> {
    let dir = latest_checkpoint(out)?;
    let state = rrtf_train::checkpoint_state(&dir).ok()?;
    (state.step < state.total_steps).then_some(dir)
}

/// The latest complete checkpoint of the training run whose output directory is `out`
/// (`rrtf_train::latest_checkpoint`: a partial or damaged one is skipped).
pub fn latest_checkpoint(out: &Path) -> Option<PathBuf> {
    rrtf_train::latest_checkpoint(&rrtf_train::checkpoints_dir(out))
}

/// The `rrtf eval` arguments that evaluate `dir` as the config's `[evaluation]` says.
pub fn eval_args(c: &RoundConfig, dir: &Path) -> Vec<String> {
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
    if let Some(d) = &ev.device {
        args.push("--device".into());
        args.push(d.clone());
    }
    if c.execution.insecure_sandbox {
        args.push("--insecure-sandbox".into());
    }
    args
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

/// The error for a config run from the wrong directory ([`RoundConfig::misplaced_input`]):
/// which input is not here, where it is, and the command that runs the round from there.
fn misplaced_message(
    rrtf: &Rrtf,
    opts: &RoundOptions,
    cwd: &Path,
    key: &str,
    path: &Path,
    dir: &Path,
) -> String {
    let from_dir = |p: &Path| {
        let abs = cwd.join(p);
        abs.strip_prefix(dir).map_or(abs.clone(), Path::to_owned)
    };
    let shown_dir = dir.strip_prefix(cwd).unwrap_or(dir);
    let db = match rrtf_store::Location::parse(&rrtf.db) {
        rrtf_store::Location::Sqlite(_) => {
            let db = from_dir(&rrtf.db);
            if db == Path::new("rrtf.db") {
                String::new()
            } else {
                format!("--db {} ", db.display())
            }
        }
        rrtf_store::Location::Postgres(_) => format!("--db {} ", rrtf.db_display()),
    };
    format!(
        "{key} = {}: not in {} (paths in a round config are relative to the directory rrtf \
         runs in, not to the config file), but {} is: run the round from there: \
         `cd {} && rrtf {db}round --config {}`",
        path.display(),
        cwd.display(),
        dir.join(path).display(),
        shown_dir.display(),
        from_dir(&opts.config).display()
    )
}

/// Run the round `opts` names (see the module docs). An error before any stage ran is
/// returned; a stage that fails ends the round with its summary and that stage's error.
pub async fn run(rrtf: &Rrtf, opts: &RoundOptions) -> Result<RoundRun> {
    let config = RoundConfig::load(&opts.config)?;
    if let Ok(cwd) = std::env::current_dir()
        && let Some((key, path, dir)) = config.misplaced_input(&opts.config, &cwd)
    {
        return Err(PipelineError::Invalid(misplaced_message(
            rrtf, opts, &cwd, &key, &path, &dir,
        )));
    }
    if let (Some(from), Some(until)) = (opts.from, opts.until)
        && from > until
    {
        return Err(PipelineError::Invalid(format!(
            "--from {} comes after --until {}: stages run in the order {}",
            from.name(),
            until.name(),
            Stage::ALL.map(Stage::name).join(", ")
        )));
    }
    let round = config.round.number;
    let hash = config.hash();
    // A PostgreSQL project has no directory: its report and logs go to the current one.
    let project = match rrtf_store::Location::parse(&rrtf.db) {
        rrtf_store::Location::Sqlite(_) => rrtf.db.parent().unwrap_or(Path::new(".")),
        rrtf_store::Location::Postgres(_) => Path::new("."),
    };
    let report = opts
        .report
        .clone()
        .unwrap_or_else(|| project.join(format!("report-r{round}.html")));
    // Each stage's log, beside the report: `logs/round-N/<command>.log` next to the database.
    let rrtf = &rrtf
        .clone()
        .with_stage_logs(project.join("logs").join(format!("round-{round}")));
    let plan = Plan {
        rrtf,
        config_path: &opts.config,
        config: &config,
        report,
    };
    let store = rrtf.store().await?;
    let round_run = store.begin_run(&rrtf.run_of(&config, "round")).await?;
    store.close().await;

    let started = Instant::now();
    let mut results: Vec<StageResult> = Vec::new();
    let mut failure = None;
    for stage in Stage::ALL {
        if opts.from.is_some_and(|f| stage < f) || opts.until.is_some_and(|u| stage > u) {
            continue;
        }
        if let Some(signal) = rrtf.stop_requested() {
            failure = Some(PipelineError::Stopped {
                what: format!("round {round} (before {})", stage.name()),
                signal,
            });
            break;
        }
        let t = Instant::now();
        if let Some(why) = plan.disabled(stage) {
            rrtf.log(&format!("round {round}: {} disabled ({why})", stage.name()));
            results.push(StageResult {
                stage,
                status: StageStatus::Disabled,
                seconds: 0.0,
                detail: json!(why),
            });
            continue;
        }
        let forced = opts.from.is_some_and(|f| stage >= f);
        if !forced {
            let store = rrtf.store().await?;
            let mut done = store.last_done_run(round, &stage.run_name(), &hash).await?;
            // A stage before the evaluation does not read `[evaluation]`: a config that differs
            // only there (a new benchmark sample count, a device) does not run it again.
            if done.is_none() && stage < Stage::Evaluate {
                let ours = without_evaluation(&config.snapshot_json());
                done = store
                    .done_runs_with_config(round, &stage.run_name())
                    .await?
                    .into_iter()
                    .find(|(_, theirs)| ours.is_some() && without_evaluation(theirs) == ours)
                    .map(|(run, _)| run);
            }
            store.close().await;
            if let Some(done) = done {
                rrtf.log(&format!(
                    "round {round}: {} done at {} (skipped; --from {} runs it again)",
                    stage.name(),
                    done.finished_at,
                    stage.name()
                ));
                results.push(StageResult {
                    stage,
                    status: StageStatus::Skipped,
                    seconds: 0.0,
                    detail: done.summary.unwrap_or(Value::Null),
                });
                continue;
            }
        }
        rrtf.log(&format!("round {round}: {}", stage.name()));
        let outcome = match stage {
            Stage::Evaluate => plan.evaluate().await,
            Stage::Register => plan.register().await,
            _ => rrtf.json(&plan.command(stage), "round").await,
        };
        let seconds = t.elapsed().as_secs_f64();
        match outcome {
            Ok(summary) => {
                let store = rrtf.store().await?;
                let run = store
                    .begin_run(&rrtf.run_of(&config, &stage.run_name()))
                    .await?;
                store.finish_run(run, true, &summary).await?;
                store.close().await;
                results.push(StageResult {
                    stage,
                    status: StageStatus::Ran,
                    seconds,
                    detail: summary,
                });
            }
            Err(e) => {
                results.push(StageResult {
                    stage,
                    status: match e.stopped_by() {
                        Some(_) => StageStatus::Interrupted,
                        None => StageStatus::Failed,
                    },
                    seconds,
                    detail: json!(error_text(&e)),
                });
                failure = Some(e);
                break;
            }
        }
    }
    let interrupted = failure.as_ref().and_then(PipelineError::stopped_by);

    let detail = |stage: Stage| {
        results
            .iter()
            .find(|r| r.stage == stage && r.status.done())
            .map(|r| r.detail.clone())
    };
    let summary = RoundSummary {
        round,
        config: opts.config.clone(),
        config_hash: hash,
        revision: rrtf.revision.clone(),
        seed: config.round.seed,
        ok: failure.is_none(),
        interrupted: interrupted.map(|s| s.name()),
        seconds: started.elapsed().as_secs_f64(),
        evaluation: detail(Stage::Evaluate).and_then(|d| serde_json::from_value(d).ok()),
        next_config: detail(Stage::Register)
            .and_then(|d| serde_json::from_value::<Registered>(d).ok())
            .map(|r| r.next_config),
        report: results
            .iter()
            .any(|r| r.stage == Stage::Report && r.status == StageStatus::Ran)
            .then(|| plan.report.clone()),
        stages: results,
    };
    let store = rrtf.store().await?;
    let value = serde_json::to_value(&summary).expect("serializable");
    match interrupted {
        Some(_) => store.interrupt_run(round_run, &value).await?,
        None => {
            store
                .finish_run(round_run, failure.is_none(), &value)
                .await?
        }
    }
    store.close().await;
    Ok(RoundRun { summary, failure })
}

/// A config snapshot (JSON) without its `[evaluation]` section; None if it does not parse.
fn without_evaluation(snapshot: &str) -> Option<Value> {
    let mut v: Value = serde_json::from_str(snapshot).ok()?;
    v.as_object_mut()?.remove("evaluation");
    Some(v)
}

/// An error with its causes, as the binary prints it (`{:#}` of anyhow).
pub(crate) fn error_text(e: &PipelineError) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint directory as `Trainer::save_checkpoint` leaves it (tensor files of any
    /// content, `state.json` recording their sizes).
    fn fake_checkpoint(dir: &Path, step: u64, total: u64) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("model.bpk"), vec![7u8; 100]).unwrap();
        std::fs::write(dir.join("optim.bpk"), vec![7u8; 50]).unwrap();
        let state = serde_json::json!({
            "step": step, "total_steps": total, "epoch": 0, "cursor": 0, "seed": 1,
            "data_hash": 2, "files": {"model.bpk": 100, "optim.bpk": 50},
        });
        std::fs::write(dir.join("state.json"), state.to_string()).unwrap();
    }

    /// `[evaluation] device` reaches the round's `rrtf eval` as `--device`.
    #[test]
    fn the_evaluation_device_is_passed_to_eval() {
        let mut c = RoundConfig::default();
        c.round.benchmark = Some("bench.jsonl".into());
        let dir = Path::new("m");
        assert!(!eval_args(&c, dir).contains(&"--device".to_owned()));
        c.evaluation.device = Some("cuda:1".into());
        let a = eval_args(&c, dir);
        let at = a
            .iter()
            .position(|x| x == "--device")
            .expect("--device passed");
        assert_eq!(a[at + 1], "cuda:1");
    }

    /// Issue 16 item 6: `rrtf round` and `rrtf sweep` resume from the newest *complete*
    /// checkpoint: a half-written `state.json` or a truncated weights file (a save killed
    /// mid-write) is not taken, so the round neither retrains from scratch nor loads garbage.
    #[test]
    fn round_resumes_from_the_newest_complete_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let ck = tmp.path().join("checkpoints");
        fake_checkpoint(&ck.join("step-2"), 2, 10);
        fake_checkpoint(&ck.join("step-4"), 4, 10);
        let state = std::fs::read_to_string(ck.join("step-4/state.json")).unwrap();
        std::fs::write(ck.join("step-4/state.json"), &state[..state.len() / 2]).unwrap();
        fake_checkpoint(&ck.join("step-6"), 6, 10);
        std::fs::write(ck.join("step-6/model.bpk"), vec![7u8; 10]).unwrap();
        fake_checkpoint(&ck.join(".step-8.tmp"), 8, 10);
        assert_eq!(latest_checkpoint(tmp.path()), Some(ck.join("step-2")));
        assert_eq!(interrupted_checkpoint(tmp.path()), Some(ck.join("step-2")));
    }

    /// A finished run is not resumed: the train stage runs afresh (its config changed, or
    /// `--from` asked for it).
    #[test]
    fn a_finished_run_is_not_resumed() {
        let tmp = tempfile::tempdir().unwrap();
        let ck = tmp.path().join("checkpoints");
        fake_checkpoint(&ck.join("step-10"), 10, 10);
        assert_eq!(latest_checkpoint(tmp.path()), Some(ck.join("step-10")));
        assert_eq!(interrupted_checkpoint(tmp.path()), None);
        assert_eq!(interrupted_checkpoint(&tmp.path().join("none")), None);
    }

    #[test]
    fn the_next_round_dir_follows_the_round_number() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            next_output_dir(&p("models/student-r1"), 1, 2),
            p("models/student-r2")
        );
        assert_eq!(next_output_dir(&p("models/m"), 1, 2), p("models/m-r2"));
        assert_eq!(next_output_dir(&p("models/r1"), 1, 2), p("models/r1-r2"));
    }

    #[test]
    fn an_evaluation_reads_back_in_its_order() {
        let report = |m: &str| EvalReport {
            model: m.into(),
            benchmark: "b".into(),
            problems: 1,
            samples: 1,
            pass_at_k: [("pass@1".to_owned(), 1.0)].into(),
            outcomes: Default::default(),
            too_long: 0,
            seconds: 0.5,
            more_benchmarks: Vec::new(),
            languages: Default::default(),
            cross_language: None,
        };
        let e = Evaluation {
            base: Some(report("base")),
            trained: report("trained"),
        };
        let v = serde_json::to_value(&e).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["base", "trained"]);
        assert_eq!(serde_json::from_value::<Evaluation>(v).unwrap(), e);
        let labels: Vec<&str> = e.models().map(|(l, _)| l).collect();
        assert_eq!(labels, ["base", "trained"]);
    }
}
