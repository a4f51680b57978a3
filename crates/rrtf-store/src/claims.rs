//! Leases on pending executions, so that any number of `rrtf exec` processes on one database
//! (on one machine or many) share the work: each claims a batch of pending (response, test)
//! pairs until its lease expires, renews its lease while it works, and a killed worker's
//! claims are taken over by the others once they expire.
//!
//! A claim is a row of `exec_claims` (the pair, the worker, the expiry on the database's
//! clock). Claiming is one `INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE expired`
//! statement: a pair whose claim is live and another worker's is neither selected nor taken
//! over, and when two workers race for the same pair, the second's conflicting insert waits for
//! the first's commit and then finds the claim live (PostgreSQL; SQLite runs one writer at a
//! time). Executions stay exactly once whatever happens: `executions(response_id, test_id)` is
//! unique and written with `ON CONFLICT DO NOTHING`; leases only keep workers from doing the
//! same work twice.

use serde::Serialize;

use crate::exec_queue::{JOB_COLUMNS, pending_pairs};
use crate::{Backend, PendingExecution, Result, Store, StoreError};

/// A worker's live claims, as `rrtf status` shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct WorkerLease {
    pub worker: String,
    /// Pairs it holds.
    pub claimed: i64,
    /// When its lease runs out unless renewed (milliseconds since the Unix epoch, the
    /// database's clock).
    pub expires_ms: i64,
    /// Its process ran on this machine and is gone (killed, crashed): the claims wait for the
    /// lease's end, or for the next worker started here. Set by the caller that can tell
    /// (`rrtf status`); false when unknown.
    #[sqlx(default)]
    pub gone: bool,
}

impl Store {
    /// The database's clock, in milliseconds since the Unix epoch: every worker measures leases
    /// by it, whatever its own machine's clock says.
    pub async fn clock_ms(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(match self.backend() {
            Backend::Sqlite => "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)",
            Backend::Postgres => {
                "SELECT CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)"
            }
        })
        .fetch_one(&self.pool)
        .await?)
    }

    /// Claim for `worker`, until `lease_ms` from now, up to `limit` pending pairs of `round`
    /// (None: all rounds) that no other worker holds a live claim on (its own earlier claims
    /// count as claimable), and return every pending pair `worker` now holds, in (response,
    /// test) order.
    pub async fn claim_executions(
        &self,
        round: Option<i64>,
        limit: i64,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Vec<PendingExecution>> {
        let now = self.clock_ms().await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO exec_claims (response_id, test_id, worker, expires_ms) \
             SELECT r.id, t.id, $3, $4 {} \
               AND NOT EXISTS (SELECT 1 FROM exec_claims c \
                               WHERE c.response_id = r.id AND c.test_id = t.id \
                                 AND c.expires_ms > $5 AND c.worker <> $3) \
             ORDER BY r.id, t.id LIMIT $2 \
             ON CONFLICT (response_id, test_id) DO UPDATE \
               SET worker = excluded.worker, expires_ms = excluded.expires_ms \
               WHERE exec_claims.expires_ms <= $5 OR exec_claims.worker = excluded.worker",
            pending_pairs()
        )))
        .bind(round)
        .bind(limit)
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let held = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} \
             FROM exec_claims c \
             JOIN responses r ON r.id = c.response_id \
             JOIN tests t ON t.id = c.test_id \
             JOIN prompts p ON p.id = r.prompt_id \
             WHERE c.worker = $1 \
               AND NOT EXISTS (SELECT 1 FROM executions e \
                               WHERE e.response_id = r.id AND e.test_id = t.id) \
             ORDER BY r.id, t.id",
        )))
        .bind(worker)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::reading("prompts, responses and tests"))?;
        tx.commit().await?;
        Ok(held)
    }

    /// Extend `worker`'s claims to `lease_ms` from now; how many it holds.
    pub async fn renew_claims(&self, worker: &str, lease_ms: i64) -> Result<u64> {
        self.renew_in(Claims::Exec, worker, lease_ms).await
    }

    /// Give up `worker`'s claims (what it did not execute is at once claimable by others).
    pub async fn release_claims(&self, worker: &str) -> Result<u64> {
        self.release_in(Claims::Exec, worker).await
    }

    /// Stored executions per `exec` run (`None`: written without one), by run id: with
    /// several workers, what each stored.
    pub async fn executions_by_run(&self) -> Result<Vec<(Option<i64>, i64)>> {
        Ok(sqlx::query_as(
            "SELECT run_id, count(*) FROM executions GROUP BY run_id ORDER BY run_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Workers holding live claims, by worker name.
    pub async fn live_workers(&self) -> Result<Vec<WorkerLease>> {
        self.live_in(Claims::Exec).await
    }
}

/// Leases on requests to sample (`sample_claims`), the samplers' twin of the executions' above:
/// any number of `rrtf sample` processes on one database claim the requests they are about to
/// send, renew their claims while they work and release them when they stop; a killed
/// sampler's claims are taken over once they expire. A claim only keeps two samplers from
/// sending (and paying for) the same request: an answer is stored once by its key whatever
/// happens (`responses.request_hash` is unique, written `ON CONFLICT DO NOTHING`).
impl Store {
    /// Claim for `worker`, until `lease_ms` from now, those of `keys` that no other worker holds
    /// a live claim on (its own count as claimable); returns the keys it now holds. Whether a
    /// key is answered already is the caller's to check (`stored_among`).
    pub async fn claim_requests(
        &self,
        keys: &[&str],
        worker: &str,
        lease_ms: i64,
    ) -> Result<std::collections::HashSet<String>> {
        let now = self.clock_ms().await?;
        let mut held = std::collections::HashSet::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "INSERT INTO sample_claims (request_key, worker, expires_ms) ",
            );
            qb.push_values(chunk, |mut b, key| {
                b.push_bind(*key)
                    .push_bind(worker)
                    .push_bind(now + lease_ms);
            });
            qb.push(
                " ON CONFLICT (request_key) DO UPDATE \
                 SET worker = excluded.worker, expires_ms = excluded.expires_ms \
                 WHERE sample_claims.expires_ms <= ",
            );
            qb.push_bind(now);
            qb.push(" OR sample_claims.worker = excluded.worker RETURNING request_key");
            let rows: Vec<(String,)> = qb.build_query_as().fetch_all(&self.pool).await?;
            held.extend(rows.into_iter().map(|(k,)| k));
        }
        Ok(held)
    }

    /// Extend `worker`'s request claims to `lease_ms` from now; how many it holds.
    pub async fn renew_request_claims(&self, worker: &str, lease_ms: i64) -> Result<u64> {
        self.renew_in(Claims::Sample, worker, lease_ms).await
    }

    /// Give up `worker`'s request claims (what it did not send is at once claimable by others).
    pub async fn release_request_claims(&self, worker: &str) -> Result<u64> {
        self.release_in(Claims::Sample, worker).await
    }

    /// Those of `keys` whose answer is stored.
    pub async fn stored_among(&self, keys: &[&str]) -> Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for chunk in keys.chunks(500) {
            let mut qb = crate::sql::Builder::new(
                self.backend(),
                "SELECT request_hash FROM responses WHERE request_hash IN (",
            );
            let mut sep = qb.separated(", ");
            for k in chunk {
                sep.push_bind(*k);
            }
            sep.push_unseparated(")");
            let rows: Vec<(String,)> = qb.build_query_as().fetch_all(&self.pool).await?;
            out.extend(rows.into_iter().map(|(k,)| k));
        }
        Ok(out)
    }

    /// Samplers holding live request claims, by worker name.
    pub async fn live_samplers(&self) -> Result<Vec<WorkerLease>> {
        self.live_in(Claims::Sample).await
    }
}

