//! What test synthesis reads and writes: kept prompts without any test, synthesized tests with
//! their validation state, and flagging synthesized tests that no executed response passes.

use crate::{InsertReport, Result, SamplingPrompt, Store};

const CHUNK: usize = 500;

/// A synthesized test to store. `validation` is `unvalidated` (passed the static checks; to be
/// validated by running it) or `invalid` (with the reason in `detail`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewSynthTest {
    pub prompt_id: i64,
    pub language: String,
    pub code: String,
    pub entry_point: Option<String>,
    pub validation: &'static str,
    pub detail: Option<String>,
    pub model_id: i64,
    /// The teacher's reference solution, if its answer had one.
    pub reference: Option<String>,
    /// The synth-tests run that stored it.
    pub run_id: Option<i64>,
}

/// A synthesized test waiting for validation, with what it is run against.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct UnvalidatedTest {
    pub id: i64,
    pub prompt_id: i64,
    pub language: String,
    pub code: String,
    pub entry_point: Option<String>,
    /// The teacher's reference solution.
    pub reference: Option<String>,
    /// The prompt's own reference answer (an imported dataset's solution), if any.
    pub prompt_reference: Option<String>,
}

/// Which tests the exec stage runs and ranking counts: imported tests not marked invalid, and
/// synthesized tests that passed validation (`valid`, or `flagged` later). Unvalidated and
/// rejected synthesized tests are never run. `t` is the `tests` alias.
pub(crate) const RUNNABLE_TEST: &str = "(t.validation IN ('valid', 'flagged') OR \
     (t.origin = 'imported' AND t.validation != 'invalid'))";

impl Store {
    /// Kept prompts that have no test at all (invalid synthesized ones count as tests: they
    /// stay for inspection and are not asked for again), oldest first, at most `limit`.
    pub async fn prompts_without_tests(&self, limit: Option<u64>) -> Result<Vec<SamplingPrompt>> {
        let limit = limit.map_or(i64::MAX, |l| l.min(i64::MAX as u64) as i64);
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT p.id, p.kind, p.text, p.language FROM prompts p WHERE p.status = 'kept' \
             AND NOT EXISTS (SELECT 1 FROM tests t WHERE t.prompt_id = p.id) ORDER BY p.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(SamplingPrompt::from_row).collect()
    }

    /// Insert synthesized tests in one transaction (origin `synthesized`); a prompt's test with
    /// the same code is skipped.
    pub async fn insert_synth_tests(&self, rows: &[NewSynthTest]) -> Result<InsertReport> {
        let mut tx = self.pool.begin().await?;
        let mut report = InsertReport::default();
        for chunk in rows.chunks(CHUNK) {
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "INSERT INTO tests (prompt_id, language, origin, code, entry_point, content_hash, \
                 validation, validation_detail, model_id, reference, run_id) ",
            );
            qb.push_values(chunk, |mut b, t| {
                b.push_bind(t.prompt_id)
                    .push_bind(t.language.as_str())
                    .push_bind("synthesized")
                    .push_bind(t.code.as_str())
                    .push_bind(t.entry_point.as_deref())
                    .push_bind(crate::hash::code_hash(&t.code))
                    .push_bind(t.validation)
                    .push_bind(t.detail.as_deref())
                    .push_bind(t.model_id)
                    .push_bind(t.reference.as_deref())
                    .push_bind(t.run_id);
            });
            qb.push(" ON CONFLICT (prompt_id, content_hash) DO NOTHING");
            let done = qb.build().execute(&mut *tx).await?.rows_affected();
            report.add(done, chunk.len() as u64);
        }
        tx.commit().await?;
        Ok(report)
    }

    /// Synthesized tests not validated yet (stored by this run or one that stopped before
    /// validating), oldest first.
    pub async fn unvalidated_synth_tests(&self) -> Result<Vec<UnvalidatedTest>> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.prompt_id, t.language, t.code, t.entry_point, t.reference, \
                    p.reference AS prompt_reference \
             FROM tests t JOIN prompts p ON p.id = t.prompt_id \
             WHERE t.origin = 'synthesized' AND t.validation = 'unvalidated' ORDER BY t.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Record validation verdicts `(test id, valid, detail)`: `valid` or `invalid` with the
    /// reason, in one transaction. Only unvalidated tests change.
    pub async fn set_test_validation(&self, verdicts: &[(i64, bool, String)]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut changed = 0;
        for (id, valid, detail) in verdicts {
            changed += sqlx::query(
                "UPDATE tests SET validation = $1, validation_detail = $2 \
                 WHERE id = $3 AND validation = 'unvalidated'",
            )
            .bind(if *valid { "valid" } else { "invalid" })
            .bind(crate::sql::storable(detail).into_owned())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Flag synthesized tests that responses were executed against and none passed (a test
    /// that nothing passes is more likely wrong than every response). Returns how many were
    /// flagged now.
    pub async fn flag_unpassed_synth_tests(&self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE tests SET validation = 'flagged', \
             validation_detail = 'no executed response passes this test' \
             WHERE origin = 'synthesized' AND validation IN ('unvalidated', 'valid') \
             AND EXISTS (SELECT 1 FROM executions e WHERE e.test_id = tests.id) \
             AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.test_id = tests.id AND e.outcome = 'pass')",
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done)
    }

    /// `(validation, count)` of synthesized tests.
    pub async fn synth_test_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT validation, count(*) FROM tests WHERE origin = 'synthesized' GROUP BY validation ORDER BY validation",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
