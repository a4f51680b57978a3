//! The decontamination commands: `rrtf decontaminate` (every kept prompt and stored response
//! screened now, with a recorded run) and the marking of an imported file's prompts that are
//! benchmark problems ([`mark_import`]). The benchmark set and the screens are
//! [`crate::decontam`]'s.
//!
//! Not here: the summaries' text (the binary).

use std::path::{Path, PathBuf};

use rrtf_config::{DEFAULT_SIMILARITY, RoundConfig};
use rrtf_store::{Contamination, ContaminationAction, ScreenPrompt, Store};
use serde_json::{Value, json};

use crate::decontam::{Benchmarks, finding, screen_prompts, screen_responses};
use crate::{PipelineError, Result, Rrtf};

/// What `rrtf decontaminate` was asked.
#[derive(Debug, Clone, Default)]
pub struct DecontaminateRequest {
    /// A round config: its decontamination set, n-gram and similarity.
    pub config: Option<RoundConfig>,
    /// Benchmark files added to the config's set.
    pub benchmarks: Vec<PathBuf>,
    /// n of the n-gram overlap (default: the config's, else 13).
    pub ngram: Option<u32>,
    /// The paraphrase similarity (default: the config's, else [`DEFAULT_SIMILARITY`]).
    pub similarity: Option<f64>,
    /// Only the responses of this round (default: every round).
    pub round: Option<i64>,
}

impl Rrtf {
    /// `rrtf decontaminate`: screen every kept prompt and stored response now; the summary
    /// recorded with the `decontaminate` run.
    pub async fn decontaminate(&self, a: DecontaminateRequest) -> Result<Value> {
        let config = a.config;
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
            return Err(PipelineError::Invalid(
                "no benchmark to decontaminate against: pass --benchmark FILE, or --config with a \
             [round] benchmark or [decontamination] benchmarks"
                    .into(),
            ));
        }
        let d = config.as_ref().map(|c| &c.decontamination);
        let ngram = a.ngram.or(d.map(|d| d.ngram)).unwrap_or(13);
        let similarity = a
            .similarity
            .or(d.map(|d| d.similarity))
            .unwrap_or(DEFAULT_SIMILARITY);
        if ngram == 0 || !(similarity > 0.0 && similarity <= 1.0) {
            return Err(PipelineError::Invalid(format!(
                "--ngram {ngram} --similarity {similarity}: ngram must be at least 1 and \
             similarity in (0, 1]"
            )));
        }
        let b = Benchmarks::load(&files, ngram, similarity)?.expect("files given");
        let store = self.store().await?;
        let snapshot = config.as_ref().map_or_else(
            || json!({ "benchmarks": files, "ngram": ngram, "similarity": similarity }).to_string(),
            RoundConfig::snapshot_json,
        );
        let run = store
            .begin_run(&rrtf_store::NewRun {
                // As exec and rank: --round, else the config's round, else 0.
                round: a
                    .round
                    .or(config.as_ref().map(|c| c.round.number))
                    .unwrap_or(0),
                stage: "decontaminate".into(),
                config_hash: rrtf_store::sha256_hex(&snapshot),
                config_json: snapshot,
                revision: Some(self.revision.clone()),
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
        Ok(summary)
    }
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
        let bytes = std::fs::read(b)
            .map_err(|e| PipelineError::Invalid(format!("--benchmark {}: {e}", b.display())))?;
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
