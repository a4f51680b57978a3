//! `rrtf decontaminate`'s arguments (the text of the `decontamination` object every data
//! stage's summary carries is `rrtf_report::text`'s). The benchmark set and the screens are `rrtf_pipeline::decontam`'s,
//! the command's run and the import's marking of benchmark files
//! `rrtf_pipeline::decontaminate`'s. What was found goes to the `contamination` table (with
//! the prompt or response eliminated in the same transaction), listed by `rrtf status` and the
//! report.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_pipeline::decontaminate::DecontaminateRequest;
use rrtf_report::text;

use super::Ctx;

#[derive(Debug, Args)]
pub struct DecontaminateArgs {
    /// A round config: its decontamination set (`[round] benchmark` and
    /// `[decontamination] benchmarks`), n-gram and similarity.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A benchmark file (JSONL / JSON, .gz too). Repeatable; added to the config's set.
    #[arg(long = "benchmark", value_name = "FILE")]
    pub benchmarks: Vec<PathBuf>,
    /// n of the n-gram overlap (default: the config's, else 13).
    #[arg(long)]
    pub ngram: Option<u32>,
    /// Word-set Jaccard similarity with a benchmark prompt that makes a paraphrase (default:
    /// the config's, else the documented default).
    #[arg(long)]
    pub similarity: Option<f64>,
    /// Only the responses of this round (default: every round).
    #[arg(long, value_parser = super::parse_round)]
    pub round: Option<i64>,
}

/// `rrtf decontaminate`: screen every kept prompt and stored response on demand.
pub async fn run(ctx: &Ctx, a: DecontaminateArgs) -> Result<()> {
    let request = DecontaminateRequest {
        config: a.config.as_deref().map(RoundConfig::load).transpose()?,
        benchmarks: a.benchmarks,
        ngram: a.ngram,
        similarity: a.similarity,
        round: a.round,
    };
    let summary = ctx.rrtf()?.decontaminate(request).await?;
    ctx.emit(|| text::decontamination_text(&summary), || summary.clone());
    Ok(())
}
