//! `rrtf-exec`: runs model-written code against unit tests, in a sandbox, fast, and says what
//! happened ([`Outcome`], per-test counts, resources).
//!
//! Code map:
//! - [`extract`]: code out of model responses (fenced blocks, prose, completion mode).
//! - [`answer`]: the code stored with an answer to a prompt (chat answer or continuation), the
//!   rule `rrtf sample` and `rrtf import responses` share.
//! - [`job`]: what to run ([`Job`]) and what came of it ([`ExecResult`], [`Outcome`]).
//! - [`sandbox`]: protections probe, rlimits, the namespace/Landlock/seccomp launcher.
//! - [`python`]: the warm Python worker (an interpreter that forks per sample).
//! - [`compiled`]: one-shot profiles for JavaScript, C++, Java, Go and Rust, and their compile
//!   cache.
//! - [`lang`]: languages, their toolchains and how to install a missing one.
//! - [`pool`]: one worker per core; takes an iterator of jobs, streams keyed results.
//! - [`passk`]: the unbiased pass@k estimator of the Codex paper.
//! - [`rows`]: JSON-lines sample and result files (`rrtf exec run`, `rrtf exec passk`).
//! - [`doctor`]: what the sandbox can do here (`rrtf exec doctor`).
//!
//! This crate is the only one in the workspace that spawns processes. It knows nothing of the
//! database: the pipeline stage feeds it [`Job`]s and stores the [`ExecResult`]s it streams.
//!
//! ```no_run
//! use rrtf_exec::{ExecConfig, Executor, Job, Language};
//! let exec = Executor::new(ExecConfig::default())?;
//! let jobs = vec![Job::from_completion(
//!     42, // the caller's key, e.g. a response id
//!     Language::Python,
//!     "def add(a, b):\n",
//!     "    return a + b\n",
//!     "def check(candidate):\n    assert candidate(1, 2) == 3\n".into(),
//!     Some("add".into()),
//! )];
//! for result in exec.run(jobs) {
//!     // store `result` under `result.key` as it arrives
//!     assert!(result.passed());
//! }
//! # Ok::<(), rrtf_exec::ExecError>(())
//! ```

pub mod answer;
pub mod compiled;
pub mod doctor;
pub mod error;
pub mod extract;
pub mod job;
pub mod lang;
pub mod passk;
pub mod pool;
pub mod python;
pub mod rows;
pub mod sandbox;
mod slot;

pub use error::ExecError;
pub use job::{ExecResult, Job};
pub use lang::{Language, LanguageTools};
// The one Outcome (rrtf-types'), whose labels the store keeps.
pub use pool::{ExecConfig, Executor};
pub use rrtf_types::Outcome;

/// This crate's version, recorded with the exec stage's runs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The lowest address-space limit per sample ([`ExecConfig::memory_mb`]) the executor accepts:
/// below it interpreters and compilers cannot start, and good code would be judged
/// `memory_limit`. The round config's `execution.memory_mb` has the same floor.
pub const MIN_MEMORY_MB: u64 = 64;
