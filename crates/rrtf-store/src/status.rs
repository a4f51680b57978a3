//! Counts per stage and round: where the project stands.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Result, Store};

/// Counts for one round. A prompt's responses, executions and rankings count in the prompt's
/// round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RoundStatus {
    pub round: i64,
    pub prompts: i64,
    pub prompts_eliminated: i64,
    pub tests: i64,
    pub responses: i64,
    pub executions: i64,
    pub ranked_prompts: i64,
    pub pairs: i64,
}

/// Counts for one language of one round (a prompt's tests, responses and executions count in
/// its language), and how its executions went: `pass_rate` is passed / executions (`None`
/// before any ran).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LanguageStatus {
    pub round: i64,
    pub language: String,
    pub prompts: i64,
    pub tests: i64,
    pub responses: i64,
    pub executions: i64,
    pub executions_passed: i64,
    pub pass_rate: Option<f64>,
    pub ranked_prompts: i64,
}

/// The latest run of one stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, sqlx::FromRow)]
pub struct StageStatus {
    pub stage: String,
    pub runs: i64,
    pub last_round: i64,
    pub last_status: String,
    pub last_started_at: String,
    pub last_finished_at: Option<String>,
    /// Who runs the latest run (`runs.owner`); not reported.
    #[serde(skip)]
    pub last_owner: Option<String>,
}

/// The whole project's counts. `ranked_prompts` and `pairs` are under the latest ranker;
/// `pairs` counts every (better, worse) response pair of a kept prompt in different preference
/// tiers (different scores for rankings without tiers), before reviews: what `rrtf export
/// --pairs all` writes for unreviewed prompts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Status {
    pub schema_version: i64,
    pub prompts: i64,
    pub prompts_eliminated: i64,
    pub tests: i64,
    pub models: i64,
    pub teachers: i64,
    pub students: i64,
    pub responses: i64,
    pub executions: i64,
    pub ranked_prompts: i64,
    pub dropped_prompts: i64,
    pub pairs: i64,
    pub reviews: i64,
    pub training_runs: i64,
    pub latest_ranker: Option<String>,
    pub rounds: Vec<RoundStatus>,
    /// Per round and language (kept prompts only): what a multilingual round did in each.
    pub languages: Vec<LanguageStatus>,
    /// Per stage (evolve, sample, exec, rank, train, ...): how many runs, and the latest.
    pub stages: Vec<StageStatus>,
    /// The request ledger per round, stage and teacher: requests, failures, tokens, cost.
    pub requests: Vec<crate::LedgerLine>,
    /// Decontamination's findings per item, action, method and benchmark file.
    pub contamination: Vec<crate::ContaminationLine>,
    /// The latest findings (at most 20), newest first, with their reasons.
    pub contaminated: Vec<crate::ContaminationRow>,
    /// `rrtf exec` workers holding live claims on pending executions (claims.rs), and the
    /// database's clock when this was read (their `expires_ms` are on it).
    pub workers: Vec<crate::WorkerLease>,
    /// `rrtf sample` processes holding live claims on requests to send (claims.rs).
    pub samplers: Vec<crate::WorkerLease>,
    pub clock_ms: i64,
}

/// Bind the ranker's hash to a count query that names it (`$1`); PostgreSQL refuses a bind
/// the statement has no placeholder for.
fn with_ranker<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    sql: &str,
    ranker: &str,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    if sql.contains("$1") {
        q.bind(ranker.to_owned())
    } else {
        q
    }
}

impl Store {
    /// The latest run per stage. A `running` run whose process ran on this machine and is gone
    /// (killed with SIGKILL, crashed: nothing recorded its end) is reported `killed`
    /// ([`crate::runs::owner_gone`]); the table keeps `running`.
    async fn stage_status(&self) -> Result<Vec<StageStatus>> {
        let mut stages: Vec<StageStatus> = sqlx::query_as(
            "SELECT r.stage, c.n AS runs, r.round AS last_round, r.status AS last_status, \
                    r.started_at AS last_started_at, r.finished_at AS last_finished_at, \
                    r.owner AS last_owner \
             FROM runs r \
             JOIN (SELECT stage, count(*) AS n, max(id) AS last FROM runs GROUP BY stage) c \
               ON c.last = r.id ORDER BY r.id",
        )
        .fetch_all(&self.pool)
        .await?;
        for s in &mut stages {
            if s.last_status == "running"
                && crate::runs::owner_gone(s.last_owner.as_deref()) == Some(true)
            {
                s.last_status = "killed".into();
            }
        }
        Ok(stages)
    }

