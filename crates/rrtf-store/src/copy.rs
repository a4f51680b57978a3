//! Moving a project between databases (`rrtf db copy`): every table's rows, ids kept, from this
//! store into an empty one of either backend, then verified: per table, the row count and a
//! content hash computed the same way on both sides from the rows read back in key order.
//!
//! Live execution claims (`exec_claims`) are not copied: they belong to the workers of the
//! source database; nor are review sessions (reviewers log in again; their accounts and
//! tokens are copied).

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Result, Store, StoreError};

/// How a column is read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
}

use Kind::{Int as I, Real as R, Text as T};

/// One table: its name, its key (the copy's and the hash's order) and its columns.
struct Table {
    name: &'static str,
    key: &'static str,
    columns: &'static [(&'static str, Kind)],
}

/// Every table, parents before children (foreign keys hold at each insert; an evolved prompt's
/// parent has a smaller id).
const TABLES: &[Table] = &[
    Table {
        name: "rounds",
        key: "number",
        columns: &[("number", I), ("created_at", T)],
    },
    Table {
        name: "runs",
        key: "id",
        columns: &[
            ("id", I),
            ("round", I),
            ("stage", T),
            ("config_json", T),
            ("config_hash", T),
            ("revision", T),
            ("seed", I),
            ("status", T),
            ("summary_json", T),
            ("started_at", T),
            ("finished_at", T),
            ("owner", T),
        ],
    },
    Table {
        name: "models",
        key: "id",
        columns: &[
            ("id", I),
            ("name", T),
            ("role", T),
            ("endpoint", T),
            ("served_name", T),
            ("round", I),
            ("created_at", T),
        ],
    },
    Table {
        name: "prompts",
        key: "id",
        columns: &[
            ("id", I),
            ("round", I),
            ("source", T),
            ("source_id", T),
            ("kind", T),
            ("text", T),
            ("language", T),
            ("entry_point", T),
            ("reference", T),
            ("parent_id", I),
            ("evolution_method", T),
            ("content_hash", T),
            ("status", T),
            ("status_reason", T),
            ("run_id", I),
            ("created_at", T),
        ],
    },
    Table {
        name: "tests",
        key: "id",
        columns: &[
            ("id", I),
            ("prompt_id", I),
            ("language", T),
            ("origin", T),
            ("code", T),
            ("entry_point", T),
            ("content_hash", T),
            ("validation", T),
            ("validation_detail", T),
            ("model_id", I),
            ("run_id", I),
            ("created_at", T),
            ("reference", T),
        ],
    },
    Table {
        name: "responses",
        key: "id",
        columns: &[
            ("id", I),
            ("prompt_id", I),
            ("model_id", I),
            ("round", I),
            ("temperature", R),
            ("sample_index", I),
            ("raw_text", T),
            ("code", T),
            ("finish_reason", T),
            ("prompt_tokens", I),
            ("completion_tokens", I),
            ("latency_ms", I),
            ("cost_usd", R),
            ("request_hash", T),
            ("run_id", I),
            ("created_at", T),
            ("eliminated", T),
        ],
    },
    Table {
        name: "executions",
        key: "id",
        columns: &[
            ("id", I),
            ("response_id", I),
            ("test_id", I),
            ("outcome", T),
            ("tests_passed", I),
            ("tests_total", I),
            ("first_failure", T),
            ("stderr_tail", T),
            ("wall_ms", I),
            ("cpu_ms", I),
            ("peak_rss_kb", I),
            ("executor_hash", T),
            ("run_id", I),
            ("created_at", T),
        ],
    },
    Table {
        name: "rankers",
        key: "id",
        columns: &[
            ("id", I),
            ("hash", T),
            ("config_json", T),
            ("created_at", T),
            ("last_used", I),
        ],
    },
    Table {
        name: "ranked_prompts",
        key: "ranker_id, prompt_id",
        columns: &[
            ("ranker_id", I),
            ("prompt_id", I),
            ("status", T),
            ("drop_reason", T),
            ("run_id", I),
            ("created_at", T),
        ],
    },
    Table {
        name: "scores",
        key: "ranker_id, prompt_id, position",
        columns: &[
            ("ranker_id", I),
            ("prompt_id", I),
            ("position", I),
            ("response_id", I),
            ("score", R),
            ("outcome", T),
            ("tests_passed", I),
            ("tests_total", I),
            ("components_json", T),
            ("tier", I),
        ],
    },
    Table {
        name: "reviews",
        key: "id",
        columns: &[
            ("id", I),
            ("prompt_id", I),
            ("response_id", I),
            ("action", T),
            ("payload_json", T),
            ("author", T),
            ("reason", T),
            ("created_at", T),
        ],
    },
    Table {
        name: "training_runs",
        key: "id",
        columns: &[
            ("id", I),
            ("run_id", I),
            ("round", I),
            ("base_model", T),
            ("output_dir", T),
            ("config_json", T),
            ("config_hash", T),
            ("status", T),
            ("started_at", T),
            ("finished_at", T),
        ],
    },
    Table {
        name: "training_metrics",
        key: "training_run_id, step, split, name",
        columns: &[
            ("training_run_id", I),
            ("step", I),
            ("split", T),
            ("name", T),
            ("value", R),
        ],
    },
    Table {
        name: "llm_requests",
        key: "id",
        columns: &[
            ("id", I),
            ("round", I),
            ("run_id", I),
            ("stage", T),
            ("teacher", T),
            ("model", T),
            ("request_key", T),
            ("status", T),
            ("error", T),
            ("attempts", I),
            ("prompt_tokens", I),
            ("completion_tokens", I),
            ("cost_usd", R),
            ("latency_ms", I),
            ("created_at", T),
        ],
    },
    Table {
        name: "contamination",
        key: "id",
        columns: &[
            ("id", I),
            ("item", T),
            ("item_id", I),
            ("prompt_id", I),
            ("action", T),
            ("field", T),
            ("benchmark", T),
            ("method", T),
            ("detail", T),
            ("run_id", I),
            ("created_at", T),
        ],
    },
    Table {
        name: "benchmarks",
        key: "path",
        columns: &[
            ("path", T),
            ("sha256", T),
            ("problems", I),
            ("first_used", T),
            ("last_used", T),
        ],
    },
    Table {
        name: "settings",
        key: "id",
        columns: &[
            ("id", I),
            ("key", T),
            ("value_json", T),
            ("set_by", T),
            ("created_at", T),
        ],
    },
    Table {
        name: "reviewers",
        key: "id",
        columns: &[
            ("id", I),
            ("name", T),
            ("token_sha256", T),
            ("created_by", T),
            ("created_at", T),
            ("revoked_at", T),
        ],
    },
];

