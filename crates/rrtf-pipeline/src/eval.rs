//! pass@k of a checkpoint on a HumanEval-style benchmark (`rrtf eval`, and each model a round
//! evaluates). Completions are generated in process with the KV cache (Codex's stop sequences),
//! then run against each problem's tests in the sandbox, as `rrtf exec run` would.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rrtf_exec::{ExecConfig, Executor, Job, Language, passk};
use rrtf_model::generate::{SamplingParams, generate};
use rrtf_model::{Checkpoint, default_device};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{PipelineError, Result};

/// Codex's stop sequences for HumanEval completions: a new top-level statement ends the body.
const STOP: [&str; 5] = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

/// What to evaluate and how (the options of `rrtf eval`).
#[derive(Clone, Debug, PartialEq)]
pub struct EvalConfig {
    /// Checkpoint directory (Hugging Face layout).
    pub model: PathBuf,
    /// HumanEval-style rows (task_id, prompt, test, entry_point): JSONL, JSON or .gz.
    pub benchmark: PathBuf,
    /// Completions per problem (the n of pass@k), at least 1.
    pub samples: u32,
    /// The k of pass@k, each between 1 and `samples`.
    pub k: Vec<u64>,
    /// 0 is greedy.
    pub temperature: f64,
    pub top_p: f64,
    pub max_new_tokens: u32,
    /// Evaluate the first N problems only.
    pub max_problems: Option<u64>,
    pub seed: u64,
    /// Wall-clock limit per program.
    pub timeout: Duration,
    /// Execute even without namespaces (the weaker sandbox `rrtf exec doctor` describes).
    pub insecure_sandbox: bool,
    /// Write one JSON row per completion (task_id, completion, outcome, passed, detail) here.
    pub out: Option<PathBuf>,
    /// The device generating: `cpu`, `cuda[:N]` or `wgpu` ([`rrtf_model::parse_device`]);
    /// `None` is the build's default.
    pub device: Option<String>,
}

/// The evaluation's result, as `rrtf --json eval` prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub model: PathBuf,
    pub benchmark: PathBuf,
    pub problems: usize,
    pub samples: u32,
    /// `pass@k` -> estimate.
    pub pass_at_k: BTreeMap<String, f64>,
    pub outcomes: BTreeMap<String, usize>,
    /// Problems whose prompt leaves no room for `max_new_tokens` (counted as failures).
    pub too_long: usize,
    pub seconds: f64,
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
    prompt: String,
    test: String,
    entry_point: Option<String>,
}

fn read_problems(path: &Path, max: Option<u64>) -> Result<Vec<Problem>> {
    let rows = rrtf_data::read_rows(path)?;
    let mut problems = Vec::new();
    for (loc, value) in rows {
        if max.is_some_and(|m| problems.len() as u64 >= m) {
            break;
        }
        let v = value.map_err(|e| PipelineError::Invalid(format!("{loc}: {e:?}")))?;
        let field = |name: &str| -> Result<String> {
            v[name].as_str().map(str::to_owned).ok_or_else(|| {
                PipelineError::Invalid(format!(
                    "{loc}: no string field `{name}` (HumanEval rows have task_id, prompt, \
                     test, entry_point)"
                ))
            })
        };
        problems.push(Problem {
            task_id: field("task_id")?,
            prompt: field("prompt")?,
            test: field("test")?,
            entry_point: v["entry_point"].as_str().map(str::to_owned),
        });
    }
    if problems.is_empty() {
        return Err(PipelineError::Invalid(format!(
            "{}: no problems",
            path.display()
        )));
    }
    Ok(problems)
}