    /// [`LanguageStatus`] rows, by round then language.
    async fn language_status(&self, ranker: &str) -> Result<Vec<LanguageStatus>> {
        let queries: [(&str, &str); 6] = [
            (
                "prompts",
                "SELECT round, language, count(*) FROM prompts WHERE status = 'kept' \
                 GROUP BY round, language",
            ),
            (
                "tests",
                "SELECT p.round, p.language, count(*) FROM tests t \
                 JOIN prompts p ON p.id = t.prompt_id WHERE p.status = 'kept' \
                 GROUP BY p.round, p.language",
            ),
            (
                "responses",
                "SELECT p.round, p.language, count(*) FROM responses r \
                 JOIN prompts p ON p.id = r.prompt_id WHERE p.status = 'kept' \
                 GROUP BY p.round, p.language",
            ),
            (
                "executions",
                "SELECT p.round, p.language, count(*) FROM executions e \
                 JOIN responses r ON r.id = e.response_id JOIN prompts p ON p.id = r.prompt_id \
                 WHERE p.status = 'kept' GROUP BY p.round, p.language",
            ),
            (
                "executions_passed",
                "SELECT p.round, p.language, count(*) FROM executions e \
                 JOIN responses r ON r.id = e.response_id JOIN prompts p ON p.id = r.prompt_id \
                 WHERE p.status = 'kept' AND e.outcome = 'pass' GROUP BY p.round, p.language",
            ),
            (
                "ranked_prompts",
                "SELECT p.round, p.language, count(*) FROM ranked_prompts rp \
                 JOIN prompts p ON p.id = rp.prompt_id \
                 WHERE rp.ranker_id = (SELECT id FROM rankers WHERE hash = $1) \
                 AND rp.status = 'kept' AND p.status = 'kept' GROUP BY p.round, p.language",
            ),
        ];
        let mut rows: BTreeMap<(i64, String), LanguageStatus> = BTreeMap::new();
        for (field, sql) in queries {
            let counts: Vec<(i64, String, i64)> = with_ranker(sqlx::query_as(sql), sql, ranker)
                .fetch_all(&self.pool)
                .await?;
            for (round, language, n) in counts {
                let r = rows
                    .entry((round, language.clone()))
                    .or_insert_with(|| LanguageStatus {
                        round,
                        language,
                        ..Default::default()
                    });
                match field {
                    "prompts" => r.prompts = n,
                    "tests" => r.tests = n,
                    "responses" => r.responses = n,
                    "executions" => r.executions = n,
                    "executions_passed" => r.executions_passed = n,
                    _ => r.ranked_prompts = n,
                }
            }
        }
        Ok(rows
            .into_values()
            .map(|mut r| {
                r.pass_rate =
                    (r.executions > 0).then(|| r.executions_passed as f64 / r.executions as f64);
                r
            })
            .collect())
    }

