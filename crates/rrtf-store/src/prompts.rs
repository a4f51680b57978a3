//! Prompts and their tests: batched, idempotent inserts in one transaction.

use std::collections::{BTreeSet, HashMap};

use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::hash::content_hash;
use crate::{InsertReport, NewPrompt, Result, Store};

/// Rows per multi-row INSERT: 500 x 11 bound values stays far below SQLite's 32,766 limit.
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
            let mut qb =
                QueryBuilder::<Sqlite>::new("SELECT id, text, language FROM prompts WHERE id IN (");
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
    pub async fn prompt_writer(&self) -> Result<PromptWriter> {
        Ok(PromptWriter {
            tx: self.pool.begin().await?,
            report: PromptInsertReport::default(),
            rounds: BTreeSet::new(),
        })
    }
}

/// See [`Store::prompt_writer`].
pub struct PromptWriter {
    tx: Transaction<'static, Sqlite>,
    report: PromptInsertReport,
    rounds: BTreeSet<i64>,
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
        ensure_rounds(&mut self.tx, new_rounds.iter().copied()).await?;
        self.rounds.extend(new_rounds);
        for chunk in rows.chunks(CHUNK) {
            self.write_chunk(chunk).await?;
        }
        Ok(())
    }

    /// Commit the transaction; what was inserted and what already existed.
    pub async fn commit(self) -> Result<PromptInsertReport> {
        self.tx.commit().await?;
        Ok(self.report)
    }

    async fn write_chunk(&mut self, chunk: &[(&NewPrompt, Option<&str>)]) -> Result<()> {
        let tx = &mut self.tx;
        let report = &mut self.report;
        let mut qb = QueryBuilder::<Sqlite>::new(
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
        qb.push(" ON CONFLICT (source, source_id) DO NOTHING");
        let done = qb.build().execute(&mut **tx).await?;
        let (inserted, last_id) = (done.rows_affected(), done.last_insert_rowid());
        report.prompts.add(inserted, chunk.len() as u64);

        if chunk.iter().any(|(p, _)| !p.tests.is_empty()) {
            let prompts: Vec<&NewPrompt> = chunk.iter().map(|(p, _)| *p).collect();
            let ids = if inserted == chunk.len() as u64 && sequential_ids(tx, last_id).await? {
                // Every row was new and took the next rowid, in VALUES order.
                let first = last_id - inserted as i64 + 1;
                PromptIds::Range(first)
            } else {
                PromptIds::Map(prompt_ids(tx, &prompts).await?)
            };
            let tests: Vec<_> = prompts
                .iter()
                .enumerate()
                .flat_map(|(i, p)| {
                    let id = ids.get(i, p);
                    p.tests.iter().map(move |t| (id, t))
                })
                .collect();
            for tchunk in tests.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO tests (prompt_id, language, origin, code, entry_point, \
                     content_hash) ",
                );
                qb.push_values(tchunk, |mut b, (id, t)| {
                    b.push_bind(*id)
                        .push_bind(t.language.as_str())
                        .push_bind(t.origin.as_str())
                        .push_bind(t.code.as_str())
                        .push_bind(t.entry_point.as_deref())
                        .push_bind(crate::sha256_hex(&t.code));
                });
                qb.push(" ON CONFLICT (prompt_id, content_hash) DO NOTHING");
                let done = qb.build().execute(&mut **tx).await?.rows_affected();
                report.tests.add(done, tchunk.len() as u64);
            }
        }
        Ok(())
    }
}

/// Make sure every round referenced exists (rounds are created on first use).
pub(crate) async fn ensure_rounds(
    tx: &mut Transaction<'static, Sqlite>,
    rounds: impl Iterator<Item = i64>,
) -> Result<()> {
    for round in rounds.collect::<BTreeSet<_>>() {
        sqlx::query("INSERT INTO rounds (number) VALUES (?) ON CONFLICT DO NOTHING")
            .bind(round)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The ids of a chunk's prompts: consecutive from the first when the chunk's INSERT created
/// every row, else looked up.
enum PromptIds<'a> {
    Range(i64),
    Map(HashMap<(&'a str, &'a str), i64>),
}

impl PromptIds<'_> {
    /// The id of the chunk's `i`th prompt `p`.
    fn get(&self, i: usize, p: &NewPrompt) -> i64 {
        match self {
            PromptIds::Range(first) => first + i as i64,
            PromptIds::Map(ids) => ids[&(p.source.as_str(), p.source_id.as_str())],
        }
    }
}

/// Whether the INSERT that just created rows up to `last_id` gave them consecutive ids.
///
/// SQLite gives a row without an explicit id the largest id in the table plus one, unless the
/// largest is already `i64::MAX` (then it picks unused ids at random). A multi-row INSERT
/// creates its rows in VALUES order, inside this transaction, which holds the write lock. So
/// when `last_id` is the table's largest id (and not `i64::MAX`), the statement never fell back
/// to random ids, and its `n` new rows have ids `last_id - n + 1 ..= last_id` in VALUES order.
async fn sequential_ids(tx: &mut Transaction<'static, Sqlite>, last_id: i64) -> Result<bool> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM prompts")
        .fetch_one(&mut **tx)
        .await?;
    Ok(max == Some(last_id) && last_id < i64::MAX)
}

/// Ids of the chunk's prompts, keyed by `(source, source_id)`.
async fn prompt_ids<'a>(
    tx: &mut Transaction<'static, Sqlite>,
    chunk: &[&'a NewPrompt],
) -> Result<HashMap<(&'a str, &'a str), i64>> {
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
            QueryBuilder::<Sqlite>::new("SELECT id, source_id FROM prompts WHERE source = ");
        qb.push_bind(source).push(" AND source_id IN (");
        let mut sep = qb.separated(", ");
        for sid in &source_ids {
            sep.push_bind(*sid);
        }
        sep.push_unseparated(")");
        let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        let found: HashMap<String, i64> = rows.into_iter().map(|(id, s)| (s, id)).collect();
        for sid in source_ids {
            ids.insert((source, sid), found[sid]);
        }
    }
    Ok(ids)
}
