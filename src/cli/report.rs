//! `rrtf report`: one static HTML page with inline SVG plots (`rrtf_report::Report`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_report::Report;
use serde_json::json;

use super::Ctx;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output HTML file.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// Ranker hash (or prefix); default: the latest ranking.
    #[arg(long)]
    pub ranker: Option<String>,
}

pub async fn run(ctx: &Ctx, a: ReportArgs) -> Result<()> {
    let store = ctx.store().await?;
    // The report needs a ranking: "nothing ranked" names `rrtf rank`.
    let report = Report::load(&store, a.ranker.as_deref()).await?;
    store.close().await;
    let made_by = rrtf_report::MadeBy {
        version: env!("CARGO_PKG_VERSION").into(),
        revision: super::REVISION.into(),
    };
    let html = report.html(&ctx.db_display(), &made_by);
    std::fs::write(&a.out, html).map_err(|source| rrtf_data::DataError::Write {
        path: a.out.clone(),
        source,
    })?;
    let (models, scores) = (report.overview.models.len(), report.overview.scores.len());
    ctx.emit(
        || {
            format!(
                "wrote {} ({models} models, {scores} scores)",
                a.out.display()
            )
        },
        || json!({ "out": a.out, "ranker": report.ranker.hash, "models": models, "scores": scores }),
    );
    Ok(())
}
