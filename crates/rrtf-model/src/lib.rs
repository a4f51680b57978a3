//! `rrtf-model`: a StarCoder-family (Hugging Face `gpt_bigcode`) causal language model in burn.
//!
//! It loads HF checkpoint directories (`config.json`, `model.safetensors` or a sharded index,
//! `tokenizer.json`), computes per-token log-probs of responses (differentiable, for the
//! trainer), generates with a KV cache, and saves in HF layout that transformers loads back.
//!
//! Code map: [`config`] (HF `config.json`, presets) → [`model`] (the architecture) ←
//! [`weights`] (safetensors ↔ modules) ; [`tokenizer`] (tokenizer.json, BPE training, FIM) ;
//! [`logprobs`] and [`generate`] use a model and a tokenizer ; [`bench`] times them ;
//! [`Checkpoint`] ties a directory's three parts together; [`device`] names the devices
//! (`cpu`, `cuda:N`, `wgpu`) and says which code runs on each.
//!
//! Not here: training loops and losses (the trainer crate), databases, HTTP.

pub mod batch;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod durable;
pub mod error;
pub mod generate;
mod infer;
mod kernels;
pub mod logprobs;
pub mod model;
pub mod quant;
pub mod tokenizer;
pub mod weights;

use std::path::{Path, PathBuf};

pub use burn::tensor::Device;
pub use config::GptBigCodeConfig;
pub use device::{default_device, parse_device, wgpu_adapter};
pub use error::{ModelError, Result};
pub use generate::{
    Generation, SamplingParams, StopReason, generate, generate_many, generate_with,
};
pub use logprobs::{
    Batch, PairLogprobs, TextPair, TokenPair, read_text_pairs, score_pairs, score_text_pairs,
    sequence_logprobs, token_logprobs,
};
pub use model::{GptBigCode, KvCache};
pub use quant::Quantize;
pub use tokenizer::CodeTokenizer;
pub use weights::SaveDtype;

/// A checkpoint directory's parts: config, weights and tokenizer.
#[derive(Debug)]
pub struct Checkpoint {
    pub config: GptBigCodeConfig,
    pub model: GptBigCode,
    pub tokenizer: CodeTokenizer,
}