/// Tables the copy leaves out: live claims (the source's workers' and samplers'), review
/// sessions, the migrations' own record (each database keeps its own). The schema test checks every other table is copied.
#[cfg(test)]
const NOT_COPIED: &[&str] = &[
    "exec_claims",
    "sample_claims",
    "review_sessions",
    "_sqlx_migrations",
];

/// One table copied and checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopiedTable {
    pub table: String,
    pub rows: u64,
    /// SHA-256 of the rows' canonical bytes in byte order (each value with its kind, a text with
    /// its length): the same on both sides when the rows are.
    pub sha256: String,
}

/// A value as read: the hash's and the insert's unit.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
}

fn read(row: &AnyRow, table: &'static str, columns: &[(&str, Kind)]) -> Result<Vec<Value>> {
    columns
        .iter()
        .map(|&(name, kind)| {
            let v = match kind {
                Kind::Int => row.try_get::<Option<i64>, _>(name).map(Value::Int),
                Kind::Real => row.try_get::<Option<f64>, _>(name).map(Value::Real),
                Kind::Text => row.try_get::<Option<String>, _>(name).map(Value::Text),
            };
            v.map_err(StoreError::reading(table))
        })
        .collect()
}

/// A row's canonical bytes: each value with its kind (and a text's length), so that no two
/// different rows share them.
fn row_bytes(row: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in row {
        match v {
            Value::Int(Some(i)) => {
                out.push(b'i');
                out.extend(i.to_le_bytes());
            }
            Value::Real(Some(r)) => {
                out.push(b'r');
                out.extend(r.to_bits().to_le_bytes());
            }
            Value::Text(Some(t)) => {
                out.push(b't');
                out.extend((t.len() as u64).to_le_bytes());
                out.extend(t.as_bytes());
            }
            Value::Int(None) | Value::Real(None) | Value::Text(None) => out.push(b'n'),
        }
    }
    out
}

const CHUNK: usize = 500;

