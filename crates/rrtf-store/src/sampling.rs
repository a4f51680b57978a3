//! Reads the sampler needs: the prompts to sample and the request keys already answered (the
//! round's spend, which the budget carries over between runs, is the ledger's: `ledger.rs`).

use std::collections::HashSet;

use crate::{PromptKind, Result, Store};

/// A prompt as the sampler renders it.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingPrompt {
    pub id: i64,
    pub kind: PromptKind,
    pub text: String,
    pub language: String,
}

impl SamplingPrompt {
    /// From `(id, kind, text, language)` as selected from `prompts`.
    pub(crate) fn from_row(
        (id, kind, text, language): (i64, String, String, String),
    ) -> Result<Self> {
        Ok(SamplingPrompt {
            id,
            kind: crate::rankings::parse("prompts.kind", kind)?,
            text,
            language,
        })
    }
}

impl Store {
    /// Kept prompts (not eliminated), oldest first, at most `limit`.
    pub async fn sampling_prompts(&self, limit: Option<u64>) -> Result<Vec<SamplingPrompt>> {
        let limit = limit.map_or(i64::MAX, |l| l.min(i64::MAX as u64) as i64);
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, kind, text, language FROM prompts WHERE status = 'kept' ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(SamplingPrompt::from_row).collect()
    }

    /// The `request_hash` of every response stored for these models.
    pub async fn stored_request_hashes(&self, model_ids: &[i64]) -> Result<HashSet<String>> {
        if model_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut qb = crate::sql::Builder::new(
            self.backend(),
            "SELECT request_hash FROM responses WHERE model_id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in model_ids {
            sep.push_bind(*id);
        }
        sep.push_unseparated(")");
        let rows: Vec<(String,)> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(h,)| h).collect())
    }
}

impl Store {
    /// Per model of `model_ids` (in that order): its responses in `round`, and how many of them
    /// ended by length (finish reason `length`: cut by `max_tokens`).
    pub async fn finish_counts(&self, round: i64, model_ids: &[i64]) -> Result<Vec<(u64, u64)>> {
        let mut out = Vec::with_capacity(model_ids.len());
        for id in model_ids {
            let (total, length): (i64, i64) = sqlx::query_as(
                "SELECT count(*), CAST(coalesce(sum(CASE WHEN finish_reason = 'length' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM responses \
                 WHERE round = $1 AND model_id = $2",
            )
            .bind(round)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
            out.push((total as u64, length as u64));
        }
        Ok(out)
    }
}

impl Store {
    /// The raw text of the stored responses with these request hashes: (hash, text).
    pub async fn answers_by_hash(&self, hashes: &[String]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(500) {
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "SELECT request_hash, raw_text FROM responses WHERE request_hash IN (",
            );
            let mut sep = qb.separated(", ");
            for h in chunk {
                sep.push_bind(h);
            }
            sep.push_unseparated(")");
            let rows: Vec<(String, String)> = qb.build_query_as().fetch_all(&self.pool).await?;
            out.extend(rows);
        }
        Ok(out)
    }
}

/// The identity of a stored response: what the sampler promises to store exactly once.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseIdentity {
    pub prompt_id: i64,
    pub model: String,
    pub temperature: Option<f64>,
    pub sample_index: i64,
    pub request_hash: String,
    /// The run that stored it.
    pub run_id: Option<i64>,
}

impl Store {
    /// Every response of a round with its identifying columns, in insertion order.
    pub async fn response_identities(&self, round: i64) -> Result<Vec<ResponseIdentity>> {
        let rows: Vec<(i64, String, Option<f64>, i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT r.prompt_id, m.name, r.temperature, r.sample_index, r.request_hash, r.run_id \
             FROM responses r JOIN models m ON m.id = r.model_id WHERE r.round = $1 ORDER BY r.id",
        )
        .bind(round)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(prompt_id, model, temperature, sample_index, request_hash, run_id)| {
                    ResponseIdentity {
                        prompt_id,
                        model,
                        temperature,
                        sample_index,
                        request_hash,
                        run_id,
                    }
                },
            )
            .collect())
    }
}

/// Tokens and cost of one model's responses in a round: the durable ledger (every sampled
/// response carries its own usage and cost).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ModelSpend {
    pub model: String,
    pub responses: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
}

impl Store {
    /// The round's ledger per model, by name.
    pub async fn round_ledger(&self, round: i64) -> Result<Vec<ModelSpend>> {
        let rows: Vec<(String, i64, i64, i64, f64)> = sqlx::query_as(
            "SELECT m.name, count(*), CAST(coalesce(sum(r.prompt_tokens), 0) AS BIGINT), \
             CAST(coalesce(sum(r.completion_tokens), 0) AS BIGINT), \
             CAST(coalesce(sum(r.cost_usd), 0) AS DOUBLE PRECISION) \
             FROM responses r JOIN models m ON m.id = r.model_id WHERE r.round = $1 \
             GROUP BY m.name ORDER BY m.name",
        )
        .bind(round)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(model, responses, prompt_tokens, completion_tokens, cost_usd)| ModelSpend {
                    model,
                    responses,
                    prompt_tokens,
                    completion_tokens,
                    cost_usd,
                },
            )
            .collect())
    }
}
