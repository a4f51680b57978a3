//! The execution stage: every stored (response, test program) pair not executed yet, run through
//! the sandboxed pool, each result stored with the code that was judged. Resumable: results are
//! committed batch by batch, and a re-run picks up exactly the pairs still missing (the store's
//! natural key refuses duplicates).
//!
//! A pair the executor could not judge (its worker or judge failed on every attempt:
//! `ExecResult::unjudged`) is not stored: a verdict the sample did not earn would enter the
//! ranking. It stays pending, is tried once more after every other pair (a machine loaded for
//! a moment may have starved the judge), and if it fails again the run ends failed, naming
//! it, so a rerun retries it.
//!
//! Any number of these stages may run on one database at once (`rrtf exec` on several machines
//! pointed at one PostgreSQL database, or several processes on one SQLite file): each is a
//! [`Worker`] that claims its batches with a lease (`Store::claim_executions`), renews it while
//! it works and releases what it did not run when it ends; a killed worker's claims expire and
//! the others take them over. A worker with nothing left to claim waits while other workers
//! still hold pending pairs, so the stage ends when every pair is executed.
//!
//! [`run`] is the whole stage with its run record; [`execute`] the loop alone.
//!
//! Not here: the printed summary (`rrtf exec`'s), the executor's limits (`exec_config`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rrtf_exec::answer::complete_function;
use rrtf_exec::{ExecConfig, ExecError, Executor, Job, Language};
use rrtf_store::{NewExecution, NewRun, Outcome, PendingExecution, PromptKind, Store};
use serde_json::{Value, json};

use crate::Result;
use crate::eval::Progress;
use crate::stop::{Signal, Stop};

/// One executing process: its name in `exec_claims` (host, process id and a random part: unique
/// across machines and restarts) and the lease its claims get, renewed every third of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worker {
    pub name: String,
    pub lease: Duration,
    /// The `exec` run its executions are recorded under ([`run`] sets it).
    pub run_id: Option<i64>,
}

/// A name for this process among the workers of one database: `HOST:PID:BOOTNONCE`, where
/// BOOT is this boot's id (8 hex digits of the kernel's `boot_id`: it tells this machine from
/// another of the same host name) and the nonce tells apart two processes that reused a pid.
pub fn worker_name() -> String {
    let host = host_name();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{host}:{}:{}{nonce:08x}", std::process::id(), boot_tag())
}

/// The first 8 hex digits of this boot's id (`/proc/sys/kernel/random/boot_id`).
fn boot_tag() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect::<String>()
}

/// This host's name, as [`worker_name`] writes it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}

