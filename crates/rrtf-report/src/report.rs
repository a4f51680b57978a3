//! The static report (`rrtf report`): one HTML page with inline SVG plots, readable without a
//! server or network: where each round stands, outcomes per model, the score distribution,
//! prompts and pairs per round, training curves, pass@k before and after training, and what
//! decontamination removed.

use std::fmt::Write as _;

use rrtf_store::{
    ContaminationLine, ContaminationRow, DoneRun, EvolutionLine, LedgerLine, OutcomeExample,
    RankerRef, RunLine, Store, StoreError, TrainingCurves,
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
    /// When the report was made (the database's clock, UTC).
    pub made_at: String,
    /// The newest `round` run: the config hash, seed and revision the report describes.
    pub round_run: Option<RunLine>,
    pub evolution: Vec<EvolutionLine>,
    /// The request ledger per round, stage and endpoint.
    pub ledger: Vec<LedgerLine>,
    /// A few responses per execution outcome.
    pub examples: Vec<OutcomeExample>,
}

/// Who made a report: the binary's version and revision.
#[derive(Clone, Debug, Default)]
pub struct MadeBy {
    pub version: String,
    pub revision: String,
}

/// Examples shown per execution outcome.
const EXAMPLES_PER_OUTCOME: i64 = 2;

/// Below this many benchmark problems, the evaluation table warns that its figures are coarse.
const FEW_PROBLEMS: u64 = 100;

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
            made_at: store.now_utc().await?,
            round_run: store.latest_run("round").await?,
            evolution: store.evolution_lines().await?,
            ledger: store.ledger_lines(None).await?,
            examples: store.outcome_examples(EXAMPLES_PER_OUTCOME).await?,
            ranker,
        })
    }

    /// The page; `db` names the database it was made from, `by` the binary that made it.
    pub fn html(&self, db: &str, by: &MadeBy) -> String {
        let view = &self.overview;
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rrtf report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
h2{{margin-top:1.6em}}code{{font-size:90%}}</style></head><body>
<h1>rrtf report</h1>
<p id="provenance">{provenance}</p>
<p>Database <code>{db}</code>, {summary}</p>
<h2>Where each round stands</h2>{table}
{languages}
<h2 id="evolution">Evolution</h2>{evolution_html}
{plots}<h2 id="training">Training</h2>{training_html}
<h2 id="evaluation">Evaluation</h2>{evaluation_html}
<h2 id="examples">Example responses per outcome</h2>{examples_html}
<h2 id="cost">Requests and cost</h2>{ledger_html}
<h2 id="decontamination">Decontamination</h2>{decontamination_html}
</body></html>
"#,
            provenance = provenance(&self.made_at, by, self.round_run.as_ref(), &self.ranker),
            evolution_html = evolution_section(&self.evolution),
            examples_html = examples_section(&self.examples),
            ledger_html = ledger_section(&self.ledger),
            db = esc(db),
            summary = view.summary(),
            table = view.rounds_table(None),
            languages = view.languages_section(),
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
        "<table><tr><th>round</th><th>model</th><th>directory</th><th>problems</th><th>pass@k</th>\
         <th>pass@1 std. error</th></tr>",
    );
    let mut fewest: Option<u64> = None;
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
            let n = v["problems"].as_u64().unwrap_or(0);
            fewest = Some(fewest.map_or(n, |f| f.min(n)));
            // The binomial standard error of pass@1 over n problems.
            let se = v["pass_at_k"]["pass@1"]
                .as_f64()
                .filter(|_| n > 0)
                .map_or("—".to_owned(), |p| {
                    format!("{:.4}", (p * (1.0 - p) / n as f64).sqrt())
                });
            let _ = write!(
                html,
                "<tr><td>{round}</td><td>{}</td><td><code>{}</code></td><td>{n}</td><td>{}</td>\
                 <td>{se}</td></tr>",
                esc(label),
                esc(v["model"].as_str().unwrap_or("")),
                esc(&scores.join(", "))
            );
        }
    }
    html.push_str("</table>");
    if let Some(n) = fewest.filter(|&n| n < FEW_PROBLEMS) {
        let _ = write!(
            html,
            "<p class=\"warning\" id=\"few-problems\"><b>Few problems:</b> {n} in the smallest \
             evaluation, so one problem moves pass@1 by {:.3}; differences within about two \
             standard errors are noise. Evaluate on a larger benchmark before drawing \
             conclusions.</p>",
            if n > 0 { 1.0 / n as f64 } else { 1.0 }
        );
    }
    html
}

