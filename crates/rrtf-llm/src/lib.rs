//! Teachers over HTTP: an OpenAI-compatible client (`/v1/chat/completions`,
//! `/v1/completions`) and the machinery the sampling stages need around it.
//!
//! - [`HttpBackend`]: one endpoint of the round config. Retries with exponential backoff and
//!   jitter on 429, 5xx, timeouts, connection errors and unreadable bodies, honouring
//!   `Retry-After`; other 4xx fail at once with the server's message. The API key is read from
//!   the variable named by `api_key_env` and is never logged, stored or printed.
//! - [`RateLimiter`]: `requests_per_minute` / `tokens_per_minute` as token buckets.
//! - [`Ledger`] and [`Budget`]: tokens and cost per teacher; a spend cap checked before each
//!   request (with the request's worst-case cost reserved), so a run stops cleanly at the cap.
//! - [`Metered`]: a backend wrapper that budgets each request and reports a [`RequestRecord`]
//!   per request sent (the stages that call a backend directly store them in their ledger).
//! - [`request_key`]: the idempotency key of a request (who answers: endpoint, model and what
//!   serves it, [`served_by`]; messages, parameters, sample index, seed), stored as
//!   `responses.request_hash`.
//! - [`render`]: prompt rendering for each (prompt kind, endpoint kind), from `prompts/`.
//! - [`sampler`]: every planned request exactly once, bounded concurrency per teacher,
//!   results handed to a [`sampler::Sink`] as they arrive.
//!
//! Stages call a [`Backend`] (a small object-safe trait) so they can be tested with fakes; the
//! real client is tested against a real HTTP server on 127.0.0.1 (`testserver`). [`replay`]
//! serves recorded answers over that server: the replay teacher of offline rounds. This crate does no SQL and extracts no code from responses (the executor
//! does): it returns the raw text, finish reason and usage.

mod client;
mod error;
mod key;
mod ledger;
mod limit;
mod metered;
pub mod render;
mod retry;
pub mod sampler;
mod types;

pub mod replay;
pub mod testserver;

pub use client::HttpBackend;
pub use error::LlmError;
pub use key::{Answerer, request_key, request_key_v1, request_seed, served_by};
pub use ledger::{Budget, Ledger, TeacherStats, cost_usd};
pub use limit::RateLimiter;
pub use metered::{Metered, RequestRecord, answer_cost};
pub use retry::{RetryPolicy, parse_retry_after, parse_retry_after_at};
pub use types::{GenRequest, Generation, Message, Params, Prompt};

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so that [`Backend`] can be used as `Arc<dyn Backend>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that answers generation requests: the HTTP client, or a fake in tests.
pub trait Backend: Send + Sync {
    /// Send one request (retrying as the implementation sees fit) and return the generation.
    fn generate<'a>(&'a self, req: &'a GenRequest) -> BoxFuture<'a, Result<Generation, LlmError>>;
}
