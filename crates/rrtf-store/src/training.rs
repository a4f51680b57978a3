//! Training runs and their metrics (one row per step, split and metric name), and the last
//! finished run of a stage, which `rrtf round` uses to skip what is already done.

use crate::{Result, RunRef, Store};

/// A training run's identity in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingRef {
    pub id: i64,
}

/// One metric value of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    pub step: i64,
    /// `train` or `eval`.
    pub split: String,
    pub name: String,
    pub value: f64,
}

/// A training run with every metric it logged, in step order.
#[derive(Clone, Debug)]
pub struct TrainingCurves {
    pub id: i64,
    pub round: i64,
    pub base_model: String,
    pub output_dir: String,
    pub status: String,
    pub points: Vec<MetricPoint>,
}

impl TrainingCurves {
    /// One metric's (step, value) points, in step order: `split` is `train` or `eval`, `name`
    /// the metric (`loss`, `preference_accuracy`, `tokens_per_s`, ...).
    pub fn series(&self, split: &str, name: &str) -> Vec<(i64, f64)> {
        self.points
            .iter()
            .filter(|p| p.split == split && p.name == name)
            .map(|p| (p.step, p.value))
            .collect()
    }
}

/// A finished run of a stage.
#[derive(Clone, Debug)]
pub struct DoneRun {
    pub id: i64,
    pub finished_at: String,
    pub summary: Option<serde_json::Value>,
}

impl Store {
    /// Start (or, for a resumed run writing to the same directory, restart) a training run.
    pub async fn begin_training(
        &self,
        run: Option<RunRef>,
        round: i64,
        base_model: &str,
        output_dir: &str,
        config_json: &str,
        config_hash: &str,
    ) -> Result<TrainingRef> {
        let mut tx = self.pool.begin().await?;
        crate::prompts::ensure_rounds(&mut tx, std::iter::once(round)).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO training_runs (run_id, round, base_model, output_dir, config_json, config_hash) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (output_dir) DO UPDATE SET run_id = excluded.run_id, round = excluded.round, \
               base_model = excluded.base_model, config_json = excluded.config_json, \
               config_hash = excluded.config_hash, status = 'running', finished_at = NULL \
             RETURNING id",
        )
        .bind(run.map(|r| r.id))
        .bind(round)
        .bind(base_model)
        .bind(output_dir)
        .bind(config_json)
        .bind(config_hash)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(TrainingRef { id })
    }

    /// A run that trains its output directory from step 0 again (a first start, `--restart`,
    /// or a rerun of one whose checkpoints are gone) started now: `started_at` is when the
    /// training that wrote `output_dir` began, so only a resumed run keeps an earlier one.
    pub async fn training_started_now(&self, run: TrainingRef) -> Result<()> {
        sqlx::query(
            "UPDATE training_runs SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE id = $1",
        )
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Record metric values; a step logged again (after a resume) replaces its values.
    pub async fn insert_training_metrics(
        &self,
        run: TrainingRef,
        points: &[MetricPoint],
    ) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in points.chunks(200) {
            let mut q = crate::sql::Builder::new(
                self.backend(),
                "INSERT INTO training_metrics (training_run_id, step, split, name, value) ",
            );
            q.push_values(chunk, |mut b, p| {
                b.push_bind(run.id)
                    .push_bind(p.step)
                    .push_bind(&p.split)
                    .push_bind(&p.name)
                    .push_bind(p.value);
            });
            q.push(
                " ON CONFLICT (training_run_id, step, split, name) DO UPDATE SET value = excluded.value",
            );
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Mark a training run finished.
    pub async fn finish_training(&self, run: TrainingRef, ok: bool) -> Result<()> {
        sqlx::query(
            "UPDATE training_runs SET status = $1, \
             finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = $2",
        )
        .bind(if ok { "done" } else { "failed" })
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Mark a training run stopped by a signal (its checkpoints let it resume).
    pub async fn interrupt_training(&self, run: TrainingRef) -> Result<()> {
        sqlx::query(
            "UPDATE training_runs SET status = 'interrupted', \
             finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = $1",
        )
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forget a training run's metrics after `step` (all of them for `None`): a run resumed
    /// from `step-N` logs steps after N again, a run started afresh logs every step again.
    pub async fn truncate_training_metrics(
        &self,
        run: TrainingRef,
        after: Option<i64>,
    ) -> Result<()> {
        sqlx::query("DELETE FROM training_metrics WHERE training_run_id = $1 AND step > $2")
            .bind(run.id)
            .bind(after.unwrap_or(i64::MIN))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every training run with its metrics, oldest first.
    pub async fn training_curves(&self) -> Result<Vec<TrainingCurves>> {
        let runs: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
            "SELECT id, round, base_model, output_dir, status FROM training_runs ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(runs.len());
        for (id, round, base_model, output_dir, status) in runs {
            let points = sqlx::query_as::<_, (i64, String, String, f64)>(
                "SELECT step, split, name, value FROM training_metrics \
                 WHERE training_run_id = $1 ORDER BY split, name, step",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(step, split, name, value)| MetricPoint {
                step,
                split,
                name,
                value,
            })
            .collect();
            out.push(TrainingCurves {
                id,
                round,
                base_model,
                output_dir,
                status,
                points,
            });
        }
        Ok(out)
    }

    /// The latest run of `stage` in `round` that finished successfully under `config_hash`.
    pub async fn last_done_run(
        &self,
        round: i64,
        stage: &str,
        config_hash: &str,
    ) -> Result<Option<DoneRun>> {
        let row: Option<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT id, finished_at, summary_json FROM runs \
             WHERE round = $1 AND stage = $2 AND config_hash = $3 AND status = 'done' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(round)
        .bind(stage)
        .bind(config_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, finished_at, summary)| DoneRun {
            id,
            finished_at,
            summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
        }))
    }

    /// The newest successful runs of `stage` in `round` (newest first, at most 50), each with
    /// the config snapshot it ran under: for a skip rule that compares configs in part
    /// (`rrtf round`: a stage before the evaluation ignores `[evaluation]`).
    pub async fn done_runs_with_config(
        &self,
        round: i64,
        stage: &str,
    ) -> Result<Vec<(DoneRun, String)>> {
        let rows: Vec<(i64, String, Option<String>, String)> = sqlx::query_as(
            "SELECT id, finished_at, summary_json, config_json FROM runs \
             WHERE round = $1 AND stage = $2 AND status = 'done' ORDER BY id DESC LIMIT 50",
        )
        .bind(round)
        .bind(stage)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, finished_at, summary, config)| {
                let summary = summary.and_then(|s| serde_json::from_str(&s).ok());
                (
                    DoneRun {
                        id,
                        finished_at,
                        summary,
                    },
                    config,
                )
            })
            .collect())
    }

    /// Every successful run of `stage` (oldest first): (round, finished_at, summary).
    pub async fn done_runs(&self, stage: &str) -> Result<Vec<(i64, DoneRun)>> {
        let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT round, id, finished_at, summary_json FROM runs \
             WHERE stage = $1 AND status = 'done' ORDER BY id",
        )
        .bind(stage)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(round, id, finished_at, summary)| {
                (
                    round,
                    DoneRun {
                        id,
                        finished_at,
                        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
                    },
                )
            })
            .collect())
    }
}
