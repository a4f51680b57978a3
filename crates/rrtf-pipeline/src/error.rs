//! The crate's error type. Errors of the crates the pipeline drives are kept whole (their
//! messages already name the bad value and the fix); the pipeline adds its own for child
//! commands, files and the checks it makes itself.

use std::path::PathBuf;

use rrtf_config::ConfigError;
use rrtf_data::DataError;
use rrtf_exec::ExecError;
use rrtf_llm::LlmError;
use rrtf_model::ModelError;
use rrtf_store::StoreError;
use rrtf_train::TrainError;
use rrtf_types::UserError;

use crate::child::StageLog;
use crate::stop::Signal;

/// A failed child's log tail on lines of its own, after the message, or nothing.
fn quoted(log: &Option<StageLog>) -> String {
    match log {
        Some(log) => format!("\n{log}"),
        None => String::new(),
    }
}

/// Why a pipeline step failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// `rrtf sample`'s answers could not be stored (the store's error, or the sink's).
    #[error("storing answers failed; re-run to resume")]
    Storing {
        #[source]
        source: rrtf_llm::sampler::SinkError,
    },
    /// A checkpoint that did not load (`rrtf eval --model`).
    #[error("loading {path}")]
    LoadModel {
        path: PathBuf,
        #[source]
        source: ModelError,
    },
    /// A trained model that could not be written (`rrtf train`).
    #[error("saving the trained model to {path}")]
    SaveModel {
        path: PathBuf,
        #[source]
        source: ModelError,
    },
    /// A config the pipeline wrote that does not load back.
    #[error("checking {path}")]
    WrittenConfig {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },
    /// A child `rrtf` command exited with an error; its own message went to stderr, and with
    /// stage logs the end of its log is quoted here.
    #[error(
        "`rrtf {command}` failed ({ended}); fix the cause and run the {what} again: \
         what finished is skipped{}",
        quoted(log)
    )]
    Child {
        command: String,
        code: i32,
        /// "exit code N", or the signal that killed it (`kill -9` says so, not "exit code 1").
        ended: String,
        /// What to run again: "round", "sweep".
        what: &'static str,
        log: Option<StageLog>,
    },
    /// A child `rrtf` command of the quickstart exited with an error.
    #[error(
        "`rrtf {command}` failed in {dir} ({ended}); run `rrtf quickstart` again to \
         continue{}",
        quoted(log)
    )]
    Quickstart {
        command: String,
        dir: PathBuf,
        ended: String,
        log: Option<StageLog>,
    },
    /// A sweep whose variant failed (after the others ran, with `--keep-going`).
    #[error(
        "sweep {name}: a variant failed; fix the cause and run the sweep again: finished \
         variants are skipped"
    )]
    Sweep {
        name: String,
        #[source]
        source: Box<PipelineError>,
    },
    /// A stop request (Ctrl-C, SIGTERM) ended the work: the child stage running then (`what`
    /// names it) was sent the signal and stopped cleanly, recording its own run as
    /// `interrupted`, or no stage was running. Not a failure: the binary exits with 128 + the
    /// signal's number.
    #[error("{what} stopped by {signal}")]
    Stopped { what: String, signal: Signal },
    /// Reading, writing or starting something: `what` names it ("writing PATH").
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The caller's arguments or files (exit code 2 in the binary).
    #[error("{0}")]
    Invalid(String),
    /// Something the pipeline found wrong at run time that is not the caller's input.
    #[error("{0}")]
    Failed(String),
}

impl UserError for PipelineError {
    /// True when the user's arguments, files or environment caused the error. A child
    /// command's exit code 2 is its user error, passed on.
    fn is_user_error(&self) -> bool {
        match self {
            Self::Config(_) | Self::WrittenConfig { .. } | Self::Invalid(_) => true,
            Self::Store(e) => e.is_user_error(),
            Self::Data(e) => e.is_user_error(),
            Self::Exec(e) => e.is_user_error(),
            Self::Model(e) | Self::LoadModel { source: e, .. } => e.is_user_error(),
            Self::SaveModel { source, .. } => source.is_user_error(),
            Self::Train(e) => e.is_user_error(),
            Self::Llm(e) => e.is_user_error(),
            // The cause in the box is asked by the binary (every cause of the chain).
            Self::Storing { .. } => false,
            Self::Child { code, .. } => *code == 2,
            Self::Sweep { source, .. } => source.is_user_error(),
            Self::Quickstart { .. } | Self::Io { .. } | Self::Failed(_) | Self::Stopped { .. } => {
                false
            }
        }
    }
}

impl PipelineError {
    /// The signal that stopped the work, when this error is (or wraps) [`Self::Stopped`].
    pub fn stopped_by(&self) -> Option<Signal> {
        match self {
            Self::Stopped { signal, .. } => Some(*signal),
            Self::Sweep { source, .. } => source.stopped_by(),
            _ => None,
        }
    }

    /// An I/O error with what was being done ("writing PATH").
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_user_error_stays_a_user_error_through_a_sweep() {
        let child = |code| PipelineError::Child {
            command: "train".into(),
            code,
            ended: format!("exit code {code}"),
            what: "sweep",
            log: None,
        };
        assert!(child(2).is_user_error());
        assert!(!child(1).is_user_error());
        let sweep = PipelineError::Sweep {
            name: "s".into(),
            source: Box::new(child(2)),
        };
        assert!(sweep.is_user_error());
        assert_eq!(
            child(1).to_string(),
            "`rrtf train` failed (exit code 1); fix the cause and run the sweep again: what \
             finished is skipped"
        );
    }
}
