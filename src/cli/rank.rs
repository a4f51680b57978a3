//! `rrtf rank`: score and rank every executed response (`rrtf_pipeline::rank_stage`); this
//! module parses the arguments and prints the summary.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::{Ranking, RoundConfig};
use rrtf_pipeline::rank_stage::Ranked;

use super::{Ctx, REVISION};

#[derive(Debug, Args)]
pub struct RankArgs {
    /// Round config whose [ranking] section to use (default: the built-in defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Rank only prompts of this round.
    #[arg(long, value_parser = super::parse_round)]
    pub round: Option<i64>,
}

pub async fn run(ctx: &Ctx, a: RankArgs) -> Result<()> {
    // The run is recorded under --round, else the config's round (a round's rank stage), else 0.
    let (cfg, recorded): (Ranking, i64) = match &a.config {
        Some(p) => {
            let c = RoundConfig::load(p)?;
            (c.ranking, a.round.unwrap_or(c.round.number))
        }
        None => (Ranking::default(), a.round.unwrap_or(0)),
    };
    let store = ctx.store().await?;
    let ranked = rrtf_pipeline::rank_stage::run(&store, &cfg, a.round, recorded, REVISION).await;
    store.close().await;
    let Ranked {
        ranker,
        summary,
        pairs,
        json,
    } = ranked?;
    ctx.emit(
        || {
            let mut out = format!(
                "ranked {} prompts with ranker {}: {} kept ({} responses, {} pairs)",
                summary.prompts,
                &ranker[..12],
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
        || json.clone(),
    );
    Ok(())
}