impl Store {
    /// Every row of `t`, its columns in `TABLES`' order, by its key.
    async fn table_rows(&self, t: &Table) -> Result<Vec<AnyRow>> {
        let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM {} ORDER BY {}",
            cols.join(", "),
            t.name,
            t.key
        )))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every table's row count and content hash (key order), for comparing two databases.
    pub async fn table_digests(&self) -> Result<Vec<CopiedTable>> {
        let mut out = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let rows = self.table_rows(t).await?;
            // Sorted by their bytes, not by the database's order: text keys sort by collation,
            // which differs between engines (and PostgreSQL locales).
            let mut canonical: Vec<Vec<u8>> = rows
                .iter()
                .map(|row| Ok(row_bytes(&read(row, t.name, t.columns)?)))
                .collect::<Result<_>>()?;
            canonical.sort_unstable();
            let mut h = Sha256::new();
            for bytes in &canonical {
                h.update(bytes);
            }
            out.push(CopiedTable {
                table: t.name.to_owned(),
                rows: rows.len() as u64,
                sha256: hex::encode(h.finalize()),
            });
        }
        Ok(out)
    }

    /// Copy every table into `to`, which must hold no project data (a database just made by
    /// `rrtf init`), each table in one transaction, ids kept; then compare both sides' counts
    /// and hashes. `progress(table, rows)` is called after each chunk.
    pub async fn copy_to(
        &self,
        to: &Store,
        progress: &(dyn Fn(&str, u64) + Sync),
    ) -> Result<Vec<CopiedTable>> {
        for t in TABLES {
            // Round 0 exists in every new database (the schema inserts it).
            let sql = if t.name == "rounds" {
                "SELECT count(*) FROM rounds WHERE number <> 0".to_owned()
            } else {
                format!("SELECT count(*) FROM {}", t.name)
            };
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&to.pool)
                .await?;
            if n > 0 {
                let what = if t.name == "rounds" {
                    format!("{n} round(s) besides round 0")
                } else {
                    format!("{n} row(s) in {}", t.name)
                };
                return Err(StoreError::Invalid(format!(
                    "{} already holds data ({what}): copy into a database just made by `rrtf \
                     init`",
                    to.location().display(),
                )));
            }
        }
        for t in TABLES {
            let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
            let rows = self.table_rows(t).await?;
            let mut tx = to.pool.begin().await?;
            for chunk in rows.chunks(CHUNK) {
                let values: Vec<Vec<Value>> = chunk
                    .iter()
                    .map(|r| read(r, t.name, t.columns))
                    .collect::<Result<_>>()?;
                let mut qb = crate::sql::Builder::new(
                    to.backend(),
                    format!("INSERT INTO {} ({}) ", t.name, cols.join(", ")),
                );
                qb.push_values(&values, |mut b, row| {
                    for v in row {
                        match v {
                            Value::Int(i) => b.push_bind(*i),
                            Value::Real(r) => b.push_bind(*r),
                            Value::Text(s) => b.push_bind(s.clone()),
                        };
                    }
                });
                if t.name == "rounds" {
                    // The new database's round 0 takes the source's (its creation time).
                    qb.push(" ON CONFLICT (number) DO UPDATE SET created_at = excluded.created_at");
                }
                qb.build().execute(&mut *tx).await?;
                progress(t.name, chunk.len() as u64);
            }
            // PostgreSQL's identity columns count on their own: start after the copied ids.
            if to.backend() == Backend::Postgres && t.key == "id" {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', 'id'), \
                     (SELECT coalesce(max(id), 0) + 1 FROM {0}), false)",
                    t.name
                )))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        let (from, into) = (self.table_digests().await?, to.table_digests().await?);
        for (a, b) in from.iter().zip(&into) {
            if a != b {
                return Err(StoreError::Invalid(format!(
                    "the copy of table {} does not match its source: {} rows ({}) here, {} \
                     rows ({}) there",
                    a.table, a.rows, a.sha256, b.rows, b.sha256
                )));
            }
        }
        Ok(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column of every table is copied: the lists above against SQLite's schema.
    #[tokio::test]
    async fn the_copy_covers_every_table_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("c.db")).await.unwrap();
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        for name in tables {
            if NOT_COPIED.contains(&name.as_str()) {
                continue;
            }
            let spec = TABLES
                .iter()
                .find(|t| t.name == name)
                .unwrap_or_else(|| panic!("table {name} is not in copy.rs's TABLES"));
            let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{name}') ORDER BY cid"
            )))
            .fetch_all(&store.pool)
            .await
            .unwrap();
            let listed: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
            assert_eq!(columns, listed, "columns of {name}");
        }
    }
}
