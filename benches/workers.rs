//! Cooperating `rrtf exec` workers (issue 22, item 6): execution throughput with 1, 2 and 4
//! worker processes on one database, on SQLite and on PostgreSQL, and the claim overhead per
//! job. References, measured in the same run:
//! - scaling: the one-process throughput on the same backend and data (`rate(k) / rate(1)`;
//!   the ideal is min(k, cores));
//! - claim overhead: the database work a worker adds per (response, test) pair (claim it under
//!   a lease, store its execution with the claim removed), timed in process without executing
//!   anything, as a fraction of the per-pair wall time of one worker executing for real.
//!
//! `cargo bench --bench workers` (release binary; HumanEval's 164 problems, each with its
//! canonical solution and a wrong answer, twice: 656 pairs, claimed 64 at a time). Under
//! `cargo test` it runs 12 problems
//! with 1 and 2 workers as a smoke test (every pair stored once; no timing checked). Each
//! worker runs one sandbox slot (`--workers 1`), so k processes run k programs at a time.
//! PostgreSQL: a throwaway server (`rrtf_store::testing`, Debian's `postgresql`) or
//! `RRTF_TEST_POSTGRES`; without either its rows are skipped, saying why.

// The benchmark drives the `rrtf` binary as its users do, as the end-to-end tests do.
#![allow(clippy::disallowed_methods)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use rrtf_store::{NewExecution, Outcome, Store};
use serde_json::{Value, json};

const BATCH: &str = "64";

/// `rrtf --db DB ARGS` in `dir`; stdout as JSON.
fn rrtf(dir: &Path, db: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_rrtf"))
        .args(["--json", "--db", db])
        .args(args)
        .current_dir(dir)
        .env_remove("RRTF_LOG")
        .output()
        .expect("run rrtf");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Responses per problem (models `m0`..): the canonical solution and a wrong answer, each twice
/// (told apart by a comment).
const MODELS: usize = 4;

/// The files a project is made of: `n` HumanEval problems and [`MODELS`] answers to each.
fn write_project(dir: &Path, n: usize) {
    let gz = std::fs::File::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/HumanEval.jsonl.gz"),
    )
    .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .unwrap();
    let problems: Vec<Value> = text
        .lines()
        .take(n)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    write_jsonl(&dir.join("he.jsonl"), &problems);
    for m in 0..MODELS {
        let answers: Vec<Value> = problems
            .iter()
            .map(|p| {
                let body = if m % 2 == 1 {
                    "    return None\n"
                } else {
                    p["canonical_solution"].as_str().unwrap()
                };
                let completion = format!("{body}\n# answer {m}\n");
                json!({"task_id": p["task_id"], "completion": completion})
            })
            .collect();
        write_jsonl(&dir.join(format!("m{m}.jsonl")), &answers);
    }
}

/// A fresh database `db` holding the project.
fn load(dir: &Path, db: &str) {
    rrtf(dir, db, &["init"]);
    rrtf(dir, db, &["import", "prompts", "he.jsonl"]);
    for m in 0..MODELS {
        let (file, model) = (format!("m{m}.jsonl"), format!("m{m}"));
        rrtf(
            dir,
            db,
            &[
                "import",
                "responses",
                &file,
                "--model",
                &model,
                "--role",
                "teacher",
            ],
        );
    }
}

/// `k` `rrtf exec` processes on `db` at once: the wall time until the last ends. Checks that
/// their reported counts add up to `pairs` and that the store holds each pair once.
async fn run_workers(dir: &Path, db: &str, k: usize, pairs: i64) -> f64 {
    let t = Instant::now();
    let children: Vec<_> = (0..k)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_rrtf"))
                .args(["--json", "--db", db, "exec", "--workers", "1", "--batch"])
                .arg(BATCH)
                .current_dir(dir)
                .env_remove("RRTF_LOG")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start rrtf exec")
        })
        .collect();
    let mut reported = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed");
        // A worker that found nothing left prints {"executed": 0, ...} too.
        let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        reported += v["executed"].as_i64().unwrap_or(0);
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(reported, pairs, "the workers' counts add up to every pair");
    let store = Store::open(Path::new(db)).await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(status.executions, pairs, "every pair stored once");
    store.close().await;
    secs
}

/// The database's work per pair, no execution: claim a batch under a lease, store the batch's
/// executions (which removes the claims), until nothing is pending. Seconds per pair.
async fn claim_overhead(db: &str, pairs: i64) -> f64 {
    let store = Store::open(Path::new(db)).await.unwrap();
    let batch: i64 = BATCH.parse().unwrap();
    let t = Instant::now();
    let mut done = 0;
    loop {
        let claimed = store
            .claim_executions(None, batch, "bench:1:0", 60_000)
            .await
            .unwrap();
        if claimed.is_empty() {
            break;
        }
        let rows: Vec<NewExecution> = claimed
            .iter()
            .map(|p| NewExecution {
                response_id: p.response_id,
                test_id: p.test_id,
                outcome: Outcome::Pass,
                tests_passed: 1,
                tests_total: 1,
                first_failure: None,
                stderr_tail: None,
                wall_ms: Some(1),
                cpu_ms: Some(1),
                peak_rss_kb: Some(1),
                executor_hash: "bench".into(),
            })
            .collect();
        done += rows.len() as i64;
        store.insert_executions_of_run(&rows, None).await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(done, pairs);
    store.close().await;
    secs / pairs as f64
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (problems, counts): (usize, &[usize]) = if bench {
        (164, &[1, 2, 4])
    } else {
        (12, &[1, 2])
    };
    let pairs = (MODELS * problems) as i64;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_project(dir, problems);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "exec workers: {pairs} (response, test) pairs (HumanEval: canonical and wrong answers), \
         {cores} cores, batch {BATCH}, one sandbox slot per process"
    );

    let pg = rrtf_store::testing::postgres();
    // Per backend: a fresh database's `--db` for a name.
    type Fresh<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let mut backends: Vec<(&str, Fresh)> = vec![(
        "sqlite",
        Box::new(|name: &str| dir.join(format!("{name}.db")).display().to_string()),
    )];
    match &pg {
        Ok(server) => backends.push((
            "postgres",
            Box::new(move |name: &str| server.fresh_url(&format!("bench_workers_{name}"))),
        )),
        Err(why) => println!("postgres: skipped ({why})"),
    }
    for (backend, fresh) in &backends {
        let mut one = None;
        for &k in counts {
            let db = fresh(&format!("w{k}"));
            load(dir, &db);
            let secs = run_workers(dir, &db, k, pairs).await;
            let rate = pairs as f64 / secs;
            let base = *one.get_or_insert(rate);
            println!(
                "{backend:>8} {k} worker(s): {rate:7.1} pairs/s ({secs:6.2} s) = {:.2}x one \
                 process (ideal {}x)",
                rate / base,
                k.min(cores)
            );
        }
        let db = fresh("claims");
        load(dir, &db);
        let per_pair = claim_overhead(&db, pairs).await;
        let exec_per_pair = 1.0 / one.expect("measured");
        println!(
            "{backend:>8} claim + store per pair, no execution: {:.0} us = {:.1}% of one \
             worker's per-pair time ({:.1} ms)",
            per_pair * 1e6,
            100.0 * per_pair / exec_per_pair,
            exec_per_pair * 1e3
        );
    }
}
