//! `rrtf-report`: every page and table rrtf shows, rendered once from typed data. The static
//! report ([`report`]), the web review ([`web`]: server-rendered pages over the store, the
//! review actions going through `rrtf_data::review::record`, the CLI's own path), a sweep's comparison page
//! ([`sweep`]), and their parts: escaping and outcome colours ([`html`]), inline SVG charts
//! ([`plots`]: training curves, bars, histograms), tables rendered as HTML, Markdown or aligned
//! text ([`table`]), the project overview the report, the web index and `rrtf status`
//! share ([`overview`]), the review's text views `rrtf review` prints ([`review_text`]), and the
//! text of `rrtf status` and of the stages' summaries ([`text`]).
//!
//! No JavaScript and no external assets: pages work offline. Everything that comes from the
//! store (prompts, model output, notes) is escaped.
//!
//! Not here: SQL (`rrtf-store`'s typed API), running anything (`rrtf-pipeline`), printing to a
//! terminal (the binary).

pub mod experiment;
pub mod html;
pub mod overview;
pub mod plots;
pub mod report;
pub mod review_text;
pub mod sweep;
pub mod table;
pub mod text;
pub mod web;

pub use overview::{Overview, rounds_table};
pub use report::{MadeBy, Report};
use rrtf_store::StoreError;
use rrtf_types::UserError;
pub use table::{Cell, Table};

/// Why a report could not be made or the web review could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("who is reviewing? pass --reviewer NAME (or set USER)")]
    NoReviewer,
    /// The review server's options would expose it, or its TLS files are unusable: why, and
    /// what to pass instead.
    #[error("{0}")]
    Exposed(String),
    #[error("cannot listen on {addr}: {error}")]
    Bind { addr: String, error: std::io::Error },
    /// Writing a page, serving: `what` names it.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl UserError for ReportError {
    /// True when the user's arguments or files caused the error.
    fn is_user_error(&self) -> bool {
        match self {
            Self::Store(e) => e.is_user_error(),
            Self::NoReviewer | Self::Exposed(_) | Self::Bind { .. } => true,
            Self::Io { .. } => false,
        }
    }
}

impl ReportError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// An error and its causes on one line, `: `-separated.
pub(crate) fn error_text(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
