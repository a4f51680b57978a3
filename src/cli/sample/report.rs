//! `rrtf sample`'s human text per endpoint and overall (the JSON summary is
//! `rrtf_pipeline::sample`'s).

use std::collections::{BTreeMap, HashMap};

use rrtf_config::Endpoint;
use rrtf_llm::sampler::{LaneReport, Stopped};
use rrtf_llm::{Budget, TeacherStats};

pub(super) fn human(
    eps: &[Endpoint],
    counts: &[(u64, u64)],
    reports: &BTreeMap<String, LaneReport>,
    stats: &BTreeMap<String, TeacherStats>,
    budget: &Budget,
    elapsed: f64,
) -> String {
    let by_name: HashMap<&str, (&LaneReport, Option<&TeacherStats>)> = reports
        .iter()
        .map(|(n, r)| (n.as_str(), (r, stats.get(n))))
        .collect();
    let mut out = String::new();
    for (e, (planned, before)) in eps.iter().zip(counts) {
        let Some((r, s)) = by_name.get(e.name.as_str()) else {
            continue;
        };
        let s = s.cloned().unwrap_or_default();
        out.push_str(&format!(
            "{}: {planned} planned, {before} already stored, {} stored now, {} failed, {} unsent; \
             {} retries, {} truncated, tokens {} in / {} out, ${:.4}, mean latency {} ms\n",
            e.name,
            r.stored,
            r.failed,
            r.unsent,
            s.retries,
            s.truncated,
            s.prompt_tokens,
            s.completion_tokens,
            s.cost_usd,
            s.mean_latency_ms().map_or("-".into(), |m| m.to_string()),
        ));
        match &r.stopped {
            Some(Stopped::Budget) => out.push_str("  stopped: budget reached\n"),
            Some(Stopped::Interrupted) => out.push_str("  stopped: interrupted\n"),
            Some(Stopped::Endpoint(m)) => out.push_str(&format!("  stopped: {m}\n")),
            None => {}
        }
        if let Some(err) = &r.first_error {
            out.push_str(&format!("  first failure: {err}\n"));
        }
    }
    out.push_str(&format!(
        "round spend ${:.4}{} in {elapsed:.1} s",
        budget.spent(),
        budget
            .cap()
            .map_or(String::new(), |c| format!(" of ${c:.2}")),
    ));
    out
}
