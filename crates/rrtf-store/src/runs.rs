//! Runs: one invocation of a stage, with the configuration snapshot it ran under.

use crate::{Result, Store};

/// A started run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunRef {
    pub id: i64,
}

/// A run to record: one invocation of a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRun {
    pub round: i64,
    /// `sample`, `round/train`, `sweep/variant`, ...
    pub stage: String,
    /// The validated configuration snapshot the stage runs under.
    pub config_json: String,
    pub config_hash: String,
    /// The code's revision (the binary's git commit).
    pub revision: Option<String>,
    pub seed: Option<i64>,
}

impl Store {
    /// Record the start of a stage run.
    pub async fn begin_run(&self, run: &NewRun) -> Result<RunRef> {
        let mut tx = self.pool.begin().await?;
        crate::prompts::ensure_rounds(&mut tx, std::iter::once(run.round)).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO runs (round, stage, config_json, config_hash, revision, seed) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(run.round)
        .bind(&run.stage)
        .bind(&run.config_json)
        .bind(&run.config_hash)
        .bind(&run.revision)
        .bind(run.seed)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RunRef { id })
    }

    /// Record the end of a run with its summary.
    pub async fn finish_run(
        &self,
        run: RunRef,
        ok: bool,
        summary: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET status = $1, summary_json = $2, \
             finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = $3",
        )
        .bind(if ok { "done" } else { "failed" })
        .bind(summary.to_string())
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Record that a run was stopped by a signal (Ctrl-C, SIGTERM) after finishing or
    /// abandoning its work in flight: status `interrupted`, with what it did in `summary`.
    pub async fn interrupt_run(&self, run: RunRef, summary: &serde_json::Value) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET status = 'interrupted', summary_json = $1, \
             finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = $2",
        )
        .bind(summary.to_string())
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every run of `stage`, oldest first: its id and status (`running`, `done`, `failed`,
    /// `interrupted`).
    pub async fn run_statuses(&self, stage: &str) -> Result<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT id, status FROM runs WHERE stage = $1 ORDER BY id")
                .bind(stage)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
