//! What the ranker reads: per prompt, every executed response with its aggregated executions.

use serde::Deserialize;

use crate::synth_tests::RUNNABLE_TEST;
use crate::{RankCandidate, RankPrompt, Result, Store, StoreError};

/// [response_id, model, role, finish_reason, raw_text, code, outcomes, passed, total]
#[derive(Deserialize)]
struct Row(
    i64,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    i64,
    i64,
);

impl Store {
    /// Every kept prompt (of `round`, or all rounds) with at least one executed response that is
    /// not eliminated (decontamination, WizardLM's response rules: ranking never sees them). Responses
    /// appear once each with all their executions; prompts and responses in id order.
    pub async fn rank_inputs(&self, round: Option<i64>) -> Result<Vec<RankPrompt>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.prompt_id, \
                    (SELECT count(*) FROM tests t WHERE t.prompt_id = r.prompt_id \
                     AND {RUNNABLE_TEST}), \
                    json_group_array(json_array(r.id, m.name, m.role, r.finish_reason, r.raw_text, \
                                                r.code, x.outcomes, x.passed, x.total) \
                                     ORDER BY r.id) \
             FROM responses r \
             JOIN prompts p ON p.id = r.prompt_id \
             JOIN models m ON m.id = r.model_id \
             JOIN (SELECT response_id, group_concat(outcome) AS outcomes, \
                          sum(tests_passed) AS passed, sum(tests_total) AS total \
                   FROM executions GROUP BY response_id) x ON x.response_id = r.id \
             WHERE (?1 IS NULL OR p.round = ?1) AND p.status = 'kept' AND r.eliminated IS NULL \
             GROUP BY r.prompt_id ORDER BY r.prompt_id",
        )))
        .bind(round)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(prompt_id, test_programs, json)| {
                let parsed: Vec<Row> =
                    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                        column: "rank inputs (aggregated)",
                        value: e.to_string(),
                    })?;
                let candidates = parsed
                    .into_iter()
                    .map(|r| {
                        Ok(RankCandidate {
                            response_id: r.0,
                            model: r.1,
                            role: r.2.parse().map_err(|_| StoreError::Corrupt {
                                column: "models.role",
                                value: r.2.clone(),
                            })?,
                            finish_reason: r.3,
                            raw_text: r.4,
                            code: r.5,
                            outcomes: r
                                .6
                                .split(',')
                                .map(|o| {
                                    o.parse().map_err(|_| StoreError::Corrupt {
                                        column: "executions.outcome",
                                        value: o.to_owned(),
                                    })
                                })
                                .collect::<Result<_>>()?,
                            tests_passed: r.7,
                            tests_total: r.8,
                        })
                    })
                    .collect::<Result<_>>()?;
                Ok(RankPrompt {
                    prompt_id,
                    test_programs,
                    candidates,
                })
            })
            .collect()
    }
}
