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
    /// Quantize the linear layers to int8 (per-channel, symmetric; `rrtf serve` then decodes
    /// with int8 kernels) and measure what it costs against the f32 checkpoint.
    Quantize(QuantizeArgs),
}

#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The f32 checkpoint directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Write the quantized checkpoint here (HF layout; the int8 values times their scales in
    /// f32, which transformers loads as is; config.json says `"rrtf_quantization": "int8"`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Measure the cost on these rows (JSON lines or a JSON array, `.gz` too): `prompt` and
    /// `response` (or HumanEval's `canonical_solution`). Log-prob differences on the
    /// responses, greedy agreement on the prompts.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Greedy tokens generated per prompt for the agreement figure.
    #[arg(long, default_value_t = 32)]
    pub new_tokens: usize,
    /// Rows per forward pass when scoring.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
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
        ModelCommand::Quantize(a) => quantize(ctx, a),
    }
}

fn quantize(ctx: &Ctx, a: QuantizeArgs) -> anyhow::Result<()> {
    if a.out.is_none() && a.input.is_none() {
        return Err(BadInput(
            "rrtf model quantize: give --out DIR (write the int8 checkpoint), --input FILE \
             (measure its cost), or both"
                .into(),
        )
        .into());
    }
    let pairs = a.input.as_deref().map(read_quant_rows).transpose()?;
    let reference = load(&a.model, Some("cpu"))?;
    if reference.is_int8() {
        return Err(BadInput(format!(
            "{} is already int8 (its config.json says \"rrtf_quantization\": \"int8\"): give the \
             f32 checkpoint it came from",
            a.model.display()
        ))
        .into());
    }
    let mut int8 = load(&a.model, Some("cpu"))?;
    let weight_change = int8.quantize_int8()?;
    if let Some(out) = &a.out {
        int8.save(out, SaveDtype::F32)?;
    }
    let report = match &pairs {
        Some(p) => Some(rrtf_model::quant::compare(
            &reference,
            &int8,
            p,
            a.new_tokens,
            a.batch_size,
        )?),
        None => None,
    };
    ctx.emit(
        || {
            let mut text = format!(
                "int8: the linear layers of {} quantized per output channel (mean |change| of \
                 their weights {weight_change:.3e})",
                a.model.display()
            );
            if let Some(out) = &a.out {
                text += &format!("\nwrote {}", out.display());
            }
            if let Some(r) = &report {
                text += &format!(
                    "\nlog-probs of {} response tokens ({} rows): mean |int8 - f32| {:.4}, max {:.4}\n\
                     greedy ({} new tokens): {}/{} prompts the same token for token ({:.1}%); \
                     shared prefix {:.1}% on average",
                    r.tokens,
                    r.pairs,
                    r.mean_abs_logprob_diff,
                    r.max_abs_logprob_diff,
                    r.new_tokens,
                    r.greedy_equal,
                    r.prompts,
                    100.0 * r.greedy_agreement,
                    100.0 * r.greedy_prefix_fraction,
                );
            }
            text
        },
        || {
            serde_json::json!({
                "model": a.model, "out": a.out, "weight_mean_abs_change": weight_change,
                "report": report,
            })
        },
    );
    Ok(())
}

/// `--input`'s rows as prompt/response pairs (`response` or HumanEval's `canonical_solution`).
fn read_quant_rows(path: &Path) -> anyhow::Result<Vec<rrtf_model::TextPair>> {
    let mut pairs = Vec::new();
    for (at, row) in rrtf_data::read_rows(path)? {
        let row = row.map_err(|e| BadInput(format!("{}: {at}: {e}", path.display())))?;
        let text = |k: &str| row.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let (Some(prompt), Some(response)) = (
            text("prompt"),
            text("response").or_else(|| text("canonical_solution")),
        ) else {
            return Err(BadInput(format!(
                "{}: {at}: needs string fields `prompt` and `response` (or \
                 `canonical_solution`)",
                path.display()
            ))
            .into());
        };
        pairs.push(rrtf_model::TextPair { prompt, response });
    }
    if pairs.is_empty() {
        return Err(BadInput(format!("{}: no rows", path.display())).into());
    }
    Ok(pairs)
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
    if ctx.json {
        ctx.emit(
            String::new,
            || serde_json::json!({"new_ids": g.new_ids, "text": g.text, "stop_reason": g.stop_reason}),
        );
    } else {
        // The text as generated, its leading and trailing whitespace included (`emit` trims the
        // end of what it prints), then one newline unless it ends with one.
        let text = g.text.strip_suffix('\n').unwrap_or(&g.text);
        super::print_out(&super::term::clean(text));
    }
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
            if let Some(q) = &r.int8 {
                text += &format!(
                    "\nint8     {:>10.1} tokens/s  (one sequence, int8 projections; packed f32 {:.1}: {:.2}x)\nint8 x{} {:>9.1} tokens/s  ({} sequences together, int8)",
                    q.generate_tokens_per_s,
                    q.f32_generate_tokens_per_s,
                    q.generate_tokens_per_s / q.f32_generate_tokens_per_s,
                    r.batched_sequences,
                    q.batched_generate_tokens_per_s,
                    r.batched_sequences,
                );
            }
            text
        },
        || serde_json::to_value(&r).expect("report serializes"),
    );
    Ok(())
}
