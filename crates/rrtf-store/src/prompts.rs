//! Prompts and their tests: batched, idempotent inserts in one transaction.

use std::collections::{BTreeSet, HashMap};

use sqlx::{Any, Transaction};

use crate::hash::content_hash;
use crate::{InsertReport, NewPrompt, Result, Store};

/// Rows per multi-row INSERT: 500 x 13 bound values stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 limits.
const CHUNK: usize = 500;

/// What `insert_prompts` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PromptInsertReport {
    pub prompts: InsertReport,
    pub tests: InsertReport,
}

impl Store {
    /// Insert prompts and their tests in one transaction: either all rows are written or none.
    /// Prompts whose `(source, source_id)` already exists are skipped (counted as existing);
    /// tests already stored for a prompt (same code) likewise. `progress` is called with the
    /// number of prompts handled after each chunk.
    pub async fn insert_prompts(
        &self,
        prompts: &[NewPrompt],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<PromptInsertReport> {
        let mut writer = self.prompt_writer().await?;
        for chunk in prompts.chunks(CHUNK) {
            writer.write(chunk).await?;
            progress(chunk.len() as u64);
        }
        writer.commit().await
    }

    /// The text and language of these prompts, by id.
    pub async fn prompt_texts(&self, ids: &[i64]) -> Result<HashMap<i64, (String, String)>> {
        let mut out = HashMap::with_capacity(ids.len());
        let unique: BTreeSet<i64> = ids.iter().copied().collect();
        let unique: Vec<i64> = unique.into_iter().collect();
        for chunk in unique.chunks(CHUNK) {
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "SELECT id, text, language FROM prompts WHERE id IN (",
            );
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            sep.push_unseparated(")");
            let rows: Vec<(i64, String, String)> =
                qb.build_query_as().fetch_all(&self.pool).await?;
            out.extend(rows.into_iter().map(|(id, t, l)| (id, (t, l))));
        }
        Ok(out)
    }

    /// A writer that inserts prompts batch by batch inside one transaction, for callers that
    /// produce rows while writing (an importer parsing a large file). Dropping it without
    /// `commit` rolls everything back.
    ///
    /// On PostgreSQL the rows go in by `COPY` (`pg_copy.rs`: straight into the tables while
    /// every key is new, else merged from temporary tables; the same conflict rules and ids in
    /// file order), on a native connection of the store's, since sqlx's `Any` driver has no
    /// `COPY` (its rows per second: README, benchmarks).
    pub async fn prompt_writer(&self) -> Result<PromptWriter> {
        let tx = match self.postgres_native().await? {
            Some(pg) => WriterTx::Copy(crate::pg_copy::PromptCopy::begin(pg).await?),
            None => WriterTx::Rows {
                backend: self.backend(),
                tx: self.pool.begin().await?,
            },
        };
        Ok(PromptWriter {
            tx,
            report: PromptInsertReport::default(),
            rounds: BTreeSet::new(),
        })
    }
}

/// See [`Store::prompt_writer`].
pub struct PromptWriter {
    tx: WriterTx,
    report: PromptInsertReport,
    rounds: BTreeSet<i64>,
}

enum WriterTx {
    /// Multi-row `INSERT` statements through `Any` (SQLite).
    Rows {
        backend: crate::Backend,
        tx: Transaction<'static, Any>,
    },
    /// `COPY` and `INSERT ... SELECT` on a native connection (PostgreSQL).
    Copy(crate::pg_copy::PromptCopy),
}

impl PromptWriter {
    /// Insert a batch of kept prompts (any size; split into statements of at most 500 rows).
    pub async fn write(&mut self, prompts: &[NewPrompt]) -> Result<()> {
        let rows: Vec<(&NewPrompt, Option<&str>)> = prompts.iter().map(|p| (p, None)).collect();
        self.write_rows(&rows).await
    }

    /// Insert prompts each kept (`None`) or eliminated with its reason (evolution's filters).
    pub async fn write_with_status(
        &mut self,
        prompts: &[(NewPrompt, Option<String>)],
    ) -> Result<()> {
        let rows: Vec<(&NewPrompt, Option<&str>)> =
            prompts.iter().map(|(p, r)| (p, r.as_deref())).collect();
        self.write_rows(&rows).await
    }

    async fn write_rows(&mut self, rows: &[(&NewPrompt, Option<&str>)]) -> Result<()> {
        let new_rounds: Vec<i64> = rows
            .iter()
            .map(|(p, _)| p.round)
            .filter(|r| !self.rounds.contains(r))
            .collect();
        match &mut self.tx {
            WriterTx::Rows { backend, tx } => {
                ensure_rounds(tx, new_rounds.iter().copied()).await?;
                for chunk in rows.chunks(CHUNK) {
                    write_chunk(*backend, tx, &mut self.report, chunk).await?;
                }
            }
            WriterTx::Copy(copy) => {
                copy.ensure_rounds(&new_rounds).await?;
                copy.write(rows, &mut self.report).await?;
            }
        }
        self.rounds.extend(new_rounds);
        Ok(())
    }

