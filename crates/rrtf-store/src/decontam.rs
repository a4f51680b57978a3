//! Decontamination's reads and writes: the texts to screen (kept prompts with their reference
//! and tests; kept responses), what was found (the `contamination` log, with the prompt or
//! response eliminated in the same transaction), and the registry of benchmark files.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::{Result, Store};

/// A kept prompt and every text of it that could leak a benchmark problem.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenPrompt {
    pub id: i64,
    pub source: String,
    pub source_id: String,
    pub text: String,
    pub reference: Option<String>,
    /// (test id, code, reference solution) of each test that is not invalid.
    pub tests: Vec<(i64, String, Option<String>)>,
}

/// A kept response (of a kept prompt).
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenResponse {
    pub id: i64,
    pub prompt_id: i64,
    pub raw_text: String,
}

/// Whether a finding eliminated its item or only marked it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContaminationAction {
    Eliminated,
    Marked,
}

impl ContaminationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ContaminationAction::Eliminated => "eliminated",
            ContaminationAction::Marked => "marked",
        }
    }
}

/// A finding: `item` is `prompt` or `response`; `field` says which text leaked (`text`,
/// `reference`, `test 12`, `test 12 reference`, `response`, `file`); `method` is `ngram`,
/// `minhash`, `solution` or `benchmark_file`; `detail` the overlap (`"shared words"`,
/// `Jaccard 0.81`).
#[derive(Clone, Debug, PartialEq)]
pub struct Contamination {
    pub item: &'static str,
    pub item_id: i64,
    pub prompt_id: i64,
    pub action: ContaminationAction,
    pub field: String,
    pub benchmark: String,
    pub method: &'static str,
    pub detail: String,
}

impl Contamination {
    /// The reason stored on an eliminated prompt or response.
    pub fn reason(&self) -> String {
        format!(
            "contaminated: {} ({}, {}): {}",
            self.benchmark, self.method, self.field, self.detail
        )
    }
}

/// Findings per (item, action, method, benchmark file), for `rrtf status` and the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContaminationLine {
    pub item: String,
    pub action: String,
    pub method: String,
    /// The benchmark file (the problem name up to its `:`).
    pub benchmark: String,
    pub count: i64,
}

/// One finding as stored, with the prompt's name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContaminationRow {
    pub item: String,
    pub item_id: i64,
    pub prompt: String,
    pub action: String,
    pub field: String,
    pub benchmark: String,
    pub method: String,
    pub detail: String,
    pub created_at: String,
}