impl Store {
    /// Workers (exec and sample) holding live claims, by name.
    pub async fn claim_holders(&self) -> Result<Vec<String>> {
        let now = self.clock_ms().await?;
        Ok(sqlx::query_scalar(
            "SELECT worker FROM exec_claims WHERE expires_ms > $1 \
             UNION SELECT worker FROM sample_claims WHERE expires_ms > $1 ORDER BY worker",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// End `worker`'s claims now, as if its lease had run out (its process is known to be
    /// gone); how many.
    pub async fn expire_claims_of(&self, worker: &str) -> Result<u64> {
        let mut n = 0;
        for claims in [Claims::Exec, Claims::Sample] {
            n += sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {} SET expires_ms = 0 WHERE worker = $1",
                claims.table()
            )))
            .bind(worker)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(n)
    }

    /// Extend `worker`'s claims in `claims` to `lease_ms` from now; how many it holds.
    async fn renew_in(&self, claims: Claims, worker: &str, lease_ms: i64) -> Result<u64> {
        let now = self.clock_ms().await?;
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {} SET expires_ms = $1 WHERE worker = $2",
            claims.table()
        )))
        .bind(now + lease_ms)
        .bind(worker)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Delete `worker`'s claims in `claims`; how many.
    async fn release_in(&self, claims: Claims, worker: &str) -> Result<u64> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {} WHERE worker = $1",
            claims.table()
        )))
        .bind(worker)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// The holders of live claims in `claims`, by worker name.
    async fn live_in(&self, claims: Claims) -> Result<Vec<WorkerLease>> {
        let now = self.clock_ms().await?;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT worker, count(*) AS claimed, max(expires_ms) AS expires_ms \
             FROM {} WHERE expires_ms > $1 GROUP BY worker ORDER BY worker",
            claims.table()
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// The two kinds of claims: executions' (`exec_claims`) and requests' (`sample_claims`).
#[derive(Clone, Copy)]
enum Claims {
    Exec,
    Sample,
}

impl Claims {
    fn table(self) -> &'static str {
        match self {
            Claims::Exec => "exec_claims",
            Claims::Sample => "sample_claims",
        }
    }
}
