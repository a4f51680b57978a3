//! The crate's error type: what stops the server from starting or running. Errors of single
//! requests are answered over HTTP in OpenAI's shape ([`crate::api::ApiError`]) instead.

use rrtf_model::ModelError;
use rrtf_types::UserError;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("loading the model: {0}")]
    Model(#[from] ModelError),
    #[error(
        "--api-key-env {var}: the variable is not set or empty: export the token in it (the token is never given on the command line)"
    )]
    MissingKey { var: String },
    #[error("--chat-template {name:?}: unknown template: choose one of {known}")]
    UnknownTemplate { name: String, known: &'static str },
    #[error("--model-name {name:?}: {message}")]
    BadModelName { name: String, message: &'static str },
    #[error(
        "--host {host}: not an address this machine can resolve ({source}): give an IP address such as 127.0.0.1 or a host name"
    )]
    BadHost {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot listen on {addr}: {source}: choose another --host/--port (--port 0 picks a free one)"
    )]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the model worker thread stopped unexpectedly: {0}")]
    Worker(String),
}

impl UserError for ServeError {
    /// True when the user's arguments, files or environment caused the error.
    fn is_user_error(&self) -> bool {
        match self {
            Self::Model(e) => e.is_user_error(),
            Self::MissingKey { .. }
            | Self::UnknownTemplate { .. }
            | Self::BadModelName { .. }
            | Self::BadHost { .. } => true,
            Self::Bind { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::AddrInUse
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::InvalidInput
            ),
            Self::Worker(_) => false,
        }
    }
}
