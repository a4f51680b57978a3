//! The crate's error type. Every message names the bad value and, where there is one, the fix.

use std::path::PathBuf;

/// Errors from loading, saving, tokenizing and running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid model config: {0}")]
    Config(String),
    #[error("device {0}")]
    Device(String),
    #[error("unknown preset {name:?}: choose one of {known}")]
    UnknownPreset { name: String, known: String },
    #[error(
        "{path}: no model.safetensors or model.safetensors.index.json: point --model at a Hugging Face checkpoint directory"
    )]
    NoWeights { path: PathBuf },
    #[error("{path}: invalid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error("tensor {name:?} has unsupported dtype {dtype}: only F32, F16 and BF16 weights load")]
    UnsupportedDtype { name: String, dtype: String },
    /// The checkpoint does not match the architecture given by config.json.
    #[error(
        "checkpoint does not match config.json:{}",
        weight_report(missing, unexpected, mis_shaped)
    )]
    Weights {
        missing: Vec<String>,
        unexpected: Vec<String>,
        /// `name: expected [..], found [..]`
        mis_shaped: Vec<String>,
    },
    #[error("tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error(
        "tokenizer has no {token:?} token: train it with `rrtf tokenizer train` or use a StarCoder tokenizer"
    )]
    MissingSpecialToken { token: String },
    #[error("{what}: {message}")]
    Input { what: String, message: String },
    #[error(
        "sequence of {len} tokens exceeds the model's n_positions = {max}: shorten the input or lower --max-new-tokens"
    )]
    TooLong { len: usize, max: usize },
    #[error("tensor backend: {0}")]
    Backend(String),
}

fn weight_report(missing: &[String], unexpected: &[String], mis_shaped: &[String]) -> String {
    let mut out = String::new();
    for (label, list) in [
        ("missing", missing),
        ("unexpected", unexpected),
        ("mis-shaped", mis_shaped),
    ] {
        if !list.is_empty() {
            out.push_str(&format!(
                "\n  {label} ({}): {}",
                list.len(),
                list.join(", ")
            ));
        }
    }
    out
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl rrtf_types::UserError for ModelError {
    /// True when the error comes from the caller's arguments or files rather than the machine.
    fn is_user_error(&self) -> bool {
        match self {
            Self::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            Self::Backend(_) => false,
            _ => true,
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
