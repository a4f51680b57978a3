//! Decontamination's benchmark set and screens: the problems of a round's benchmark files
//! (`[round] benchmark`, always, and `[decontamination] benchmarks`) indexed ([`Benchmarks`]),
//! the screen of kept prompts every data stage runs ([`screen_prompts`]: a leak eliminates the
//! prompt) and of stored answers ([`screen_responses`], [`Benchmarks::check_answer`]: an answer
//! that reproduces a canonical solution is eliminated). Findings go to the store's
//! `contamination` table with the elimination, in one transaction; benchmark files are
//! registered so an import can tell when it is given one.
//!
//! Not here: the matching itself (`rrtf_evolve::decontam`), the commands and their text (the
//! binary).

use std::path::PathBuf;

use rrtf_config::RoundConfig;
use rrtf_evolve::decontam::{Decontaminator, Hit};
use rrtf_store::{Contamination, ContaminationAction, ScreenPrompt, Store};
use serde_json::{Value, json};

use crate::{PipelineError, Result};

/// Row fields that hold a benchmark problem's prompt, and its canonical solution.
const PROMPT_FIELDS: &[&str] = &["prompt", "text", "instruction", "question", "problem"];
const SOLUTION_FIELDS: &[&str] = &["canonical_solution", "code", "solution", "output"];

/// A benchmark file as loaded.
struct BenchFile {
    path: PathBuf,
    sha256: String,
    problems: usize,
}

/// The benchmark problems of a decontamination set, indexed.
pub struct Benchmarks {
    pub index: Decontaminator,
    files: Vec<BenchFile>,
    similarity: f64,
}

impl Benchmarks {
    /// Index the problems of `files`: each row's prompt field (n-grams and similarity), its
    /// canonical solution (n-grams, and what responses must not reproduce) and every other
    /// string field or list of strings (n-grams), under `file name:task id`. `None` when
    /// `files` is empty.
    pub fn load(files: &[PathBuf], ngram: u32, similarity: f64) -> Result<Option<Benchmarks>> {
        if files.is_empty() {
            return Ok(None);
        }
        let mut index = Decontaminator::with_similarity(ngram as usize, similarity);
        let mut loaded = Vec::new();
        for file in files {
            let bytes = std::fs::read(file).map_err(|e| {
                PipelineError::Invalid(format!(
                    "benchmark file {}: {e} (decontamination needs every benchmark of the \
                     round: fix the path, or set [decontamination] enabled = false)",
                    file.display()
                ))
            })?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut problems = 0;
            for (loc, row) in rrtf_data::read_rows(file)? {
                let row = row.map_err(|e| {
                    PipelineError::Invalid(format!("{}: {loc}: {e}", file.display()))
                })?;
                let Value::Object(map) = &row else { continue };
                problems += 1;
                let id = ["task_id", "id", "name"]
                    .iter()
                    .find_map(|k| {
                        map.get(*k)
                            .map(|v| v.as_str().map_or(v.to_string(), str::to_owned))
                    })
                    .unwrap_or_else(|| loc.to_string());
                let problem = format!("{name}:{id}");
                let field_of = |names: &[&'static str]| {
                    names
                        .iter()
                        .copied()
                        .find(|f| map.get(*f).is_some_and(Value::is_string))
                };
                let (prompt, solution) = (field_of(PROMPT_FIELDS), field_of(SOLUTION_FIELDS));
                for (key, v) in map {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Array(items) => items
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("\n"),
                        _ => continue,
                    };
                    if prompt == Some(key.as_str()) {
                        index.add_prompt(&problem, &text);
                    } else if solution == Some(key.as_str()) {
                        index.add_solution(&problem, &text);
                    } else {
                        index.add(&problem, &text);
                    }
                }
            }
            loaded.push(BenchFile {
                path: file.clone(),
                sha256: rrtf_store::sha256_hex(&bytes),
                problems,
            });
        }
        Ok(Some(Benchmarks {
            index,
            files: loaded,
            similarity,
        }))
    }

    /// The round's set (`RoundConfig::decontamination_set`), or `None` when it is empty.
    /// Every data stage loads it here, so this is where the recorded opt-out
    /// `screen_round_benchmark = false` is announced: a warning with the config's reason.
    pub fn from_config(config: &RoundConfig) -> Result<Option<Benchmarks>> {
        if let Some(warning) = config.decontamination_warning() {
            tracing::warn!("{warning}");
        }
        let d = &config.decontamination;
        Self::load(&config.decontamination_set(), d.ngram, d.similarity)
    }

    /// What was indexed, for stage summaries.
    pub fn info(&self) -> Value {
        json!({
            "files": self.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
            "problems": self.files.iter().map(|f| f.problems).sum::<usize>(),
            "ngram": self.index.ngram(),
            "similarity": self.similarity,
            "too_short": self.index.too_short,
            "solutions_too_short": self.index.solutions_too_short,
        })
    }

    /// Record the files in the store's registry (absolute path and content hash).
    pub async fn register(&self, store: &Store) -> Result<()> {
        let rows: Vec<(String, String, i64)> = self
            .files
            .iter()
            .map(|f| {
                let abs = std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone());
                (
                    abs.display().to_string(),
                    f.sha256.clone(),
                    f.problems as i64,
                )
            })
            .collect();
        store.register_benchmarks(&rows).await?;
        Ok(())
    }

    /// The first leak in a prompt: its text (n-grams, then similarity with benchmark
    /// prompts), its reference, its tests and their references (n-grams).
    pub fn check_prompt(&self, p: &ScreenPrompt) -> Option<(String, Hit)> {
        if let Some(hit) = self.index.check(&p.text) {
            return Some(("text".into(), hit));
        }
        if let Some(hit) = p
            .reference
            .as_deref()
            .and_then(|r| self.index.check_overlap(r))
        {
            return Some(("reference".into(), hit));
        }
        for (id, code, reference) in &p.tests {
            if let Some(hit) = self.index.check_overlap(code) {
                return Some((format!("test {id}"), hit));
            }
            if let Some(hit) = reference
                .as_deref()
                .and_then(|r| self.index.check_overlap(r))
            {
                return Some((format!("test {id} reference"), hit));
            }
        }
        None
    }

    /// A response that reproduces a benchmark's canonical solution.
    pub fn check_answer(&self, raw_text: &str) -> Option<Hit> {
        self.index.check_solution(raw_text)
    }
}