/// Generate `samples` completions per problem, execute them and estimate pass@k.
pub fn evaluate(a: &EvalConfig, progress: &mut dyn Progress) -> Result<EvalReport> {
    if a.samples == 0 {
        return Err(PipelineError::Invalid(
            "--samples 0: must be at least 1".into(),
        ));
    }
    if let Some(k) = a.k.iter().find(|&&k| k == 0 || k > u64::from(a.samples)) {
        return Err(PipelineError::Invalid(format!(
            "-k {k}: every k must be between 1 and --samples ({})",
            a.samples
        )));
    }
    let device = match &a.device {
        Some(d) => rrtf_model::parse_device(d)?,
        None => default_device(),
    };
    let started = std::time::Instant::now();
    let problems = read_problems(&a.benchmark, a.max_problems)?;
    // Before generating: a sandbox the executor refuses, or a missing python3, stops us now.
    let exec = Executor::new(ExecConfig {
        timeout: a.timeout,
        insecure_sandbox: a.insecure_sandbox,
        ..ExecConfig::default()
    })?;
    exec.check_toolchains(&[Language::Python].into_iter().collect())?;
    let ckpt = Checkpoint::load(&a.model, &device).map_err(|source| PipelineError::LoadModel {
        path: a.model.clone(),
        source,
    })?;
    progress.start(problems.len() as u64 * u64::from(a.samples));
    let mut completions = Vec::new(); // (problem index, completion or None when too long)
    let mut too_long = 0;
    for (i, p) in problems.iter().enumerate() {
        let ids = ckpt.tokenizer.encode(&p.prompt)?;
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
            let params = SamplingParams {
                max_new_tokens: max_new,
                temperature: a.temperature as f32,
                top_k: 0,
                top_p: a.top_p as f32,
                seed: a.seed.wrapping_add((i as u64) << 20 | u64::from(s)),
                stop: STOP.iter().map(|s| (*s).to_owned()).collect(),
            };
            let g = generate(&ckpt.model, &ckpt.tokenizer, &ids, &params)?;
            completions.push((i, Some(g.text)));
            progress.inc();
        }
    }
    progress.finish();

    let jobs: Vec<Job> = completions
        .iter()
        .enumerate()
        .filter_map(|(key, (i, c))| {
            let p = &problems[*i];
            c.as_ref().map(|c| {
                Job::from_completion(
                    key as u64,
                    Language::Python,
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
    let mut rows = Vec::with_capacity(completions.len());
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
        let task = problems[*i].task_id.as_str();
        let r = results.get(&(key as u64));
        let (outcome, passed, detail) = match (c, r) {
            (None, _) => ("prompt_too_long".to_owned(), false, String::new()),
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
                json!({"task_id": task, "completion": c, "outcome": outcome, "passed": passed, "detail": detail})
            )
            .map_err(write_err)?;
        }
        rows.push((task, passed));
    }
    if let Some(mut out) = out {
        out.flush().map_err(write_err)?;
    }
    let scores = passk::pass_at_k(rows.iter().copied(), &a.k)?;
    Ok(EvalReport {
        model: a.model.clone(),
        benchmark: a.benchmark.clone(),
        problems: problems.len(),
        samples: a.samples,
        pass_at_k: scores
            .into_iter()
            .map(|(k, v)| (format!("pass@{k}"), v))
            .collect(),
        outcomes,
        too_long,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rrtf_types::UserError;

    fn config(dir: &Path) -> EvalConfig {
        EvalConfig {
            model: dir.join("no-model"),
            benchmark: dir.join("bench.jsonl"),
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
        std::fs::write(&c.benchmark, "{\"task_id\": \"t\", \"prompt\": \"p\"}\n").unwrap();
        let e = err(&c);
        assert!(e.is_user_error() && e.to_string().contains("`test`"), "{e}");
    }

    #[test]
    fn the_report_reads_back_as_it_was_printed() {
        let r = EvalReport {
            model: "m".into(),
            benchmark: "b.jsonl".into(),
            problems: 8,
            samples: 2,
            pass_at_k: [("pass@1".to_owned(), 0.125), ("pass@2".to_owned(), 0.25)].into(),
            outcomes: [("pass".to_owned(), 3)].into(),
            too_long: 0,
            seconds: 1.5,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<EvalReport>(&text).unwrap(), r);
    }
}
