//! Typed errors of the executor. A sample's own failure is never an error: it is an
//! [`Outcome`](crate::Outcome). Errors are for the executor itself (cannot spawn, toolchain
//! missing, malformed input) and name what to do about them.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("sandbox setup failed at step `{step}`: {source}")]
    Sandbox {
        step: &'static str,
        source: io::Error,
    },
    #[error("cannot build the seccomp filter: {0}")]
    Seccomp(String),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    /// A file the caller named (`exec run --input`/`--output`, `exec passk --input`) that
    /// cannot be read or made: bad input (exit status 2) when it is missing, a directory, not
    /// permitted or not text; the machine's failure (a full disk) otherwise.
    #[error("{what}: {source}")]
    Path { what: String, source: io::Error },
    #[error(
        "language `{language}` needs `{tool}`, which was not found; install it (e.g. `{install}`)"
    )]
    MissingToolchain {
        language: &'static str,
        tool: &'static str,
        install: &'static str,
    },
    #[error("unknown language `{0}`; known: python, javascript, cpp, java, go, rust")]
    UnknownLanguage(String),
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    #[error("executor worker failed: {0}")]
    Worker(String),
    #[error("bad input: {0}")]
    BadInput(String),
    /// A row of a JSON-lines file ([`crate::rows`]) that is not what it must be.
    #[error("{path} line {line}: {message}")]
    Row {
        path: std::path::PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "refusing to run samples in a weaker sandbox. Missing here: {missing}. Fix: run as root, \
         or allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, and where \
         they exist kernel.unprivileged_userns_clone=1 and \
         kernel.apparmor_restrict_unprivileged_userns=0; in a container, a seccomp profile that \
         allows them), or accept the weaker sandbox with --insecure-sandbox ([execution] \
         insecure_sandbox = true; ExecConfig::insecure_sandbox)"
    )]
    InsecureSandbox { missing: String },
    /// Samples the executor could not judge ([`crate::ExecResult::unjudged`]): no verdict was
    /// recorded for them.
    #[error(
        "{count} of {total} samples could not be judged: the executor failed on them on every \
         attempt (first: {first}). No verdict was recorded for them; {retry}. If it keeps \
         failing, `rrtf exec doctor` checks the sandbox, and the log (-v) has each failure"
    )]
    Unjudged {
        count: usize,
        total: usize,
        first: String,
        /// How to run them again (the command's own wording).
        retry: String,
    },
}

impl From<rrtf_types::UnknownLanguage> for ExecError {
    fn from(e: rrtf_types::UnknownLanguage) -> Self {
        ExecError::UnknownLanguage(e.0)
    }
}

impl ExecError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        ExecError::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn path(what: impl Into<String>, source: io::Error) -> Self {
        ExecError::Path {
            what: what.into(),
            source,
        }
    }
}

impl rrtf_types::UserError for ExecError {
    /// True when the error is the caller's fault (bad rows, unknown language, bad k, a weaker
    /// sandbox not accepted explicitly).
    fn is_user_error(&self) -> bool {
        matches!(
            self,
            ExecError::BadInput(_)
                | ExecError::Row { .. }
                | ExecError::UnknownLanguage(_)
                | ExecError::InsecureSandbox { .. }
        ) || matches!(self, ExecError::Path { source, .. } if matches!(
            source.kind(),
            io::ErrorKind::NotFound
                | io::ErrorKind::NotADirectory
                | io::ErrorKind::IsADirectory
                | io::ErrorKind::PermissionDenied
                | io::ErrorKind::ReadOnlyFilesystem
                | io::ErrorKind::InvalidData
                | io::ErrorKind::InvalidInput
        ))
    }
}
