//! What `rrtf sample` records: its summary per endpoint and overall (JSON); and the check
//! that a local model's context holds `max_tokens`.

use std::collections::BTreeMap;

use rrtf_config::{Endpoint, RoundConfig};
use rrtf_llm::sampler::LaneReport;
use rrtf_llm::{Budget, TeacherStats};
use serde_json::json;

use crate::{PipelineError, Result};

/// Share of an endpoint's responses ended by length above which `rrtf sample` warns.
pub const LENGTH_WARNING: f64 = 0.05;

/// A `local_model` endpoint's `max_tokens` must leave room for a prompt in the checkpoint's
/// context: `rrtf serve` refuses a request whose prompt and `max_tokens` exceed it, so every
/// request would fail.
pub(crate) fn check_context(
    path: &std::path::Path,
    config: &RoundConfig,
    eps: &[Endpoint],
) -> Result<()> {
    for e in eps {
        let Some(dir) = &e.local_model else { continue };
        // A missing or unreadable config.json is reported when the model is served.
        let Ok(text) = std::fs::read_to_string(dir.join("config.json")) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let context = ["n_positions", "max_position_embeddings", "n_ctx"]
            .iter()
            .find_map(|k| v[k].as_u64());
        if let Some(n) = context
            && u64::from(e.max_tokens) >= n
        {
            let which = if config.student.as_ref().is_some_and(|s| s.name == e.name) {
                "[student]".to_owned()
            } else {
                format!("[[teachers]] `{}`", e.name)
            };
            return Err(PipelineError::Invalid(format!(
                "{}: {which} max_tokens = {} leaves no room for a prompt in the context of \
                 {} ({n} tokens): set max_tokens below it (e.g. {})",
                path.display(),
                e.max_tokens,
                dir.display(),
                n / 4
            )));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn summary_json(
    eps: &[Endpoint],
    counts: &[(u64, u64)],
    reports: &BTreeMap<String, LaneReport>,
    stats: &BTreeMap<String, TeacherStats>,
    budget: &Budget,
    spent_before: f64,
    elapsed: f64,
    run_id: i64,
) -> serde_json::Value {
    let empty = (LaneReport::default(), TeacherStats::default());
    let endpoints: Vec<_> = eps
        .iter()
        .zip(counts)
        .map(|(e, (planned, stored_before))| {
            let r = reports.get(&e.name).unwrap_or(&empty.0);
            let s = stats.get(&e.name).unwrap_or(&empty.1);
            json!({
                "name": e.name, "planned": planned, "stored_before": stored_before,
                "sent": r.sent, "stored": r.stored, "failed": r.failed, "unsent": r.unsent,
                "stopped": r.stopped, "first_error": r.first_error,
                "retries": s.retries, "failures": s.failed, "truncated": s.truncated,
                "prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens,
                "cost_usd": s.cost_usd, "mean_latency_ms": s.mean_latency_ms(),
            })
        })
        .collect();
    let stored: u64 = reports.values().map(|r| r.stored).sum();
    json!({
        "run": run_id,
        "stored": stored,
        "seconds": elapsed,
        "rate_per_s": if elapsed > 0.0 { stored as f64 / elapsed } else { 0.0 },
        "spent_usd": budget.spent() - spent_before,
        "round_spent_usd": budget.spent(),
        "budget_usd": budget.cap(),
        "endpoints": endpoints,
    })
}