/// A finding about a prompt or a response, to store.
pub fn finding(
    item: &'static str,
    item_id: i64,
    prompt_id: i64,
    action: ContaminationAction,
    field: &str,
    hit: &Hit,
) -> Contamination {
    Contamination {
        item,
        item_id,
        prompt_id,
        action,
        field: field.to_owned(),
        benchmark: hit.benchmark.clone(),
        method: hit.method.as_str(),
        detail: hit.ngram.clone(),
    }
}

/// Screen every kept prompt and eliminate those that leak a benchmark problem (with `record`;
/// without, only count them: a dry run); registers the benchmark files. The summary (prompts
/// checked, eliminated, the first few) and the ids of the prompts that leak.
pub async fn screen_prompts(
    store: &Store,
    b: &Benchmarks,
    run_id: Option<i64>,
    record: bool,
) -> Result<(Value, Vec<i64>)> {
    let prompts = store.screen_prompts().await?;
    let findings: Vec<Contamination> = prompts
        .iter()
        .filter_map(|p| {
            b.check_prompt(p).map(|(field, hit)| {
                finding(
                    "prompt",
                    p.id,
                    p.id,
                    ContaminationAction::Eliminated,
                    &field,
                    &hit,
                )
            })
        })
        .collect();
    if record {
        b.register(store).await?;
        store.record_contamination(run_id, &findings).await?;
    }
    let summary = json!({
        "prompts_checked": prompts.len(),
        "prompts_eliminated": findings.len(),
        "examples": examples(&findings, &prompts),
    });
    Ok((summary, findings.iter().map(|f| f.item_id).collect()))
}

/// Screen stored responses (of `round`, or all) and eliminate those that reproduce a
/// canonical solution.
pub async fn screen_responses(
    store: &Store,
    b: &Benchmarks,
    run_id: Option<i64>,
    round: Option<i64>,
) -> Result<Value> {
    let responses = store.screen_responses(round).await?;
    let findings: Vec<Contamination> = responses
        .iter()
        .filter_map(|r| {
            b.check_answer(&r.raw_text).map(|hit| {
                finding(
                    "response",
                    r.id,
                    r.prompt_id,
                    ContaminationAction::Eliminated,
                    "response",
                    &hit,
                )
            })
        })
        .collect();
    store.record_contamination(run_id, &findings).await?;
    Ok(json!({
        "responses_checked": responses.len(),
        "responses_eliminated": findings.len(),
    }))
}

/// The first findings, readable: `source:id: reason`.
fn examples(findings: &[Contamination], prompts: &[ScreenPrompt]) -> Vec<String> {
    findings
        .iter()
        .take(5)
        .map(|f| {
            let name = prompts
                .iter()
                .find(|p| p.id == f.prompt_id)
                .map_or(f.prompt_id.to_string(), |p| {
                    format!("{}:{}", p.source, p.source_id)
                });
            format!("{name}: {}", f.reason())
        })
        .collect()
}
