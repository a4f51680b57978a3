//! `rrtf exec` (no subcommand): the pipeline stage's arguments, run record and summary; the
//! stage itself is `rrtf_pipeline::exec_stage::execute`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_exec::{ExecConfig, Executor};
use rrtf_pipeline::exec_stage::{self, Executed};
use rrtf_store::NewRun;
use serde_json::json;

use super::exec::{LimitArgs, config};
use super::{BadInput, Ctx, REVISION, progress_bar};

#[derive(Debug, Args)]
pub struct StageArgs {
    /// Round config whose [execution] section sets the limits (else the flags below).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Execute only responses to prompts of this round.
    #[arg(long)]
    pub round: Option<i64>,
    /// Pairs per committed batch.
    #[arg(long, default_value_t = 512)]
    pub batch: i64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub async fn run(ctx: &Ctx, a: StageArgs) -> Result<()> {
    if a.batch < 1 {
        return Err(BadInput(format!("--batch {}: must be at least 1", a.batch)).into());
    }
    let mut cfg: ExecConfig = config(&a.limits)?;
    if let Some(path) = &a.config {
        cfg = rrtf_pipeline::exec_config(&RoundConfig::load(path)?.execution, cfg);
    }
    let store = ctx.store().await?;
    let total = store.pending_execution_count(a.round).await?;
    if total == 0 {
        store.close().await;
        ctx.emit(
            || "nothing to execute: every response with tests has its results".into(),
            || json!({"executed": 0, "pending": 0}),
        );
        return Ok(());
    }
    let executor_json = json!({
        "rrtf_exec": env!("CARGO_PKG_VERSION"), "timeout_s": cfg.timeout.as_secs_f64(),
        "memory_mb": cfg.memory_mb, "output_limit_kb": cfg.output_limit_kb,
        "python": cfg.python, "processes": cfg.processes,
    });
    let executor = tokio::task::block_in_place(|| Executor::new(cfg))?;
    // What decides verdicts (crate version, worker source, limits, protections in force).
    let executor_hash = executor.fingerprint();
    let run = store
        .begin_run(&NewRun {
            round: a.round.unwrap_or(0),
            stage: "exec".into(),
            config_json: executor_json.to_string(),
            config_hash: executor_hash.clone(),
            revision: Some(REVISION.into()),
            seed: None,
        })
        .await?;
    let mut bar = Bar(progress_bar(ctx, total as u64, "executing"));
    let Executed { done, outcomes } = exec_stage::execute(
        &store,
        &executor,
        &executor_hash,
        a.round,
        a.batch,
        &mut bar,
    )
    .await?;
    let summary = json!({ "executed": done, "outcomes": outcomes, "executor_hash": executor_hash, "run_id": run.id });
    store.finish_run(run, true, &summary).await?;
    store.close().await;
    ctx.emit(
        || {
            let mix: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o}: {n}")).collect();
            format!("executed {done} (response, test) pairs: {}", mix.join(", "))
        },
        || summary.clone(),
    );
    Ok(())
}

/// The stage's progress on the terminal.
struct Bar(indicatif::ProgressBar);

impl rrtf_pipeline::eval::Progress for Bar {
    fn inc(&mut self) {
        self.0.inc(1);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}
