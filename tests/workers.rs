//! Cooperating `rrtf exec` workers (issue 22): three processes on one database share the pending
//! executions by leases; one is killed with SIGKILL mid-batch, the other two take over its
//! claims when its lease runs out; every (response, test) pair is executed and stored exactly
//! once. On SQLite and on PostgreSQL.

use crate::common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{ok_json, rrtf_cmd, teacher_and_student, use_database};
use serde_json::Value;

const PROBLEMS: usize = 24;

fn spawn_worker(d: &Path) -> Child {
    rrtf_cmd(
        d,
        &[
            "--json",
            "exec",
            "--batch",
            "3",
            "--lease-secs",
            "3",
            "--workers",
            "1",
            "--timeout",
            "20",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}

fn three_workers_one_killed(d: &Path) {
    let problems: Vec<Value> = common::humaneval().into_iter().take(PROBLEMS).collect();
    // The student's answers sleep a little, so that batches take a moment and a kill lands in
    // one.
    teacher_and_student(
        d,
        &problems,
        "    import time\n    time.sleep(0.15)\n    return None\n",
    );
    let total = 2 * PROBLEMS as i64;
    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(d)).collect();
    let victim = workers.remove(0);
    let victim_pid = victim.id();
    // Kill the first worker once it holds claims and something is stored: mid-batch.
    let start = Instant::now();
    loop {
        let st = ok_json(d, &["--json", "status"]);
        let holds = st["workers"].as_array().unwrap().iter().any(|w| {
            w["worker"]
                .as_str()
                .unwrap()
                .contains(&format!(":{victim_pid}:"))
                && w["claimed"].as_i64().unwrap() > 0
        });
        if holds && st["executions"].as_i64().unwrap() > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the first worker never held a claim: {st}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut victim = victim;
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let st = ok_json(d, &["--json", "status"]);
    // While its lease lasts, status says the killed worker's process is gone; the others not.
    for w in st["workers"].as_array().unwrap() {
        let is_victim = w["worker"]
            .as_str()
            .unwrap()
            .contains(&format!(":{victim_pid}:"));
        assert_eq!(w["gone"], is_victim, "{st}");
    }
    let at_kill = st["executions"].as_i64().unwrap();
    assert!(
        at_kill < total,
        "killed before the end ({at_kill} of {total})"
    );
    // The others finish everything, the killed worker's pairs included (after its lease).
    let mut reported = Vec::new();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "a surviving worker failed");
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        reported.push((
            summary["run_id"].as_i64().unwrap(),
            summary["executed"].as_i64().unwrap(),
        ));
    }
    let st = ok_json(d, &["--json", "status"]);
    assert_eq!(st["executions"], total, "every pair executed: {st}");
    assert_eq!(
        st["workers"],
        serde_json::json!([]),
        "no claim is left: {st}"
    );
    let again = ok_json(d, &["--json", "exec"]);
    assert_eq!(again["executed"], 0, "nothing left to run: {again}");

    // Exactly once: what each survivor says it executed is what it stored (a pair run twice
    // would be counted by its second runner but stored once), and the runs' rows add up.
    let db = common::database(d);
    let by_run = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = rrtf_store::Store::open(&db).await.unwrap();
        store.executions_by_run().await.unwrap()
    });
    assert_eq!(by_run.iter().map(|(_, n)| n).sum::<i64>(), total);
    assert!(by_run.iter().all(|(run, _)| run.is_some()), "{by_run:?}");
    for (run, executed) in &reported {
        let stored = by_run
            .iter()
            .find(|(r, _)| *r == Some(*run))
            .map_or(0, |(_, n)| *n);
        assert_eq!(
            stored, *executed,
            "run {run} reported {executed} executions and stored {stored}: {by_run:?}"
        );
    }
    // The rest is the killed worker's: the batches it committed before the kill.
    let others: Vec<_> = by_run
        .iter()
        .filter(|(r, _)| !reported.iter().any(|(run, _)| Some(*run) == *r))
        .collect();
    assert!(
        others.len() <= 1,
        "only the killed worker's run besides: {by_run:?}"
    );
}

#[test]
fn three_workers_on_sqlite_one_killed_every_pair_once() {
    let dir = tempfile::tempdir().unwrap();
    three_workers_one_killed(dir.path());
}

#[test]
fn three_workers_on_postgres_one_killed_every_pair_once() {
    let Some(pg) = rrtf_store::testing::postgres_or_skip("workers::postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    use_database(dir.path(), &pg.fresh_url("workers"));
    three_workers_one_killed(dir.path());
}

/// A round's exec stage left to external workers (`[execution] external_workers = true`, as
/// `rrtf round` runs it: `rrtf exec --config`): it executes nothing and waits, then ends once a
/// worker started elsewhere has stored every pair; it reports what the workers executed.
#[test]
fn a_round_leaves_execution_to_external_workers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let problems: Vec<Value> = common::humaneval().into_iter().take(4).collect();
    teacher_and_student(d, &problems, "    return None\n");
    std::fs::write(
        d.join("external.toml"),
        "[execution]\nexternal_workers = true\n",
    )
    .unwrap();
    let waiter = rrtf_cmd(d, &["--json", "exec", "--config", "external.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let mut waiter = waiter;
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "the waiting stage ended with pairs pending"
    );
    assert_eq!(ok_json(d, &["--json", "status"])["executions"], 0);
    let worker = ok_json(d, &["--json", "exec", "--workers", "1"]);
    assert_eq!(worker["executed"], 8);
    let start = Instant::now();
    while waiter.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the waiting stage did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = waiter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &report["executed"],
            &report["executed_by_workers"],
            &report["pending"]
        ),
        (
            &serde_json::json!(8),
            &serde_json::json!(8),
            &serde_json::json!(0)
        )
    );
    assert_eq!(ok_json(d, &["--json", "status"])["executions"], 8);
}

/// A worker on another machine that stops answering: its claims hold until its lease runs
/// out, then a local `rrtf exec` takes them over (a local worker's claims end at once when its
/// process is gone; a remote one's cannot be checked, so its lease decides).
#[tokio::test(flavor = "multi_thread")]
async fn a_remote_workers_claims_are_taken_over_when_its_lease_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let problems: Vec<Value> = common::humaneval().into_iter().take(3).collect();
    teacher_and_student(d, &problems, "    return None\n");
    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    let remote = "elsewhere.example:4242:0000beef";
    let held = store
        .claim_executions(None, 100, remote, 4_000)
        .await
        .unwrap();
    assert_eq!(held.len(), 6);
    let status = ok_json(d, &["--json", "status"]);
    assert_eq!(status["workers"][0]["worker"], remote, "{status}");
    assert_eq!(
        status["workers"][0]["gone"], false,
        "another machine's: not known"
    );
    let local = rrtf_cmd(d, &["--json", "exec", "--workers", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // While the remote lease lasts, nothing of it is run here.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(ok_json(d, &["--json", "status"])["executions"], 0);
    let out = local.wait_with_output().unwrap();
    assert!(out.status.success());
    let out: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out["executed"], 6, "{out}");
    assert_eq!(
        store.executions_by_run().await.unwrap().len(),
        1,
        "one run stored them all"
    );
    assert!(store.live_workers().await.unwrap().is_empty());
    store.close().await;
}
