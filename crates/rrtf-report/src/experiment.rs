//! An experiment's page (`rrtf experiment run` writes it as `report.html`): the table arm x
//! round (pass@1, mean ± std over seeds), pass@1 per round as a plot (round 0 is the base), each
//! arm's training curves, and benchmark problems the method turned from wrong to right.
//!
//! Not here: the figures themselves (`rrtf_pipeline::experiment::results`).

use std::fmt::Write as _;

use crate::html::esc;
use crate::plots::{Series, line_chart};
use crate::table::Table;

const PALETTE: [&str; 10] = [
    "#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f",
    "#4e342e", "#37474f",
];

/// A problem the base failed and the method's model passed.
pub struct PageExample<'a> {
    pub round: u32,
    pub task_id: &'a str,
    pub prompt: &'a str,
    /// The base's completion and its outcome, then the method's (which passes).
    pub before: &'a str,
    pub before_outcome: &'a str,
    pub after: &'a str,
}

/// A chart line: its label and (x, y) points.
pub type Line = (String, Vec<(f64, f64)>);

/// What the page shows.
pub struct ExperimentPage<'a> {
    pub name: &'a str,
    pub profile: &'a str,
    pub seeds: &'a [u64],
    pub revision: &'a str,
    pub base_pass_at_1: Option<f64>,
    /// Arm x round, built by the caller.
    pub table: &'a Table,
    /// Per arm: (round, mean pass@1), round 0 the base.
    pub per_round: &'a [Line],
    /// Per arm: (label, training loss (step, value)) per round.
    pub curves: &'a [(String, Vec<Line>)],
    /// The arm the examples follow, and per round (round, wrong to right, right to wrong).
    pub method: &'a str,
    pub changes: &'a [(u32, usize, usize)],
    pub examples: &'a [PageExample<'a>],
}

/// One static page (no script, no external asset; every string escaped).
pub fn page(p: &ExperimentPage) -> String {
    let series: Vec<Series> = p
        .per_round
        .iter()
        .enumerate()
        .map(|(i, (arm, pts))| (arm.clone(), PALETTE[i % PALETTE.len()], pts.clone()))
        .collect();
    let mut plots = line_chart(
        "greedy pass@1 per round (mean over seeds; round 0 is the base)",
        "round",
        &series,
    );
    let mut curves = String::new();
    for (arm, lines) in p.curves {
        let series: Vec<Series> = lines
            .iter()
            .enumerate()
            .map(|(i, (label, pts))| (label.clone(), PALETTE[i % PALETTE.len()], pts.clone()))
            .collect();
        curves += &line_chart(&format!("{arm}: training loss per step"), "step", &series);
    }
    plots += &curves;
    let mut changes = String::new();
    for (round, up, down) in p.changes {
        let _ = write!(
            changes,
            "<li>round {round}: {up} problem(s) wrong → right, {down} right → wrong</li>"
        );
    }
    let mut examples = String::new();
    for e in p.examples {
        let _ = write!(
            examples,
            "<h3>round {} · <code>{}</code></h3><pre class=\"prompt\">{}</pre>\
             <p>base ({}):</p><pre class=\"bad\">{}</pre>\
             <p>{} (pass):</p><pre class=\"good\">{}</pre>",
            e.round,
            esc(e.task_id),
            esc(e.prompt),
            esc(e.before_outcome),
            esc(e.before),
            esc(p.method),
            esc(e.after)
        );
    }
    if examples.is_empty() {
        examples = "<p>none: the method passed no problem the base failed.</p>".into();
    }
    let seeds: Vec<String> = p.seeds.iter().map(u64::to_string).collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rrtf experiment {name}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:90%}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
pre{{background:#f6f6f6;padding:6px;font-size:85%;white-space:pre-wrap}}pre.bad{{border-left:4px solid #c62828}}
pre.good{{border-left:4px solid #2e7d32}}h2{{margin-top:1.6em}}</style></head><body>
<h1>rrtf experiment <code>{name}</code></h1>
<p>Profile <b>{profile}</b>, seed(s) {seeds}, revision <code>{rev}</code>. Base greedy pass@1:
<b>{base}</b>.</p>
<h2 id="table">Greedy pass@1 on the held-out benchmark (mean ± std over seeds)</h2>{table}
<h2 id="plots">Plots</h2>{plots}
<h2 id="examples">Where <code>{method}</code> turned a wrong answer right (first seed)</h2>
<ul>{changes}</ul>{examples}
</body></html>
"#,
        name = esc(p.name),
        profile = esc(p.profile),
        seeds = esc(&seeds.join(", ")),
        rev = esc(p.revision),
        base = p.base_pass_at_1.map_or("n/a".into(), |v| format!("{v:.4}")),
        table = p.table.html(),
        method = esc(p.method),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_and_shows_every_part() {
        let mut table = Table::new(["arm", "round 1 pass@1"]);
        table.push(["rrtf", "0.500 ± 0.100"]);
        let examples = [PageExample {
            round: 1,
            task_id: "t/<1>",
            prompt: "def f(x):\n    \"\"\"x < 3\"\"\"\n",
            before: "    return x <= 3",
            before_outcome: "partial",
            after: "    return x < 3",
        }];
        let html = page(&ExperimentPage {
            name: "w",
            profile: "quick",
            seeds: &[18, 19],
            revision: "abc",
            base_pass_at_1: Some(0.25),
            table: &table,
            per_round: &[("rrtf".into(), vec![(0.0, 0.25), (1.0, 0.5)])],
            curves: &[(
                "rrtf".into(),
                vec![("round 1 (seed 18)".into(), vec![(1.0, 3.0), (2.0, 2.0)])],
            )],
            method: "rrtf",
            changes: &[(1, 4, 1)],
            examples: &examples,
        });
        assert!(html.contains("seed(s) 18, 19"), "{html}");
        assert!(html.contains("0.500 ± 0.100"));
        assert!(html.contains("rrtf: training loss per step"));
        assert!(html.contains("round 1: 4 problem(s) wrong → right, 1 right → wrong"));
        assert!(html.contains("t/&lt;1&gt;") && html.contains("x &lt; 3"));
        assert!(!html.contains("<script"));
    }
}