    pub async fn status(&self) -> Result<Status> {
        let latest_ranker = self.latest_ranker().await?;
        let ranker = latest_ranker.clone().unwrap_or_default();
        let mut rounds: BTreeMap<i64, RoundStatus> = BTreeMap::new();
        let per_round: [(&str, &str); 7] = [
            (
                "prompts",
                "SELECT round, count(*) FROM prompts WHERE status = 'kept' GROUP BY round",
            ),
            (
                "prompts_eliminated",
                "SELECT round, count(*) FROM prompts WHERE status = 'eliminated' GROUP BY round",
            ),
            (
                "tests",
                "SELECT p.round, count(*) FROM tests t JOIN prompts p ON p.id = t.prompt_id \
                 GROUP BY p.round",
            ),
            (
                "responses",
                "SELECT p.round, count(*) FROM responses r JOIN prompts p ON p.id = r.prompt_id \
                 GROUP BY p.round",
            ),
            (
                "executions",
                "SELECT p.round, count(*) FROM executions e \
                 JOIN responses r ON r.id = e.response_id JOIN prompts p ON p.id = r.prompt_id \
                 GROUP BY p.round",
            ),
            (
                "ranked_prompts",
                "SELECT p.round, count(*) FROM ranked_prompts rp JOIN prompts p ON p.id = rp.prompt_id \
                 WHERE rp.ranker_id = (SELECT id FROM rankers WHERE hash = $1) \
                 AND rp.status = 'kept' GROUP BY p.round",
            ),
            (
                "pairs",
                "SELECT p.round, count(*) FROM ranked_prompts rp \
                 JOIN prompts p ON p.id = rp.prompt_id \
                 JOIN scores a ON a.ranker_id = rp.ranker_id AND a.prompt_id = rp.prompt_id \
                 JOIN scores b ON b.ranker_id = rp.ranker_id AND b.prompt_id = rp.prompt_id \
                      AND b.position > a.position \
                 WHERE rp.ranker_id = (SELECT id FROM rankers WHERE hash = $1) \
                 AND rp.status = 'kept' AND coalesce(a.tier < b.tier, a.score > b.score) \
                 GROUP BY p.round",
            ),
        ];
        for (field, sql) in per_round {
            let rows: Vec<(i64, i64)> = with_ranker(sqlx::query_as(sql), sql, &ranker)
                .fetch_all(&self.pool)
                .await?;
            for (round, n) in rows {
                let r = rounds.entry(round).or_insert_with(|| RoundStatus {
                    round,
                    ..Default::default()
                });
                match field {
                    "prompts" => r.prompts = n,
                    "prompts_eliminated" => r.prompts_eliminated = n,
                    "tests" => r.tests = n,
                    "responses" => r.responses = n,
                    "executions" => r.executions = n,
                    "ranked_prompts" => r.ranked_prompts = n,
                    _ => r.pairs = n,
                }
            }
        }
        let count = |sql: &'static str| {
            let pool = self.pool.clone();
            let ranker = ranker.clone();
            async move {
                let q = sqlx::query_scalar::<_, i64>(sql);
                let q = if sql.contains("$1") {
                    q.bind(ranker)
                } else {
                    q
                };
                q.fetch_one(&pool).await
            }
        };
        let rounds: Vec<RoundStatus> = rounds.into_values().collect();
        let sum = |f: fn(&RoundStatus) -> i64| rounds.iter().map(f).sum::<i64>();
        Ok(Status {
            schema_version: self.schema_version().await?,
            prompts: sum(|r| r.prompts),
            prompts_eliminated: sum(|r| r.prompts_eliminated),
            tests: sum(|r| r.tests),
            models: count("SELECT count(*) FROM models").await?,
            teachers: count("SELECT count(*) FROM models WHERE role = 'teacher'").await?,
            students: count("SELECT count(*) FROM models WHERE role = 'student'").await?,
            responses: sum(|r| r.responses),
            executions: sum(|r| r.executions),
            ranked_prompts: sum(|r| r.ranked_prompts),
            dropped_prompts: count(
                "SELECT count(*) FROM ranked_prompts \
                 WHERE ranker_id = (SELECT id FROM rankers WHERE hash = $1) AND status = 'dropped'",
            )
            .await?,
            pairs: sum(|r| r.pairs),
            reviews: count("SELECT count(*) FROM reviews").await?,
            training_runs: count("SELECT count(*) FROM training_runs").await?,
            latest_ranker,
            rounds,
            languages: self.language_status(&ranker).await?,
            stages: self.stage_status().await?,
            requests: self.ledger_lines(None).await?,
            contamination: self.contamination_lines().await?,
            contaminated: self.contamination_rows(20).await?,
            workers: self.live_workers().await?,
            samplers: self.live_samplers().await?,
            clock_ms: self.clock_ms().await?,
        })
    }
}
