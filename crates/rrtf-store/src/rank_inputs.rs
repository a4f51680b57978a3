//! What the ranker reads: per prompt, every executed response with its aggregated executions.

use crate::synth_tests::RUNNABLE_TEST;
use crate::{RankCandidate, RankPrompt, Result, Store, StoreError};

/// One executed response with its executions aggregated.
#[derive(sqlx::FromRow)]
struct Row {
    prompt_id: i64,
    test_programs: i64,
    response_id: i64,
    model: String,
    role: String,
    finish_reason: Option<String>,
    raw_text: String,
    code: Option<String>,
    /// The outcome labels of its executions, comma-separated.
    outcomes: String,
    passed: i64,
    total: i64,
}

impl Store {
    /// Every kept prompt (of `round`, or all rounds) with at least one executed response that is
    /// not eliminated (decontamination, WizardLM's response rules: ranking never sees them). Responses
    /// appear once each with all their executions; prompts and responses in id order.
    pub async fn rank_inputs(&self, round: Option<i64>) -> Result<Vec<RankPrompt>> {
        // Flat rows in (prompt, response) order, grouped here: one text for both backends
        // (their JSON aggregates differ), and nothing to re-parse.
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.prompt_id, \
                    (SELECT count(*) FROM tests t WHERE t.prompt_id = r.prompt_id \
                     AND {RUNNABLE_TEST}) AS test_programs, \
                    r.id AS response_id, m.name AS model, m.role, r.finish_reason, r.raw_text, \
                    r.code, x.outcomes, x.passed, x.total \
             FROM responses r \
             JOIN prompts p ON p.id = r.prompt_id \
             JOIN models m ON m.id = r.model_id \
             JOIN (SELECT response_id, string_agg(outcome, ',') AS outcomes, \
                          CAST(sum(tests_passed) AS BIGINT) AS passed, \
                          CAST(sum(tests_total) AS BIGINT) AS total \
                   FROM executions GROUP BY response_id) x ON x.response_id = r.id \
             WHERE ($1 IS NULL OR p.round = $1) AND p.status = 'kept' AND r.eliminated IS NULL \
             ORDER BY r.prompt_id, r.id",
        )))
        .bind(round)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::reading("responses and executions"))?;
        let mut out: Vec<RankPrompt> = Vec::new();
        for r in rows {
            let candidate = RankCandidate {
                response_id: r.response_id,
                model: r.model,
                role: r.role.parse().map_err(|_| StoreError::Corrupt {
                    column: "models.role",
                    value: r.role.clone(),
                })?,
                finish_reason: r.finish_reason,
                raw_text: r.raw_text,
                code: r.code,
                outcomes: r
                    .outcomes
                    .split(',')
                    .map(|o| {
                        o.parse().map_err(|_| StoreError::Corrupt {
                            column: "executions.outcome",
                            value: o.to_owned(),
                        })
                    })
                    .collect::<Result<_>>()?,
                tests_passed: r.passed,
                tests_total: r.total,
            };
            match out.last_mut() {
                Some(p) if p.prompt_id == r.prompt_id => p.candidates.push(candidate),
                _ => out.push(RankPrompt {
                    prompt_id: r.prompt_id,
                    test_programs: r.test_programs,
                    candidates: vec![candidate],
                }),
            }
        }
        Ok(out)
    }
}
