//! Typed client errors. Each names what failed and what to do; none ever contains the API key.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(
        "environment variable `{var}` (api_key_env of `{endpoint}`) is not set: export the API key \
         in it, or remove api_key_env for a server without keys"
    )]
    MissingKey { endpoint: String, var: String },
    #[error("`{endpoint}`: base_url `{url}` is not a valid URL: {message}")]
    BadUrl {
        endpoint: String,
        url: String,
        message: String,
    },
    /// A 4xx other than 408/429: retrying would not help.
    #[error("`{endpoint}` answered HTTP {status} at {url}: {message}{hint}")]
    Rejected {
        endpoint: String,
        url: String,
        status: u16,
        message: String,
        hint: &'static str,
    },
    /// Every attempt failed with a retryable error; `last` is the last one.
    #[error("`{endpoint}`: gave up after {attempts} attempts over {elapsed:.1?}: {last}")]
    Exhausted {
        endpoint: String,
        attempts: u32,
        elapsed: Duration,
        last: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// What serves an endpoint could not be identified (its replay file or checkpoint, whose
    /// content hash is part of every request key).
    #[error("`{endpoint}`: cannot read {path}: {message}")]
    Identity {
        endpoint: String,
        path: std::path::PathBuf,
        message: String,
    },
    /// Not sent: its worst-case cost would take the round's spend past the cap.
    #[error(
        "`{endpoint}`: not sent: the round's budget is reached (spent ${spent:.4} of \
         [sampling] budget_usd = {cap}; this request may cost up to ${needed:.4}): raise \
         budget_usd in the round config and re-run to continue"
    )]
    Budget {
        endpoint: String,
        cap: f64,
        spent: f64,
        needed: f64,
    },
}

impl rrtf_types::UserError for LlmError {
    /// True when the user must change the config or environment.
    fn is_user_error(&self) -> bool {
        matches!(
            self,
            LlmError::MissingKey { .. } | LlmError::BadUrl { .. } | LlmError::Identity { .. }
        ) || self.is_fatal_for_endpoint()
    }
}

impl LlmError {
    /// Errors that will fail every request to this endpoint (bad key, unknown model or path):
    /// the sampler stops sending to the endpoint instead of failing each request in turn.
    pub fn is_fatal_for_endpoint(&self) -> bool {
        matches!(self, LlmError::Rejected { status, .. } if matches!(status, 401 | 403 | 404))
            || matches!(self, LlmError::Budget { .. })
    }

    /// Every attempt failed to connect (refused, no route, unknown host): the server is not
    /// there. Fatal for the endpoint only while no request to it has been answered (a server
    /// that answered before and restarts is waited for request by request).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, LlmError::Exhausted { last, .. } if last.starts_with("connection failed"))
    }

    /// Attempts made, when known (`None` for errors raised before or without a count).
    pub fn attempts(&self) -> Option<u32> {
        match self {
            LlmError::Exhausted { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// True when the request was never sent (nothing to record in a ledger).
    pub fn not_sent(&self) -> bool {
        matches!(
            self,
            LlmError::Budget { .. }
                | LlmError::MissingKey { .. }
                | LlmError::BadUrl { .. }
                | LlmError::Client(_)
                | LlmError::Identity { .. }
        )
    }

    /// A stable label per variant, for per-teacher failure counts.
    pub fn label(&self) -> &'static str {
        match self {
            LlmError::MissingKey { .. } => "missing_key",
            LlmError::BadUrl { .. } => "bad_url",
            LlmError::Rejected { .. } => "rejected",
            LlmError::Exhausted { .. } => "exhausted",
            LlmError::Client(_) => "client",
            LlmError::Identity { .. } => "identity",
            LlmError::Budget { .. } => "budget",
        }
    }
}

/// What to do about a rejection, by status.
pub(crate) fn hint(status: u16) -> &'static str {
    match status {
        401 => " (check the key in the variable named by api_key_env)",
        403 => " (the key lacks access to this model)",
        404 => " (check base_url, which must include /v1, and the model name)",
        400 | 422 => " (the server refused the parameters: check max_tokens, stop, temperature)",
        _ => "",
    }
}
