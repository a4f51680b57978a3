//! What the execution stage reads: every (response, test program) pair not executed yet, of
//! kept prompts and responses (eliminated ones are never run).

use crate::synth_tests::RUNNABLE_TEST;
use crate::{PromptKind, Result, Store, StoreError};

/// One response to run against one of its prompt's test programs.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct PendingExecution {
    pub response_id: i64,
    pub test_id: i64,
    pub prompt_id: i64,
    /// An instruction, or a completion (the response continues the prompt).
    pub kind: PromptKind,
    pub language: String,
    pub prompt: String,
    pub raw_text: String,
    /// Code already extracted from the response, if any.
    pub code: Option<String>,
    pub test_code: String,
    pub entry_point: Option<String>,
}

/// What the executor needs of a pair (as [`PendingExecution`]), over the aliases `r` (response),
/// `t` (test) and `p` (prompt).
pub(crate) const JOB_COLUMNS: &str = "r.id AS response_id, t.id AS test_id, p.id AS prompt_id, \
     p.kind, t.language, p.text AS prompt, r.raw_text, r.code, t.code AS test_code, \
     coalesce(t.entry_point, p.entry_point) AS entry_point";

/// `FROM ... WHERE ...` of the (response, test) pairs not executed yet: runnable tests of kept
/// prompts of round `$1` (NULL: every round), responses not eliminated. Aliases `r`, `p`, `t`.
/// The one definition of "pending" for the queue, its count and the workers' claims.
pub(crate) fn pending_pairs() -> String {
    format!(
        "FROM responses r \
         JOIN prompts p ON p.id = r.prompt_id \
         JOIN tests t ON t.prompt_id = p.id AND {RUNNABLE_TEST} \
         WHERE ($1 IS NULL OR p.round = $1) AND p.status = 'kept' AND r.eliminated IS NULL \
           AND NOT EXISTS (SELECT 1 FROM executions e \
                           WHERE e.response_id = r.id AND e.test_id = t.id)"
    )
}

impl Store {
    /// Pairs not executed yet, in (response, test) order, at most `limit` (None: all), of
    /// `round`'s prompts (None: all rounds). Re-running after a crash returns exactly what is
    /// still missing.
    pub async fn pending_executions(
        &self,
        round: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<PendingExecution>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} {} ORDER BY r.id, t.id LIMIT $2",
            pending_pairs()
        )))
        .bind(round)
        .bind(limit.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::reading("prompts, responses and tests"))
    }

    /// How many (response, test) pairs are not executed yet.
    pub async fn pending_execution_count(&self, round: Option<i64>) -> Result<i64> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) {}",
            pending_pairs()
        )))
        .bind(round)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Record the code extracted from responses (only where none is stored yet).
    pub async fn set_response_code(&self, codes: &[(i64, String)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (id, code) in codes {
            sqlx::query("UPDATE responses SET code = $1 WHERE id = $2 AND code IS NULL")
                .bind(crate::sql::storable(code).into_owned())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
