//! Decontamination: the `rrtf decontaminate` command, the import's marking of benchmark files
//! and the summaries' text. The benchmark set of a round and the screens every stage runs with
//! it are `rrtf_pipeline::decontam`'s:
//!
//! - [`screen_prompts`]: every kept prompt (seeds, imported, evolved), its reference solution
//!   and its tests (with their reference solutions); a leak eliminates the prompt. `rrtf
//!   evolve` runs it before evolving, `rrtf synth-tests` after storing tests, `rrtf sample`
//!   before sampling.
//! - [`Benchmarks::check_answer`]: a response that reproduces a canonical solution; `rrtf
//!   sample` eliminates such answers as it stores them, `rrtf decontaminate` screens the
//!   stored ones ([`screen_responses`]).
//!
//! What was found goes to the `contamination` table (with the prompt or response eliminated
//! in the same transaction), listed by `rrtf status` and the report. Every benchmark file used
//! is registered (`benchmarks`), so `rrtf import prompts` can tell when it is given one.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use rrtf_config::{DEFAULT_SIMILARITY, RoundConfig};
pub use rrtf_pipeline::decontam::{Benchmarks, finding, screen_prompts, screen_responses};
use rrtf_store::{Contamination, ContaminationAction, ScreenPrompt, Store};
use serde_json::{Value, json};

use super::{BadInput, Ctx, REVISION};

#[derive(Debug, Args)]
pub struct DecontaminateArgs {
    /// A round config: its decontamination set (`[round] benchmark` and
    /// `[decontamination] benchmarks`), n-gram and similarity.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A benchmark file (JSONL / JSON, .gz too). Repeatable; added to the config's set.
    #[arg(long = "benchmark", value_name = "FILE")]
    pub benchmarks: Vec<PathBuf>,
    /// n of the n-gram overlap (default: the config's, else 13).
    #[arg(long)]
    pub ngram: Option<u32>,
    /// Word-set Jaccard similarity with a benchmark prompt that makes a paraphrase (default:
    /// the config's, else the documented default).
    #[arg(long)]
    pub similarity: Option<f64>,
    /// Only the responses of this round (default: every round).
    #[arg(long)]
    pub round: Option<i64>,
}

