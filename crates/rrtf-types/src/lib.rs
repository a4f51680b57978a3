//! The one vocabulary of rrtf: the closed sets of values that several crates name ([`Outcome`],
//! [`ModelRole`], [`PromptKind`], [`TestOrigin`], [`ReviewAction`], [`Language`]), the ranker's
//! inputs and outputs ([`RankPrompt`], [`PromptRanking`], ...), and the user-error convention
//! every library error type follows ([`UserError`]).
//!
//! Each vocabulary has one stable text label per value (`as_str`, `Display`, `FromStr`, serde),
//! the text the database stores and JSON carries. With the `sqlx` feature (enabled by
//! `rrtf-store` only) they are SQLite text columns: encoded as their label, decoded with an error
//! naming the value and the labels expected.
//!
//! Not here: behaviour. What a language needs installed is `rrtf-exec`'s, how an outcome ranks
//! is `rrtf-rank`'s, how rows are stored is `rrtf-store`'s. This crate does no I/O.

mod device;
mod language;
mod rank;
pub mod template;
mod user_error;
mod vocab;

pub use device::DeviceName;
pub use language::{Language, UnknownLanguage};
pub use rank::{PromptRanking, RankCandidate, RankPrompt, RankerRef, ScoredResponse};
pub use user_error::UserError;
pub use vocab::{ModelRole, Outcome, PromptKind, ReviewAction, TestOrigin};
