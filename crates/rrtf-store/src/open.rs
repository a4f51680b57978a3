//! Opening, creating and migrating the database.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// A handle on the project database. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Create the database at `path` if it does not exist, then migrate it to the newest schema.
    pub async fn create(path: &Path) -> Result<Store> {
        Self::connect(path, true).await
    }

    /// Open an existing database and migrate it forward. A missing file is an error that says
    /// how to create one; a database written by a newer schema is refused.
    pub async fn open(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        Self::connect(path, false).await
    }

    async fn connect(path: &Path, create: bool) -> Result<Store> {
        crate::sqlite_config::configure();
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_err)?
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        let store = Store {
            pool,
            path: path.to_owned(),
        };
        store.check_schema_not_newer().await?;
        MIGRATOR
            .run(&store.pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_owned(),
                source,
            })?;
        Ok(store)
    }

    /// The newest schema version this binary knows.
    pub fn known_schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The schema version recorded in the database (0 for a new file).
    pub async fn schema_version(&self) -> Result<i64> {
        let has_table: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await?;
        if has_table.is_none() {
            return Ok(0);
        }
        let v: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(v.unwrap_or(0))
    }

    async fn check_schema_not_newer(&self) -> Result<()> {
        let found = self.schema_version().await?;
        let known = Self::known_schema_version();
        if found > known {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found,
                known,
            });
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush the WAL into the main file and close the pool.
    pub async fn close(self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_migrates_and_open_requires_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let err = Store::open(&path).await.unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("rrtf init"));

        let store = Store::create(&path).await.unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            Store::known_schema_version()
        );
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        store.close().await;
        // Re-opening is idempotent.
        Store::open(&path).await.unwrap().close().await;
    }

    /// `20261204000031_interrupted_runs.sql` rebuilds `runs` and `training_runs` under
    /// enforced foreign keys: on a database with rows that reference them, every row and id
    /// stays, `interrupted` becomes a status, and the references are still checked after.
    #[tokio::test]
    async fn the_interrupted_runs_rebuild_keeps_rows_and_references() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("p.db")).await.unwrap();
        let run = store
            .begin_run(&crate::NewRun {
                round: 1,
                stage: "train".into(),
                config_json: "{}".into(),
                config_hash: "h".into(),
                revision: None,
                seed: Some(3),
            })
            .await
            .unwrap();
        let training = store
            .begin_training(Some(run), 1, "base", "out", "{}", "h")
            .await
            .unwrap();
        let point = crate::MetricPoint {
            step: 1,
            split: "train".into(),
            name: "loss".into(),
            value: 2.5,
        };
        store
            .insert_training_metrics(training, std::slice::from_ref(&point))
            .await
            .unwrap();
        // The migration again, on a populated database (it is a rebuild, so it may be re-run).
        let sql = include_str!("../../../migrations/20261204000031_interrupted_runs.sql");
        let mut tx = store.pool.begin().await.unwrap();
        sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        store
            .interrupt_run(run, &serde_json::json!({"steps": 1}))
            .await
            .unwrap();
        store.interrupt_training(training).await.unwrap();
        assert_eq!(
            store.run_statuses("train").await.unwrap(),
            [(run.id, "interrupted".to_owned())]
        );
        let curves = store.training_curves().await.unwrap();
        assert_eq!(curves.len(), 1);
        assert_eq!(
            (curves[0].id, curves[0].status.as_str()),
            (training.id, "interrupted")
        );
        assert_eq!(curves[0].points, [point]);
        let orphan = sqlx::query("INSERT INTO training_runs (run_id, round, base_model, output_dir, config_json, config_hash) VALUES (999, 1, 'b', 'o2', '{}', 'h')")
            .execute(&store.pool)
            .await;
        assert!(
            orphan.is_err(),
            "foreign keys are checked after the rebuild"
        );
        let bad = sqlx::query("UPDATE runs SET status = 'paused'")
            .execute(&store.pool)
            .await;
        assert!(bad.is_err(), "the status check stays");
        store.close().await;
    }

    #[tokio::test]
    async fn newer_schema_is_refused_with_versions_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Store::create(&path).await.unwrap();
        let future = Store::known_schema_version() + 1;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?, 'from the future', 1, x'00', 0)",
        )
        .bind(future)
        .execute(&store.pool)
        .await
        .unwrap();
        store.close().await;
        let err = Store::open(&path).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{msg}");
        assert!(
            msg.contains(&future.to_string()) && msg.contains("upgrade rrtf"),
            "{msg}"
        );
    }
}
