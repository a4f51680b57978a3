//! `rrtf report`: one static HTML page with inline SVG plots, readable without a server or
//! network: outcomes per model, the score distribution, and prompts/pairs per round.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use super::Ctx;
use super::review::histogram;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output HTML file.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// Ranker hash (or prefix); default: the latest ranking.
    #[arg(long)]
    pub ranker: Option<String>,
}

const OUTCOMES: [(&str, &str); 9] = [
    ("pass", "#2e7d32"),
    ("partial", "#9ccc65"),
    ("test_failure", "#fbc02d"),
    ("runtime_error", "#ef6c00"),
    ("timeout", "#8d6e63"),
    ("memory_limit", "#6d4c41"),
    ("output_limit", "#795548"),
    ("crashed", "#7b1fa2"),
    ("compile_error", "#c62828"),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A labelled row of (segment name, value, colour).
type StackedRow<'a> = (String, Vec<(String, f64, &'a str)>);

/// Horizontal stacked bars, a label above each bar, segments as shares of the row's total.
fn stacked_bars(rows: &[StackedRow]) -> String {
    let (w, row_h, left) = (720.0, 42.0, 10.0);
    let legend_rows = OUTCOMES.len().div_ceil(5) as f64;
    let h = rows.len() as f64 * row_h + 20.0 * legend_rows + 10.0;
    let mut svg = format!(r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">"#);
    for (i, (label, parts)) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let total: f64 = parts.iter().map(|p| p.1).sum();
        let _ = write!(
            svg,
            r#"<text x="{left}" y="{}" font-size="12">{}</text>"#,
            y + 11.0,
            esc(label)
        );
        let mut x = left;
        for (name, v, color) in parts {
            let pw = if total > 0.0 {
                v / total * (w - 2.0 * left)
            } else {
                0.0
            };
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{}" width="{pw:.1}" height="20" fill="{color}"><title>{}: {} ({:.1}%)</title></rect>"#,
                y + 16.0,
                esc(name),
                v,
                100.0 * v / total.max(1.0)
            );
            x += pw;
        }
    }
    for (i, (name, color)) in OUTCOMES.iter().enumerate() {
        let lx = left + (i % 5) as f64 * 140.0;
        let ly = rows.len() as f64 * row_h + 16.0 + (i / 5) as f64 * 20.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{ly}" font-size="11">{name}</text>"#,
            ly - 9.0,
            lx + 14.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical bars with labels under them (every other label when there are many).
fn bars(values: &[(String, f64)], color: &str) -> String {
    let (w, h, bottom) = (720.0, 220.0, 30.0);
    let peak = values.iter().map(|v| v.1).fold(0.0, f64::max).max(1.0);
    let bw = ((w - 40.0) / values.len().max(1) as f64).min(90.0);
    let step = if values.len() > 8 { 2 } else { 1 };
    let mut svg = format!(r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">"#);
    for (i, (label, v)) in values.iter().enumerate() {
        let bh = v / peak * (h - bottom - 20.0);
        let x = 20.0 + i as f64 * bw;
        let y = h - bottom - bh;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{color}"><title>{}: {v}</title></rect>"#,
            x + 2.0,
            bw - 4.0,
            esc(label)
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{v}</text>"#,
            x + bw / 2.0,
            y - 3.0
        );
        if i % step == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
                x + bw / 2.0,
                h - bottom + 14.0,
                esc(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

pub async fn run(ctx: &Ctx, a: ReportArgs) -> Result<()> {
    let store = ctx.store().await?;
    let status = store.status().await?;
    let ranker = store.resolve_ranker(a.ranker.as_deref()).await?;
    let models = store.model_stats(&ranker.hash).await?;
    let scores = store.scores(&ranker.hash).await?;
    let curves = store.training_curves().await?;
    let evaluations = store.done_runs("round/evaluate").await?;
    store.close().await;
    let training_html = training_section(&curves);
    let evaluation_html = evaluation_section(&evaluations);

    let outcome_rows: Vec<_> = models
        .iter()
        .map(|m| {
            let parts = OUTCOMES
                .iter()
                .map(|(o, c)| (o.to_string(), *m.outcomes.get(*o).unwrap_or(&0) as f64, *c))
                .collect();
            (
                format!("{} ({}, {:.0}% pass)", m.model, m.role, 100.0 * m.pass_rate),
                parts,
            )
        })
        .collect();
    let hist: Vec<(String, f64)> = histogram(&scores, 12)
        .into_iter()
        .map(|(lo, _, n)| (format!("≥{lo:.2}"), n as f64))
        .collect();
    let pairs: Vec<(String, f64)> = status
        .rounds
        .iter()
        .map(|r| (format!("round {}", r.round), r.pairs as f64))
        .collect();
    let ranked: Vec<(String, f64)> = status
        .rounds
        .iter()
        .map(|r| (format!("round {}", r.round), r.ranked_prompts as f64))
        .collect();

    let mut table = String::from(
        "<table><tr><th>round</th><th>prompts</th><th>eliminated</th><th>tests</th><th>responses</th><th>executions</th><th>ranked</th><th>pairs</th></tr>",
    );
    for r in &status.rounds {
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.round,
            r.prompts,
            r.prompts_eliminated,
            r.tests,
            r.responses,
            r.executions,
            r.ranked_prompts,
            r.pairs
        );
    }
    table.push_str("</table>");
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rrtf report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
h2{{margin-top:1.6em}}code{{font-size:90%}}</style></head><body>
<h1>rrtf report</h1>
<p>Database <code>{db}</code>, ranker <code>{hash}</code> (latest unless chosen), {ranked} prompts kept,
{dropped} dropped by filters, {pairs} pairs, {reviews} reviews.</p>
<h2>Where each round stands</h2>{table}
<h2 id="outcomes">Outcomes per model</h2>{outcomes}
<h2 id="scores">Score distribution ({n} responses)</h2>{hist}
<h2 id="ranked">Ranked prompts per round</h2>{ranked_svg}
<h2 id="pairs">Pairs per round</h2>{pairs_svg}
<h2 id="training">Training</h2>{training_html}
<h2 id="evaluation">Evaluation</h2>{evaluation_html}
</body></html>
"#,
        db = esc(&ctx.db.display().to_string()),
        hash = &ranker.hash[..12],
        ranked = status.ranked_prompts,
        dropped = status.dropped_prompts,
        pairs = status.pairs,
        reviews = status.reviews,
        outcomes = stacked_bars(&outcome_rows),
        n = scores.len(),
        hist = bars(&hist, "#1565c0"),
        ranked_svg = bars(&ranked, "#00897b"),
        pairs_svg = bars(&pairs, "#5e35b1"),
    );
    std::fs::write(&a.out, html).with_context(|| format!("cannot write {}", a.out.display()))?;
    ctx.emit(
        || format!("wrote {} ({} models, {} scores)", a.out.display(), models.len(), scores.len()),
        || json!({ "out": a.out, "ranker": ranker.hash, "models": models.len(), "scores": scores.len() }),
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
