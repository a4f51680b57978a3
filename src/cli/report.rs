//! `rrtf report`: one static HTML page with inline SVG plots, readable without a server or
//! network: outcomes per model, the score distribution, and prompts/pairs per round. The
//! rendering lives in `html.rs`, which `rrtf review serve` shares.

use std::fmt::Write as _;
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
    let curves = store.training_curves().await?;
    let evaluations = store.done_runs("round/evaluate").await?;
    let contamination = (
        store.contamination_lines().await?,
        store.contamination_rows(50).await?,
    );
    store.close().await;
    let training_html = training_section(&curves);
    let evaluation_html = evaluation_section(&evaluations);
    let decontamination_html = decontamination_section(&contamination.0, &contamination.1);

    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rrtf report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
h2{{margin-top:1.6em}}code{{font-size:90%}}</style></head><body>
<h1>rrtf report</h1>
<p>Database <code>{db}</code>, {summary}</p>
<h2>Where each round stands</h2>{table}
{plots}<h2 id="training">Training</h2>{training_html}
<h2 id="evaluation">Evaluation</h2>{evaluation_html}
<h2 id="decontamination">Decontamination</h2>{decontamination_html}
</body></html>
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

/// Per training run: the loss terms and the preference accuracy over steps (held-out values too).
fn training_section(curves: &[rrtf_store::TrainingCurves]) -> String {
    use super::plots::line_chart;
    if curves.is_empty() {
        return "<p>No training run recorded yet (<code>rrtf train</code>).</p>".into();
    }
    let series = |c: &rrtf_store::TrainingCurves, split: &str, name: &str| -> Vec<(f64, f64)> {
        c.points
            .iter()
            .filter(|p| p.split == split && p.name == name)
            .map(|p| (p.step as f64, p.value))
            .collect()
    };
    let mut html = String::new();
    for c in curves {
        let _ = write!(
            html,
            "<h3>Round {} &middot; <code>{}</code> from <code>{}</code> ({})</h3>",
            c.round,
            esc(&c.output_dir),
            esc(&c.base_model),
            esc(&c.status)
        );
        html += &line_chart(
            "loss per step",
            "step",
            &[
                ("loss (train)".into(), "#1565c0", series(c, "train", "loss")),
                (
                    "sft (train)".into(),
                    "#00897b",
                    series(c, "train", "sft_loss"),
                ),
                (
                    "loss (held out)".into(),
                    "#c62828",
                    series(c, "eval", "loss"),
                ),
            ],
        );
        html += &line_chart(
            "rank loss per step",
            "step",
            &[
                (
                    "rank (train)".into(),
                    "#5e35b1",
                    series(c, "train", "rank_loss"),
                ),
                (
                    "rank (held out)".into(),
                    "#ef6c00",
                    series(c, "eval", "rank_loss"),
                ),
            ],
        );
        html += &line_chart(
            "preference accuracy (share of pairs with p_better > p_worse)",
            "step",
            &[
                (
                    "train".into(),
                    "#2e7d32",
                    series(c, "train", "preference_accuracy"),
                ),
                (
                    "held out".into(),
                    "#c62828",
                    series(c, "eval", "preference_accuracy"),
                ),
            ],
        );
    }
    html
}

/// pass@k before and after training, per round (from `rrtf round`'s evaluate stage).
fn evaluation_section(runs: &[(i64, rrtf_store::DoneRun)]) -> String {
    if runs.is_empty() {
        return "<p>No evaluation yet (<code>rrtf round</code> with <code>[round] benchmark</code>, \
                or <code>rrtf eval</code>).</p>"
            .into();
    }
    let mut html = String::from(
        "<table><tr><th>round</th><th>model</th><th>directory</th><th>problems</th><th>pass@k</th></tr>",
    );
    for (round, run) in runs {
        let Some(obj) = run.summary.as_ref().and_then(|s| s.as_object()) else {
            continue;
        };
        for (label, v) in obj {
            let scores: Vec<String> = v["pass_at_k"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, x)| format!("{k} {:.4}", x.as_f64().unwrap_or(0.0)))
                .collect();
            let _ = write!(
                html,
                "<tr><td>{round}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(label),
                esc(v["model"].as_str().unwrap_or("")),
                v["problems"],
                esc(&scores.join(", "))
            );
        }
    }
    html.push_str("</table>");
    html
}

/// What decontamination eliminated or marked (per benchmark file and method), and the latest
/// findings with their reasons.
fn decontamination_section(
    lines: &[rrtf_store::ContaminationLine],
    rows: &[rrtf_store::ContaminationRow],
) -> String {
    if lines.is_empty() {
        return "<p>Nothing removed: no prompt or response leaked a benchmark problem (or no \
                decontamination ran: <code>[round] benchmark</code>, \
                <code>rrtf decontaminate</code>).</p>"
            .into();
    }
    let mut html = String::from(
        "<table><tr><th>item</th><th>action</th><th>method</th><th>benchmark</th><th>count</th></tr>",
    );
    for l in lines {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&l.item),
            esc(&l.action),
            esc(&l.method),
            esc(&l.benchmark),
            l.count
        );
    }
    html.push_str("</table><table><tr><th>prompt</th><th>item</th><th>why</th></tr>");
    for r in rows {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{} {} ({})</td><td style=\"text-align:left\">{} ({}, {}): {}</td></tr>",
            esc(&r.prompt),
            esc(&r.item),
            r.item_id,
            esc(&r.action),
            esc(&r.benchmark),
            esc(&r.method),
            esc(&r.field),
            esc(&r.detail)
        );
    }
    html.push_str("</table>");
    html
}