/// Human lines for a stage summary's `decontamination` object.
pub fn summary_text(v: &Value) -> String {
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

/// `rrtf decontaminate`: screen every kept prompt and stored response on demand.
pub async fn run(ctx: &Ctx, a: DecontaminateArgs) -> Result<()> {
    let config = a.config.as_deref().map(RoundConfig::load).transpose()?;
    let mut files = config
        .as_ref()
        .map(RoundConfig::decontamination_set)
        .unwrap_or_default();
    for b in &a.benchmarks {
        if !files.contains(b) {
            files.push(b.clone());
        }
    }
    if files.is_empty() {
        return Err(BadInput(
            "no benchmark to decontaminate against: pass --benchmark FILE, or --config with a \
             [round] benchmark or [decontamination] benchmarks"
                .into(),
        )
        .into());
    }
    let d = config.as_ref().map(|c| &c.decontamination);
    let ngram = a.ngram.or(d.map(|d| d.ngram)).unwrap_or(13);
    let similarity = a
        .similarity
        .or(d.map(|d| d.similarity))
        .unwrap_or(DEFAULT_SIMILARITY);
    if ngram == 0 || !(similarity > 0.0 && similarity <= 1.0) {
        return Err(BadInput(format!(
            "--ngram {ngram} --similarity {similarity}: ngram must be at least 1 and \
             similarity in (0, 1]"
        ))
        .into());
    }
    let b = Benchmarks::load(&files, ngram, similarity)?.expect("files given");
    let store = ctx.store().await?;
    let snapshot = config.as_ref().map_or_else(
        || json!({ "benchmarks": files, "ngram": ngram, "similarity": similarity }).to_string(),
        RoundConfig::snapshot_json,
    );
    let run = store
        .begin_run(&rrtf_store::NewRun {
            round: config.as_ref().map_or(0, |c| c.round.number),
            stage: "decontaminate".into(),
            config_hash: rrtf_store::sha256_hex(&snapshot),
            config_json: snapshot,
            revision: Some(REVISION.into()),
            seed: None,
        })
        .await?;
    let (prompts, _) = screen_prompts(&store, &b, Some(run.id), true).await?;
    let responses = screen_responses(&store, &b, Some(run.id), a.round).await?;
    let summary = json!({
        "run": run.id,
        "benchmarks": b.info(),
        "prompts": prompts,
        "responses": responses,
        "contamination": store.contamination_lines().await?,
    });
    store.finish_run(run, true, &summary).await?;
    store.close().await;
    ctx.emit(|| summary_text(&summary), || summary.clone());
    Ok(())
}

/// The registered benchmark file whose content `file` has, if any.
fn registered_copy(file: &Path, registered: &[(String, String)]) -> Option<String> {
    let sha = rrtf_store::sha256_hex(std::fs::read(file).ok()?);
    registered
        .iter()
        .find(|(_, s)| *s == sha)
        .map(|(p, _)| p.clone())
}

/// After `rrtf import prompts FILE`: mark the imported prompts (of `source`) that are
/// benchmark problems, against the benchmark files decontamination ran against in this
/// project (registered) and `extra`. A file that *is* one of them marks every prompt. Marked
/// prompts stay kept (a round's decontamination eliminates them); the summary has a warning.
pub async fn mark_import(
    store: &Store,
    file: &Path,
    source: &str,
    extra: &[PathBuf],
) -> Result<Value> {
    let mut registered = store.registered_benchmarks().await?;
    for b in extra {
        let bytes =
            std::fs::read(b).map_err(|e| BadInput(format!("--benchmark {}: {e}", b.display())))?;
        registered.push((b.display().to_string(), rrtf_store::sha256_hex(bytes)));
    }
    if registered.is_empty() {
        return Ok(Value::Null);
    }
    let prompts: Vec<ScreenPrompt> = store
        .screen_prompts()
        .await?
        .into_iter()
        .filter(|p| p.source == source)
        .collect();
    let mut findings = Vec::new();
    let itself = registered_copy(file, &registered);
    if let Some(bench) = &itself {
        let name = Path::new(bench)
            .file_name()
            .map_or(bench.clone(), |n| n.to_string_lossy().into_owned());
        for p in &prompts {
            findings.push(Contamination {
                item: "prompt",
                item_id: p.id,
                prompt_id: p.id,
                action: ContaminationAction::Marked,
                field: "file".into(),
                benchmark: format!("{name}:{}", p.source_id),
                method: "benchmark_file",
                detail: format!("{} is {bench}", file.display()),
            });
        }
    } else {
        let files: Vec<PathBuf> = registered
            .iter()
            .map(|(p, _)| PathBuf::from(p))
            .filter(|p| p.is_file())
            .collect();
        if let Some(b) = Benchmarks::load(&files, 13, DEFAULT_SIMILARITY)? {
            for p in &prompts {
                if let Some((field, hit)) = b.check_prompt(p) {
                    findings.push(finding(
                        "prompt",
                        p.id,
                        p.id,
                        ContaminationAction::Marked,
                        &field,
                        &hit,
                    ));
                }
            }
        }
    }
    store.record_contamination(None, &findings).await?;
    let warning = match (&itself, findings.len()) {
        (Some(bench), n) => Some(format!(
            "{} is the benchmark file {bench} itself: its {n} prompt(s) are marked; \
             decontamination against it (every round stage, `rrtf decontaminate`) eliminates \
             them before they can reach training",
            file.display()
        )),
        (None, 0) => None,
        (None, n) => Some(format!(
            "{n} of the {} prompt(s) of {} overlap benchmark problems (e.g. {}): they are \
             marked; decontamination against those benchmarks eliminates them",
            prompts.len(),
            file.display(),
            findings[0].benchmark
        )),
    };
    Ok(json!({
        "benchmark": itself,
        "marked": findings.len(),
        "warning": warning,
    }))
}