    /// Commit the transaction; what was inserted and what already existed.
    pub async fn commit(self) -> Result<PromptInsertReport> {
        match self.tx {
            WriterTx::Rows { tx, .. } => tx.commit().await?,
            WriterTx::Copy(copy) => copy.commit().await?,
        }
        Ok(self.report)
    }
}

async fn write_chunk(
    backend: crate::Backend,
    tx: &mut Transaction<'static, Any>,
    report: &mut PromptInsertReport,
    chunk: &[(&NewPrompt, Option<&str>)],
) -> Result<()> {
    let mut qb = crate::sql::Builder::new(
        backend,
        "INSERT INTO prompts (round, source, source_id, kind, text, language, entry_point, \
             reference, parent_id, evolution_method, content_hash, status, status_reason) ",
    );
    qb.push_values(chunk, |mut b, (p, eliminated)| {
        b.push_bind(p.round)
            .push_bind(p.source.as_str())
            .push_bind(p.source_id.as_str())
            .push_bind(p.kind.as_str())
            .push_bind(p.text.as_str())
            .push_bind(p.language.as_str())
            .push_bind(p.entry_point.as_deref())
            .push_bind(p.reference.as_deref())
            .push_bind(p.parent_id)
            .push_bind(p.evolution_method.as_deref())
            .push_bind(content_hash(&p.text))
            .push_bind(if eliminated.is_some() {
                "eliminated"
            } else {
                "kept"
            })
            .push_bind(*eliminated);
    });
    // The new rows' ids come back with their keys (`RETURNING` holds only the rows this
    // statement inserted); rows that already existed are looked up.
    qb.push(" ON CONFLICT (source, source_id) DO NOTHING RETURNING id, source, source_id");
    let created: Vec<(i64, String, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
    let inserted = created.len() as u64;
    report.prompts.add(inserted, chunk.len() as u64);

    if chunk.iter().any(|(p, _)| !p.tests.is_empty()) {
        let prompts: Vec<&NewPrompt> = chunk.iter().map(|(p, _)| *p).collect();
        let mut ids: HashMap<(String, String), i64> = created
            .into_iter()
            .map(|(id, source, source_id)| ((source, source_id), id))
            .collect();
        if ids.len() < prompts.len() {
            ids.extend(prompt_ids(tx, backend, &prompts).await?);
        }
        let tests: Vec<_> = prompts
            .iter()
            .flat_map(|p| {
                let id = ids[&(p.source.clone(), p.source_id.clone())];
                p.tests.iter().map(move |t| (id, t))
            })
            .collect();
        for tchunk in tests.chunks(CHUNK) {
            let mut qb = crate::sql::Builder::new(
                backend,
                "INSERT INTO tests (prompt_id, language, origin, code, entry_point, \
                     content_hash) ",
            );
            qb.push_values(tchunk, |mut b, (id, t)| {
                b.push_bind(*id)
                    .push_bind(t.language.as_str())
                    .push_bind(t.origin.as_str())
                    .push_bind(t.code.as_str())
                    .push_bind(t.entry_point.as_deref())
                    .push_bind(crate::hash::code_hash(&t.code));
            });
            qb.push(" ON CONFLICT (prompt_id, content_hash) DO NOTHING");
            let done = qb.build().execute(&mut **tx).await?.rows_affected();
            report.tests.add(done, tchunk.len() as u64);
        }
    }
    Ok(())
}

/// Make sure every round referenced exists (rounds are created on first use).
pub(crate) async fn ensure_rounds(
    tx: &mut Transaction<'static, Any>,
    rounds: impl Iterator<Item = i64>,
) -> Result<()> {
    for round in rounds.collect::<BTreeSet<_>>() {
        sqlx::query("INSERT INTO rounds (number) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(round)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Ids of the chunk's prompts, keyed by `(source, source_id)`.
async fn prompt_ids(
    tx: &mut Transaction<'static, Any>,
    backend: crate::Backend,
    chunk: &[&NewPrompt],
) -> Result<HashMap<(String, String), i64>> {
    let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in chunk {
        by_source
            .entry(p.source.as_str())
            .or_default()
            .push(p.source_id.as_str());
    }
    let mut ids = HashMap::with_capacity(chunk.len());
    for (source, source_ids) in by_source {
        let mut qb =
            crate::sql::Builder::new(backend, "SELECT id, source_id FROM prompts WHERE source = ");
        qb.push_bind(source).push(" AND source_id IN (");
        let mut sep = qb.separated(", ");
        for sid in &source_ids {
            sep.push_bind(*sid);
        }
        sep.push_unseparated(")");
        let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        let found: HashMap<String, i64> = rows.into_iter().map(|(id, s)| (s, id)).collect();
        for sid in source_ids {
            ids.insert((source.to_owned(), sid.to_owned()), found[sid]);
        }
    }
    Ok(ids)
}
