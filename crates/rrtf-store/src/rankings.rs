//! Scores and rankings, keyed by the ranker configuration's hash: ranking again with a new
//! configuration adds rows under the new hash and keeps the old ones.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::Any;

use crate::{
    InsertReport, ModelRole, Outcome, PromptKind, PromptRanking, RankerRef, Result, ScoredResponse,
    Store, StoreError,
};

const CHUNK: usize = 500;

/// A kept prompt with its ranked responses, as read back for export and training.
#[derive(Clone, Debug, PartialEq)]
pub struct RankedGroup {
    pub prompt_id: i64,
    pub round: i64,
    pub source: String,
    pub source_id: String,
    /// The root of the prompt's evolution lineage (its seed, reached by following `parent_id`
    /// to the top), as that prompt's content hash: a prompt and all its evolutions share it,
    /// and so do seeds with the same text from different sources.
    pub lineage: String,
    pub kind: PromptKind,
    pub language: String,
    pub prompt: String,
    pub responses: Vec<RankedResponse>,
}

/// A ranked response: the ranker's [`ScoredResponse`] with the response it scored.
#[derive(Clone, Debug, PartialEq)]
pub struct RankedResponse {
    /// Id, score, tier, outcome, test counts and score components.
    pub scored: ScoredResponse,
    pub model: String,
    pub role: ModelRole,
    pub temperature: Option<f64>,
    pub sample_index: i64,
    pub raw_text: String,
    pub code: Option<String>,
    pub finish_reason: Option<String>,
}

/// A kept prompt's columns, as `ranked_groups_page` reads them (the lineage root's hash last).
#[derive(sqlx::FromRow)]
struct PromptRow {
    id: i64,
    round: i64,
    source: String,
    source_id: String,
    kind: PromptKind,
    language: String,
    text: String,
    root: Option<String>,
}

/// One ranked response, as `ranked_groups_page` reads them.
#[derive(sqlx::FromRow)]
struct ResponseRow {
    prompt_id: i64,
    response_id: i64,
    model_id: i64,
    temperature: Option<f64>,
    sample_index: i64,
    raw_text: String,
    code: Option<String>,
    finish_reason: Option<String>,
    score: f64,
    /// NULL in rankings saved before tiers existed.
    tier: Option<i64>,
    outcome: Outcome,
    tests_passed: i64,
    tests_total: i64,
    components_json: String,
}

