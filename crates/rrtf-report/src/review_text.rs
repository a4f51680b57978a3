//! The review's plain-text views, as `rrtf review list | show | stats` print them: the ranked
//! prompts with their status, one prompt with its tests, ranked responses and reviews, and the
//! per-model and outcome statistics with a score histogram. The web review shows the same data
//! as pages ([`crate::web`]).
//!
//! Not here: reading the store or filtering (the caller), terminal escaping (the binary's
//! `term::clean`).

use std::collections::BTreeMap;

use rrtf_store::{ModelStats, PromptDetail, PromptSummary};

pub use rrtf_data::review::review_status;

/// `s` cut to `n` characters, the last one an ellipsis.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// The first `n` lines of `s` and how many more there are (all of it when `full`).
fn first_lines(s: &str, n: usize, full: bool) -> String {
    let lines: Vec<&str> = s.lines().collect();
    if full || lines.len() <= n {
        return s.trim_end().to_owned();
    }
    format!(
        "{}\n… ({} more lines; --full shows all)",
        lines[..n].join("\n"),
        lines.len() - n
    )
}

/// `shown` of `total` ranked prompts under `ranker` (its hash), one line each.
pub fn prompt_list(shown: &[PromptSummary], total: usize, ranker: &str) -> String {
    let mut out = format!(
        "{:>7}  {:<22} {:>5} {:>4}  {:>6} {:>6}  {:<8} {}\n",
        "prompt", "source id", "round", "resp", "best", "worst", "status", "outcomes"
    );
    for p in shown {
        let mix: Vec<String> = p.outcomes.iter().map(|(o, n)| format!("{o}:{n}")).collect();
        let status = if p.reviews > 0 {
            format!("{}*", review_status(p))
        } else {
            review_status(p).to_owned()
        };
        out.push_str(&format!(
            "{:>7}  {:<22} {:>5} {:>4}  {:>6.3} {:>6.3}  {:<8} {}\n",
            p.prompt_id,
            truncate(&p.source_id, 22),
            p.round,
            p.responses,
            p.best,
            p.worst,
            status,
            mix.join(" ")
        ));
    }
    out.push_str(&format!(
        "{} of {total} prompts shown (ranker {}; * = reviewed)",
        shown.len(),
        &ranker[..12]
    ));
    out
}

/// One prompt: its text, tests, the ranking, each response in ranked order and the reviews
/// with `effective` (the order after them). Long texts are cut to their first lines unless
/// `full`.
pub fn prompt_detail(d: &PromptDetail, effective: &[i64], full: bool) -> String {
    let p = &d.prompt;
    let mut out = format!(
        "prompt {} ({} {}, round {}, {}, {})\n",
        p.prompt_id, p.source, p.source_id, p.round, p.kind, p.language
    );
    if let Some(parent) = p.parent_id {
        out.push_str(&format!(
            "evolved from prompt {parent} by {}\n",
            p.evolution_method.as_deref().unwrap_or("?")
        ));
    }
    out.push_str(&format!("{}\n\n", first_lines(&p.text, 12, full)));
    for t in &d.tests {
        out.push_str(&format!(
            "test {} ({}, {}{}):\n{}\n\n",
            t.id,
            t.origin,
            t.validation,
            t.validation_detail
                .as_deref()
                .map_or(String::new(), |d| format!(": {d}")),
            first_lines(&t.code, 8, full)
        ));
    }
    match (&d.ranking_status, &d.drop_reason) {
        (Some(_), Some(reason)) => out.push_str(&format!("DROPPED by the ranker: {reason}\n")),
        (Some(s), None) => out.push_str(&format!("ranking: {s}\n")),
        _ => out.push_str("not ranked\n"),
    }
    for r in &d.responses {
        let pos = r.position.map_or("-".to_owned(), |p| format!("#{p}"));
        out.push_str(&format!(
            "\n{pos} response {} — {} ({}{}), T={}, sample {}: {} {}/{}, score {}\n",
            r.response_id,
            r.model,
            r.role,
            checkpoint(r.endpoint.as_deref()),
            r.temperature.map_or("-".into(), |t| format!("{t}")),
            r.sample_index,
            r.outcome.map_or("not executed", |o| o.as_str()),
            r.tests_passed.unwrap_or(0),
            r.tests_total.unwrap_or(0),
            r.score.map_or("-".into(), |s| format!("{s:.4}")),
        ));
        if let Some(c) = &r.components_json {
            out.push_str(&format!("  components: {c}\n"));
        }
        if let Some(f) = &r.first_failure {
            out.push_str(&format!("  first failure: {}\n", first_lines(f, 3, full)));
        }
        let text = r.code.as_deref().unwrap_or(&r.raw_text);
        for line in first_lines(text, 10, full).lines() {
            out.push_str(&format!("  | {line}\n"));
        }
    }
    if !d.reviews.is_empty() {
        out.push_str("\nreviews:\n");
        for v in &d.reviews {
            out.push_str(&format!(
                "  {} {} {}{} by {}{}\n",
                v.id,
                v.created_at,
                v.action,
                v.response_id
                    .map_or(String::new(), |r| format!(" response {r}")),
                v.author,
                v.reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {r}"))
            ));
        }
        out.push_str(&format!("effective order after reviews: {effective:?}\n"));
    }
    out
}

/// Per model (responses, pass rate, mean score), the outcomes' counts and the score histogram
/// (`(lo, hi, count)` bins) under `ranker` (its hash), with bars.
pub fn review_stats(
    ranker: &str,
    models: &[ModelStats],
    outcomes: &BTreeMap<String, i64>,
    hist: &[(f64, f64, u64)],
) -> String {
    let mut out = format!(
        "ranker {}\n{:<24} {:<8} {:>9} {:>9} {:>10}\n",
        &ranker[..12],
        "model",
        "role",
        "responses",
        "pass rate",
        "mean score"
    );
    for m in models {
        out.push_str(&format!(
            "{:<24} {:<8} {:>9} {:>8.1}% {:>10.3}\n",
            truncate(&m.model, 24),
            m.role,
            m.responses,
            100.0 * m.pass_rate,
            m.mean_score
        ));
    }
    out.push_str("\noutcomes:\n");
    let total: i64 = outcomes.values().sum();
    for (o, n) in outcomes {
        let bar = "#".repeat(((*n as f64 / total.max(1) as f64) * 40.0).round() as usize);
        out.push_str(&format!("  {o:<14} {n:>8} {bar}\n"));
    }
    out.push_str("\nscores:\n");
    let peak = hist.iter().map(|b| b.2).max().unwrap_or(1).max(1);
    for (i, (lo, hi, n)) in hist.iter().enumerate() {
        let bar = "#".repeat(((*n as f64 / peak as f64) * 40.0).round() as usize);
        // The last bin holds the largest score: closed on the right.
        let close = if i + 1 == hist.len() { ']' } else { ')' };
        out.push_str(&format!("  [{lo:>6.2}, {hi:>6.2}{close} {n:>8} {bar}\n"));
    }
    out
}

/// `, from DIR` for a response a local checkpoint gave (a round's student: which model it
/// was, not only the name the round gave it), else nothing.
pub fn checkpoint(endpoint: Option<&str>) -> String {
    match endpoint.and_then(|e| e.strip_prefix("local:")) {
        Some(dir) => format!(", from {dir}"),
        None => String::new(),
    }
}
