//! `rrtf eval`: pass@k of a checkpoint on a HumanEval-style benchmark. Completions are generated
//! in process with the KV cache (Codex's stop sequences), then run against each problem's tests
//! in the sandbox, as `rrtf exec run` would.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use rrtf_exec::{ExecConfig, Executor, Job, Language, passk};
use rrtf_model::generate::{SamplingParams, generate};
use rrtf_model::{Checkpoint, default_device};
use serde::Serialize;
use serde_json::json;

use super::{BadInput, Ctx};

/// Codex's stop sequences for HumanEval completions: a new top-level statement ends the body.
const STOP: [&str; 5] = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint directory (Hugging Face layout).
    #[arg(long)]
    pub model: PathBuf,
    /// HumanEval-style rows (task_id, prompt, test, entry_point): JSONL, JSON or .gz.
    #[arg(long)]
    pub benchmark: PathBuf,
    /// Completions per problem (the n of pass@k).
    #[arg(long, default_value_t = 1)]
    pub samples: u32,
    /// Comma-separated k values, each at most --samples.
    #[arg(short, long, value_delimiter = ',', default_value = "1")]
    pub k: Vec<u64>,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f64,
    #[arg(long, default_value_t = 384)]
    pub max_new_tokens: u32,
    /// Evaluate the first N problems only.
    #[arg(long)]
    pub max_problems: Option<u64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seconds per program.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Write one row per completion (task_id, completion, outcome, passed, detail) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Execute even without namespaces (see `rrtf exec --insecure-sandbox`).
    #[arg(long)]
    pub insecure_sandbox: bool,
}

struct Problem {
    task_id: String,
    prompt: String,
    test: String,
    entry_point: Option<String>,
}

/// The evaluation's result, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub model: PathBuf,
    pub benchmark: PathBuf,
    pub problems: usize,
    pub samples: u32,
    /// `pass@k` -> estimate.
    pub pass_at_k: BTreeMap<String, f64>,
    pub outcomes: BTreeMap<String, usize>,
    /// Problems whose prompt leaves no room for --max-new-tokens (counted as failures).
    pub too_long: usize,
    pub seconds: f64,
}

fn read_problems(path: &Path, max: Option<u64>) -> Result<Vec<Problem>> {
    let rows = rrtf_data::read_rows(path)?;
    let mut problems = Vec::new();
    for (loc, value) in rows {
        if max.is_some_and(|m| problems.len() as u64 >= m) {
            break;
        }
        let v = value.map_err(|e| BadInput(format!("{}: {e:?}", loc)))?;
        let v = &v;
        let field = |name: &str| -> Result<String> {
            v[name].as_str().map(str::to_owned).ok_or_else(|| {
                BadInput(format!(
                    "{loc}: no string field `{name}` (HumanEval rows have task_id, prompt, \
                     test, entry_point)"
                ))
                .into()
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
        return Err(BadInput(format!("{}: no problems", path.display())).into());
    }
    Ok(problems)
}

pub fn evaluate(a: &EvalArgs) -> Result<EvalReport> {
    if a.samples == 0 {
        return Err(BadInput("--samples 0: must be at least 1".into()).into());
    }
    if let Some(k) = a.k.iter().find(|&&k| k == 0 || k > u64::from(a.samples)) {
        return Err(BadInput(format!(
            "-k {k}: every k must be between 1 and --samples ({})",
            a.samples
        ))
        .into());
    }
    let started = std::time::Instant::now();
    let problems = read_problems(&a.benchmark, a.max_problems)?;
    // Before generating: a sandbox the executor refuses, or a missing python3, stops us now.
    let exec = Executor::new(ExecConfig {
        timeout: std::time::Duration::from_secs_f64(a.timeout),
        insecure_sandbox: a.insecure_sandbox,
        ..ExecConfig::default()
    })
    .map_err(super::exec::lift)?;
    exec.check_toolchains(&[Language::Python].into_iter().collect())
        .map_err(super::exec::lift)?;
    let ckpt = Checkpoint::load(&a.model, &default_device())
        .map_err(super::model::model_err)
        .with_context(|| format!("loading {}", a.model.display()))?;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(problems.len() as u64 * u64::from(a.samples)),
        indicatif::ProgressDrawTarget::stderr(),
    )
    .with_message("generating");
    let mut completions = Vec::new(); // (problem index, completion or None when too long)
    let mut too_long = 0;
    for (i, p) in problems.iter().enumerate() {
        let ids = ckpt
            .tokenizer
            .encode(&p.prompt)
            .map_err(super::model::model_err)?;
        let room = ckpt.config.n_positions.saturating_sub(ids.len());
        let max_new = (a.max_new_tokens as usize).min(room);
        if max_new == 0 || ids.is_empty() {
            too_long += 1;
            for _ in 0..a.samples {
                completions.push((i, None));
                bar.inc(1);
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
            let g = generate(&ckpt.model, &ckpt.tokenizer, &ids, &params)
                .map_err(super::model::model_err)?;
            completions.push((i, Some(g.text)));
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

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
            std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?,
        )),
        None => None,
    };
    for (key, (i, c)) in completions.iter().enumerate() {
        let task = problems[*i].task_id.as_str();
        let r = results.get(&(key as u64));
        let (outcome, passed, detail) = match (c, r) {
            (None, _) => ("prompt_too_long".to_owned(), false, String::new()),
            (Some(_), Some(r)) => (r.outcome.label().to_owned(), r.passed(), r.detail.clone()),
            (Some(_), None) => anyhow::bail!("completion {key} of {task} produced no result"),
        };
        *outcomes.entry(outcome.clone()).or_default() += 1;
        if let Some(out) = &mut out {
            writeln!(
                out,
                "{}",
                json!({"task_id": task, "completion": c, "outcome": outcome, "passed": passed, "detail": detail})
            )?;
        }
        rows.push((task, passed));
    }
    if let Some(mut out) = out {
        out.flush()?;
    }
    let scores = passk::pass_at_k(rows.iter().copied(), &a.k).map_err(super::exec::lift)?;
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

pub fn run(ctx: &Ctx, a: EvalArgs) -> Result<()> {
    let r = evaluate(&a)?;
    ctx.emit(
        || {
            let scores: Vec<String> = r
                .pass_at_k
                .iter()
                .map(|(k, v)| format!("{k} {v:.4}"))
                .collect();
            let outcomes: Vec<String> =
                r.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            format!(
                "{}: {} problems x {} samples in {:.1}s\n{}\noutcomes: {}",
                r.model.display(),
                r.problems,
                r.samples,
                r.seconds,
                scores.join(", "),
                outcomes.join(", ")
            )
        },
        || serde_json::to_value(&r).expect("serializable"),
    );
    Ok(())
}
