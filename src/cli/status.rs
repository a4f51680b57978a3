//! `rrtf status`: counts per round and stage, the request ledger, and what decontamination
//! removed or marked.

use anyhow::Result;
use rrtf_report::overview::{ROUNDS_TEXT_WIDTHS, rounds_table};
use rrtf_store::ContaminationLine;

use super::Ctx;

pub async fn status(ctx: &Ctx) -> Result<()> {
    let store = ctx.store().await?;
    let st = store.status().await?;
    store.close().await;
    ctx.emit(
        || {
            let mut out = format!(
                "{} (schema version {})\n",
                ctx.db.display(),
                st.schema_version
            );
            // The same table as the report's and the web review's.
            out.push_str(&rounds_table(&st, None, true).text(&ROUNDS_TEXT_WIDTHS));
            out.push_str(&format!(
                "models: {} teachers, {} students; reviews: {}; training runs: {}\n",
                st.teachers, st.students, st.reviews, st.training_runs
            ));
            for s in &st.stages {
                out.push_str(&format!(
                    "stage {:<8} {} run(s); last: round {}, {} (started {}{})\n",
                    s.stage,
                    s.runs,
                    s.last_round,
                    s.last_status,
                    s.last_started_at,
                    s.last_finished_at
                        .as_deref()
                        .map_or(String::new(), |f| format!(", finished {f}"))
                ));
            }
            out.push_str(&match &st.latest_ranker {
                Some(h) => format!(
                    "latest ranker: {} ({} prompts dropped by its filters)",
                    &h[..h.len().min(12)],
                    st.dropped_prompts
                ),
                None => "not ranked yet".to_owned(),
            });
            out.push_str(&super::ledger::ledger_text(
                &serde_json::to_value(&st.requests).expect("ledger serialises"),
            ));
            out.push_str(&contamination_text(&st.contamination));
            out
        },
        || serde_json::to_value(&st).expect("status serialises"),
    );
    Ok(())
}

/// Decontamination's findings, per item, action, method and benchmark file.
fn contamination_text(lines: &[ContaminationLine]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("\ndecontamination:");
    for l in lines {
        out.push_str(&format!(
            "\n  {} {} {}(s) ({}, {})",
            l.action, l.count, l.item, l.method, l.benchmark
        ));
    }
    out.push_str("\n  (rrtf --json status lists the latest findings with their reasons)");
    out
}
