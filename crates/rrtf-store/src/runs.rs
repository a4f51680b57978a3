//! Runs: one invocation of a stage, with the configuration snapshot it ran under.

use crate::{Result, Store};

/// This machine's boot and this process's pid namespace: where a pid means one process.
fn machine() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{} {}", boot.trim(), ns.display()))
}

/// When process `pid` started (clock ticks since boot, `/proc/PID/stat`'s 22nd field): with
/// the pid, it names one process for the whole boot (a pid is reused, a start time with it is
/// not). `None` for no such process, or one that has ended (a zombie not reaped yet).
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or parentheses.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18).map(str::to_owned)
}

/// The identity a run records of the process running it (`runs.owner`): the machine's boot
/// id, its pid namespace, the pid and the process's start time. `None` where `/proc` does not
/// say (the run's liveness is then unknown, as for a run of another machine).
pub(crate) fn process_identity(pid: u32) -> Option<String> {
    Some(format!("{} {pid} {}", machine()?, start_time(pid)?))
}

/// Whether the process a run's `owner` names is gone: `Some(true)` only when it ran on this
/// machine (same boot, same pid namespace) and no process with that pid and start time is
/// left; `None` when this machine cannot tell (another machine or container, no identity).
pub(crate) fn owner_gone(owner: Option<&str>) -> Option<bool> {
    let owner = owner?;
    let here = machine()?;
    let rest = owner.strip_prefix(&here)?.trim_start();
    let (pid, started) = rest.split_once(' ')?;
    let pid: u32 = pid.parse().ok()?;
    Some(start_time(pid).as_deref() != Some(started))
}

/// A started run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunRef {
    pub id: i64,
}

/// A run to record: one invocation of a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRun {
    pub round: i64,
    /// `sample`, `round/train`, `sweep/variant`, ...
    pub stage: String,
    /// The validated configuration snapshot the stage runs under.
    pub config_json: String,
    pub config_hash: String,
    /// The code's revision (the binary's git commit).
    pub revision: Option<String>,
    pub seed: Option<i64>,
}

impl Store {
    /// Record the start of a stage run.
    pub async fn begin_run(&self, run: &NewRun) -> Result<RunRef> {
        let mut tx = self.pool.begin().await?;
        crate::prompts::ensure_rounds(&mut tx, std::iter::once(run.round)).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO runs (round, stage, config_json, config_hash, revision, seed, owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(run.round)
        .bind(&run.stage)
        .bind(&run.config_json)
        .bind(&run.config_hash)
        .bind(&run.revision)
        .bind(run.seed)
        .bind(process_identity(std::process::id()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RunRef { id })
    }

    /// Record the end of a run with its summary.
    pub async fn finish_run(
        &self,
        run: RunRef,
        ok: bool,
        summary: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET status = $1, summary_json = $2, \
             finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = $3",
        )
        .bind(if ok { "done" } else { "failed" })
        .bind(summary.to_string())
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Record that a run was stopped by a signal (Ctrl-C, SIGTERM) after finishing or
    /// abandoning its work in flight: status `interrupted`, with what it did in `summary`.
    pub async fn interrupt_run(&self, run: RunRef, summary: &serde_json::Value) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET status = 'interrupted', summary_json = $1, \
             finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = $2",
        )
        .bind(summary.to_string())
        .bind(run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every run of `stage`, oldest first: its id and status (`running`, `done`, `failed`,
    /// `interrupted`).
    pub async fn run_statuses(&self, stage: &str) -> Result<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT id, status FROM runs WHERE stage = $1 ORDER BY id")
                .bind(stage)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run records its process; `status` reports a `running` run whose process is gone
    /// (kill -9: nothing recorded its end) as `killed`, and leaves one it cannot check (another
    /// machine or container) `running`.
    #[tokio::test]
    async fn a_running_run_whose_process_is_gone_is_reported_killed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("k.db")).await.unwrap();
        let run = store
            .begin_run(&NewRun {
                round: 0,
                stage: "exec".into(),
                config_json: "{}".into(),
                config_hash: "h".into(),
                revision: None,
                seed: None,
            })
            .await
            .unwrap();
        let last = |st: crate::Status| st.stages[0].last_status.clone();
        // This process is alive.
        assert_eq!(last(store.status().await.unwrap()), "running");
        let me = std::process::id();
        let mine = process_identity(me).unwrap();
        assert_eq!(owner_gone(Some(&mine)), Some(false));
        let set_owner = |owner: String| {
            let store = &store;
            async move {
                sqlx::query("UPDATE runs SET owner = $1 WHERE id = $2")
                    .bind(owner)
                    .bind(run.id)
                    .execute(&store.pool)
                    .await
                    .unwrap();
            }
        };
        // The same pid with another start time (a reused pid), and a pid no process has.
        let here = machine().unwrap();
        for owner in [format!("{here} {me} 1"), format!("{here} 4194999 12345")] {
            set_owner(owner.clone()).await;
            assert_eq!(owner_gone(Some(&owner)), Some(true), "{owner}");
            assert_eq!(last(store.status().await.unwrap()), "killed", "{owner}");
        }
        // Another boot or pid namespace: cannot tell, so still `running`.
        set_owner("0000-other-boot pid:[1] 4194999 12345".to_string()).await;
        assert_eq!(last(store.status().await.unwrap()), "running");
        // A finished run is what it recorded.
        store
            .finish_run(run, true, &serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(last(store.status().await.unwrap()), "done");
    }
}