impl Store {
    /// Every kept prompt with its reference and its tests that are not `invalid`, by id.
    pub async fn screen_prompts(&self) -> Result<Vec<ScreenPrompt>> {
        let rows: Vec<(i64, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, source, source_id, text, reference FROM prompts WHERE status = 'kept' \
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let tests: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT t.prompt_id, t.id, t.code, t.reference FROM tests t \
             JOIN prompts p ON p.id = t.prompt_id \
             WHERE p.status = 'kept' AND t.validation != 'invalid' ORDER BY t.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_prompt: BTreeMap<i64, Vec<(i64, String, Option<String>)>> = BTreeMap::new();
        for (prompt_id, id, code, reference) in tests {
            by_prompt
                .entry(prompt_id)
                .or_default()
                .push((id, code, reference));
        }
        Ok(rows
            .into_iter()
            .map(|(id, source, source_id, text, reference)| ScreenPrompt {
                tests: by_prompt.remove(&id).unwrap_or_default(),
                id,
                source,
                source_id,
                text,
                reference,
            })
            .collect())
    }

    /// Kept responses of kept prompts (of `round`, or all rounds), by id.
    pub async fn screen_responses(&self, round: Option<i64>) -> Result<Vec<ScreenResponse>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT r.id, r.prompt_id, r.raw_text FROM responses r \
             JOIN prompts p ON p.id = r.prompt_id \
             WHERE r.eliminated IS NULL AND p.status = 'kept' AND ($1 IS NULL OR r.round = $1) \
             ORDER BY r.id",
        )
        .bind(round)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, prompt_id, raw_text)| ScreenResponse {
                id,
                prompt_id,
                raw_text,
            })
            .collect())
    }

    /// Store findings in one transaction: each eliminated prompt gets `status = 'eliminated'`
    /// and the reason, each eliminated response its `eliminated` reason (items already
    /// eliminated keep their first reason), and each finding a `contamination` row (once per
    /// item and action). Returns how many rows were new.
    pub async fn record_contamination(
        &self,
        run_id: Option<i64>,
        findings: &[Contamination],
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let n = record(&mut tx, run_id, findings).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Register benchmark files decontamination ran against: (absolute path, SHA-256 of the
    /// file, problems). A path seen before gets its hash, count and last use updated.
    pub async fn register_benchmarks(&self, files: &[(String, String, i64)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (path, sha, problems) in files {
            sqlx::query(
                "INSERT INTO benchmarks (path, sha256, problems) VALUES ($1, $2, $3) \
                 ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, \
                 problems = excluded.problems, \
                 last_used = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            )
            .bind(path)
            .bind(sha)
            .bind(problems)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The registered benchmark files: (path, SHA-256), oldest first.
    pub async fn registered_benchmarks(&self) -> Result<Vec<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT path, sha256 FROM benchmarks ORDER BY first_used, path")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Findings counted per item, action, method and benchmark file.
    pub async fn contamination_lines(&self) -> Result<Vec<ContaminationLine>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT item, action, method, \
                    CASE WHEN instr(benchmark, ':') > 0 \
                         THEN substr(benchmark, 1, instr(benchmark, ':') - 1) \
                         ELSE benchmark END AS file, count(*) \
             FROM contamination GROUP BY item, action, method, file \
             ORDER BY item, action, method, file",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(item, action, method, benchmark, count)| ContaminationLine {
                    item,
                    action,
                    method,
                    benchmark,
                    count,
                },
            )
            .collect())
    }

    /// The latest findings, newest first, at most `limit`.
    pub async fn contamination_rows(&self, limit: i64) -> Result<Vec<ContaminationRow>> {
        type Row = (
            String,
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT c.item, c.item_id, p.source || ':' || p.source_id, c.action, c.field, \
                    c.benchmark, c.method, c.detail, c.created_at \
             FROM contamination c JOIN prompts p ON p.id = c.prompt_id \
             ORDER BY c.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ContaminationRow {
                item: r.0,
                item_id: r.1,
                prompt: r.2,
                action: r.3,
                field: r.4,
                benchmark: r.5,
                method: r.6,
                detail: r.7,
                created_at: r.8,
            })
            .collect())
    }
}

/// [`Store::record_contamination`] inside a caller's transaction (the sampler stores an
/// answer and its elimination together).
pub(crate) async fn record(
    tx: &mut Transaction<'static, Any>,
    run_id: Option<i64>,
    findings: &[Contamination],
) -> Result<u64> {
    let mut new = 0;
    for f in findings {
        if f.action == ContaminationAction::Eliminated {
            let sql = match f.item {
                "prompt" => {
                    "UPDATE prompts SET status = 'eliminated', status_reason = $1 \
                     WHERE id = $2 AND status = 'kept'"
                }
                _ => "UPDATE responses SET eliminated = $1 WHERE id = $2 AND eliminated IS NULL",
            };
            sqlx::query(sql)
                .bind(crate::sql::storable(&f.reason()).into_owned())
                .bind(f.item_id)
                .execute(&mut **tx)
                .await?;
            // The prompt's rankings held it (or the response) and would still reach training.
            crate::rankings::drop_rankings_of(tx, f.prompt_id).await?;
        }
        new += sqlx::query(
            "INSERT INTO contamination (item, item_id, prompt_id, action, field, benchmark, \
             method, detail, run_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (item, item_id, action) DO NOTHING",
        )
        .bind(f.item)
        .bind(f.item_id)
        .bind(f.prompt_id)
        .bind(f.action.as_str())
        .bind(&f.field)
        .bind(&f.benchmark)
        .bind(f.method)
        .bind(crate::sql::storable(&f.detail).into_owned())
        .bind(run_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(new)
}
