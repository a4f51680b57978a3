//! HTML shared by `rrtf report` (one static file) and `rrtf review serve` (server-rendered
//! pages): escaping, the outcome colours, inline SVG plots and the project overview (the rounds
//! table and the report's plots). No JavaScript, no external assets: pages work offline.

use std::fmt::Write as _;

use anyhow::Result;
use rrtf_store::{ModelStats, Status, Store};

use super::review::histogram;

/// Escape text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub const OUTCOMES: [(&str, &str); 9] = [
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

/// What the report and the web index show about a project under one ranker.
pub struct Overview {
    pub status: Status,
    /// The ranker's hash; None when nothing is ranked yet.
    pub ranker: Option<String>,
    pub models: Vec<ModelStats>,
    pub scores: Vec<f64>,
}

impl Overview {
    /// Counts, per-model stats and scores under `ranker` (hash or prefix; default the latest).
    /// With no ranking at all and no ranker asked for, an overview with counts only.
    pub async fn load(store: &Store, ranker: Option<&str>) -> Result<Overview> {
        let status = store.status().await?;
        let ranker = match store.resolve_ranker(ranker).await {
            Ok(r) => Some(r.hash),
            Err(rrtf_store::StoreError::NoRankings) if ranker.is_none() => None,
            Err(e) => return Err(e.into()),
        };
        let (models, scores) = match &ranker {
            Some(h) => (store.model_stats(h).await?, store.scores(h).await?),
            None => (vec![], vec![]),
        };
        Ok(Overview {
            status,
            ranker,
            models,
            scores,
        })
    }

    /// One line of totals.
    pub fn summary(&self) -> String {
        let s = &self.status;
        format!(
            "ranker <code>{}</code> (latest unless chosen), {} prompts kept, {} dropped by filters, {} pairs, {} reviews.",
            self.ranker.as_deref().map_or("none yet", |h| &h[..12]),
            s.ranked_prompts,
            s.dropped_prompts,
            s.pairs,
            s.reviews
        )
    }

    /// Where each round stands, one row per round. `link` turns a round number into a URL.
    pub fn rounds_table(&self, link: Option<&dyn Fn(i64) -> String>) -> String {
        let mut table = String::from(
            "<table class=\"rounds\"><tr><th>round</th><th>prompts</th><th>eliminated</th><th>tests</th><th>responses</th><th>executions</th><th>ranked</th><th>pairs</th></tr>",
        );
        for r in &self.status.rounds {
            let round = match link {
                Some(f) => format!("<a href=\"{}\">{}</a>", esc(&f(r.round)), r.round),
                None => r.round.to_string(),
            };
            let _ = write!(
                table,
                "<tr><td>{round}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
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
        table
    }

    /// The report's plots: outcomes per model, score distribution, ranked prompts and pairs
    /// per round, each under an `<h2>`.
    pub fn plots(&self) -> String {
        let outcome_rows: Vec<_> = self
            .models
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
        let hist: Vec<(String, f64)> = histogram(&self.scores, 12)
            .into_iter()
            .map(|(lo, _, n)| (format!("≥{lo:.2}"), n as f64))
            .collect();
        let per_round = |f: fn(&rrtf_store::RoundStatus) -> i64| -> Vec<(String, f64)> {
            self.status
                .rounds
                .iter()
                .map(|r| (format!("round {}", r.round), f(r) as f64))
                .collect()
        };
        format!(
            r#"<h2 id="outcomes">Outcomes per model</h2>{outcomes}
<h2 id="scores">Score distribution ({n} responses)</h2>{hist}
<h2 id="ranked">Ranked prompts per round</h2>{ranked}
<h2 id="pairs">Pairs per round</h2>{pairs}
"#,
            outcomes = stacked_bars(&outcome_rows),
            n = self.scores.len(),
            hist = bars(&hist, "#1565c0"),
            ranked = bars(&per_round(|r| r.ranked_prompts), "#00897b"),
            pairs = bars(&per_round(|r| r.pairs), "#5e35b1"),
        )
    }
}
