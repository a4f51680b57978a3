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
    #[arg(long, value_parser = super::parse_round)]
    pub round: Option<i64>,
    /// Pairs per committed batch (a worker's first claims ramp up to it: 32, 64, 128, ..., so
    /// that workers started together share a small project's pairs).
    #[arg(long, default_value_t = 512)]
    pub batch: i64,
    /// Seconds a claimed batch stays this process's without a renewal (renewed every third of
    /// it while it runs). Any number of `rrtf exec` on one database share the pending pairs by
    /// these leases; a killed one's pairs go to the others once its lease runs out.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub lease_secs: u64,
    /// Execute nothing: wait until `rrtf exec` workers elsewhere (any machine on this database)
    /// have executed every pending pair. What a round's exec stage does with `[execution]
    /// external_workers = true`.
    #[arg(long)]
    pub wait_for_workers: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub async fn run(ctx: &Ctx, a: StageArgs) -> Result<()> {
    if a.batch < 1 {
        return Err(BadInput(format!("--batch {}: must be at least 1", a.batch)).into());
    }
    if !(3..=86_400).contains(&a.lease_secs) {
        return Err(BadInput(format!(
            "--lease-secs {}: must be between 3 and 86400 (a day)",
            a.lease_secs
        ))
        .into());
    }
    let worker = exec_stage::Worker::new(std::time::Duration::from_secs(a.lease_secs));
    let mut cfg: ExecConfig = config(&a.limits)?;
    let mut external = a.wait_for_workers;
    // The run is recorded under --round, else the config's round (a round's exec stage, which
    // executes what any round left pending), else 0.
    let mut recorded = a.round.unwrap_or(0);
    if let Some(path) = &a.config {
        let config = RoundConfig::load(path)?;
        recorded = a.round.unwrap_or(config.round.number);
        external |= config.execution.external_workers;
        cfg = rrtf_pipeline::exec_config(&config.execution, cfg);
    }
    let store = ctx.store().await?;
    if external {
        return wait(ctx, store, a.round).await;
    }
    let mut bar = Bar::new("executing");
    let stop = rrtf_pipeline::stop::Stop::on_signals();
    let ran = exec_stage::run(
        &store, cfg, a.round, recorded, a.batch, REVISION, &worker, &mut bar, &stop,
    )
    .await;
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
        let whose = match a.round {
            Some(r) => {
                format!(" to prompts of round {r} (`--round` selects by the prompt's round)")
            }
            None => String::new(),
        };
        ctx.emit(
            || format!("nothing to execute: every response with tests{whose} has its results"),
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

/// `--wait-for-workers` (or `[execution] external_workers`): wait for other workers to
/// execute every pending pair.
async fn wait(ctx: &Ctx, store: rrtf_store::Store, round: Option<i64>) -> Result<()> {
    let mut bar = Bar::new("executed by workers");
    let stop = rrtf_pipeline::stop::Stop::on_signals();
    let waited = exec_stage::wait_for_workers(&store, round, &mut bar, &stop).await;
    store.close().await;
    let waited = waited?;
    // Pairs a sampler adds meanwhile raise `pending`: never a negative count.
    let executed = (waited.pending_at_start - waited.pending).max(0);
    ctx.emit(
        || {
            format!(
                "external workers executed {executed} (response, test) pairs; {} pending",
                waited.pending
            )
        },
        // `executed` as the stage's (a round's summary line reads it), by the workers.
        || {
            json!({
                "executed": executed, "executed_by_workers": executed,
                "pending": waited.pending, "external_workers": true,
            })
        },
    );
    if let Some(signal) = waited.interrupted {
        return Err(rrtf_pipeline::stop::Interrupted {
            stage: "rrtf exec --wait-for-workers".into(),
            signal,
            done: format!(
                "stopped waiting; {} (response, test) pairs are left to the workers",
                waited.pending
            ),
            resume: super::same_command(&[]),
        }
        .into());
    }
    Ok(())
}