/// When and by what the report was made, and the round run it describes.
fn provenance(made_at: &str, by: &MadeBy, run: Option<&RunLine>, ranker: &RankerRef) -> String {
    let mut s = format!(
        "Made {} by rrtf {} (revision <code>{}</code>) from the ranking <code>{}</code>.",
        esc(made_at),
        esc(&by.version),
        esc(if by.revision.is_empty() {
            "unknown"
        } else {
            &by.revision
        }),
        esc(&ranker.hash[..ranker.hash.len().min(12)])
    );
    match run {
        Some(r) => {
            let _ = write!(
                s,
                " Latest round run: round {}, config hash <code>{}</code>, seed {}, revision \
                 <code>{}</code>, started {} ({}).",
                r.round,
                esc(&r.config_hash[..r.config_hash.len().min(12)]),
                r.seed.map_or("unset".into(), |v| v.to_string()),
                esc(r.revision.as_deref().unwrap_or("unknown")),
                esc(&r.started_at),
                esc(&r.status)
            );
        }
        None => s.push_str(" No `rrtf round` run is recorded (the stages ran one by one)."),
    }
    s
}

/// Evolved prompts per round and method: kept, and eliminated per rule.
fn evolution_section(lines: &[EvolutionLine]) -> String {
    if lines.is_empty() {
        return "<p>No evolved prompts (<code>rrtf evolve</code>).</p>".into();
    }
    let mut html = String::from(
        "<table><tr><th>round</th><th>method</th><th>kept</th><th>eliminated</th>\
         <th style=\"text-align:left\">by rule</th></tr>",
    );
    for l in lines {
        let rules: Vec<String> = l
            .eliminated
            .iter()
            .map(|(rule, n)| format!("{} {n}", esc(&rule.replace('_', " "))))
            .collect();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            l.round,
            esc(&l.method),
            l.kept,
            l.eliminated.values().sum::<i64>(),
            rules.join(", ")
        );
    }
    html.push_str("</table>");
    html
}

/// A few responses per outcome: the code judged and its first failure.
fn examples_section(examples: &[OutcomeExample]) -> String {
    if examples.is_empty() {
        return "<p>Nothing executed yet (<code>rrtf exec</code>).</p>".into();
    }
    let mut html = String::new();
    for e in examples {
        let _ = write!(
            html,
            "<details class=\"example\" data-outcome=\"{o}\"><summary><b>{o}</b>: response {} by \
             {} to <code>{}</code></summary><pre>{}</pre>{}</details>",
            e.response_id,
            esc(&e.model),
            esc(&e.prompt),
            esc(&e.code),
            e.first_failure
                .as_deref()
                .map_or(String::new(), |f| format!(
                    "<p>first failure: <code>{}</code></p>",
                    esc(f)
                )),
            o = esc(&e.outcome),
        );
    }
    html
}

/// The request ledger: requests, failures, tokens and cost per round, stage and endpoint.
fn ledger_section(lines: &[LedgerLine]) -> String {
    if lines.is_empty() {
        return "<p>No model requests recorded (imported data only).</p>".into();
    }
    let mut html = String::from(
        "<table><tr><th>round</th><th>stage</th><th>endpoint</th><th>requests</th><th>failed</th>\
         <th>prompt tokens</th><th>completion tokens</th><th>cost (USD)</th></tr>",
    );
    let mut total = 0.0;
    for l in lines {
        total += l.cost_usd;
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{:.4}</td></tr>",
            l.round,
            esc(&l.stage),
            esc(&l.teacher),
            l.requests,
            l.failed,
            l.prompt_tokens,
            l.completion_tokens,
            l.cost_usd
        );
    }
    let _ = write!(html, "</table><p>Total cost: ${total:.4}.</p>");
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
