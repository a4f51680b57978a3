//! `rrtf train bench`: training throughput of the real trainer on synthetic ranked groups
//! (`rrtf_train::bench`), for `scripts/bench_train.py`.

use std::path::PathBuf;

use clap::Args;
use rrtf_config::{GradientCheckpointing, Training};
use rrtf_model::Checkpoint;
use rrtf_train::bench::{TrainBenchOptions, run};

use super::Ctx;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Checkpoint directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Ranked groups per optimizer step.
    #[arg(long, default_value_t = 2)]
    pub groups: usize,
    /// Responses per group.
    #[arg(long, default_value_t = 4)]
    pub group_size: usize,
    #[arg(long, default_value_t = 64)]
    pub prompt_len: usize,
    /// Response tokens, end-of-text included.
    #[arg(long, default_value_t = 192)]
    pub response_len: usize,
    /// Timed optimizer steps.
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// Untimed optimizer steps first.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    #[arg(long, default_value_t = 1e-5)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Gradient checkpointing, as `training.gradient_checkpointing` does, to measure its effect
    /// on peak memory: `layers` (per-layer recomputation) or `ops` (burn's op-level strategy:
    /// element-wise ops recomputed; the flag alone means this).
    #[arg(long, value_name = "layers|ops", num_args = 0..=1, default_missing_value = "ops",
          default_value = "off")]
    pub gradient_checkpointing: GradientCheckpointing,
    /// Train LoRA adapters of this rank (alpha = 2 x rank) instead of every weight.
    #[arg(long)]
    pub lora_rank: Option<u32>,
    /// With --lora-rank: store the adapted weights in bf16 (training.lora.base_dtype).
    #[arg(
        long,
        value_name = "f32|bf16",
        default_value = "f32",
        requires = "lora_rank"
    )]
    pub lora_base_dtype: String,
}

pub fn bench(ctx: &Ctx, a: BenchArgs) -> anyhow::Result<()> {
    let mut device = rrtf_model::default_device().autodiff();
    if a.gradient_checkpointing == GradientCheckpointing::Ops {
        device = device.gradient_checkpointing();
    }
    let ckpt = Checkpoint::load_with(&a.model, &device, a.lora_base_dtype == "bf16")?;
    let training = Training {
        learning_rate: a.learning_rate,
        gradient_checkpointing: a.gradient_checkpointing,
        lora: match a.lora_rank {
            None => None,
            Some(rank) => Some(rrtf_config::Lora {
                rank,
                alpha: 2.0 * f64::from(rank),
                base_dtype: serde_json::from_value(serde_json::Value::from(
                    a.lora_base_dtype.as_str(),
                ))
                .map_err(|_| {
                    super::BadInput(format!(
                        "--lora-base-dtype {:?}: expected f32 or bf16",
                        a.lora_base_dtype
                    ))
                })?,
            }),
        },
        ..Training::default()
    };
    let opts = TrainBenchOptions {
        groups: a.groups,
        group_size: a.group_size,
        prompt_len: a.prompt_len,
        response_len: a.response_len,
        steps: a.steps,
        warmup: a.warmup,
        seed: a.seed,
    };
    let r = run(ckpt.model, &ckpt.config, &training, &opts)?;
    ctx.emit(
        || {
            format!(
                "train    {:>10.1} tokens/s  ({} sequences x {} tokens a step, {} timed steps after {} warm-up; {:.1} response tokens/s)\n\
                 matmul   {:>10.1} GFLOP/s (f32, 2048^3)\n\
                 MFU      {:>10.3}    ({:.0} model FLOPs a token, {} parameters)\n\
                 memory   {:>10.1} MiB parameters as stored; resident {} at the start of the steps, peak {} during them",
                r.tokens_per_s,
                r.sequences,
                r.seq_len,
                r.step_seconds.len(),
                a.warmup,
                r.response_tokens_per_s,
                r.matmul_gflops,
                r.mfu,
                r.model_flops_per_token,
                r.parameters,
                r.param_bytes as f64 / (1u64 << 20) as f64,
                r.rss_at_start_mib
                    .map_or_else(|| "not measured".to_owned(), |m| format!("{m:.0} MiB")),
                r.peak_rss_steps_mib
                    .map_or_else(|| "not measured".to_owned(), |m| format!("{m:.0} MiB"))
            )
        },
        || serde_json::to_value(&r).expect("report serializes"),
    );
    Ok(())
}
