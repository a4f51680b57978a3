//! A sweep's comparison page: its table, the metric per variant as bars, and the variants'
//! training curves overlaid.

use std::path::Path;

use rrtf_store::TrainingCurves;

use crate::html::esc;
use crate::plots::{Series, curve, hbar_chart, line_chart};
use crate::table::Table;

/// What the page shows.
pub struct SweepPage<'a> {
    pub name: &'a str,
    /// The base round config and the sweep file.
    pub base: &'a Path,
    pub path: &'a Path,
    pub revision: &'a str,
    /// The metric the variants are sorted by.
    pub metric: &'a str,
    pub higher_is_better: bool,
    /// The comparison, in the variants' order.
    pub table: &'a Table,
    pub variants: Vec<PageVariant<'a>>,
}

/// One variant's bars and curves.
pub struct PageVariant<'a> {
    pub id: &'a str,
    pub metric: Option<f64>,
    /// Held-out preference accuracy at the last evaluation.
    pub preference_accuracy: Option<f64>,
    /// Its training run, when one is stored.
    pub curves: Option<&'a TrainingCurves>,
}

const PALETTE: [&str; 10] = [
    "#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f",
    "#4e342e", "#37474f",
];

/// One static page: the table, the metric per variant as bars, loss curves overlaid.
pub fn page(p: &SweepPage) -> String {
    let bars = |value: fn(&PageVariant) -> Option<f64>| -> Vec<(String, Option<f64>)> {
        p.variants
            .iter()
            .map(|v| (v.id.to_owned(), value(v)))
            .collect()
    };
    let mut plots = hbar_chart(
        &format!("{} per variant", p.metric),
        &bars(|v| v.metric),
        "#1565c0",
    );
    if p.metric != "eval_preference_accuracy" {
        plots += &hbar_chart(
            "held-out preference accuracy per variant",
            &bars(|v| v.preference_accuracy),
            "#2e7d32",
        );
    }
    // A variant keeps its colour in every chart.
    let overlay = |split: &str, name: &str| -> Vec<Series<'static>> {
        p.variants
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let c = v.curves?;
                Some((
                    v.id.to_owned(),
                    PALETTE[i % PALETTE.len()],
                    curve(c, split, name),
                ))
            })
            .collect()
    };
    plots += &line_chart("training loss per step", "step", &overlay("train", "loss"));
    plots += &line_chart(
        "held-out loss per evaluation",
        "step",
        &overlay("eval", "loss"),
    );
    plots += &line_chart(
        "held-out preference accuracy per evaluation",
        "step",
        &overlay("eval", "preference_accuracy"),
    );
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rrtf sweep {name}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:90%}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
h2{{margin-top:1.6em}}code{{font-size:90%}}</style></head><body>
<h1>rrtf sweep <code>{name}</code></h1>
<p>{n} variants of <code>{base}</code> (sweep <code>{path}</code>, revision <code>{rev}</code>), sorted by
<b>{metric}</b> ({dir}).</p>
<h2 id="table">Comparison</h2>{table}
<h2 id="plots">Plots</h2>{plots}
</body></html>
"#,
        name = esc(p.name),
        n = p.variants.len(),
        base = esc(&p.base.display().to_string()),
        path = esc(&p.path.display().to_string()),
        rev = esc(p.revision),
        metric = esc(p.metric),
        dir = if p.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        },
        table = p.table.html(),
    )
}
