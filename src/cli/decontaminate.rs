//! Decontamination: the benchmark set of a round (`[round] benchmark`, always, and
//! `[decontamination] benchmarks`), the screens every stage runs with it, and the
//! `rrtf decontaminate` command that runs them on demand.
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
use rrtf_evolve::decontam::{Decontaminator, Hit};
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
                BadInput(format!(
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
                let row = row.map_err(|e| BadInput(format!("{}: {loc}: {e}", file.display())))?;
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
    pub fn from_config(config: &RoundConfig) -> Result<Option<Benchmarks>> {
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
        .begin_run(
            config.as_ref().map_or(0, |c| c.round.number),
            "decontaminate",
            &snapshot,
            &rrtf_store::sha256_hex(&snapshot),
            Some(REVISION),
            None,
        )
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
