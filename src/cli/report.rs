//! `rrtf report`: one static HTML page with inline SVG plots, readable without a server or
//! network: outcomes per model, the score distribution, and prompts/pairs per round. The
//! rendering lives in `html.rs`, which `rrtf review serve` shares.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use super::Ctx;
use super::html::{Overview, esc};

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
    // The report needs a ranking: resolve it first so "nothing ranked" names `rrtf rank`.
    let ranker = store.resolve_ranker(a.ranker.as_deref()).await?;
    let view = Overview::load(&store, Some(&ranker.hash)).await?;
    store.close().await;

    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rrtf report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
h2{{margin-top:1.6em}}code{{font-size:90%}}</style></head><body>
<h1>rrtf report</h1>
<p>Database <code>{db}</code>, {summary}</p>
<h2>Where each round stands</h2>{table}
{plots}</body></html>
"#,
        db = esc(&ctx.db.display().to_string()),
        summary = view.summary(),
        table = view.rounds_table(None),
        plots = view.plots(),
    );
    std::fs::write(&a.out, html).with_context(|| format!("cannot write {}", a.out.display()))?;
    let (models, scores) = (view.models.len(), view.scores.len());
    ctx.emit(
        || {
            format!(
                "wrote {} ({models} models, {scores} scores)",
                a.out.display()
            )
        },
        || json!({ "out": a.out, "ranker": ranker.hash, "models": models, "scores": scores }),
    );
    Ok(())
}
