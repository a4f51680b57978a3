//! Typed errors of the trainer. Each message names the bad value and what to do about it;
//! [`UserError::is_user_error`] tells the binary which ones are the caller's (exit code 2).

use std::path::{Path, PathBuf};

use rrtf_model::ModelError;
use rrtf_types::UserError;

pub type Result<T, E = TrainError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A ranked group that cannot be trained on (the caller's data).
    #[error("{what}: {message}")]
    Input { what: String, message: String },
    /// A `[training]` value this trainer does not support.
    #[error("training.{key} = {value}: {message}")]
    Config {
        key: &'static str,
        value: String,
        message: String,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint directory that is missing a part or does not match the run.
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// burn failed (tensor read-back, record (de)serialisation).
    #[error("backend: {0}")]
    Backend(String),
    /// Another process writes the same output directory ([`crate::lock::DirLock`]).
    #[error(
        "{dir} is in use by {holder}: wait for that run to end or stop it (a second writer \
         would mix its checkpoints and metrics with the first's), or set another output_dir"
    )]
    Locked { dir: PathBuf, holder: String },
}

impl TrainError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub fn input(what: impl Into<String>, message: impl Into<String>) -> Self {
        TrainError::Input {
            what: what.into(),
            message: message.into(),
        }
    }
}

impl UserError for TrainError {
    /// True when the caller can fix it (bad data, config or paths).
    fn is_user_error(&self) -> bool {
        match self {
            TrainError::Input { .. } | TrainError::Config { .. } => true,
            TrainError::Checkpoint { .. } | TrainError::Locked { .. } => true,
            TrainError::Model(e) => e.is_user_error(),
            TrainError::Io { .. } | TrainError::Backend(_) => false,
        }
    }
}
