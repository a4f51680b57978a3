//! The project database: one SQLite file (WAL, foreign keys, a busy timeout) or, for teams, a
//! PostgreSQL database, both through sqlx's `Any` driver and migrated by the workspace's
//! `migrations/` (SQLite) and `migrations/postgres/` (PostgreSQL, the same schema).
//!
//! This crate is the only one that writes SQL. It holds the pipeline's data model (rounds, runs,
//! prompts with lineage, tests, models, responses, executions, scores and rankings keyed by ranker
//! hash, append-only reviews, training runs) and batched, idempotent writers: every table has a
//! natural unique key and every writer inserts with `ON CONFLICT DO NOTHING`, so a stage re-run
//! after a crash inserts nothing twice. It does not parse dataset files (see `rrtf-data`) and does
//! not decide scores (the ranker does).

mod claims;
mod copy;
mod decontam;
mod error;
mod evidence;
mod evolution;
mod exec_queue;
mod hash;
mod inspect;
mod ledger;
mod open;
mod pg_copy;
mod prompts;
mod rank_inputs;
mod rankings;
mod responses;
mod reviewers;
mod reviews;
mod runs;
mod sampling;
mod settings;
mod sql;
mod sqlite_config;
mod status;
mod synth_tests;
pub mod testing;
mod training;
mod types;

pub use claims::WorkerLease;
pub use copy::CopiedTable;
pub use decontam::{
    Contamination, ContaminationAction, ContaminationLine, ContaminationRow, ScreenPrompt,
    ScreenResponse,
};
pub use error::StoreError;
pub use evidence::{EvolutionLine, OutcomeExample, RunLine};
pub use evolution::PoolPrompt;
pub use exec_queue::PendingExecution;
pub use hash::{content_hash, sha256_hex};
pub use inspect::{ModelStats, PromptDetail, PromptInfo, PromptSummary, ResponseInfo, TestInfo};
pub use ledger::{LEDGER_STAGES, LedgerLine, NewLlmRequest};
pub use open::{Backend, Location, Store, redact};
pub use prompts::{PromptInsertReport, PromptWriter};
pub use rankings::{RankedGroup, RankedResponse};
pub use responses::PromptKey;
pub use reviewers::{ReviewSession, ReviewerAccount, check_reviewer_name};
pub use reviews::{NewReview, Review};
pub use runs::{NewRun, RunRef};
pub use sampling::{ModelSpend, ResponseIdentity, SamplingPrompt};
pub use settings::{PolicyState, ReviewPolicy};
pub use status::{LanguageStatus, RoundStatus, StageStatus, Status};
pub use synth_tests::{NewSynthTest, UnvalidatedTest};
pub use training::{DoneRun, MetricPoint, TrainingCurves, TrainingRef};
pub use types::{InsertReport, NewExecution, NewPrompt, NewResponse, NewTest};
// The vocabularies and the ranker's types are rrtf-types'; re-exported as part of this API.
pub use rrtf_types::{
    ModelRole, Outcome, PromptKind, PromptRanking, RankCandidate, RankPrompt, RankerRef,
    ReviewAction, ScoredResponse, TestOrigin,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
