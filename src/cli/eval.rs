//! `rrtf eval`: pass@k of a checkpoint on a HumanEval-style benchmark
//! (`rrtf_pipeline::eval`: generate with the KV cache, execute in the sandbox).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use rrtf_pipeline::eval::{EvalConfig, evaluate};

use super::{Bar, Ctx};

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
    /// Device generating: cpu, cuda, cuda:N (a `cuda` build) or wgpu (a `wgpu` build);
    /// default: the build's.
    #[arg(long)]
    pub device: Option<String>,
}

impl EvalArgs {
    fn config(self) -> EvalConfig {
        EvalConfig {
            model: self.model,
            benchmark: self.benchmark,
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
        }
    }
}

pub fn run(ctx: &Ctx, a: EvalArgs) -> Result<()> {
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
