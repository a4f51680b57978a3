//! `rrtf train plan`: the device memory a training run needs (`rrtf_train::plan`), from a
//! checkpoint's `config.json` (or a config file, or a preset) and the run's shape; nothing is
//! loaded or allocated.

use std::path::PathBuf;

use clap::Args;
use rrtf_config::Objective;
use rrtf_model::GptBigCodeConfig;
use rrtf_train::plan::{PlanDevice, PlanInput, WeightDtype, plan};

use super::{BadInput, Ctx};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A checkpoint directory (its config.json) or a GPTBigCode config.json file, e.g.
    /// configs/models/starcoderbase-7b.json.
    #[arg(long, conflicts_with = "preset")]
    pub model: Option<PathBuf>,
    /// A preset of `rrtf model init` (tiny-mqa, tiny-mha, mini, small, medium, base).
    #[arg(long)]
    pub preset: Option<String>,
    /// The preset's vocabulary size.
    #[arg(long, default_value_t = 49152, requires = "preset")]
    pub vocab_size: usize,
    /// rrtf, rrhf, dpo or sft.
    #[arg(long, default_value = "rrtf")]
    pub objective: String,
    /// LoRA rank; without it, full fine-tuning.
    #[arg(long)]
    pub lora_rank: Option<usize>,
    /// Ranked groups per micro-batch (training.batch_size).
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    /// Responses per group (rows of the micro-batch per group).
    #[arg(long, default_value_t = 4)]
    pub responses: usize,
    /// Padded row length, prompt + response tokens (at most training.max_length).
    #[arg(long, default_value_t = 1024)]
    pub seq_len: usize,
    /// Response tokens per row (the LM head's positions); default: three quarters of --seq-len.
    #[arg(long)]
    pub response_len: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    /// Storage of the adapted projections under LoRA: f32 or bf16 (training.lora.base_dtype).
    #[arg(long, default_value = "f32")]
    pub base_dtype: String,
    /// The device kind the run is for: cpu (flex, fused GELU) or cuda / cuda:N / wgpu (burn's ops).
    #[arg(long, default_value = "cuda")]
    pub device: String,
    /// Device memory in GiB; the plan says whether the run fits (keeping 10% free).
    #[arg(long)]
    pub device_memory: Option<f64>,
    /// `layers` judges the fit with per-layer gradient checkpointing
    /// (training.gradient_checkpointing = "layers"); `off` (or `ops`, which the plan does not
    /// model) without.
    #[arg(long, value_name = "off|layers", default_value = "off")]
    pub gradient_checkpointing: rrtf_config::GradientCheckpointing,
}

pub fn run(ctx: &Ctx, a: PlanArgs) -> anyhow::Result<()> {
    let config = match (&a.model, &a.preset) {
        (Some(path), None) => {
            let file = if path.is_dir() {
                path.join("config.json")
            } else {
                path.clone()
            };
            GptBigCodeConfig::load(&file)?
        }
        (None, Some(name)) => GptBigCodeConfig::preset(name, a.vocab_size, 0)?,
        _ => {
            return Err(BadInput(
                "rrtf train plan needs --model DIR|config.json or --preset NAME".into(),
            )
            .into());
        }
    };
    let objective: Objective =
        serde_json::from_value(serde_json::Value::from(a.objective.as_str())).map_err(|_| {
            BadInput(format!(
                "--objective {:?}: expected rrtf, rrhf, dpo or sft",
                a.objective
            ))
        })?;
    let device = match a.device.trim() {
        "cpu" => PlanDevice::Cpu,
        "wgpu" | "cuda" => PlanDevice::Gpu,
        d if d
            .strip_prefix("cuda:")
            .is_some_and(|n| n.parse::<usize>().is_ok()) =>
        {
            PlanDevice::Gpu
        }
        d => {
            return Err(BadInput(format!(
                "--device {d:?}: expected cpu, cuda, cuda:N or wgpu"
            ))
            .into());
        }
    };
    let input = PlanInput {
        objective,
        lora_rank: a.lora_rank,
        batch_size: a.batch_size,
        responses: a.responses,
        seq_len: a.seq_len,
        response_len: a.response_len.unwrap_or(a.seq_len * 3 / 4),
        grad_accum: a.grad_accum,
        base_dtype: a.base_dtype.parse::<WeightDtype>()?,
        device,
        device_gib: a.device_memory,
        layer_checkpointing: a.gradient_checkpointing == rrtf_config::GradientCheckpointing::Layers,
    };
    let mut p = plan(&config, &input)?;
    if a.gradient_checkpointing == rrtf_config::GradientCheckpointing::Ops {
        p.notes.push(
            "burn's op-level checkpointing (\"ops\") is not modelled: the totals are without it \
             (it lowered the peak by 10-14% on flex)"
                .into(),
        );
    }
    ctx.emit(
        || p.text().trim_end().to_string(),
        || serde_json::to_value(&p).expect("plan serializes"),
    );
    Ok(())
}
