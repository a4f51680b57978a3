//! `rrtf rank`: score and rank every executed response.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::{Ranking, RoundConfig};
use rrtf_rank::{rank_all, ranker_ref};
use rrtf_store::NewRun;
use serde_json::json;

use super::{BadInput, Ctx, REVISION};

#[derive(Debug, Args)]
pub struct RankArgs {
    /// Round config whose [ranking] section to use (default: the built-in defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Rank only prompts of this round.
    #[arg(long)]
    pub round: Option<i64>,
}

pub async fn run(ctx: &Ctx, a: RankArgs) -> Result<()> {
    let cfg: Ranking = match &a.config {
        Some(p) => RoundConfig::load(p)?.ranking,
        None => Ranking::default(),
    };
    let ranker = ranker_ref(&cfg);
    let store = ctx.store().await?;
    let inputs = store.rank_inputs(a.round).await?;
    if inputs.is_empty() {
        return Err(BadInput(
            "nothing to rank: no response has been executed yet (run `rrtf exec`, or import \
             responses for prompts that have tests)"
                .into(),
        )
        .into());
    }
    let run = store
        .begin_run(&NewRun {
            round: a.round.unwrap_or(0),
            stage: "rank".into(),
            config_json: ranker.config_json.clone(),
            config_hash: ranker.hash.clone(),
            revision: Some(REVISION.into()),
            seed: None,
        })
        .await?;
    let (rankings, summary) = rank_all(&inputs, &cfg);
    let saved = store
        .save_rankings(&ranker, &rankings, Some(run.id))
        .await?;
    let summary_json = json!({
        "ranker": ranker.hash, "prompts": summary.prompts, "kept": summary.kept,
        "responses": summary.responses, "dropped": summary.dropped,
        "responses_incomplete": summary.responses_incomplete,
        "new": saved.inserted, "replaced": saved.existing, "run_id": run.id,
    });
    store.finish_run(run, true, &summary_json).await?;
    let pairs = store.status().await?.pairs;
    store.close().await;
    ctx.emit(
        || {
            let mut out = format!(
                "ranked {} prompts with ranker {}: {} kept ({} responses, {} pairs)",
                summary.prompts,
                &ranker.hash[..12],
                summary.kept,
                summary.responses,
                pairs
            );
            for (reason, n) in &summary.dropped {
                out.push_str(&format!("\n  dropped {n}: {reason}"));
            }
            if summary.responses_incomplete > 0 {
                out.push_str(&format!(
                    "\n  {} responses left out: not executed against every test program (run `rrtf exec`)",
                    summary.responses_incomplete
                ));
            }
            out
        },
        || {
            let mut j = summary_json.clone();
            j["pairs"] = json!(pairs);
            j
        },
    );
    Ok(())
}
