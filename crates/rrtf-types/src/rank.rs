//! What the ranker reads and what it returns: `rrtf-store` reads [`RankPrompt`]s and saves
//! [`PromptRanking`]s under a [`RankerRef`]; `rrtf-rank` turns the one into the other without
//! any I/O.

use crate::{ModelRole, Outcome};

/// A response with the executions of it against its prompt's tests.
#[derive(Clone, Debug, PartialEq)]
pub struct RankCandidate {
    pub response_id: i64,
    pub model: String,
    pub role: ModelRole,
    pub finish_reason: Option<String>,
    pub raw_text: String,
    pub code: Option<String>,
    /// Outcome of each execution (one per test program run).
    pub outcomes: Vec<Outcome>,
    pub tests_passed: i64,
    pub tests_total: i64,
}

/// A prompt's executed responses, and how many test programs it has.
#[derive(Clone, Debug, PartialEq)]
pub struct RankPrompt {
    pub prompt_id: i64,
    pub test_programs: i64,
    pub candidates: Vec<RankCandidate>,
}

/// A ranker configuration: the hash of its canonical JSON and the JSON itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankerRef {
    pub hash: String,
    pub config_json: String,
}

/// A response's score under a ranker, with the value of each score component.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredResponse {
    pub response_id: i64,
    pub score: f64,
    /// Preference tier, 0 = best: responses of one prompt make a pair only when their tiers
    /// differ. Non-decreasing along the ranking.
    pub tier: i64,
    pub outcome: Outcome,
    pub tests_passed: i64,
    pub tests_total: i64,
    pub components: serde_json::Value,
}

/// One prompt's ranking: responses best first, or the reason the prompt was dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptRanking {
    pub prompt_id: i64,
    pub drop_reason: Option<String>,
    pub ranked: Vec<ScoredResponse>,
}
