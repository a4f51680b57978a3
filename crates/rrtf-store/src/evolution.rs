//! What the evolution stage reads and writes: the prompt pool with lineage and status, evolved
//! prompts inserted with their status (kept, or eliminated with the reason), and prompts
//! eliminated later (WizardLM's rules on the teachers' answers, after sampling).

use crate::{InsertReport, NewPrompt, Result, Store};

/// A stored prompt with its lineage and status.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolPrompt {
    pub id: i64,
    pub round: i64,
    pub source: String,
    pub source_id: String,
    pub text: String,
    pub language: String,
    pub parent_id: Option<i64>,
    pub evolution_method: Option<String>,
    /// `kept` or `eliminated`.
    pub status: String,
    pub status_reason: Option<String>,
}

type PoolRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
);

impl Store {
    /// Every prompt, oldest first.
    pub async fn prompt_pool(&self) -> Result<Vec<PoolPrompt>> {
        let rows: Vec<PoolRow> = sqlx::query_as(
            "SELECT id, round, source, source_id, text, language, parent_id, evolution_method, \
             status, status_reason FROM prompts ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PoolPrompt {
                id: r.0,
                round: r.1,
                source: r.2,
                source_id: r.3,
                text: r.4,
                language: r.5,
                parent_id: r.6,
                evolution_method: r.7,
                status: r.8,
                status_reason: r.9,
            })
            .collect())
    }

    /// Insert evolved prompts in one transaction, each kept (`None`) or eliminated with its
    /// reason; `(source, source_id)` already stored is skipped. Tests of these prompts are not
    /// written (evolved prompts have none until synthesized).
    pub async fn insert_evolved(
        &self,
        rows: &[(NewPrompt, Option<String>)],
    ) -> Result<InsertReport> {
        let mut writer = self.prompt_writer().await?;
        writer.write_with_status(rows).await?;
        Ok(writer.commit().await?.prompts)
    }

    /// Eliminate kept prompts, each with its reason (prompts already eliminated keep their
    /// first reason), in one transaction; how many changed.
    pub async fn eliminate_prompts(&self, rows: &[(i64, String)]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for (id, reason) in rows {
            n += sqlx::query(
                "UPDATE prompts SET status = 'eliminated', status_reason = $1 \
                 WHERE id = $2 AND status = 'kept'",
            )
            .bind(crate::sql::storable(reason).into_owned())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            crate::rankings::drop_rankings_of(&mut tx, *id).await?;
        }
        tx.commit().await?;
        Ok(n)
    }
}
