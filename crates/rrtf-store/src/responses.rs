//! Models, responses and executions.

use crate::prompts::ensure_rounds;
use crate::{InsertReport, ModelRole, NewExecution, NewResponse, Result, Store, StoreError};

const CHUNK: usize = 500;

/// The identifying columns of a stored prompt, for matching imported rows to prompts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptKey {
    pub id: i64,
    pub source: String,
    pub source_id: String,
    pub content_hash: String,
    pub kind: String,
}

impl Store {
    /// Register a model, or return the id of the one with this name. A name already registered
    /// with the other role is an error: roles decide rankings, so they never change silently.
    pub async fn upsert_model(
        &self,
        name: &str,
        role: ModelRole,
        endpoint: Option<&str>,
        served_name: Option<&str>,
    ) -> Result<i64> {
        let read = || {
            sqlx::query_as::<_, (i64, String)>("SELECT id, role FROM models WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
        };
        let found = match read().await? {
            Some(found) => found,
            None => {
                // Race-free between processes (two samplers registering one model at once):
                // the loser's insert does nothing, and both read the winner's row. (Only when
                // missing: PostgreSQL spends an identity value on every attempted insert.)
                sqlx::query(
                    "INSERT INTO models (name, role, endpoint, served_name) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(role.as_str())
                .bind(endpoint)
                .bind(served_name)
                .execute(&self.pool)
                .await?;
                read().await?.expect("inserted or found")
            }
        };
        let (id, existing_role) = found;
        if existing_role != role.as_str() {
            return Err(StoreError::RoleConflict {
                name: name.to_owned(),
                existing: existing_role,
                requested: role.as_str().to_owned(),
            });
        }
        Ok(id)
    }

    /// The id of the model registered under `name`, if one is (nothing is written).
    pub async fn model_id(&self, name: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM models WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The endpoint a model was registered with (`models.endpoint`), if any.
    pub async fn model_endpoint(&self, model_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar::<_, Option<String>>("SELECT endpoint FROM models WHERE id = $1")
                .bind(model_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// Every prompt's identifying columns (for matching imported responses).
    pub async fn prompt_keys(&self) -> Result<Vec<PromptKey>> {
        let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT id, source, source_id, content_hash, kind FROM prompts ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, source, source_id, content_hash, kind)| PromptKey {
                id,
                source,
                source_id,
                content_hash,
                kind,
            })
            .collect())
    }

    /// Insert responses in one transaction; rows whose `request_hash` exists are skipped.
    pub async fn insert_responses(
        &self,
        rows: &[NewResponse],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<InsertReport> {
        self.insert_responses_and_requests(rows, &[], progress)
            .await
    }

    /// [`Store::insert_responses`] and the ledger rows of the requests that produced them (and
    /// of requests that failed) in the same transaction: an answer is never stored without its
    /// cost, nor its cost without the answer.
    pub async fn insert_responses_and_requests(
        &self,
        rows: &[NewResponse],
        requests: &[crate::NewLlmRequest],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<InsertReport> {
        self.insert_answers(rows, requests, &[], progress).await
    }

    /// [`Store::insert_responses_and_requests`], and in the same transaction the findings of
    /// decontamination on some of these responses (by `request_hash`; the finding's `item_id`
    /// and `prompt_id` are filled in): each is eliminated and logged
    /// ([`Store::record_contamination`]), so an answer is never stored without its verdict.
    pub async fn insert_answers(
        &self,
        rows: &[NewResponse],
        requests: &[crate::NewLlmRequest],
        eliminate: &[(String, crate::Contamination)],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<InsertReport> {
        let mut tx = self.pool.begin().await?;
        ensure_rounds(
            &mut tx,
            rows.iter()
                .map(|r| r.round)
                .chain(requests.iter().map(|r| r.round)),
        )
        .await?;
        crate::ledger::insert_llm_requests(&mut tx, requests).await?;
        let mut report = InsertReport::default();
        for chunk in rows.chunks(CHUNK) {
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "INSERT INTO responses (prompt_id, model_id, round, temperature, sample_index, \
                 raw_text, code, finish_reason, prompt_tokens, completion_tokens, latency_ms, \
                 cost_usd, request_hash, run_id) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.prompt_id)
                    .push_bind(r.model_id)
                    .push_bind(r.round)
                    .push_bind(r.temperature)
                    .push_bind(r.sample_index)
                    .push_bind(r.raw_text.as_str())
                    .push_bind(r.code.as_deref())
                    .push_bind(r.finish_reason.as_deref())
                    .push_bind(r.prompt_tokens)
                    .push_bind(r.completion_tokens)
                    .push_bind(r.latency_ms)
                    .push_bind(r.cost_usd)
                    .push_bind(r.request_hash.as_str())
                    .push_bind(r.run_id);
            });
            qb.push(" ON CONFLICT (request_hash) DO NOTHING");
            let done = qb.build().execute(&mut *tx).await?.rows_affected();
            report.add(done, chunk.len() as u64);
            progress(chunk.len() as u64);
        }
        let run_id = rows.first().and_then(|r| r.run_id);
        let mut findings = Vec::with_capacity(eliminate.len());
        for (hash, finding) in eliminate {
            let (id, prompt_id): (i64, i64) =
                sqlx::query_as("SELECT id, prompt_id FROM responses WHERE request_hash = $1")
                    .bind(hash)
                    .fetch_one(&mut *tx)
                    .await?;
            findings.push(crate::Contamination {
                item_id: id,
                prompt_id,
                ..finding.clone()
            });
        }
        crate::decontam::record(&mut tx, run_id, &findings).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Insert execution results in one transaction; `(response, test)` pairs already executed
    /// are skipped.
    pub async fn insert_executions(&self, rows: &[NewExecution]) -> Result<InsertReport> {
        self.insert_executions_of_run(rows, None).await
    }

    /// [`Store::insert_executions`], each row recorded as `run`'s (the `exec` run that executed
    /// it: with several workers, which one did).
    pub async fn insert_executions_of_run(
        &self,
        rows: &[NewExecution],
        run: Option<i64>,
    ) -> Result<InsertReport> {
        let mut tx = self.pool.begin().await?;
        let mut report = InsertReport::default();
        for chunk in rows.chunks(CHUNK) {
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "INSERT INTO executions (response_id, test_id, outcome, tests_passed, tests_total, \
                 first_failure, stderr_tail, wall_ms, cpu_ms, peak_rss_kb, executor_hash, run_id) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.response_id)
                    .push_bind(e.test_id)
                    .push_bind(e.outcome.as_str())
                    .push_bind(e.tests_passed)
                    .push_bind(e.tests_total)
                    .push_bind(e.first_failure.as_deref())
                    .push_bind(e.stderr_tail.as_deref())
                    .push_bind(e.wall_ms)
                    .push_bind(e.cpu_ms)
                    .push_bind(e.peak_rss_kb)
                    .push_bind(e.executor_hash.as_str())
                    .push_bind(run);
            });
            qb.push(" ON CONFLICT (response_id, test_id) DO NOTHING");
            let done = qb.build().execute(&mut *tx).await?.rows_affected();
            report.add(done, chunk.len() as u64);
        }
        // A pair executed is no longer anyone's to run: its claim goes with it (claims.rs).
        sqlx::query(
            "DELETE FROM exec_claims WHERE EXISTS (SELECT 1 FROM executions e \
             WHERE e.response_id = exec_claims.response_id AND e.test_id = exec_claims.test_id)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}
