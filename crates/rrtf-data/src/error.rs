//! Import and export errors. A row error names the file, the line (or JSON array element) and
//! the field, so the user can go straight to it.

use std::fmt;
use std::path::PathBuf;

use rrtf_types::UserError;

/// Where a row sits in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Location {
    /// 1-based line of a JSONL file.
    Line(usize),
    /// 1-based element of a JSON array file.
    Element(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Element(n) => write!(f, "element {n}"),
        }
    }
}

/// What is wrong with one row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub location: Location,
    /// The offending field, when the problem is one field.
    pub field: Option<String>,
    pub message: String,
}

impl RowError {
    pub fn field(location: Location, field: &str, message: impl Into<String>) -> Self {
        RowError {
            location,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn row(location: Location, message: impl Into<String>) -> Self {
        RowError {
            location,
            field: None,
            message: message.into(),
        }
    }

    /// The error without its location, to group skipped rows by reason.
    pub fn reason(&self) -> String {
        match &self.field {
            Some(f) => format!("field `{f}`: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {error} (fix the row, or pass --skip-invalid to import the other rows)")]
    Row { path: PathBuf, error: RowError },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid option: {0}")]
    Option(String),
    /// A review names a response of another prompt (a reorder's list).
    #[error("response {response} does not answer prompt {prompt}; its responses are {known:?}")]
    NotInPrompt {
        response: i64,
        prompt: i64,
        known: Vec<i64>,
    },
    /// A review without an author ([`crate::review::submit`]).
    #[error("who is reviewing? pass --author NAME (or set USER)")]
    NoAuthor,
    #[error(transparent)]
    Store(#[from] rrtf_store::StoreError),
}

impl UserError for DataError {
    /// True when the user's file or options are at fault, not the machine.
    fn is_user_error(&self) -> bool {
        match self {
            DataError::Row { .. }
            | DataError::Format { .. }
            | DataError::Option(_)
            | DataError::NotInPrompt { .. }
            | DataError::NoAuthor => true,
            // A path that is missing, a directory, or a file that is not what it says (a
            // truncated or corrupt .gz): the user's input. Other I/O errors are the machine's.
            DataError::Read { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::InvalidInput
            ),
            // Writing where the user asked: a directory named as the file, a missing
            // permission.
            DataError::Write { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::NotADirectory
                    | std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::ReadOnlyFilesystem
            ),
            DataError::Store(e) => e.is_user_error(),
        }
    }
}
