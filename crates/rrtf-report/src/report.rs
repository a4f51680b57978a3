//! The static report (`rrtf report`): one HTML page with inline SVG plots, readable without a
//! server or network: where each round stands, outcomes per model, the score distribution,
//! prompts and pairs per round, training curves, pass@k before and after training, and what
//! decontamination removed.

use std::fmt::Write as _;

use rrtf_store::{
    ContaminationLine, ContaminationRow, DoneRun, RankerRef, Store, StoreError, TrainingCurves,
};

use crate::html::esc;
use crate::overview::Overview;
use crate::plots::training_charts;

/// Everything the report shows, read from the store.
pub struct Report {
    /// The ranking it shows.
    pub ranker: RankerRef,
    pub overview: Overview,
    pub curves: Vec<TrainingCurves>,
    /// `rrtf round`'s evaluate runs: (round, run).
    pub evaluations: Vec<(i64, DoneRun)>,
    pub contamination: Vec<ContaminationLine>,
    /// The latest findings (at most 50).
    pub contaminated: Vec<ContaminationRow>,
}

impl Report {
    /// The report of the ranking `ranker` (hash or prefix; default the latest). Nothing ranked
    /// is an error that names `rrtf rank`.
    pub async fn load(store: &Store, ranker: Option<&str>) -> Result<Report, StoreError> {
        let ranker = store.resolve_ranker(ranker).await?;
        Ok(Report {
            overview: Overview::load(store, Some(&ranker.hash)).await?,
            curves: store.training_curves().await?,
            evaluations: store.done_runs("round/evaluate").await?,
            contamination: store.contamination_lines().await?,
            contaminated: store.contamination_rows(50).await?,
            ranker,
        })
    }

    /// The page; `db` names the database it was made from.
    pub fn html(&self, db: &str) -> String {
        let view = &self.overview;
        format!(
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
            db = esc(db),
            summary = view.summary(),
            table = view.rounds_table(None),
            plots = view.plots(),
            training_html = training_section(&self.curves),
            evaluation_html = evaluation_section(&self.evaluations),
            decontamination_html = decontamination_section(&self.contamination, &self.contaminated),
        )
    }
}

/// Per training run: the loss terms and the preference accuracy over steps (held-out values too).
fn training_section(curves: &[TrainingCurves]) -> String {
    if curves.is_empty() {
        return "<p>No training run recorded yet (<code>rrtf train</code>).</p>".into();
    }
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
        html += &training_charts(c);
    }
    html
}

/// pass@k before and after training, per round (from `rrtf round`'s evaluate stage).
fn evaluation_section(runs: &[(i64, DoneRun)]) -> String {
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
fn decontamination_section(lines: &[ContaminationLine], rows: &[ContaminationRow]) -> String {
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
