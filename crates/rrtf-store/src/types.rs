//! Row types written by the stages. The closed vocabularies they hold are `rrtf-types`'.

use serde::Serialize;

use crate::{Outcome, PromptKind, TestOrigin};

/// A prompt to insert, with its tests. `(source, source_id)` is its natural key.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPrompt {
    pub round: i64,
    pub source: String,
    pub source_id: String,
    pub kind: PromptKind,
    pub text: String,
    pub language: String,
    pub entry_point: Option<String>,
    pub reference: Option<String>,
    pub parent_id: Option<i64>,
    pub evolution_method: Option<String>,
    pub tests: Vec<NewTest>,
}

/// A test program for a prompt; `(prompt, content hash of code)` is its natural key.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTest {
    pub language: String,
    pub origin: TestOrigin,
    pub code: String,
    pub entry_point: Option<String>,
}

/// A response to insert; `request_hash` is its natural key.
#[derive(Clone, Debug, PartialEq)]
pub struct NewResponse {
    pub prompt_id: i64,
    pub model_id: i64,
    pub round: i64,
    pub temperature: Option<f64>,
    pub sample_index: i64,
    pub raw_text: String,
    pub code: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub latency_ms: Option<i64>,
    pub cost_usd: Option<f64>,
    pub request_hash: String,
    /// The run that produced it (the sample run; `None` for imports).
    pub run_id: Option<i64>,
}

/// One response run against one test program; `(response, test)` is its natural key.
#[derive(Clone, Debug, PartialEq)]
pub struct NewExecution {
    pub response_id: i64,
    pub test_id: i64,
    pub outcome: Outcome,
    pub tests_passed: i64,
    pub tests_total: i64,
    pub first_failure: Option<String>,
    pub stderr_tail: Option<String>,
    pub wall_ms: Option<i64>,
    pub cpu_ms: Option<i64>,
    pub peak_rss_kb: Option<i64>,
    pub executor_hash: String,
}

/// What a batched writer did: rows newly inserted and rows already present (skipped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InsertReport {
    pub inserted: u64,
    pub existing: u64,
}

impl InsertReport {
    pub fn add(&mut self, inserted: u64, attempted: u64) {
        self.inserted += inserted;
        self.existing += attempted - inserted;
    }
}
