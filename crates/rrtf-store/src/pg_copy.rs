//! The prompt writer's PostgreSQL path, all in the writer's one transaction, by `COPY` (text
//! format). The rules are the multi-row path's (`prompts.rs`): a prompt whose
//! `(source, source_id)` exists is skipped, and so is a later row of the same key in the batch;
//! tests are attached to the stored prompt of their row's key (new or existing) and skipped when
//! that prompt has the same code already; new prompts get their ids in the batch's order.
//!
//! Two ways, per batch:
//! - **new rows** (a batch without a repeated key, while no batch of this writer met a stored
//!   one): ids drawn from `prompts`' identity sequence (with the server's time, the rows'
//!   `created_at`), then `COPY` straight into `prompts` and `tests`, inside a savepoint; the
//!   prompts stream to the server while they are encoded. A key already stored (by anyone, committed or committing) makes
//!   the unique index refuse the `COPY`: the batch rolls back to the savepoint and goes the
//!   second way, as does every later batch of this writer (a re-import is mostly stored keys).
//! - **merge**: `COPY` into two temporary tables, then one `INSERT ... SELECT ... ON CONFLICT DO
//!   NOTHING` per table (tests joined to their prompt by key).

use sqlx::{Executor, PgPool, Postgres, Row, Transaction};

use crate::hash::content_hash;
use crate::prompts::PromptInsertReport;
use crate::{NewPrompt, NewTest, Result, StoreError};

const STAGING: &str = "\
    CREATE TEMPORARY TABLE rrtf_import_prompts (
        ord BIGINT NOT NULL, round BIGINT NOT NULL, source TEXT NOT NULL,
        source_id TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, language TEXT NOT NULL,
        entry_point TEXT, reference TEXT, parent_id BIGINT, evolution_method TEXT,
        content_hash TEXT NOT NULL, status TEXT NOT NULL, status_reason TEXT
    ) ON COMMIT DROP;
    CREATE TEMPORARY TABLE rrtf_import_tests (
        ord BIGINT NOT NULL, source TEXT NOT NULL, source_id TEXT NOT NULL,
        language TEXT NOT NULL, origin TEXT NOT NULL, code TEXT NOT NULL, entry_point TEXT,
        content_hash TEXT NOT NULL
    ) ON COMMIT DROP";

const MOVE_PROMPTS: &str = "\
    INSERT INTO prompts (round, source, source_id, kind, text, language, entry_point, reference,
                         parent_id, evolution_method, content_hash, status, status_reason)
    SELECT round, source, source_id, kind, text, language, entry_point, reference, parent_id,
           evolution_method, content_hash, status, status_reason
    FROM rrtf_import_prompts ORDER BY ord
    ON CONFLICT (source, source_id) DO NOTHING";

const MOVE_TESTS: &str = "\
    INSERT INTO tests (prompt_id, language, origin, code, entry_point, content_hash)
    SELECT p.id, t.language, t.origin, t.code, t.entry_point, t.content_hash
    FROM rrtf_import_tests t JOIN prompts p ON p.source = t.source AND p.source_id = t.source_id
    ORDER BY t.ord
    ON CONFLICT (prompt_id, content_hash) DO NOTHING";

/// One prompt writer's transaction on a native PostgreSQL connection.
pub(crate) struct PromptCopy {
    tx: Transaction<'static, Postgres>,
    staged: bool,
    /// A batch met a stored key: merge from now on.
    merging: bool,
    /// Reused between batches: the `COPY` data of the prompts and of the tests.
    prompts: String,
    tests: String,
    /// The oid of `prompts`' identity sequence, named by it when ids are drawn: a
    /// `pg_get_serial_sequence` call in that statement would run once per id, 7x the draw's cost.
    sequence: Option<i64>,
    /// The savepoint of the last batch of new rows is still open (released by the next one's
    /// first statement, or by the commit).
    savepoint: bool,
}

impl PromptCopy {
    pub(crate) async fn begin(pool: &PgPool) -> Result<PromptCopy> {
        Ok(PromptCopy {
            tx: pool.begin().await?,
            staged: false,
            merging: false,
            prompts: String::new(),
            tests: String::new(),
            sequence: None,
            savepoint: false,
        })
    }

