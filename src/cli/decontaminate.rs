//! `rrtf decontaminate`'s arguments, and the text of the `decontamination` object every data
//! stage's summary carries. The benchmark set and the screens are `rrtf_pipeline::decontam`'s,
//! the command's run and the import's marking of benchmark files
//! `rrtf_pipeline::decontaminate`'s. What was found goes to the `contamination` table (with
//! the prompt or response eliminated in the same transaction), listed by `rrtf status` and the
//! report.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_pipeline::decontaminate::DecontaminateRequest;
use serde_json::Value;

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
    #[arg(long)]
    pub round: Option<i64>,
}

/// Human lines for a stage summary's `decontamination` object.
pub fn summary_text(v: &Value) -> String {
    if v.is_null() {
        return String::new();
    }
    let mut out = format!(
        "decontamination against {} problem(s) of {}: {} prompt(s) eliminated of {} checked",
        v["benchmarks"]["problems"],
        v["benchmarks"]["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        v["prompts"]["prompts_eliminated"],
        v["prompts"]["prompts_checked"],
    );
    if let Some(n) = v["responses"]["responses_eliminated"].as_u64() {
        out.push_str(&format!(", {n} response(s) eliminated"));
    }
    for e in v["prompts"]["examples"].as_array().into_iter().flatten() {
        out.push_str(&format!("\n  {}", e.as_str().unwrap_or("")));
    }
    out
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
    ctx.emit(|| summary_text(&summary), || summary.clone());
    Ok(())
}
