//! `rrtf evolve --config FILE`: its arguments and printed summary; the stage (Evol-Instruct
//! steps, every evolution stored with its lineage and status) is `rrtf_pipeline::evolve`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_pipeline::evolve::EvolveRequest;
use rrtf_report::text;

use super::{BadInput, Bar, Ctx};

#[derive(Debug, Args)]
pub struct EvolveArgs {
    /// The round config ([evolution] and the evolver's [[teachers]] entry).
    #[arg(long)]
    pub config: PathBuf,
    /// Evolve only the seeds of this source (dataset name).
    #[arg(long)]
    pub source: Option<String>,
    /// Evolve at most this many seeds (for a trial run).
    #[arg(long)]
    pub max_seeds: Option<usize>,
}

pub async fn evolve(ctx: &Ctx, args: EvolveArgs) -> Result<()> {
    let request = EvolveRequest {
        config: RoundConfig::load(&args.config)?,
        config_path: args.config,
        source: args.source,
        max_seeds: args.max_seeds,
    };
    let r = ctx.rrtf()?.evolve(request, &mut Bar::new("")).await?;
    let (summary, failed) = (r.summary, r.failed);
    if let Some(stopped) = r.stopped {
        if r.at_budget {
            ctx.emit(|| stopped.clone(), || summary.clone());
            anyhow::bail!("{stopped}");
        }
        return Err(BadInput(stopped).into());
    }
    ctx.emit(
        || {
            let mut out = String::new();
            for s in summary["steps"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "step {}: {} parents, {} asked ({} already stored), {} kept {}, dropped {}, {} failed; \
                     {} answers, tokens {} in / {} out, ${:.4}\n",
                    s["step"], s["parents"], s["asked"], s["already_stored"], s["kept"], s["kept_by_method"], s["dropped"], s["failed"],
                    s["requests"], s["prompt_tokens"], s["completion_tokens"], s["cost_usd"].as_f64().unwrap_or(0.0)
                ));
                if let Some(f) = s["first_failure"].as_str() {
                    out.push_str(&format!("  first failure: {f}\n"));
                }
            }
            let screened = text::decontamination_text(&summary["decontamination"]);
            if !screened.is_empty() {
                out.push_str(&screened);
                out.push('\n');
            }
            out.push_str(&format!("evolved prompts are in source `{}` (rrtf status)", summary["source"].as_str().unwrap_or("")));
            out.push_str(&text::ledger_text(&summary["round_requests"]));
            out
        },
        || summary.clone(),
    );
    if failed > 0 {
        anyhow::bail!("{failed} evolution request(s) failed; re-run `rrtf evolve` to ask again");
    }
    Ok(())
}