/// Parse a stored closed-vocabulary value; a value outside it is a corrupt database.
/// Delete every ranking (under any ranker) of prompt `prompt_id`, which an elimination of it or
/// of one of its responses made stale: rankings are derived data, and a stale one would still
/// reach training, exports and reviews. `rrtf rank` ranks the prompt again if it is still kept.
pub(crate) async fn drop_rankings_of(
    tx: &mut sqlx::Transaction<'static, Any>,
    prompt_id: i64,
) -> Result<()> {
    // By ranker: the tables' keys start with it (a handful of rankers, any number of rows).
    for sql in [
        "DELETE FROM scores WHERE ranker_id IN (SELECT id FROM rankers) AND prompt_id = $1",
        "DELETE FROM ranked_prompts WHERE ranker_id IN (SELECT id FROM rankers) AND prompt_id = $1",
    ] {
        sqlx::query(sql).bind(prompt_id).execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) fn parse<T: std::str::FromStr>(column: &'static str, value: String) -> Result<T> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt { column, value })
}

impl Store {
    /// Register a ranker configuration (idempotent) and mark it as the latest; its id.
    async fn ranker_id(
        tx: &mut sqlx::Transaction<'static, Any>,
        ranker: &RankerRef,
    ) -> Result<i64> {
        sqlx::query(
            "INSERT INTO rankers (hash, config_json) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&ranker.hash)
        .bind(&ranker.config_json)
        .execute(&mut **tx)
        .await?;
        let id = sqlx::query_scalar(
            "UPDATE rankers SET last_used = (SELECT coalesce(max(last_used), 0) + 1 FROM rankers) \
             WHERE hash = $1 RETURNING id",
        )
        .bind(&ranker.hash)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Store rankings under `ranker` in one transaction. A prompt already ranked under this
    /// ranker is replaced (reported as existing); rankings under other rankers are kept.
    pub async fn save_rankings(
        &self,
        ranker: &RankerRef,
        rankings: &[PromptRanking],
        run_id: Option<i64>,
    ) -> Result<InsertReport> {
        let mut tx = self.pool.begin().await?;
        let ranker_id = Self::ranker_id(&mut tx, ranker).await?;
        let mut report = InsertReport::default();
        for chunk in rankings.chunks(CHUNK) {
            // Rankings are derived data: re-ranking a prompt under the same ranker replaces it
            // (its responses or executions may have changed); other rankers are untouched.
            for table in ["scores", "ranked_prompts"] {
                let mut qb = crate::sql::Builder::new(
                    self.backend(),
                    format!("DELETE FROM {table} WHERE ranker_id = "),
                );
                qb.push_bind(ranker_id).push(" AND prompt_id IN (");
                let mut sep = qb.separated(", ");
                for r in chunk {
                    sep.push_bind(r.prompt_id);
                }
                sep.push_unseparated(")");
                let replaced = qb.build().execute(&mut *tx).await?.rows_affected();
                if table == "ranked_prompts" {
                    report.add(chunk.len() as u64 - replaced, chunk.len() as u64);
                }
            }
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "INSERT INTO ranked_prompts (ranker_id, prompt_id, status, drop_reason, run_id) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(ranker_id)
                    .push_bind(r.prompt_id)
                    .push_bind(if r.drop_reason.is_some() {
                        "dropped"
                    } else {
                        "kept"
                    })
                    .push_bind(r.drop_reason.as_deref())
                    .push_bind(run_id);
            });
            qb.build().execute(&mut *tx).await?;
            let rows: Vec<(i64, usize, &ScoredResponse)> = chunk
                .iter()
                .flat_map(|r| {
                    r.ranked
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (r.prompt_id, i, s))
                })
                .collect();
            for rchunk in rows.chunks(CHUNK) {
                let mut qb = crate::sql::Builder::new(
                    self.backend(),
                    "INSERT INTO scores (ranker_id, prompt_id, position, response_id, score, \
                     tier, outcome, tests_passed, tests_total, components_json) ",
                );
                qb.push_values(rchunk, |mut b, (prompt_id, pos, s)| {
                    b.push_bind(ranker_id)
                        .push_bind(*prompt_id)
                        .push_bind(*pos as i64)
                        .push_bind(s.response_id)
                        .push_bind(s.score)
                        .push_bind(s.tier)
                        .push_bind(s.outcome.as_str())
                        .push_bind(s.tests_passed)
                        .push_bind(s.tests_total)
                        .push_bind(s.components.to_string());
                });
                qb.build().execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// The hash of the ranker that saved rankings most recently, if any.
    pub async fn latest_ranker(&self) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT hash FROM rankers WHERE last_used > 0 ORDER BY last_used DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// `hash` (or a unique prefix) if given and known, else the latest ranker.
    pub async fn resolve_ranker(&self, hash: Option<&str>) -> Result<RankerRef> {
        let hash = match hash {
            Some(h) => h.to_owned(),
            None => self.latest_ranker().await?.ok_or(StoreError::NoRankings)?,
        };
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT hash, config_json FROM rankers WHERE substr(hash, 1, length($1)) = $1 \
             ORDER BY hash = $1 DESC LIMIT 2",
        )
        .bind(&hash)
        .fetch_all(&self.pool)
        .await?;
        // An exact match sorts first; a prefix must be unique.
        let (hash, config_json) = match rows.as_slice() {
            [only] => only.clone(),
            [first, _] if first.0 == hash => first.clone(),
            _ => return Err(StoreError::UnknownRanker(hash)),
        };
        Ok(RankerRef { hash, config_json })
    }

    /// Kept prompts ranked under `ranker_hash`, each with its responses best first.
    pub async fn ranked_groups(&self, ranker_hash: &str) -> Result<Vec<RankedGroup>> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = self.ranked_groups_page(ranker_hash, after, 10_000).await?;
            match page.last() {
                Some(g) => after = g.prompt_id,
                None => return Ok(all),
            }
            all.extend(page);
        }
    }

    /// At most `limit` kept prompts with ids above `after_prompt_id`, in id order (pages for
    /// streaming a large export).
    ///
    /// Two flat reads, merged here: the page's prompts, then every score row in the page's
    /// prompt-id range in (prompt, position) order, which the `scores` primary key serves
    /// without sorting. Reals are read as SQLite stores them (8-byte doubles), so they read
    /// back exactly.
    pub async fn ranked_groups_page(
        &self,
        ranker_hash: &str,
        after_prompt_id: i64,
        limit: i64,
    ) -> Result<Vec<RankedGroup>> {
        // One read transaction: the page's prompts and scores come from one snapshot.
        let mut conn = self.pool.begin().await?;
        let Some(ranker_id): Option<i64> =
            sqlx::query_scalar("SELECT id FROM rankers WHERE hash = $1")
                .bind(ranker_hash)
                .fetch_optional(&mut *conn)
                .await?
        else {
            return Ok(Vec::new());
        };
        let models: HashMap<i64, (String, ModelRole)> =
            sqlx::query_as::<_, (i64, String, String)>("SELECT id, name, role FROM models")
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|(id, name, role)| Ok((id, (name, parse("models.role", role)?))))
                .collect::<Result<_>>()?;
        let mut groups = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(1 << 16));
        {
            // The lineage root: climb `parent_id` from the page's prompts (evolution depth is
            // small; the depth cap only guards against a corrupt cycle).
            let mut rows = sqlx::query_as::<_, PromptRow>(
                "WITH RECURSIVE \
                   page(id) AS (SELECT prompt_id FROM ranked_prompts \
                     WHERE ranker_id = $1 AND prompt_id > $2 AND status = 'kept' \
                     ORDER BY prompt_id LIMIT $3), \
                   climb(start, id, parent, depth) AS ( \
                     SELECT p.id, p.id, p.parent_id, 0 FROM page JOIN prompts p ON p.id = page.id \
                     UNION ALL \
                     SELECT c.start, q.id, q.parent_id, c.depth + 1 \
                     FROM climb c JOIN prompts q ON q.id = c.parent WHERE c.depth < 10000), \
                   roots(start, hash) AS ( \
                     SELECT c.start, q.content_hash FROM climb c JOIN prompts q ON q.id = c.id \
                     WHERE c.parent IS NULL) \
                 SELECT p.id, p.round, p.source, p.source_id, p.kind, p.language, p.text, \
                        roots.hash AS root \
                 FROM page JOIN prompts p ON p.id = page.id \
                 LEFT JOIN roots ON roots.start = p.id \
                 ORDER BY p.id",
            )
            .bind(ranker_id)
            .bind(after_prompt_id)
            .bind(limit)
            .fetch(&mut *conn);
            while let Some(p) = rows
                .try_next()
                .await
                .map_err(StoreError::reading("prompts"))?
            {
                groups.push(RankedGroup {
                    prompt_id: p.id,
                    round: p.round,
                    source: p.source,
                    source_id: p.source_id,
                    lineage: p.root.unwrap_or_else(|| crate::content_hash(&p.text)),
                    kind: p.kind,
                    language: p.language,
                    prompt: p.text,
                    responses: Vec::new(),
                });
            }
        }
        let Some(last) = groups.last().map(|g| g.prompt_id) else {
            return Ok(groups);
        };
        // Dropped prompts in the range have scores too: they match no group and are skipped.
        let mut rows = sqlx::query_as::<_, ResponseRow>(
            "SELECT s.prompt_id, r.id AS response_id, r.model_id, r.temperature, r.sample_index, r.raw_text, \
               r.code, r.finish_reason, s.score, s.tier, s.outcome, s.tests_passed, \
               s.tests_total, s.components_json \
             FROM scores s JOIN responses r ON r.id = s.response_id \
             WHERE s.ranker_id = $1 AND s.prompt_id > $2 AND s.prompt_id <= $3 \
             ORDER BY s.prompt_id, s.position",
        )
        .bind(ranker_id)
        .bind(after_prompt_id)
        .bind(last)
        .fetch(&mut *conn);
        let mut g = 0;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(StoreError::reading("scores"))?
        {
            while g < groups.len() && groups[g].prompt_id < row.prompt_id {
                g += 1;
            }
            let Some(group) = groups.get_mut(g).filter(|gr| gr.prompt_id == row.prompt_id) else {
                continue;
            };
            let (model, role) = models
                .get(&row.model_id)
                .ok_or_else(|| StoreError::Corrupt {
                    column: "responses.model_id",
                    value: row.model_id.to_string(),
                })?;
            let components =
                serde_json::from_str(&row.components_json).map_err(|e| StoreError::Corrupt {
                    column: "scores.components_json",
                    value: format!("{e}: {}", row.components_json),
                })?;
            group.responses.push(RankedResponse {
                scored: ScoredResponse {
                    response_id: row.response_id,
                    score: row.score,
                    tier: row.tier.unwrap_or(-1),
                    outcome: row.outcome,
                    tests_passed: row.tests_passed,
                    tests_total: row.tests_total,
                    components,
                },
                model: model.clone(),
                role: *role,
                temperature: row.temperature,
                sample_index: row.sample_index,
                raw_text: row.raw_text,
                code: row.code,
                finish_reason: row.finish_reason,
            });
        }
        drop(rows);
        conn.commit().await?;
        for g in &mut groups {
            tiers_from_scores(&mut g.responses);
        }
        Ok(groups)
    }
}

