//! The human text of `rrtf status`, of the stages' summaries (the request ledger, what
//! decontamination found; their JSON is the summaries themselves), of `rrtf exec doctor` and
//! of `rrtf import`, which the binary prints.

use std::collections::BTreeMap;

use rrtf_data::import::{PromptImportReport, ResponseImportReport, Skipped};
use rrtf_exec::doctor::Doctor;
use rrtf_store::{ContaminationLine, Status};
use serde_json::{Value, json};

use crate::overview::{LANGUAGES_TEXT_WIDTHS, ROUNDS_TEXT_WIDTHS, languages_table, rounds_table};

/// `rrtf status` for the project database `db` (as shown: a path, or a URL without its
/// password): its rounds table (the report's and the web
/// review's), models, stages, the latest ranker, the request ledger and decontamination.
pub fn status_text(db: &str, st: &Status) -> String {
    let mut out = format!("{db} (schema version {})\n", st.schema_version);
    // The same table as the report's and the web review's.
    out.push_str(&rounds_table(st, None, true).text(&ROUNDS_TEXT_WIDTHS));
    if let Some(t) = languages_table(st) {
        out.push_str("by language (kept prompts; pass rate = executions passed / run):\n");
        out.push_str(&t.text(&LANGUAGES_TEXT_WIDTHS));
    }
    out.push_str(&format!(
        "models: {} teachers, {} students; reviews: {}; training runs: {}\n",
        st.teachers, st.students, st.reviews, st.training_runs
    ));
    for (kind, what, leases) in [
        ("exec", "pair(s)", &st.workers),
        ("sample", "request(s)", &st.samplers),
    ] {
        for w in leases {
            out.push_str(&format!(
                "{kind} worker {}: {} {what} claimed, lease ends in {:.0} s{}\n",
                w.worker,
                w.claimed,
                (w.expires_ms - st.clock_ms).max(0) as f64 / 1000.0,
                if w.gone {
                    "; its process is gone (killed or crashed): the claims return to the queue \
                     when the lease ends, or at once when a worker starts on this machine"
                } else {
                    ""
                }
            ));
        }
    }
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
    out.push_str(&ledger_text(
        &serde_json::to_value(&st.requests).expect("ledger serialises"),
    ));
    out.push_str(&contamination_text(&st.contamination));
    out
}

/// Human lines for `LedgerLine`s as JSON (`Store::ledger_lines`).
pub fn ledger_text(lines: &Value) -> String {
    let mut out = String::new();
    for l in lines.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  round {} {} {}: {} requests ({} failed), tokens {} in / {} out, ${:.4}",
            l["round"],
            l["stage"].as_str().unwrap_or(""),
            l["teacher"].as_str().unwrap_or(""),
            l["requests"],
            l["failed"],
            l["prompt_tokens"],
            l["completion_tokens"],
            l["cost_usd"].as_f64().unwrap_or(0.0)
        ));
    }
    if out.is_empty() {
        out
    } else {
        format!("\nrequests (ledger):{out}")
    }
}

