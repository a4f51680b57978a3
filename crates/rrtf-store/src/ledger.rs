//! The durable request ledger (`llm_requests`): one row per request sent to an endpoint, by
//! stage, written as requests complete. The round's spend that `[sampling] budget_usd` caps is
//! the sum of its rows' cost, whatever the stage.

use sqlx::AnyConnection;

use crate::{Result, Store};

const CHUNK: usize = 500;

/// The stages that send requests (`llm_requests.stage`).
pub const LEDGER_STAGES: [&str; 3] = ["evolve", "synth-tests", "sample"];

/// One completed request. `request_key` is its idempotency key; API keys are never here.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLlmRequest {
    pub round: i64,
    pub run_id: Option<i64>,
    /// `evolve`, `synth-tests` or `sample`.
    pub stage: &'static str,
    /// The endpoint's name in the round config.
    pub teacher: String,
    /// The model name sent to the server.
    pub model: String,
    pub request_key: String,
    /// `None`: answered; `Some(error)`: failed for good.
    pub error: Option<String>,
    pub attempts: Option<i64>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub cost_usd: f64,
    pub latency_ms: Option<i64>,
}

/// Requests, tokens and cost of one (round, stage, teacher).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LedgerLine {
    pub round: i64,
    pub stage: String,
    pub teacher: String,
    pub requests: i64,
    pub failed: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
}

pub(crate) async fn insert_llm_requests(
    conn: &mut AnyConnection,
    rows: &[NewLlmRequest],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut qb = crate::sql::Builder::new(
            crate::Backend::of(conn),
            "INSERT INTO llm_requests (round, run_id, stage, teacher, model, request_key, status, \
             error, attempts, prompt_tokens, completion_tokens, cost_usd, latency_ms) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.round)
                .push_bind(r.run_id)
                .push_bind(r.stage)
                .push_bind(r.teacher.as_str())
                .push_bind(r.model.as_str())
                .push_bind(r.request_key.as_str())
                .push_bind(if r.error.is_some() { "failed" } else { "ok" })
                .push_bind(r.error.as_deref())
                .push_bind(r.attempts)
                .push_bind(r.prompt_tokens)
                .push_bind(r.completion_tokens)
                .push_bind(r.cost_usd.max(0.0))
                .push_bind(r.latency_ms);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Append completed requests to the ledger, in one transaction.
    pub async fn insert_llm_requests(&self, rows: &[NewLlmRequest]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        crate::prompts::ensure_rounds(&mut tx, rows.iter().map(|r| r.round)).await?;
        insert_llm_requests(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// USD the round's requests cost, every stage (evolve, synth-tests, sample) and run: what
    /// `[sampling] budget_usd` caps.
    pub async fn round_spend(&self, round: i64) -> Result<f64> {
        let v: Option<f64> =
            sqlx::query_scalar("SELECT SUM(cost_usd) FROM llm_requests WHERE round = $1")
                .bind(round)
                .fetch_one(&self.pool)
                .await?;
        Ok(v.unwrap_or(0.0))
    }

    /// The ledger per (round, stage, teacher) of `round` (None: every round), in round, stage
    /// (evolve, synth-tests, sample) and teacher order.
    pub async fn ledger_lines(&self, round: Option<i64>) -> Result<Vec<LedgerLine>> {
        let rows: Vec<(i64, String, String, i64, i64, i64, i64, f64)> = sqlx::query_as(
            "SELECT round, stage, teacher, count(*), \
                    CAST(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(coalesce(sum(prompt_tokens), 0) AS BIGINT), \
                    CAST(coalesce(sum(completion_tokens), 0) AS BIGINT), \
                    CAST(coalesce(sum(cost_usd), 0) AS DOUBLE PRECISION) \
             FROM llm_requests WHERE $1 IS NULL OR round = $1 \
             GROUP BY round, stage, teacher \
             ORDER BY round, CASE stage WHEN 'evolve' THEN 0 WHEN 'synth-tests' THEN 1 ELSE 2 END, \
                      teacher",
        )
        .bind(round)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(round, stage, teacher, requests, failed, pt, ct, cost_usd)| LedgerLine {
                    round,
                    stage,
                    teacher,
                    requests,
                    failed,
                    prompt_tokens: pt,
                    completion_tokens: ct,
                    cost_usd,
                },
            )
            .collect())
    }
}