    pub(crate) async fn ensure_rounds(&mut self, rounds: &[i64]) -> Result<()> {
        if rounds.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO rounds (number) SELECT DISTINCT unnest($1::BIGINT[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(rounds)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(crate) async fn write(
        &mut self,
        rows: &[(&NewPrompt, Option<&str>)],
        report: &mut PromptInsertReport,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if !self.merging && !repeats_a_key(rows) {
            match self.copy_new(rows).await {
                Ok((inserted, seen)) => {
                    report.prompts.add(rows.len() as u64, rows.len() as u64);
                    report.tests.add(inserted, seen);
                    return Ok(());
                }
                Err(StoreError::Sql(sqlx::Error::Database(e)))
                    if e.code().as_deref() == Some(UNIQUE_VIOLATION) =>
                {
                    self.tx
                        .execute("ROLLBACK TO SAVEPOINT rrtf_new_rows")
                        .await?;
                    self.merging = true;
                }
                Err(e) => return Err(e),
            }
        }
        self.merge(rows, report).await
    }

    /// The first way: every row is a new prompt. Returns the tests (inserted, seen): a row's
    /// repeated test code is stored once, as the merge's conflict rule would.
    async fn copy_new(&mut self, rows: &[(&NewPrompt, Option<&str>)]) -> Result<(u64, u64)> {
        let sequence = match self.sequence {
            Some(oid) => oid,
            None => {
                let oid: i64 = sqlx::query_scalar(
                    "SELECT pg_get_serial_sequence('prompts', 'id')::regclass::oid::BIGINT",
                )
                .fetch_one(&mut *self.tx)
                .await?;
                *self.sequence.insert(oid)
            }
        };
        // One round trip: close the last batch's savepoint, open this one's, draw its ids and
        // read the server's time once for the batch's `created_at` (the columns' default, a
        // `to_char` per row, is 10% of the `COPY`s' time).
        let draw = format!(
            "{}SAVEPOINT rrtf_new_rows; \
             SELECT nextval({sequence}::regclass), clock.stamp \
             FROM (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS stamp OFFSET 0) clock, \
                  generate_series(1, {})",
            if self.savepoint {
                "RELEASE SAVEPOINT rrtf_new_rows; "
            } else {
                ""
            },
            rows.len()
        );
        let drawn = sqlx::raw_sql(sqlx::AssertSqlSafe(draw))
            .fetch_all(&mut *self.tx)
            .await?;
        self.savepoint = true;
        let ids = drawn
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<std::result::Result<Vec<i64>, _>>()?;
        let created_at: String = match drawn.first() {
            Some(row) => row.try_get(1)?,
            None => String::new(),
        };
        if ids.len() != rows.len() {
            return Err(StoreError::Invalid(format!(
                "PostgreSQL drew {} ids for a batch of {} prompts",
                ids.len(),
                rows.len()
            )));
        }
        self.prompts.clear();
        self.tests.clear();
        let (mut inserted, mut seen) = (0u64, 0u64);
        let mut hashes = Vec::new();
        // The prompts stream to the server as they are encoded: it inserts one part while the
        // next is written, and the tests are ready when the prompts are in.
        let mut copy = self
            .tx
            .copy_in_raw(
                "COPY prompts (id, round, source, source_id, kind, text, language, entry_point, \
                 reference, parent_id, evolution_method, content_hash, status, status_reason, \
                 created_at) FROM STDIN",
            )
            .await?;
        for ((p, eliminated), id) in rows.iter().zip(ids) {
            number(&mut self.prompts, id);
            prompt_fields(&mut self.prompts, p, *eliminated);
            text(&mut self.prompts, Some(&created_at));
            end_line(&mut self.prompts);
            if self.prompts.len() >= STREAM_PART {
                copy.send(self.prompts.as_bytes()).await?;
                self.prompts.clear();
            }
            hashes.clear();
            for t in &p.tests {
                seen += 1;
                let hash = crate::hash::code_hash(&t.code);
                if hashes.contains(&hash) {
                    continue;
                }
                inserted += 1;
                number(&mut self.tests, id);
                test_fields(&mut self.tests, t, &hash);
                text(&mut self.tests, Some(&created_at));
                end_line(&mut self.tests);
                hashes.push(hash);
            }
        }
        copy.send(self.prompts.as_bytes()).await?;
        copy.finish().await?;
        if inserted > 0 {
            copy_in(
                &mut self.tx,
                "tests (prompt_id, language, origin, code, entry_point, content_hash, created_at)",
                &self.tests,
            )
            .await?;
        }
        Ok((inserted, seen))
    }

    /// The second way: stage the batch, then insert what is not stored yet.
    async fn merge(
        &mut self,
        rows: &[(&NewPrompt, Option<&str>)],
        report: &mut PromptInsertReport,
    ) -> Result<()> {
        if self.staged {
            self.tx
                .execute("TRUNCATE rrtf_import_prompts, rrtf_import_tests")
                .await?;
        } else {
            self.tx.execute(STAGING).await?;
            self.staged = true;
        }
        self.prompts.clear();
        self.tests.clear();
        let mut test_ord = 0i64;
        for (ord, (p, eliminated)) in rows.iter().enumerate() {
            number(&mut self.prompts, ord as i64);
            prompt_fields(&mut self.prompts, p, *eliminated);
            end_line(&mut self.prompts);
            for t in &p.tests {
                number(&mut self.tests, test_ord);
                test_ord += 1;
                text(&mut self.tests, Some(&p.source));
                text(&mut self.tests, Some(&p.source_id));
                test_fields(&mut self.tests, t, &crate::hash::code_hash(&t.code));
                end_line(&mut self.tests);
            }
        }
        copy_in(&mut self.tx, "rrtf_import_prompts", &self.prompts).await?;
        let inserted = self.tx.execute(MOVE_PROMPTS).await?.rows_affected();
        report.prompts.add(inserted, rows.len() as u64);
        if test_ord > 0 {
            copy_in(&mut self.tx, "rrtf_import_tests", &self.tests).await?;
            let inserted = self.tx.execute(MOVE_TESTS).await?.rows_affected();
            report.tests.add(inserted, test_ord as u64);
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Bytes of `COPY` data sent at a time while a batch of new prompts is encoded.
const STREAM_PART: usize = 64 * 1024;

/// PostgreSQL's `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";

/// Whether two rows of the batch have the same `(source, source_id)`.
fn repeats_a_key(rows: &[(&NewPrompt, Option<&str>)]) -> bool {
    let mut keys = std::collections::HashSet::with_capacity(rows.len());
    !rows
        .iter()
        .all(|(p, _)| keys.insert((p.source.as_str(), p.source_id.as_str())))
}

/// A prompt's columns after its first (`id` or `ord`), each followed by its separator.
fn prompt_fields(line: &mut String, p: &NewPrompt, eliminated: Option<&str>) {
    number(line, p.round);
    text(line, Some(&p.source));
    text(line, Some(&p.source_id));
    text(line, Some(p.kind.as_str()));
    text(line, Some(&p.text));
    text(line, Some(p.language.as_str()));
    text(line, p.entry_point.as_deref());
    text(line, p.reference.as_deref());
    match p.parent_id {
        Some(id) => number(line, id),
        None => text(line, None),
    }
    text(line, p.evolution_method.as_deref());
    text(line, Some(&content_hash(&p.text)));
    text(
        line,
        Some(if eliminated.is_some() {
            "eliminated"
        } else {
            "kept"
        }),
    );
    text(line, eliminated);
}

/// A test's columns from `language` on, each followed by its separator.
fn test_fields(line: &mut String, t: &NewTest, hash: &str) {
    text(line, Some(t.language.as_str()));
    text(line, Some(t.origin.as_str()));
    text(line, Some(&t.code));
    text(line, t.entry_point.as_deref());
    text(line, Some(hash));
}

async fn copy_in(tx: &mut Transaction<'static, Postgres>, table: &str, data: &str) -> Result<()> {
    let mut copy = tx.copy_in_raw(&format!("COPY {table} FROM STDIN")).await?;
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// A field of `COPY`'s text format, then the column separator. U+0000, which `text` cannot hold,
/// is written as U+FFFD, as every text the store writes (`sql::storable`).
fn text(line: &mut String, value: Option<&str>) {
    match value {
        None => line.push_str("\\N"),
        Some(s)
            if !s
                .bytes()
                .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r' | b'\0')) =>
        {
            line.push_str(s)
        }
        Some(s) => {
            for c in s.chars() {
                match c {
                    '\\' => line.push_str("\\\\"),
                    '\t' => line.push_str("\\t"),
                    '\n' => line.push_str("\\n"),
                    '\r' => line.push_str("\\r"),
                    '\0' => line.push('\u{FFFD}'),
                    c => line.push(c),
                }
            }
        }
    }
    line.push('\t');
}

fn number(line: &mut String, n: i64) {
    use std::fmt::Write;
    let _ = write!(line, "{n}\t");
}

/// Replace the last field's separator with the row's end.
fn end_line(line: &mut String) {
    line.pop();
    line.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_the_format_reads_as_markup() {
        let mut line = String::new();
        text(&mut line, Some("a\tb\nc\\d\re \\N \\.\0"));
        text(&mut line, None);
        number(&mut line, -3);
        end_line(&mut line);
        assert_eq!(line, "a\\tb\\nc\\\\d\\re \\\\N \\\\.\u{FFFD}\t\\N\t-3\n");
    }
}
