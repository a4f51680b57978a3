//! What the report cites as evidence besides its plots: which run it describes (date, config
//! hash, seed, revision), what evolution kept and eliminated by rule, and example responses per
//! execution outcome.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Result, Store};

/// A run's identity, as the report cites it.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct RunLine {
    pub id: i64,
    pub round: i64,
    pub stage: String,
    pub status: String,
    pub config_hash: String,
    pub seed: Option<i64>,
    pub revision: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// Evolved prompts of one round and method: kept, and eliminated per rule (the part of
/// `status_reason` before its first `:`, e.g. `no_new_information`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EvolutionLine {
    pub round: i64,
    pub method: String,
    pub kept: i64,
    pub eliminated: BTreeMap<String, i64>,
}

/// One stored response as an example of its execution outcome.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct OutcomeExample {
    pub outcome: String,
    pub response_id: i64,
    pub model: String,
    pub prompt: String,
    /// The code judged (or the raw text when none was extracted), at most 1,200 bytes.
    pub code: String,
    pub first_failure: Option<String>,
}

impl Store {
    /// Now, by the database's clock, as `YYYY-MM-DD HH:MM:SS UTC`.
    pub async fn now_utc(&self) -> Result<String> {
        Ok(
            sqlx::query_scalar("SELECT strftime('%Y-%m-%d %H:%M:%S UTC', 'now')")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The newest run of `stage` (any status), if one was recorded.
    pub async fn latest_run(&self, stage: &str) -> Result<Option<RunLine>> {
        Ok(sqlx::query_as(
            "SELECT id, round, stage, status, config_hash, seed, revision, started_at, \
                    finished_at FROM runs WHERE stage = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(stage)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Evolved prompts (those with a parent) per round and method: kept and eliminated by rule.
    pub async fn evolution_lines(&self) -> Result<Vec<EvolutionLine>> {
        let rows: Vec<(i64, Option<String>, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT round, evolution_method, status, status_reason, count(*) FROM prompts \
             WHERE parent_id IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<(i64, String), EvolutionLine> = BTreeMap::new();
        for (round, method, status, reason, n) in rows {
            let method = method.unwrap_or_else(|| "?".into());
            let line = out
                .entry((round, method.clone()))
                .or_insert_with(|| EvolutionLine {
                    round,
                    method,
                    ..EvolutionLine::default()
                });
            if status == "eliminated" {
                let reason = reason.unwrap_or_default();
                let rule = reason.split(':').next().unwrap_or("").trim();
                let rule = if rule.is_empty() { "unstated" } else { rule };
                *line.eliminated.entry(rule.to_owned()).or_default() += n;
            } else {
                line.kept += n;
            }
        }
        Ok(out.into_values().collect())
    }

    /// Up to `per_outcome` executed responses per outcome (the lowest response ids; a response
    /// run against several tests counts once per outcome it had), with the code judged and a
    /// first failure.
    pub async fn outcome_examples(&self, per_outcome: i64) -> Result<Vec<OutcomeExample>> {
        Ok(sqlx::query_as(
            "SELECT outcome, response_id, model, prompt, code, first_failure FROM ( \
               SELECT e.outcome AS outcome, r.id AS response_id, m.name AS model, \
                      p.source_id AS prompt, \
                      substr(coalesce(nullif(r.code, ''), r.raw_text), 1, 1200) AS code, \
                      min(e.first_failure) AS first_failure, \
                      row_number() OVER (PARTITION BY e.outcome ORDER BY r.id) AS k \
               FROM executions e JOIN responses r ON r.id = e.response_id \
               JOIN models m ON m.id = r.model_id JOIN prompts p ON p.id = r.prompt_id \
               GROUP BY e.outcome, r.id, m.id, p.id) AS examples \
             WHERE k <= $1 ORDER BY outcome, response_id",
        )
        .bind(per_outcome)
        .fetch_all(&self.pool)
        .await?)
    }
}
