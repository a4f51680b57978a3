//! `rrtf round`: one RRTF round end to end (`rrtf_pipeline::round`), resumable; this module
//! parses the arguments and prints the summary.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use std::collections::BTreeMap;

use rrtf_pipeline::round::{RoundOptions, RoundSummary, Stage, StageResult, StageStatus};
use serde_json::Value;

use super::Ctx;

/// `--from`/`--until`: a stage name, its possible values listed in `--help`.
pub fn stage_parser() -> impl TypedValueParser<Value = Stage> {
    PossibleValuesParser::new(Stage::ALL.map(Stage::name))
        .map(|s| s.parse::<Stage>().expect("a possible value"))
}

#[derive(Debug, Args)]
pub struct RoundArgs {
    /// The round's configuration (see configs/round.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Start here: earlier stages are not run, this one and later ones run even if done.
    #[arg(long, value_parser = stage_parser())]
    pub from: Option<Stage>,
    /// Stop after this stage.
    #[arg(long, value_parser = stage_parser())]
    pub until: Option<Stage>,
    /// Where the HTML report goes (default: report-r<N>.html beside the database).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, a: RoundArgs) -> Result<()> {
    let opts = RoundOptions {
        config: a.config,
        from: a.from,
        until: a.until,
        report: a.report,
    };
    let run = rrtf_pipeline::round::run(&ctx.rrtf_stoppable()?, &opts)
        .await
        .map_err(|e| super::stopped_or(e, "rrtf round"))?;
    let summary = &run.summary;
    ctx.emit(
        || human(summary),
        || serde_json::to_value(summary).expect("serializable"),
    );
    match run.failure {
        Some(e) => Err(super::stopped_or(e, "rrtf round")),
        None => Ok(()),
    }
}

fn human(summary: &RoundSummary) -> String {
    let hash = &summary.config_hash;
    let mut s = format!(
        "round {} ({}s, config {}):\n",
        summary.round,
        summary.seconds.round() as i64,
        &hash[..hash.len().min(12)]
    );
    for r in &summary.stages {
        s += &format!(
            "  {:<12} {:<11} {:>7.1}s  {}\n",
            r.stage.name(),
            r.status.name(),
            r.seconds,
            stage_detail(r)
        );
    }
    for (label, ev) in summary.evaluation.iter().flat_map(|e| e.models()) {
        let scores: Vec<String> = ev
            .pass_at_k
            .iter()
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect();
        s += &format!("  {label} model: {}\n", scores.join(", "));
    }
    if let Some(n) = &summary.next_config {
        s += &format!("next round: rrtf round --config {}\n", n.display());
    }
    if let Some(r) = &summary.report {
        s += &format!("report: {}\n", r.display());
    }
    s
}

/// What a stage did, in one line, from its JSON summary: counts, not just "ran" (for a skipped
/// stage, what it did when it ran; for a disabled or failed one, why).
fn stage_detail(r: &StageResult) -> String {
    let d = &r.detail;
    if let Some(text) = d.as_str() {
        // Disabled (the reason) or failed (the error: its first line; the whole error follows).
        let first = text.lines().next().unwrap_or("");
        return match first.char_indices().nth(100) {
            Some((i, _)) => format!("{}...", &first[..i]),
            None => first.to_owned(),
        };
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let line = match r.stage {
        Stage::Evolve => {
            let steps = d["steps"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            let (asked, kept, before) = steps.iter().fold((0, 0, 0), |(a, k, b), st| {
                (
                    a + n(&st["asked"]),
                    k + n(&st["kept"]),
                    b + n(&st["already_stored"]),
                )
            });
            let mut dropped: BTreeMap<String, u64> = BTreeMap::new();
            for st in steps {
                for (reason, count) in st["dropped"].as_object().into_iter().flatten() {
                    *dropped.entry(reason.replace('_', " ")).or_default() += n(count);
                }
            }
            let eliminated: u64 = dropped.values().sum();
            let mut line =
                format!("{asked} evolution(s) asked, {kept} kept, {eliminated} eliminated");
            if eliminated > 0 {
                line += &format!(" ({})", counts(&dropped));
            }
            if before > 0 {
                line += &format!("; {before} done before");
            }
            line
        }
        Stage::SynthTests => {
            let v = &d["validation"];
            format!(
                "{} prompt(s) without tests: {} test program(s) stored, {} validated, {} valid{}",
                n(&d["prompts_without_tests"]),
                n(&d["stored"]),
                n(&v["validated"]),
                n(&v["valid"]),
                match n(&d["failed"]) {
                    0 => String::new(),
                    f => format!(", {f} request(s) failed"),
                }
            )
        }
        Stage::Sample => d["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let mut part = format!(
                    "{}: {} sent, {} stored before",
                    e["name"].as_str().unwrap_or("?"),
                    n(&e["sent"]),
                    n(&e["stored_before"])
                );
                if n(&e["failed"]) > 0 {
                    part += &format!(", {} failed", n(&e["failed"]));
                }
                part
            })
            .collect::<Vec<_>>()
            .join("; "),
        Stage::Exec => {
            let mut line = format!("{} (response, test) pair(s) executed", n(&d["executed"]));
            let outcomes: BTreeMap<String, u64> = d["outcomes"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.replace('_', " "), n(v)))
                .collect();
            if !outcomes.is_empty() {
                line += &format!(" ({})", counts(&outcomes));
            }
            line
        }
        Stage::Rank => format!(
            "{} prompt(s) ranked ({} kept), {} response(s), {} pair(s)",
            n(&d["prompts"]),
            n(&d["kept"]),
            n(&d["responses"]),
            n(&d["pairs"])
        ),
        Stage::Train => {
            let mut line = format!(
                "{} step(s) ({}), last loss {}",
                n(&d["steps"]),
                d["objective"].as_str().unwrap_or("?"),
                fmt4(&d["last_step"]["loss"])
            );
            if d["eval"].is_object() {
                line += &format!(
                    ", held-out loss {}, preference accuracy {}",
                    fmt4(&d["eval"]["loss"]),
                    fmt4(&d["eval"]["preference_accuracy"])
                );
            }
            if let Some(from) = d["resumed_from"].as_str() {
                line += &format!(", resumed from {from}");
            }
            line
        }
        Stage::Evaluate => ["base", "trained"]
            .iter()
            .filter(|m| d[**m].is_object())
            .map(|m| format!("{m} pass@1 {}", fmt4(&d[*m]["pass_at_k"]["pass@1"])))
            .collect::<Vec<_>>()
            .join(", "),
        Stage::Register => format!(
            "next student {} ({})",
            d["student"].as_str().unwrap_or("?"),
            d["model_dir"].as_str().unwrap_or("?")
        ),
        Stage::Report => d["out"].as_str().unwrap_or("").to_owned(),
    };
    match r.status {
        StageStatus::Skipped => format!("(when it ran) {line}"),
        _ => line,
    }
}

/// `reason n, reason n` in the map's order.
fn counts(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number with 4 decimals, or `n/a`.
fn fmt4(v: &Value) -> String {
    v.as_f64().map_or("n/a".into(), |x| format!("{x:.4}"))
}
