//! `rrtf round`: one RRTF round end to end (`rrtf_pipeline::round`), resumable; this module
//! parses the arguments and prints the summary.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use rrtf_pipeline::round::{RoundOptions, RoundSummary, Stage};

use super::Ctx;

/// `--from`/`--until`: a stage name, its possible values listed in `--help`.
pub fn stage_parser() -> impl TypedValueParser<Value = Stage> {
    PossibleValuesParser::new(Stage::ALL.map(Stage::name))
        .map(|s| s.parse::<Stage>().expect("a possible value"))
}

#[derive(Debug, Args)]
pub struct RoundArgs {
    /// The round's configuration (see configs/round.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Start here: earlier stages are not run, this one and later ones run even if done.
    #[arg(long, value_parser = stage_parser())]
    pub from: Option<Stage>,
    /// Stop after this stage.
    #[arg(long, value_parser = stage_parser())]
    pub until: Option<Stage>,
    /// Where the HTML report goes (default: report-r<N>.html beside the database).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, a: RoundArgs) -> Result<()> {
    let opts = RoundOptions {
        config: a.config,
        from: a.from,
        until: a.until,
        report: a.report,
    };
    let run = rrtf_pipeline::round::run(&ctx.rrtf_stoppable()?, &opts)
        .await
        .map_err(|e| super::stopped_or(e, "rrtf round"))?;
    let summary = &run.summary;
    ctx.emit(
        || human(summary),
        || serde_json::to_value(summary).expect("serializable"),
    );
    match run.failure {
        Some(e) => Err(super::stopped_or(e, "rrtf round")),
        None => Ok(()),
    }
}

fn human(summary: &RoundSummary) -> String {
    let hash = &summary.config_hash;
    let mut s = format!(
        "round {} ({}s, config {}):\n",
        summary.round,
        summary.seconds.round() as i64,
        &hash[..hash.len().min(12)]
    );
    for r in &summary.stages {
        s += &format!(
            "  {:<12} {:<9} {:>7.1}s\n",
            r.stage.name(),
            r.status.name(),
            r.seconds
        );
    }
    for (label, ev) in summary.evaluation.iter().flat_map(|e| e.models()) {
        let scores: Vec<String> = ev
            .pass_at_k
            .iter()
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect();
        s += &format!("  {label} model: {}\n", scores.join(", "));
    }
    if let Some(n) = &summary.next_config {
        s += &format!("next round: rrtf round --config {}\n", n.display());
    }
    if let Some(r) = &summary.report {
        s += &format!("report: {}\n", r.display());
    }
    s
}
