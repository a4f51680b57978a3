//! Read-only views for operators: per-prompt summaries, one prompt in full, per-model stats.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{ModelRole, Outcome, PromptKind, Result, Review, Store, StoreError, TestOrigin};

/// One ranked prompt in a list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptSummary {
    pub prompt_id: i64,
    pub round: i64,
    pub source: String,
    pub source_id: String,
    pub status: String,
    pub drop_reason: Option<String>,
    pub responses: i64,
    pub best: f64,
    pub worst: f64,
    /// outcome label -> responses with it
    pub outcomes: BTreeMap<String, i64>,
    pub teachers: Vec<String>,
    /// (teacher, outcome) of each teacher response: filters that combine on one response.
    #[serde(skip)]
    pub teacher_outcomes: std::collections::BTreeSet<(String, String)>,
    pub reviews: i64,
    pub flagged_tests: i64,
    /// An operator excluded the whole prompt (the latest prompt-level exclude/include review is
    /// an exclude): exports and training leave it out.
    pub excluded: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct PromptInfo {
    pub prompt_id: i64,
    pub round: i64,
    pub source: String,
    pub source_id: String,
    pub kind: PromptKind,
    pub language: String,
    pub text: String,
    pub entry_point: Option<String>,
    pub parent_id: Option<i64>,
    pub evolution_method: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct TestInfo {
    pub id: i64,
    pub origin: TestOrigin,
    pub validation: String,
    /// Why a test is invalid or flagged, or how a valid one's reference did.
    pub validation_detail: Option<String>,
    pub code: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ResponseInfo {
    pub response_id: i64,
    pub model: String,
    pub role: ModelRole,
    /// What served the model when it answered (`models.endpoint`): a URL, `replay:FILE`, or
    /// `local:DIR` (the checkpoint a round's student was sampled from).
    pub endpoint: Option<String>,
    pub temperature: Option<f64>,
    pub sample_index: i64,
    pub finish_reason: Option<String>,
    pub raw_text: String,
    pub code: Option<String>,
    /// Position under the ranker (0 = best); None when not ranked.
    pub position: Option<i64>,
    pub score: Option<f64>,
    pub outcome: Option<Outcome>,
    pub tests_passed: Option<i64>,
    pub tests_total: Option<i64>,
    pub components_json: Option<String>,
    pub first_failure: Option<String>,
}

/// A prompt with its tests, responses (ranked order first) and reviews.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptDetail {
    pub prompt: PromptInfo,
    pub tests: Vec<TestInfo>,
    pub ranker: Option<String>,
    pub ranking_status: Option<String>,
    pub drop_reason: Option<String>,
    pub responses: Vec<ResponseInfo>,
    pub reviews: Vec<Review>,
}

/// Outcomes and scores of one model's ranked responses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelStats {
    pub model: String,
    pub role: ModelRole,
    pub responses: i64,
    pub pass_rate: f64,
    pub mean_score: f64,
    pub outcomes: BTreeMap<String, i64>,
}

#[derive(sqlx::FromRow)]
struct ModelStatsRow {
    model: String,
    role: ModelRole,
    responses: i64,
    /// The outcome labels, comma-separated.
    outcomes: Option<String>,
}

fn counts(list: Option<String>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for o in list
        .iter()
        .flat_map(|l| l.split(','))
        .filter(|o| !o.is_empty())
    {
        *out.entry(o.to_owned()).or_insert(0) += 1;
    }
    out
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    prompt_id: i64,
    round: i64,
    source: String,
    source_id: String,
    status: String,
    drop_reason: Option<String>,
    responses: i64,
    best: f64,
    worst: f64,
    /// The outcome labels, comma-separated.
    outcomes: Option<String>,
    /// `teacher \x1f outcome` per teacher response, `\x1e`-separated.
    teacher_outcomes: Option<String>,
    reviews: i64,
    flagged_tests: i64,
    /// 1 when the latest prompt-level exclude/include review is an exclude.
    excluded: i64,
}

