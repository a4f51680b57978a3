//! `rrtf model ...`: make, score with, generate from and benchmark StarCoder-family checkpoints.
//! All logic lives in `rrtf-model`; this module parses arguments and prints results.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rrtf_model::{Checkpoint, SamplingParams, SaveDtype};

use super::{BadInput, Ctx};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Write a new seeded random model (HF layout) sized to a tokenizer.
    Init(InitArgs),
    /// Per-token log-probs of responses: one JSON line per input pair.
    Logprobs(LogprobsArgs),
    /// Generate a continuation of a prompt with the KV cache.
    Generate(GenerateArgs),
    /// Forward and cached-generation throughput on this machine.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Architecture preset: tiny-mqa, tiny-mha (128 positions), mini (1024), small, medium, base.
    #[arg(long)]
    pub preset: String,
    /// tokenizer.json (sets vocab_size and the end-of-text id).
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// Output checkpoint directory.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Standard deviation of the initial weights (default: the preset's 0.02).
    #[arg(long)]
    pub init_std: Option<f64>,
    /// Weight dtype on disk: f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// Embedding rows (default: the tokenizer's size); larger pads the vocabulary, as
    /// StarCoder's 49152.
    #[arg(long)]
    pub vocab_size: Option<usize>,
}

#[derive(Debug, Args)]
pub struct LogprobsArgs {
    /// Checkpoint directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// JSON lines of {"prompt": ..., "response": ...}.
    #[arg(long)]
    pub input: PathBuf,
    /// Rows per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Device: cpu, cuda, cuda:N (a `cuda` build) or wgpu (a `wgpu` build); default: the
    /// build's (cpu, or CUDA device 0 in a `cuda` build).
    #[arg(long)]
    pub device: Option<String>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Prompt text (with --suffix: the code before the gap).
    #[arg(long)]
    pub prompt: String,
    /// Fill in the middle: the code after the gap; builds StarCoder's FIM prompt
    /// (`<fim_prefix>PROMPT<fim_suffix>SUFFIX<fim_middle>`, as `rrtf serve` does for a
    /// completion's `suffix`). Refused for a tokenizer without those tokens.
    #[arg(long, visible_alias = "fim-suffix")]
    pub suffix: Option<String>,
    #[arg(long, default_value_t = 128)]
    pub max_new_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling mass; 1 is off.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Keep the k most likely tokens; 0 is off.
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop when the output contains this text (repeatable); the text is cut before it.
    #[arg(long)]
    pub stop: Vec<String>,
    /// Device: cpu, cuda, cuda:N (a `cuda` build) or wgpu (a `wgpu` build); default: the
    /// build's (cpu, or CUDA device 0 in a `cuda` build).
    #[arg(long)]
    pub device: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    #[arg(long, default_value_t = 128)]
    pub seq_len: usize,
    #[arg(long, default_value_t = 64)]
    pub new_tokens: usize,
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
}

fn load(dir: &Path, device: Option<&str>) -> anyhow::Result<Checkpoint> {
    let device = match device {
        Some(d) => rrtf_model::parse_device(d)?,
        None => rrtf_model::default_device(),
    };
    Checkpoint::load(dir, &device).map_err(anyhow::Error::from)
}

pub fn run(ctx: &Ctx, cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Init(a) => init(ctx, a),
        ModelCommand::Logprobs(a) => logprobs(a),
        ModelCommand::Generate(a) => generate(ctx, a),
        ModelCommand::Bench(a) => bench(ctx, a),
    }
}

fn init(ctx: &Ctx, a: InitArgs) -> anyhow::Result<()> {
    let dtype = SaveDtype::parse(&a.dtype)?;
    let device = rrtf_model::default_device();
    let mut ckpt = Checkpoint::init(&a.preset, &a.tokenizer, a.init_std, a.seed, &device)?;
    if let Some(v) = a.vocab_size {
        let mut config = ckpt.config.clone();
        config.vocab_size = v;
        ckpt = Checkpoint::from_config(config, ckpt.tokenizer, a.seed, &device)?;
    }
    ckpt.save(&a.out, dtype)?;
    let c = &ckpt.config;
    ctx.emit(
        || {
            format!(
                "wrote {} ({}: n_embd {}, n_layer {}, n_head {}, vocab {})",
                a.out.display(),
                a.preset,
                c.n_embd,
                c.n_layer,
                c.n_head,
                c.vocab_size
            )
        },
        || serde_json::json!({"out": a.out, "preset": a.preset, "config": c}),
    );
    Ok(())
}

fn logprobs(a: LogprobsArgs) -> anyhow::Result<()> {
    if a.batch_size == 0 {
        return Err(BadInput("--batch-size 0: must be at least 1".into()).into());
    }
    let ckpt = load(&a.model, a.device.as_deref())?;
    let pairs = rrtf_model::read_text_pairs(&a.input)?;
    let scored = rrtf_model::score_text_pairs(&ckpt.model, &ckpt.tokenizer, &pairs, a.batch_size)?;
    let mut out = std::io::stdout().lock();
    for (pair, s) in pairs.iter().zip(scored) {
        let row = serde_json::json!({
            "prompt": pair.prompt,
            "response": pair.response,
            "response_ids": s.response_ids,
            "token_logprobs": s.token_logprobs,
            "sum": s.sum,
            "mean": s.mean,
        });
        writeln!(out, "{row}")?;
    }
    Ok(())
}

fn generate(ctx: &Ctx, a: GenerateArgs) -> anyhow::Result<()> {
    let ckpt = load(&a.model, a.device.as_deref())?;
    let prompt = match &a.suffix {
        Some(suffix) => ckpt.tokenizer.fim_prompt(&a.prompt, suffix)?,
        None => a.prompt.clone(),
    };
    let ids = ckpt.tokenizer.encode(&prompt)?;
    let params = SamplingParams {
        max_new_tokens: a.max_new_tokens,
        temperature: a.temperature,
        top_k: a.top_k,
        top_p: a.top_p,
        seed: a.seed,
        stop: a.stop,
    };
    let g = rrtf_model::generate(&ckpt.model, &ckpt.tokenizer, &ids, &params)?;
    ctx.emit(
        || g.text.clone(),
        || serde_json::json!({"new_ids": g.new_ids, "text": g.text, "stop_reason": g.stop_reason}),
    );
    Ok(())
}

fn bench(ctx: &Ctx, a: BenchArgs) -> anyhow::Result<()> {
    let ckpt = load(&a.model, None)?;
    let r = rrtf_model::bench::run(&ckpt.model, a.batch, a.seq_len, a.new_tokens, a.reps)?;
    ctx.emit(
        || {
            let mut text = format!(
                "forward  {:>10.1} tokens/s  (batch {} x {} tokens)\ngenerate {:>10.1} tokens/s  ({} new tokens, KV cache)",
                r.forward_tokens_per_s, r.batch, r.seq_len, r.generate_tokens_per_s, r.new_tokens
            );
            if let Some(rate) = r.batched_generate_tokens_per_s {
                text += &format!(
                    "\nbatched  {rate:>10.1} tokens/s  ({} sequences decoding together, {:.2}x one)",
                    r.batched_sequences,
                    rate / r.generate_tokens_per_s
                );
            }
            text
        },
        || serde_json::to_value(&r).expect("report serializes"),
    );
    Ok(())
}