/// Whether process `pid` of this host is gone (no such process, or a zombie: killed and not
/// yet reaped).
fn process_gone(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Whether the worker named `worker` ([`worker_name`]) ran on this machine (same host name and
/// boot) as another process than this one, and that process is gone. A worker of another
/// machine, or a name that is not [`worker_name`]'s, is not known to be gone.
pub fn worker_gone(worker: &str) -> bool {
    let mut parts = worker.splitn(3, ':');
    let (Some(h), Some(pid), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    let boot = boot_tag();
    let here = h == host_name() && boot.len() == 8 && tag.starts_with(&boot);
    here && pid != std::process::id() as i32 && process_gone(pid)
}

/// End now the claims (exec and sample) of this machine's workers (same host name and boot)
/// whose process is gone, instead of when their leases would run out: a rerun after a
/// `kill -9` or a crash takes their work at once. Another machine's workers, and a pid now used
/// by another process, keep their claims until their leases end (the safe side). How many
/// workers' claims were ended.
pub async fn expire_dead_local_claims(store: &Store) -> Result<usize> {
    let mut ended = 0;
    for worker in store.claim_holders().await? {
        if worker_gone(&worker) {
            store.expire_claims_of(&worker).await?;
            tracing::info!("{worker} is gone: its claims are taken over now");
            ended += 1;
        }
    }
    Ok(ended)
}

impl Worker {
    pub fn new(lease: Duration) -> Worker {
        Worker {
            name: worker_name(),
            lease,
            run_id: None,
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}

/// What a run of the stage did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Executed {
    /// (response, test) pairs executed and stored.
    pub done: u64,
    /// Results per outcome label.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Stopped by this signal after storing the programs already handed to the sandbox (the
    /// rest stays pending).
    pub interrupted: Option<Signal>,
    /// Pairs the executor could not judge (not stored, still pending).
    pub unjudged: u64,
    /// Why the first of them was not judged.
    pub unjudged_first: Option<String>,
}

/// The stage as `rrtf exec` runs it: nothing when no pair is pending; else an `exec` run
/// record (the executor's limits and fingerprint: what decides verdicts), [`execute`], and the
/// run finished with its summary, which is returned (`executed`, `outcomes`, `executor_hash`,
/// `run_id`). `progress` is started with the number of pending pairs. When `stop` asks, the
/// programs already handed to the sandbox finish and are stored, the rest of the batch is left
/// pending, and the run is recorded as `interrupted` (its summary adds `interrupted`, the
/// signal, and `pending`, the pairs left for a rerun). `round` selects the pairs (`None`:
/// every round's); the run is recorded under `recorded_round` (a round's exec stage executes
/// what any round left pending, under its own number).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: &Store,
    cfg: ExecConfig,
    round: Option<i64>,
    recorded_round: i64,
    batch: i64,
    revision: &str,
    worker: &Worker,
    progress: &mut dyn Progress,
    stop: &Stop,
) -> Result<Option<(Executed, Value)>> {
    let total = store.pending_execution_count(round).await?;
    if total == 0 {
        return Ok(None);
    }
    let executor_json = json!({
        "rrtf_exec": rrtf_exec::VERSION, "timeout_s": cfg.timeout.as_secs_f64(),
        "memory_mb": cfg.memory_mb, "output_limit_kb": cfg.output_limit_kb,
        "python": cfg.python, "processes": cfg.processes,
    });
    let executor = tokio::task::block_in_place(|| Executor::new(cfg))?;
    // What decides verdicts (crate version, worker source, limits, protections in force).
    let executor_hash = executor.fingerprint();
    let record = store
        .begin_run(&NewRun {
            round: recorded_round,
            stage: "exec".into(),
            config_json: executor_json.to_string(),
            config_hash: executor_hash.clone(),
            revision: Some(revision.into()),
            seed: None,
        })
        .await?;
    let run_id = record.id;
    let worker = &Worker {
        run_id: Some(run_id),
        ..worker.clone()
    };
    progress.start(total as u64);
    let executed = execute(
        store,
        &executor,
        &executor_hash,
        round,
        batch,
        worker,
        progress,
        stop,
    )
    .await?;
    let mut summary = json!({
        "executed": executed.done,
        "outcomes": executed.outcomes,
        "executor_hash": executor_hash,
        "run_id": run_id,
        "worker": worker.name,
    });
    if executed.unjudged > 0 {
        summary["unjudged"] = json!(executed.unjudged);
        summary["unjudged_first"] = json!(executed.unjudged_first);
    }
    match executed.interrupted {
        Some(signal) => {
            summary["interrupted"] = json!(signal.name());
            summary["pending"] = json!(store.pending_execution_count(round).await?);
            store.interrupt_run(record, &summary).await?;
        }
        None if executed.unjudged > 0 => {
            summary["pending"] = json!(store.pending_execution_count(round).await?);
            store.finish_run(record, false, &summary).await?;
        }
        None => store.finish_run(record, true, &summary).await?,
    }
    Ok(Some((executed, summary)))
}

/// Keep the first `n` bytes' worth of a text (on a char boundary).
fn head(s: &str, n: usize) -> String {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn job_for(key: u64, p: &PendingExecution, language: Language) -> Job {
    let test = p.test_code.clone();
    let entry = p.entry_point.clone();
    match (&p.code, p.kind) {
        // Extracted earlier (another test program of the same response): run the same code.
        (Some(code), _) => Job {
            key,
            language,
            code: (!code.is_empty()).then(|| code.clone()),
            test,
            entry_point: entry,
            // Trusted: the judge may run the prompt's own helpers, never the sample's copy.
            prompt: Some(p.prompt.clone()),
        },
        // A brace language's completion ends where its function closes (as HumanEval-X's
        // generation ends it); Python's stop sequences ended it already.
        (None, PromptKind::Completion) => {
            let completion = complete_function(&p.raw_text, language);
            Job::from_completion(key, language, &p.prompt, &completion, test, entry)
        }
        (None, PromptKind::Instruction) => {
            Job::from_response(key, language, &p.raw_text, Some(&p.prompt), test, entry)
        }
    }
}

/// Execute the pending pairs of `round` (None: all rounds) in batches of `batch`, storing each
/// result under `executor_hash` (`Executor::fingerprint`). A missing result is never a pass: it
/// is stored as a crash. An unjudged one is not stored; it is tried once more after the rest,
/// and counted in `Executed::unjudged` if it fails again. Blocks the (multi-threaded) runtime's
/// thread while samples run.
/// `stop` is asked before each batch and before each program is handed to the sandbox: once it
/// asks, nothing more starts; what started finishes and is stored, and the pairs never started
/// stay pending (not stored: a pair is never recorded as run when it was not).
/// Batches are claimed as `worker` (see the module's note); its claims are renewed while this
/// runs and released when it returns, whatever it returns.
/// What [`wait_for_workers`] saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Waited {
    /// Pending pairs when it started.
    pub pending_at_start: i64,
    /// Pending pairs when it returned (0 unless interrupted).
    pub pending: i64,
    pub interrupted: Option<Signal>,
}

/// How long no worker may hold a lease, while pairs are pending, before the wait says so.
const IDLE_NOTICE: Duration = Duration::from_secs(10);

/// Execute nothing: wait until other `rrtf exec` workers on this database (any machines) have
/// stored every pending pair of `round` (None: all rounds), advancing `progress` as they do. A
/// round whose `[execution] external_workers` is on runs its exec stage this way. While no
/// worker holds a lease it says so (once per idle spell) and keeps waiting: starting workers
/// is the operator's move. `stop` ends the wait early (the pairs stay pending for the workers).
pub async fn wait_for_workers(
    store: &Store,
    round: Option<i64>,
    progress: &mut dyn Progress,
    stop: &Stop,
) -> Result<Waited> {
    let start = store.pending_execution_count(round).await?;
    progress.start(start.max(0) as u64);
    let mut shown = 0i64;
    let mut idle_since: Option<std::time::Instant> = None;
    let mut told = false;
    loop {
        let pending = store.pending_execution_count(round).await?;
        // New pairs (a sampler still writing) raise the count; progress only moves forward.
        while shown < start - pending {
            progress.inc();
            shown += 1;
        }
        if pending == 0 {
            progress.finish();
            return Ok(Waited {
                pending_at_start: start,
                pending,
                interrupted: None,
            });
        }
        if let Some(signal) = stop.requested() {
            return Ok(Waited {
                pending_at_start: start,
                pending,
                interrupted: Some(signal),
            });
        }
        if store.live_workers().await?.is_empty() {
            let since = *idle_since.get_or_insert_with(std::time::Instant::now);
            if !told && since.elapsed() >= IDLE_NOTICE {
                let which = round.map_or(String::new(), |r| format!(" --round {r}"));
                tracing::warn!(
                    "{pending} (response, test) pairs pending and no exec worker holds a lease: \
                     execution is left to external workers ([execution] external_workers): \
                     start `rrtf exec{which}` on any machine pointed at this database"
                );
                told = true;
            }
        } else {
            idle_since = None;
            told = false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn execute(
    store: &Store,
    executor: &Executor,
    executor_hash: &str,
    round: Option<i64>,
    batch: i64,
    worker: &Worker,
    progress: &mut dyn Progress,
    stop: &Stop,
) -> Result<Executed> {
    let heartbeat = {
        let (store, worker) = (store.clone(), worker.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(worker.lease / 3).await;
                if let Err(e) = store.renew_claims(&worker.name, worker.lease_ms()).await {
                    tracing::warn!("renewing the lease of {}: {e}", worker.name);
                }
            }
        })
    };
    let result = execute_claimed(
        store,
        executor,
        executor_hash,
        round,
        batch,
        worker,
        progress,
        stop,
    )
    .await;
    heartbeat.abort();
    let released = store.release_claims(&worker.name).await;
    let executed = result?;
    released?;
    Ok(executed)
}

/// A worker's first claim is at most this many pairs, and each next one at most twice the last
/// (32, 64, 128, ...) until claims are whole batches: workers started together, or a few
/// seconds apart, on a project with fewer pending pairs than a few batches then share the work,
/// instead of the first to claim taking all of it while the others find nothing unclaimed and
/// wait.
pub const FIRST_CLAIM: i64 = 32;

/// The batch to claim next: `batch`, or, while other workers hold leases, at most an equal
/// share of the pairs left among the live workers (this one included), so that near the end
/// the workers finish together instead of one running a whole batch while the others wait.
async fn fair_batch(store: &Store, round: Option<i64>, batch: i64, me: &str) -> Result<i64> {
    let others = store
        .live_workers()
        .await?
        .iter()
        .filter(|w| w.worker != me)
        .count() as i64;
    if others == 0 {
        return Ok(batch);
    }
    let left = store.pending_execution_count(round).await?;
    Ok(batch.min((left / (others + 1)).max(1)))
}

#[allow(clippy::too_many_arguments)]
async fn execute_claimed(
    store: &Store,
    executor: &Executor,
    executor_hash: &str,
    round: Option<i64>,
    batch: i64,
    worker: &Worker,
    progress: &mut dyn Progress,
    stop: &Stop,
) -> Result<Executed> {
    let mut executed = Executed::default();
    let mut waiting = false;
    let mut checked: HashSet<Language> = HashSet::new();
    // Pairs left unjudged by this call: still pending in the store, not run again here.
    let mut unjudged: HashSet<(i64, i64)> = HashSet::new();
    let mut second_look = false;
    let mut ramp = FIRST_CLAIM;
    loop {
        if let Some(signal) = stop.requested() {
            executed.interrupted = Some(signal);
            break;
        }
        let take = fair_batch(store, round, batch, &worker.name)
            .await?
            .min(ramp);
        ramp = ramp.saturating_mul(2);
        let mut pending = store
            .claim_executions(
                round,
                take + unjudged.len() as i64,
                &worker.name,
                worker.lease_ms(),
            )
            .await?;
        pending.retain(|p| !unjudged.contains(&(p.response_id, p.test_id)));
        pending.truncate(take as usize);
        if pending.is_empty() {
            // Pairs still pending that this worker could not claim are other workers' (live
            // leases): wait until they are executed or their leases run out.
            let others = store.pending_execution_count(round).await? - unjudged.len() as i64;
            if others > 0 && expire_dead_local_claims(store).await? > 0 {
                continue;
            }
            if others > 0 {
                if !waiting {
                    tracing::warn!(
                        "{others} (response, test) pairs are claimed by other workers: waiting \
                         for them (`rrtf status` lists the workers and their leases)"
                    );
                    waiting = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            if second_look || unjudged.is_empty() {
                break;
            }
            // Every other pair is done: the unjudged ones once more.
            second_look = true;
            unjudged.clear();
            executed.unjudged = 0;
            executed.unjudged_first = None;
            continue;
        }
        let mut jobs = Vec::with_capacity(pending.len());
        for (i, p) in pending.iter().enumerate() {
            let language = Language::parse(&p.language).map_err(ExecError::from)?;
            if checked.insert(language) {
                executor.check_toolchains(&HashSet::from([language]))?;
            }
            jobs.push(job_for(i as u64, p, language));
        }
        // The code each response was judged on, stored once (empty: nothing to extract).
        let codes: Vec<(usize, i64, String)> = pending
            .iter()
            .zip(&jobs)
            .enumerate()
            .filter(|(_, (p, _))| p.code.is_none())
            .map(|(i, (p, j))| (i, p.response_id, j.code.clone().unwrap_or_default()))
            .collect();
        // Jobs go to the pool lazily (a bounded queue), each only while no stop is asked; `fed`
        // counts those handed over: the first `fed` pending pairs, in order.
        let fed = Arc::new(AtomicUsize::new(0));
        let feeding = {
            let (stop, fed) = (stop.clone(), Arc::clone(&fed));
            jobs.into_iter()
                .take_while(move |_| stop.requested().is_none())
                .inspect(move |_| {
                    fed.fetch_add(1, Ordering::SeqCst);
                })
        };
        let mut by_key: BTreeMap<u64, _> = tokio::task::block_in_place(|| {
            executor
                .run(feeding)
                .into_iter()
                .map(|r| (r.key, r))
                .collect()
        });
        let started = fed.load(Ordering::SeqCst);
        // Only the code of pairs that ran: the rest is extracted again when they run.
        let codes: Vec<(i64, String)> = codes
            .into_iter()
            .filter(|(i, ..)| *i < started)
            .map(|(_, response, code)| (response, code))
            .collect();
        let mut left: Vec<(i64, i64)> = Vec::new();
        for (i, p) in pending[..started].iter().enumerate() {
            if let Some(r) = by_key.get(&(i as u64))
                && let Some(why) = &r.unjudged
            {
                tracing::warn!(
                    "response {} against test {} was not judged: {why}",
                    p.response_id,
                    p.test_id
                );
                executed
                    .unjudged_first
                    .get_or_insert_with(|| format!("response {}: {why}", p.response_id));
                left.push((p.response_id, p.test_id));
                by_key.remove(&(i as u64));
            }
        }
        let rows: Vec<NewExecution> = pending[..started]
            .iter()
            .enumerate()
            .filter(|(_, p)| !left.contains(&(p.response_id, p.test_id)))
            .map(|(i, p)| {
                let (outcome, passed, total_tests, detail, wall, cpu, rss) =
                    match by_key.remove(&(i as u64)) {
                        Some(r) => (
                            r.outcome,
                            i64::from(r.tests_passed),
                            i64::from(r.tests_total),
                            r.detail,
                            Some(r.wall_ms as i64),
                            Some(r.cpu_ms as i64),
                            Some(r.peak_rss_kb as i64),
                        ),
                        None => (
                            Outcome::Crashed,
                            0,
                            0,
                            "no result from the executor".to_owned(),
                            None,
                            None,
                            None,
                        ),
                    };
                *executed.outcomes.entry(outcome.as_str()).or_default() += 1;
                NewExecution {
                    response_id: p.response_id,
                    test_id: p.test_id,
                    outcome,
                    tests_passed: passed,
                    tests_total: total_tests.max(passed),
                    first_failure: (outcome != Outcome::Pass && !detail.is_empty())
                        .then(|| head(&detail, 2000)),
                    stderr_tail: None,
                    wall_ms: wall,
                    cpu_ms: cpu,
                    peak_rss_kb: rss,
                    executor_hash: executor_hash.to_owned(),
                }
            })
            .collect();
        store.set_response_code(&codes).await?;
        store.insert_executions_of_run(&rows, worker.run_id).await?;
        executed.done += rows.len() as u64;
        executed.unjudged += left.len() as u64;
        if !second_look {
            for _ in 0..started {
                progress.inc();
            }
        }
        unjudged.extend(left);
        progress.batch_done();
        if started < pending.len() {
            executed.interrupted = stop.requested();
            break;
        }
    }
    progress.finish();
    Ok(executed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rrtf status` marks a worker gone only when it was of this machine and its process is
    /// not there: never this process, never another machine's (whose pids mean nothing here).
    #[test]
    fn a_worker_is_gone_only_when_it_was_here_and_its_process_is_not() {
        let me = worker_name();
        assert!(!worker_gone(&me), "{me}");
        let (_, rest) = me.split_once(':').unwrap();
        let (_, tag) = rest.split_once(':').unwrap();
        // pid_max is at most 2^22: no process has this pid.
        let dead = format!("{}:4194999:{tag}", host_name());
        assert!(worker_gone(&dead), "{dead}");
        for other in [
            format!("elsewhere.example:4194999:{tag}"),
            format!("{}:4194999:00000000cafe", host_name()),
            "not a worker name".to_owned(),
        ] {
            assert!(!worker_gone(&other), "{other}");
        }
    }
}
