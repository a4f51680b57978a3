//! Read-only views for operators: per-prompt summaries, one prompt in full, per-model stats.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Result, Review, Store, StoreError};

/// One ranked prompt in a list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptSummary {
    pub prompt_id: i64,
    pub round: i64,
    pub source: String,
    pub source_id: String,
    pub status: String,
    pub drop_reason: Option<String>,
    pub responses: i64,
    pub best: f64,
    pub worst: f64,
    /// outcome -> responses with it
    pub outcomes: BTreeMap<String, i64>,
    pub teachers: Vec<String>,
    pub reviews: i64,
    pub flagged_tests: i64,
    /// An operator excluded the whole prompt (the latest prompt-level exclude/include review is
    /// an exclude): exports and training leave it out.
    pub excluded: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptInfo {
    pub prompt_id: i64,
    pub round: i64,
    pub source: String,
    pub source_id: String,
    pub kind: String,
    pub language: String,
    pub text: String,
    pub entry_point: Option<String>,
    pub parent_id: Option<i64>,
    pub evolution_method: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct TestInfo {
    pub id: i64,
    pub origin: String,
    pub validation: String,
    /// Why a test is invalid or flagged, or how a valid one's reference did.
    pub validation_detail: Option<String>,
    pub code: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ResponseInfo {
    pub response_id: i64,
    pub model: String,
    pub role: String,
    pub temperature: Option<f64>,
    pub sample_index: i64,
    pub finish_reason: Option<String>,
    pub raw_text: String,
    pub code: Option<String>,
    /// Position under the ranker (0 = best); None when not ranked.
    pub position: Option<i64>,
    pub score: Option<f64>,
    pub outcome: Option<String>,
    pub tests_passed: Option<i64>,
    pub tests_total: Option<i64>,
    pub components_json: Option<String>,
    pub first_failure: Option<String>,
}

/// A prompt with its tests, responses (ranked order first) and reviews.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptDetail {
    pub prompt: PromptInfo,
    pub tests: Vec<TestInfo>,
    pub ranker: Option<String>,
    pub ranking_status: Option<String>,
    pub drop_reason: Option<String>,
    pub responses: Vec<ResponseInfo>,
    pub reviews: Vec<Review>,
}

/// Outcomes and scores of one model's ranked responses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelStats {
    pub model: String,
    pub role: String,
    pub responses: i64,
    pub pass_rate: f64,
    pub mean_score: f64,
    pub outcomes: BTreeMap<String, i64>,
}

fn counts(list: Option<String>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for o in list
        .iter()
        .flat_map(|l| l.split(','))
        .filter(|o| !o.is_empty())
    {
        *out.entry(o.to_owned()).or_insert(0) += 1;
    }
    out
}

type SummaryRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
    f64,
    f64,
    Option<String>,
    Option<String>,
    i64,
    i64,
    bool,
);

type PromptRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
);