impl Checkpoint {
    /// Load `dir` (config.json, model.safetensors or model.safetensors.index.json,
    /// tokenizer.json) onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, false)
    }

    /// [`Checkpoint::load`] with the projection weights in bf16 when `bf16_projections`
    /// ([`weights::build_with`]: for LoRA over a bf16 base only).
    pub fn load_with(dir: &Path, device: &Device, bf16_projections: bool) -> Result<Self> {
        if !dir.is_dir() {
            let message = if dir.exists() {
                // `--model model.safetensors`: the checkpoint is the directory holding it.
                let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
                format!(
                    "is a file, not a directory: give the checkpoint's directory (the one with \
                     config.json, model.safetensors and tokenizer.json){}",
                    parent.map_or(String::new(), |p| format!(", e.g. {}", p.display()))
                )
            } else {
                "does not exist: make one with `rrtf model init` or download a checkpoint".into()
            };
            return Err(ModelError::Input {
                what: format!("model directory {}", dir.display()),
                message,
            });
        }
        let config = GptBigCodeConfig::load(&dir.join("config.json"))?;
        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;
        check_vocab(&config, &tokenizer)?;
        let tensors = weights::read_dir(dir)?;
        let model = weights::build_with(&config, tensors, device, bf16_projections)?;
        Ok(Self {
            config,
            model,
            tokenizer,
        })
    }

    /// A new seeded random model of `preset` sized to `tokenizer`. `init_std` overrides the
    /// preset's `initializer_range` (large values give peaked distributions, handy in tests).
    pub fn init(
        preset: &str,
        tokenizer: &Path,
        init_std: Option<f64>,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let tokenizer = load_tokenizer(tokenizer)?;
        let mut config =
            GptBigCodeConfig::preset(preset, tokenizer.vocab_size(), tokenizer.eos_id())?;
        if let Some(std) = init_std {
            if !(std > 0.0 && std.is_finite()) {
                return Err(ModelError::Input {
                    what: format!("--init-std {std}"),
                    message: "must be a positive number".into(),
                });
            }
            config.initializer_range = std;
        }
        Self::from_config(config, tokenizer, seed, device)
    }

    /// A new seeded random model of any (valid) architecture, e.g. a preset with a vocabulary
    /// padded beyond the tokenizer's (StarCoder pads to 49152).
    pub fn from_config(
        config: GptBigCodeConfig,
        tokenizer: CodeTokenizer,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        check_vocab(&config, &tokenizer)?;
        let tensors = weights::init(&config, config.initializer_range, seed);
        let model = weights::build(&config, tensors, device)?;
        Ok(Self {
            config,
            model,
            tokenizer,
        })
    }

    /// Write `dir` in HF layout: config.json, model.safetensors (`format: pt`), tokenizer.json.
    ///
    /// Each file is written whole or not at all: all three are written and fsynced in a staging
    /// directory inside `dir` (`.save-<pid>.tmp`), then renamed over their names one by one
    /// (weights first, config last). A save killed midway leaves the previous files (or none),
    /// never a half-written one; its staging directory is removed by the next save.
    pub fn save(&self, dir: &Path, dtype: SaveDtype) -> Result<()> {
        let io = |(path, e): durable::IoAt| ModelError::io(path, e);
        let staging = durable::staging_dir(
            dir,
            &format!("{STAGING_PREFIX}{}{STAGING_SUFFIX}", std::process::id()),
            STAGING_PREFIX,
            STAGING_SUFFIX,
        )
        .map_err(io)?;
        let mut config = self.config.clone();
        config.extra.remove("torch_dtype");
        let path = staging.join("config.json");
        config.save(&path)?;
        // config.save writes float32; record the real dtype.
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("just written");
        value["dtype"] = dtype.torch_name().into();
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&value).expect("json") + "\n",
        )
        .map_err(|e| ModelError::io(&path, e))?;
        weights::write(
            &weights::export(&self.model),
            dtype,
            &staging.join("model.safetensors"),
        )?;
        self.tokenizer.save(&staging.join("tokenizer.json"))?;
        for name in SAVED_FILES {
            durable::sync_file(&staging.join(name)).map_err(io)?;
        }
        // A stale index would shadow nothing (model.safetensors wins) but would confuse readers.
        let index = dir.join("model.safetensors.index.json");
        if index.exists() {
            std::fs::remove_file(&index).map_err(|e| ModelError::io(&index, e))?;
        }
        for name in SAVED_FILES {
            let to = dir.join(name);
            std::fs::rename(staging.join(name), &to).map_err(|e| ModelError::io(&to, e))?;
        }
        std::fs::remove_dir(&staging).map_err(|e| ModelError::io(&staging, e))?;
        durable::sync_dir(dir).map_err(io)
    }
}

/// The files [`Checkpoint::save`] writes, in the order they replace the previous ones.
const SAVED_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];
const STAGING_PREFIX: &str = ".save-";
const STAGING_SUFFIX: &str = ".tmp";

fn load_tokenizer(path: &Path) -> Result<CodeTokenizer> {
    if !path.is_file() {
        return Err(ModelError::Input {
            what: format!("tokenizer {}", path.display()),
            message: "not found: train one with `rrtf tokenizer train` or copy the checkpoint's tokenizer.json".into(),
        });
    }
    CodeTokenizer::load(path)
}

fn check_vocab(config: &GptBigCodeConfig, tok: &CodeTokenizer) -> Result<()> {
    if tok.vocab_size() > config.vocab_size {
        return Err(ModelError::Config(format!(
            "tokenizer has {} tokens but vocab_size is {}: use the checkpoint's own tokenizer.json",
            tok.vocab_size(),
            config.vocab_size
        )));
    }
    Ok(())
}

/// Where the fixtures made by `scripts/make_model_fixtures.py` live (for tests and docs).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/model")
}
