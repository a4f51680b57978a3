//! `rrtf exec` (no subcommand): the pipeline stage's arguments and summary; the stage itself,
//! with its run record, is `rrtf_pipeline::exec_stage::run`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_exec::ExecConfig;
use rrtf_pipeline::exec_stage::{self, Executed};
use serde_json::json;

use super::exec::{LimitArgs, config};
use super::{BadInput, Bar, Ctx, REVISION};

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
    let mut bar = Bar::new("executing");
    let stop = rrtf_pipeline::stop::Stop::on_signals();
    let ran = exec_stage::run(&store, cfg, a.round, a.batch, REVISION, &mut bar, &stop).await;
    store.close().await;
    let Some((
        Executed {
            done,
            outcomes,
            interrupted,
            unjudged,
            unjudged_first,
        },
        summary,
    )) = ran?
    else {
        ctx.emit(
            || "nothing to execute: every response with tests has its results".into(),
            || json!({"executed": 0, "pending": 0}),
        );
        return Ok(());
    };
    ctx.emit(
        || {
            let mix: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o}: {n}")).collect();
            format!("executed {done} (response, test) pairs: {}", mix.join(", "))
        },
        || summary.clone(),
    );
    if let Some(signal) = interrupted {
        return Err(rrtf_pipeline::stop::Interrupted {
            stage: "rrtf exec".into(),
            signal,
            done: format!(
                "the programs already in the sandbox finished and were stored, the rest of the \
                 batch was left pending; the run is recorded as interrupted with {} (response, \
                 test) pairs left",
                summary["pending"]
            ),
            resume: super::same_command(&[]),
        }
        .into());
    }
    if unjudged > 0 {
        return Err(rrtf_exec::ExecError::Unjudged {
            count: unjudged as usize,
            total: (done + unjudged) as usize,
            first: unjudged_first.unwrap_or_default(),
            retry: "those (response, test) pairs stay pending and the run is recorded as failed: \
                    run the same command again to retry them"
                .into(),
        }
        .into());
    }
    Ok(())
}