impl Store {
    /// Every prompt ranked under `ranker_hash`, with its score range and outcome mix.
    pub async fn prompt_summaries(&self, ranker_hash: &str) -> Result<Vec<PromptSummary>> {
        let rows: Vec<SummaryRow> = sqlx::query_as(
            "SELECT rp.prompt_id, p.round, p.source, p.source_id, rp.status, rp.drop_reason, \
                    count(s.response_id), coalesce(max(s.score), 0.0), coalesce(min(s.score), 0.0), \
                    group_concat(s.outcome), \
                    group_concat(DISTINCT CASE WHEN m.role = 'teacher' THEN m.name END), \
                    (SELECT count(*) FROM reviews v WHERE v.prompt_id = rp.prompt_id), \
                    (SELECT count(*) FROM tests t WHERE t.prompt_id = rp.prompt_id \
                                                    AND t.validation = 'flagged'), \
                    coalesce((SELECT v.action = 'exclude' FROM reviews v \
                              WHERE v.prompt_id = rp.prompt_id AND v.response_id IS NULL \
                                AND v.action IN ('exclude', 'include') \
                              ORDER BY v.id DESC LIMIT 1), 0) \
             FROM ranked_prompts rp \
             JOIN prompts p ON p.id = rp.prompt_id \
             LEFT JOIN scores s ON s.ranker_id = rp.ranker_id AND s.prompt_id = rp.prompt_id \
             LEFT JOIN responses r ON r.id = s.response_id \
             LEFT JOIN models m ON m.id = r.model_id \
             WHERE rp.ranker_id = (SELECT id FROM rankers WHERE hash = ?) \
             GROUP BY rp.prompt_id ORDER BY rp.prompt_id",
        )
        .bind(ranker_hash)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PromptSummary {
                prompt_id: r.0,
                round: r.1,
                source: r.2,
                source_id: r.3,
                status: r.4,
                drop_reason: r.5,
                responses: r.6,
                best: r.7,
                worst: r.8,
                outcomes: counts(r.9),
                teachers: r
                    .10
                    .map(|t| t.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                reviews: r.11,
                flagged_tests: r.12,
                excluded: r.13,
            })
            .collect())
    }

    /// One prompt in full. `prompt` is an id, or a `source_id` (e.g. `HumanEval/0`) when unique.
    pub async fn prompt_detail(
        &self,
        prompt: &str,
        ranker_hash: Option<&str>,
    ) -> Result<PromptDetail> {
        let id = self.find_prompt(prompt).await?;
        let p: PromptRow = sqlx::query_as(
            "SELECT id, round, source, source_id, kind, language, text, entry_point, parent_id, \
                    evolution_method, status, status_reason FROM prompts WHERE id = ?",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let tests = sqlx::query_as(
            "SELECT id, origin, validation, validation_detail, code FROM tests WHERE prompt_id = ? \
             ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let ranker_id: Option<i64> = match ranker_hash {
            Some(h) => {
                sqlx::query_scalar("SELECT id FROM rankers WHERE hash = ?")
                    .bind(h)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => None,
        };
        let status: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, drop_reason FROM ranked_prompts WHERE ranker_id = ? AND prompt_id = ?",
        )
        .bind(ranker_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let responses = sqlx::query_as(
            "SELECT r.id AS response_id, m.name AS model, m.role, r.temperature, r.sample_index, \
                    r.finish_reason, r.raw_text, r.code, s.position, s.score, s.outcome, \
                    s.tests_passed, s.tests_total, s.components_json, \
                    (SELECT e.first_failure FROM executions e WHERE e.response_id = r.id \
                       AND e.outcome != 'pass' ORDER BY e.test_id LIMIT 1) AS first_failure \
             FROM responses r JOIN models m ON m.id = r.model_id \
             LEFT JOIN scores s ON s.response_id = r.id AND s.ranker_id = ? \
             WHERE r.prompt_id = ? \
             ORDER BY s.position IS NULL, s.position, r.id",
        )
        .bind(ranker_id)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let reviews = self
            .reviews()
            .await?
            .into_iter()
            .filter(|r| r.prompt_id == id)
            .collect();
        Ok(PromptDetail {
            prompt: PromptInfo {
                prompt_id: p.0,
                round: p.1,
                source: p.2,
                source_id: p.3,
                kind: p.4,
                language: p.5,
                text: p.6,
                entry_point: p.7,
                parent_id: p.8,
                evolution_method: p.9,
                status: p.10,
                status_reason: p.11,
            },
            tests,
            ranker: ranker_id.and(ranker_hash.map(str::to_owned)),
            ranking_status: status.as_ref().map(|s| s.0.clone()),
            drop_reason: status.and_then(|s| s.1),
            responses,
            reviews,
        })
    }

    /// Ids of the prompts whose text or source id contains `needle` (ASCII case-insensitive),
    /// in id order.
    pub async fn search_prompts(&self, needle: &str) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM prompts \
             WHERE instr(lower(text), lower(?1)) > 0 OR instr(lower(source_id), lower(?1)) > 0 \
             ORDER BY id",
        )
        .bind(needle)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A prompt's id from an id or a unique `source_id`.
    pub async fn find_prompt(&self, prompt: &str) -> Result<i64> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM prompts WHERE CAST(id AS TEXT) = ?1 OR source_id = ?1 \
             ORDER BY CAST(id AS TEXT) = ?1 DESC LIMIT 3",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        match ids.as_slice() {
            [] => Err(StoreError::UnknownPrompt(prompt.to_owned())),
            [one] => Ok(*one),
            // An exact id match sorts first and wins over source ids that look like it.
            [first, ..] if first.to_string() == prompt => Ok(*first),
            _ => Err(StoreError::AmbiguousPrompt(prompt.to_owned())),
        }
    }

    /// Per-model outcome counts and scores under `ranker_hash`.
    pub async fn model_stats(&self, ranker_hash: &str) -> Result<Vec<ModelStats>> {
        let rows: Vec<(String, String, i64, f64, Option<String>)> = sqlx::query_as(
            "SELECT m.name, m.role, count(*), avg(s.score), group_concat(s.outcome) \
             FROM scores s JOIN responses r ON r.id = s.response_id \
             JOIN models m ON m.id = r.model_id \
             WHERE s.ranker_id = (SELECT id FROM rankers WHERE hash = ?) \
             GROUP BY m.id ORDER BY m.role DESC, m.name",
        )
        .bind(ranker_hash)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(model, role, n, mean, outcomes)| {
                let outcomes = counts(outcomes);
                let pass = outcomes.get("pass").copied().unwrap_or(0);
                ModelStats {
                    model,
                    role,
                    responses: n,
                    pass_rate: pass as f64 / n.max(1) as f64,
                    mean_score: mean,
                    outcomes,
                }
            })
            .collect())
    }

    /// Every score under `ranker_hash` (for distributions).
    pub async fn scores(&self, ranker_hash: &str) -> Result<Vec<f64>> {
        Ok(sqlx::query_scalar(
            "SELECT score FROM scores WHERE ranker_id = (SELECT id FROM rankers WHERE hash = ?)",
        )
        .bind(ranker_hash)
        .fetch_all(&self.pool)
        .await?)
    }
}