impl Store {
    /// Every prompt ranked under `ranker_hash`, with its score range and outcome mix.
    pub async fn prompt_summaries(&self, ranker_hash: &str) -> Result<Vec<PromptSummary>> {
        let rows: Vec<SummaryRow> = sqlx::query_as(
            "SELECT rp.prompt_id, p.round, p.source, p.source_id, rp.status, rp.drop_reason, \
                    count(s.response_id) AS responses, coalesce(max(s.score), 0.0) AS best, \
                    coalesce(min(s.score), 0.0) AS worst, string_agg(s.outcome, ',') AS outcomes, \
                    string_agg(CASE WHEN m.role = 'teacher' \
                                    THEN m.name || '\x1f' || s.outcome END, '\x1e') \
                      AS teacher_outcomes, \
                    (SELECT count(*) FROM reviews v WHERE v.prompt_id = rp.prompt_id) AS reviews, \
                    (SELECT count(*) FROM tests t WHERE t.prompt_id = rp.prompt_id \
                                                    AND t.validation = 'flagged') \
                      AS flagged_tests, \
                    coalesce((SELECT CASE WHEN v.action = 'exclude' THEN 1 ELSE 0 END \
                              FROM reviews v \
                              WHERE v.prompt_id = rp.prompt_id AND v.response_id IS NULL \
                                AND v.action IN ('exclude', 'include') \
                              ORDER BY v.id DESC LIMIT 1), 0) AS excluded \
             FROM ranked_prompts rp \
             JOIN prompts p ON p.id = rp.prompt_id \
             LEFT JOIN scores s ON s.ranker_id = rp.ranker_id AND s.prompt_id = rp.prompt_id \
             LEFT JOIN responses r ON r.id = s.response_id \
             LEFT JOIN models m ON m.id = r.model_id \
             WHERE rp.ranker_id = (SELECT id FROM rankers WHERE hash = $1) \
             GROUP BY rp.ranker_id, rp.prompt_id, p.id ORDER BY rp.prompt_id",
        )
        .bind(ranker_hash)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let teacher_outcomes: std::collections::BTreeSet<(String, String)> = r
                    .teacher_outcomes
                    .iter()
                    .flat_map(|t| t.split('\x1e'))
                    .filter_map(|pair| pair.split_once('\x1f'))
                    .map(|(t, o)| (t.to_owned(), o.to_owned()))
                    .collect();
                let mut teachers: Vec<String> =
                    teacher_outcomes.iter().map(|(t, _)| t.clone()).collect();
                teachers.dedup();
                PromptSummary {
                    prompt_id: r.prompt_id,
                    round: r.round,
                    source: r.source,
                    source_id: r.source_id,
                    status: r.status,
                    drop_reason: r.drop_reason,
                    responses: r.responses,
                    best: r.best,
                    worst: r.worst,
                    outcomes: counts(r.outcomes),
                    teachers,
                    teacher_outcomes,
                    reviews: r.reviews,
                    flagged_tests: r.flagged_tests,
                    excluded: r.excluded != 0,
                }
            })
            .collect())
    }

    /// One prompt in full. `prompt` is an id, or a `source_id` (e.g. `HumanEval/0`) when unique.
    pub async fn prompt_detail(
        &self,
        prompt: &str,
        ranker_hash: Option<&str>,
    ) -> Result<PromptDetail> {
        let id = self.find_prompt(prompt).await?;
        let prompt: PromptInfo = sqlx::query_as(
            "SELECT id AS prompt_id, round, source, source_id, kind, language, text, entry_point, \
                    parent_id, evolution_method, status, status_reason FROM prompts WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::reading("prompts"))?;
        let tests = sqlx::query_as(
            "SELECT id, origin, validation, validation_detail, code FROM tests WHERE prompt_id = $1 \
             ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::reading("tests"))?;
        let ranker_id: Option<i64> = match ranker_hash {
            Some(h) => {
                sqlx::query_scalar("SELECT id FROM rankers WHERE hash = $1")
                    .bind(h)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => None,
        };
        let status: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, drop_reason FROM ranked_prompts WHERE ranker_id = $1 AND prompt_id = $2",
        )
        .bind(ranker_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let responses = sqlx::query_as(
            "SELECT r.id AS response_id, m.name AS model, m.role, m.endpoint, r.temperature, \
                    r.sample_index, \
                    r.finish_reason, r.raw_text, r.code, s.position, s.score, s.outcome, \
                    s.tests_passed, s.tests_total, s.components_json, \
                    (SELECT e.first_failure FROM executions e WHERE e.response_id = r.id \
                       AND e.outcome != 'pass' ORDER BY e.test_id LIMIT 1) AS first_failure \
             FROM responses r JOIN models m ON m.id = r.model_id \
             LEFT JOIN scores s ON s.response_id = r.id AND s.ranker_id = $1 \
             WHERE r.prompt_id = $2 \
             ORDER BY s.position IS NULL, s.position, r.id",
        )
        .bind(ranker_id)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::reading("responses, models and scores"))?;
        let reviews = self
            .reviews()
            .await?
            .into_iter()
            .filter(|r| r.prompt_id == id)
            .collect();
        Ok(PromptDetail {
            prompt,
            tests,
            ranker: ranker_id.and(ranker_hash.map(str::to_owned)),
            ranking_status: status.as_ref().map(|s| s.0.clone()),
            drop_reason: status.and_then(|s| s.1),
            responses,
            reviews,
        })
    }

    /// Ids of the prompts whose text or source id, or one of whose responses' text, contains
    /// `needle` (ASCII case-insensitive), in id order.
    pub async fn search_prompts(&self, needle: &str) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM prompts \
             WHERE instr(lower(text), lower($1)) > 0 OR instr(lower(source_id), lower($1)) > 0 \
                OR id IN (SELECT prompt_id FROM responses \
                          WHERE instr(lower(raw_text), lower($1)) > 0) \
             ORDER BY id",
        )
        .bind(needle)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A prompt's id from an id or a unique `source_id`.
    pub async fn find_prompt(&self, prompt: &str) -> Result<i64> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM prompts WHERE CAST(id AS TEXT) = $1 OR source_id = $1 \
             ORDER BY CAST(id AS TEXT) = $1 DESC LIMIT 3",
        )
        .bind(prompt)
        .fetch_all(&self.pool)
        .await?;
        match ids.as_slice() {
            [] => Err(StoreError::UnknownPrompt(prompt.to_owned())),
            [one] => Ok(*one),
            // An exact id match sorts first and wins over source ids that look like it.
            [first, ..] if first.to_string() == prompt => Ok(*first),
            _ => Err(StoreError::AmbiguousPrompt(prompt.to_owned())),
        }
    }

    /// Per-model outcome counts and scores under `ranker_hash`.
    pub async fn model_stats(&self, ranker_hash: &str) -> Result<Vec<ModelStats>> {
        let rows: Vec<ModelStatsRow> = sqlx::query_as(
            "SELECT m.name AS model, m.role, count(*) AS responses, \
                    string_agg(s.outcome, ',') AS outcomes \
             FROM scores s JOIN responses r ON r.id = s.response_id \
             JOIN models m ON m.id = r.model_id \
             WHERE s.ranker_id = (SELECT id FROM rankers WHERE hash = $1) \
             GROUP BY m.id ORDER BY m.role DESC, m.name",
        )
        .bind(ranker_hash)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::reading("models"))?;
        // Means summed here, in response order: SQL's `avg` adds in whatever order its plan
        // reads the rows, and SQLite and PostgreSQL gave means differing in their last bits.
        let scores: Vec<(String, f64)> = sqlx::query_as(
            "SELECT m.name, s.score FROM scores s JOIN responses r ON r.id = s.response_id \
             JOIN models m ON m.id = r.model_id \
             WHERE s.ranker_id = (SELECT id FROM rankers WHERE hash = $1) \
             ORDER BY s.response_id",
        )
        .bind(ranker_hash)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::reading("scores"))?;
        let mut sums: BTreeMap<String, (f64, i64)> = BTreeMap::new();
        for (model, score) in scores {
            let e = sums.entry(model).or_insert((0.0, 0));
            e.0 += score;
            e.1 += 1;
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let (sum, n) = sums.get(&r.model).copied().unwrap_or((0.0, 0));
                let outcomes = counts(r.outcomes);
                let pass = outcomes.get(Outcome::Pass.as_str()).copied().unwrap_or(0);
                ModelStats {
                    model: r.model,
                    role: r.role,
                    responses: r.responses,
                    pass_rate: pass as f64 / r.responses.max(1) as f64,
                    mean_score: sum / n.max(1) as f64,
                    outcomes,
                }
            })
            .collect())
    }

    /// Every score under `ranker_hash` (for distributions).
    pub async fn scores(&self, ranker_hash: &str) -> Result<Vec<f64>> {
        Ok(sqlx::query_scalar(
            "SELECT score FROM scores WHERE ranker_id = (SELECT id FROM rankers WHERE hash = $1)",
        )
        .bind(ranker_hash)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::rankings::tests::exec;
    use crate::{ModelRole, PromptKind, Store, StoreError, TestOrigin};

    /// A prompt with one imported test and one teacher response.
    async fn fixture() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("i.db")).await.unwrap();
        exec(
            &store,
            "INSERT INTO models (name, role) VALUES ('t', 'teacher')",
        )
        .await;
        exec(
            &store,
            "INSERT INTO prompts (source, source_id, kind, text, content_hash) \
             VALUES ('s', 'a/1', 'completion', 'def f():', 'h')",
        )
        .await;
        exec(
            &store,
            "INSERT INTO tests (prompt_id, language, origin, code, content_hash) \
             VALUES (1, 'python', 'imported', 'assert f()', 'th')",
        )
        .await;
        exec(
            &store,
            "INSERT INTO responses (prompt_id, model_id, sample_index, raw_text, request_hash) \
             VALUES (1, 1, 0, 'x', 'rh')",
        )
        .await;
        (dir, store)
    }

    #[tokio::test]
    async fn the_prompt_view_has_typed_vocabularies() {
        let (_dir, store) = fixture().await;
        let d = store.prompt_detail("a/1", None).await.unwrap();
        assert_eq!(d.prompt.kind, PromptKind::Completion);
        assert_eq!(d.tests[0].origin, TestOrigin::Imported);
        assert_eq!(d.responses[0].role, ModelRole::Teacher);
        assert_eq!(d.responses[0].outcome, None);
        // JSON keeps the stored labels.
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["prompt"]["kind"], "completion");
        assert_eq!(json["responses"][0]["role"], "teacher");
    }

    #[tokio::test]
    async fn a_stored_label_outside_the_vocabulary_is_an_error_naming_it_and_its_table() {
        let (_dir, store) = fixture().await;
        let mut conn = store.pool.acquire().await.unwrap();
        // Only a database written by something else holds one: the schema's CHECKs refuse it.
        sqlx::query("PRAGMA ignore_check_constraints = ON")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("UPDATE prompts SET kind = 'essay'")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        let err = store.prompt_detail("1", None).await.unwrap_err();
        assert!(matches!(err, StoreError::Unreadable { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("`essay`") && msg.contains("prompts") && msg.contains("kind"),
            "{msg}"
        );
    }
}