/// Rankings saved before tiers existed (NULL, read as -1) take them from distinct scores in
/// ranked order, which was their pair rule.
fn tiers_from_scores(responses: &mut [RankedResponse]) {
    if responses.iter().all(|r| r.scored.tier >= 0) {
        return;
    }
    let mut tier = 0;
    for i in 0..responses.len() {
        if i > 0 && responses[i].scored.score != responses[i - 1].scored.score {
            tier += 1;
        }
        responses[i].scored.tier = tier;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::content_hash;

    /// Run `sql` on the store's pool (test fixtures).
    pub(crate) async fn exec(store: &Store, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&store.pool)
            .await
            .unwrap();
    }

    fn scored(response_id: i64, score: f64, tier: i64) -> ScoredResponse {
        ScoredResponse {
            response_id,
            score,
            tier,
            outcome: Outcome::Pass,
            tests_passed: 1,
            tests_total: 1,
            components: serde_json::json!({ "outcome": score }),
        }
    }

    /// A seed (1), its child (2) and grandchild (3), a second seed with the first one's text
    /// from another source (4), and an unrelated seed (5); two responses per prompt.
    async fn lineage_fixture() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("l.db")).await.unwrap();
        exec(
            &store,
            "INSERT INTO models (name, role) VALUES ('t', 'teacher'), ('s', 'student')",
        )
        .await;
        for (id, source, text, parent) in [
            (1, "seed", "Add two numbers.", "NULL"),
            (2, "evol-r1", "Add two numbers without +.", "1"),
            (3, "evol-r2", "Add two numbers without + or -.", "2"),
            (4, "other", "Add  two numbers.", "NULL"),
            (5, "seed", "Reverse a list.", "NULL"),
        ] {
            exec(
                &store,
                &format!(
                    "INSERT INTO prompts (id, source, source_id, kind, text, content_hash, \
                     parent_id) VALUES ({id}, '{source}', '{id}', 'instruction', '{text}', \
                     '{}', {parent})",
                    content_hash(text)
                ),
            )
            .await;
            for (model, k) in [(1, 0), (2, 1)] {
                exec(
                    &store,
                    &format!(
                        "INSERT INTO responses (id, prompt_id, model_id, raw_text, request_hash) \
                         VALUES ({}, {id}, {model}, 'r', 'h{id}-{model}')",
                        2 * id - 1 + k
                    ),
                )
                .await;
            }
        }
        (dir, store)
    }

    #[tokio::test]
    async fn groups_carry_their_lineage_root_and_tiers() {
        let (_dir, store) = lineage_fixture().await;
        let ranker = RankerRef {
            hash: "r".into(),
            config_json: "{}".into(),
        };
        let rankings: Vec<PromptRanking> = (1..=5)
            .map(|id| PromptRanking {
                prompt_id: id,
                drop_reason: None,
                // Prompt 5's two responses tie: one tier for both.
                ranked: vec![
                    scored(2 * id - 1, 1.1, 0),
                    scored(2 * id, 1.0, i64::from(id != 5)),
                ],
            })
            .collect();
        store.save_rankings(&ranker, &rankings, None).await.unwrap();
        // Pages of two: the climb works across pages.
        let mut groups = Vec::new();
        let mut after = 0;
        loop {
            let page = store.ranked_groups_page("r", after, 2).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.prompt_id;
            groups.extend(page);
        }
        let lineages: Vec<&str> = groups.iter().map(|g| g.lineage.as_str()).collect();
        let seed = content_hash("Add two numbers.");
        assert_eq!(
            lineages,
            [
                seed.as_str(),
                seed.as_str(),
                seed.as_str(),
                seed.as_str(),
                content_hash("Reverse a list.").as_str()
            ]
        );
        let tiers: Vec<Vec<i64>> = groups
            .iter()
            .map(|g| g.responses.iter().map(|r| r.scored.tier).collect())
            .collect();
        assert_eq!(tiers, [[0, 1], [0, 1], [0, 1], [0, 1], [0, 0]]);
    }

    #[tokio::test]
    async fn rankings_saved_without_tiers_take_them_from_scores() {
        let (_dir, store) = lineage_fixture().await;
        let ranker = RankerRef {
            hash: "old".into(),
            config_json: "{}".into(),
        };
        let ranking = PromptRanking {
            prompt_id: 5,
            drop_reason: None,
            ranked: vec![scored(9, 1.0, 0), scored(10, 1.0, 0)],
        };
        store
            .save_rankings(&ranker, &[ranking], None)
            .await
            .unwrap();
        exec(&store, "UPDATE scores SET tier = NULL").await;
        exec(
            &store,
            "UPDATE scores SET score = 0.5 WHERE response_id = 10",
        )
        .await;
        let groups = store.ranked_groups("old").await.unwrap();
        let tiers: Vec<i64> = groups[0].responses.iter().map(|r| r.scored.tier).collect();
        assert_eq!(tiers, [0, 1]);
        let st = store.status().await.unwrap();
        assert_eq!(
            st.pairs, 1,
            "status counts pairs by score where tiers are missing"
        );
    }
}