/// Human lines for a stage summary's `decontamination` object.
pub fn decontamination_text(v: &Value) -> String {
    if v.is_null() {
        return String::new();
    }
    let mut out = format!(
        "decontamination against {} problem(s) of {}: {} prompt(s) eliminated of {} checked",
        v["benchmarks"]["problems"],
        v["benchmarks"]["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        v["prompts"]["prompts_eliminated"],
        v["prompts"]["prompts_checked"],
    );
    if let Some(n) = v["responses"]["responses_eliminated"].as_u64() {
        out.push_str(&format!(", {n} response(s) eliminated"));
    }
    for e in v["prompts"]["examples"].as_array().into_iter().flatten() {
        out.push_str(&format!("\n  {}", e.as_str().unwrap_or("")));
    }
    out
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

/// `rrtf exec doctor`'s text: the sandbox's mode, its protections active and missing, the
/// toolchains, the compile cache and the self-test.
pub fn doctor_text(d: &Doctor) -> String {
    let p = &d.protections;
    let mut s = format!("sandbox mode: {}\n", p.mode().label());
    s += "active protections:\n";
    for x in p.active() {
        s += &format!("  + {x}\n");
    }
    let missing = p.missing();
    if !missing.is_empty() {
        s += "missing protections:\n";
        for x in missing {
            s += &format!("  - {x}\n");
        }
    }
    for x in p.limit_gaps() {
        s += &format!("limits: {x}\n");
    }
    s += "toolchains:\n";
    for (l, st) in &d.toolchains {
        match st {
            Ok(path) => s += &format!("  {l:<11} ok ({path})\n"),
            Err(e) => s += &format!("  {l:<11} MISSING: {e}\n"),
        }
    }
    match &d.compile_cache {
        Ok(dir) => {
            s += &format!(
                "compile cache: {dir} (builds by content hash; C++ precompiled \
                 headers, a javac class-data archive, a warm Go build cache)\n"
            )
        }
        Err(m) => s += &format!("compile cache: {m}\n"),
    }
    match &d.self_test {
        Ok(m) => s += &format!("self-test: ok, {m}\n"),
        Err(m) => s += &format!("self-test: FAILED, {m}\n"),
    }
    s
}

/// `rrtf exec doctor`'s JSON.
pub fn doctor_json(d: &Doctor) -> Value {
    let p = &d.protections;
    let tools: BTreeMap<_, _> = d
        .toolchains
        .iter()
        .map(|(l, st)| match st {
            Ok(path) => (*l, json!({"ok": true, "path": path})),
            Err(e) => (*l, json!({"ok": false, "error": e})),
        })
        .collect();
    json!({
        "mode": p.mode(), "protections": p, "active": p.active(), "missing": p.missing(),
        "limit_gaps": p.limit_gaps(),
        "toolchains": tools,
        "compile_cache": match &d.compile_cache { Ok(dir) => json!({"on": true, "dir": dir}), Err(m) => json!({"on": false, "detail": m}) },
        "self_test": match &d.self_test { Ok(m) => json!({"ok": true, "detail": m}), Err(m) => json!({"ok": false, "detail": m}) },
    })
}

/// `rrtf import prompts`' text.
pub fn prompts_imported(report: &PromptImportReport) -> String {
    let other = match report.conflicts.len() {
        0 => String::new(),
        n => format!(" ({n} of them under an id a prompt of other text holds: not imported)"),
    };
    format!(
        "{}: {} rows as {} (source `{}`): {} prompts added, {} already present{other}; \
         {} tests added, {} already present{}",
        report.file.display(),
        report.rows,
        report.format,
        report.source,
        report.inserted.prompts.inserted,
        report.inserted.prompts.existing,
        report.inserted.tests.inserted,
        report.inserted.tests.existing,
        skipped_text(&report.skipped)
    )
}

/// The warning for an import's id conflicts (None without any).
pub fn id_conflicts(report: &PromptImportReport) -> Option<String> {
    let first = report.conflicts.first()?;
    let stored = if first.stored.is_empty() {
        String::new()
    } else {
        format!(": stored {:?}, this file {:?}", first.stored, first.row)
    };
    Some(format!(
        "{} row(s) were not imported: their id is already a prompt's of other text (source \
         `{}`, id `{}`{stored}). A prompt's (source, id) is its key, and a stored prompt is \
         never rewritten: give these rows ids of their own, or import the file under another \
         --source",
        report.conflicts.len(),
        first.source,
        first.id
    ))
}

/// `rrtf import responses`' text.
pub fn responses_imported(report: &ResponseImportReport) -> String {
    let k = &report.completion_answers;
    format!(
        "{}: {} rows from model `{}`: {} responses added, {} already present; \
         answers to completion prompts: {} chat (code extracted), {} \
         continuations, {} with their code{}",
        report.file.display(),
        report.rows,
        report.model,
        report.inserted.inserted,
        report.inserted.existing,
        k.chat,
        k.completion,
        k.code_given,
        skipped_text(&report.skipped)
    )
}

/// Why an import added nothing (None when it added something): the file has no rows, every
/// row was invalid, or every row was there already. `added`/`present`: rows added and rows
/// already stored; `what`: "prompts" or "responses".
pub fn nothing_imported(
    file: &std::path::Path,
    rows: usize,
    added: u64,
    present: u64,
    skipped: &Skipped,
    what: &str,
) -> Option<String> {
    if added > 0 {
        return None;
    }
    let file = file.display();
    Some(if rows == 0 {
        format!("no {what} imported: {file} has no rows")
    } else if skipped.rows >= rows {
        format!(
            "no {what} imported: every one of the {rows} row(s) of {file} was invalid (the \
             reasons are listed above)"
        )
    } else if present > 0 {
        format!(
            "no {what} imported: all {present} of {file} were already imported (importing a \
             file again adds nothing)"
        )
    } else {
        format!("no {what} imported from the {rows} row(s) of {file}")
    })
}

/// Why an export wrote no row (None when it wrote some).
pub fn nothing_exported(
    rows: u64,
    prompts: usize,
    ranker: &str,
    pairs: Option<&str>,
    min_gap: Option<f64>,
) -> Option<String> {
    if rows > 0 {
        return None;
    }
    let ranker = &ranker[..ranker.len().min(12)];
    Some(if prompts == 0 {
        format!(
            "nothing exported: the ranking (ranker {ranker}) has no ranked prompts in the rounds \
             asked; run `rrtf rank`, or check --rounds"
        )
    } else {
        let all = if pairs == Some("all") {
            ""
        } else {
            "--pairs all, "
        };
        format!(
            "nothing exported: none of the {prompts} ranked prompt(s) has a pair under pairs = \
             {} and min_gap {}: their responses share one tier (same outcome, pass ratio and \
             role), or the score gaps are smaller; try {all}a lower --min-gap, or \
             --format rrtf/kto (every response)",
            pairs.unwrap_or("(none)"),
            min_gap.map_or("(none)".into(), |g| g.to_string())
        )
    })
}

/// The rows an import skipped, by reason, with examples.
fn skipped_text(s: &Skipped) -> String {
    if s.rows == 0 {
        return String::new();
    }
    let mut out = format!("\nskipped {} invalid row(s):", s.rows);
    for (reason, r) in &s.reasons {
        out.push_str(&format!(
            "\n  {} x {reason} (e.g. {})",
            r.count,
            r.locations.join(", ")
        ));
    }
    out
}
