//! Helpers shared by the end-to-end tests: run the `rrtf` binary on a temporary project, read and
//! write JSON Lines, and set up HumanEval with a teacher and a student.
#![allow(dead_code)] // not every helper has a user in every configuration

pub mod chromium;
pub mod serve;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// The tiers: a test whose optional toolchain (`what` says which, and what to install) is
/// missing is skipped in the fast tier, with `SKIPPED <test>: <what>` on stderr (written past the
/// harness's capture, so `cargo test` shows it), and fails in the full tier
/// (`RRTF_FULL_TESTS=1`: scripts/check, CI). Returns false (skip) or panics.
pub fn missing(what: &str) -> bool {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if std::env::var_os("RRTF_FULL_TESTS").is_some_and(|v| v == "1") {
        panic!("{test}: {what} (RRTF_FULL_TESTS=1: the full tier runs every toolchain)");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what}");
    false
}

/// Whether the running test can use `language`'s toolchain ([`missing`] when not).
pub fn needs(language: rrtf_exec::Language) -> bool {
    match rrtf_exec::compiled::check(language) {
        Ok(()) => true,
        Err(e) => missing(&e.to_string()),
    }
}

/// Projects whose database is not `dir/rrtf.db`: dir -> `RRTF_DB` (a PostgreSQL URL).
static DATABASES: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

/// From now on, `rrtf_cmd(dir, ..)` runs on the database `db` (a PostgreSQL URL) instead of
/// `dir/rrtf.db`.
pub fn use_database(dir: &Path, db: &str) {
    DATABASES
        .lock()
        .unwrap()
        .push((dir.to_owned(), db.to_owned()));
}

/// Whether the suite runs on PostgreSQL (`RRTF_TEST_BACKEND=postgres`): every project's
/// database is then a fresh PostgreSQL database (on `rrtf_store::testing`'s throwaway server,
/// or `RRTF_TEST_POSTGRES`) instead of `dir/rrtf.db`. CI runs the suite both ways.
pub fn on_postgres() -> bool {
    match std::env::var("RRTF_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("RRTF_TEST_BACKEND={other}: use sqlite or postgres"),
    }
}

/// The project database of `dir`: `dir/rrtf.db` unless [`use_database`] named another, or, on
/// PostgreSQL ([`on_postgres`]), a fresh database of its own from the first call on (unless
/// `dir/rrtf.db` exists: the quickstart's projects are SQLite files).
pub fn database(dir: &Path) -> PathBuf {
    let mut all = DATABASES.lock().unwrap();
    if let Some((_, db)) = all.iter().rev().find(|(d, _)| d == dir) {
        return PathBuf::from(db);
    }
    // A directory that holds its own database already (a quickstart's) keeps it.
    if !on_postgres() || dir.join("rrtf.db").exists() {
        return dir.join("rrtf.db");
    }
    let pg = rrtf_store::testing::postgres()
        .unwrap_or_else(|why| panic!("RRTF_TEST_BACKEND=postgres, but no server: {why}"));
    let url = pg.fresh_url("suite");
    all.push((dir.to_owned(), url.clone()));
    PathBuf::from(url)
}

/// `rrtf ARGS` in `dir`, with the project database `dir/rrtf.db` (or the one [`use_database`]
/// named) and the reviewer `tester`.
pub fn rrtf_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rrtf"));
    c.args(args)
        .current_dir(dir)
        .env("RRTF_DB", database(dir))
        .env("USER", "tester")
        .env_remove("RRTF_LOG");
    c
}

pub fn rrtf(dir: &Path, args: &[&str]) -> Output {
    rrtf_cmd(dir, args).output().expect("run rrtf")
}

/// Run a command that must succeed and print exactly one JSON document on stdout.
pub fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let out = rrtf(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

pub fn humaneval_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/HumanEval.jsonl.gz")
}

/// The 164 HumanEval problems.
pub fn humaneval() -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(humaneval_path()).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn write_jsonl(path: &Path, rows: &[Value]) {
    std::fs::write(
        path,
        rows.iter().map(|r| format!("{r}\n")).collect::<String>(),
    )
    .unwrap();
}

pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A project with HumanEval's prompts, its canonical solutions as the responses of teacher
/// `canonical` (responses 1..=164) and `broken_body` as those of student `broken` (165..=328).
pub fn humaneval_teacher_and_student(d: &Path, broken_body: &str) -> Vec<Value> {
    let he = humaneval();
    teacher_and_student(d, &he, broken_body);
    he
}

/// A project with `problems` (HumanEval rows) as prompts 1..=n, their canonical solutions as the
/// responses of teacher `canonical` (responses 1..=n) and `broken_body` as those of student
/// `broken` (n+1..=2n). Test i belongs to prompt i.
pub fn teacher_and_student(d: &Path, problems: &[Value], broken_body: &str) {
    write_jsonl(&d.join("he.jsonl"), problems);
    let answers = |body: Option<&str>| -> Vec<Value> {
        problems
            .iter()
            .map(|p| json!({"task_id": p["task_id"], "completion": body.map_or(p["canonical_solution"].clone(), Value::from)}))
            .collect()
    };
    write_jsonl(&d.join("teacher.jsonl"), &answers(None));
    write_jsonl(&d.join("student.jsonl"), &answers(Some(broken_body)));
    ok_json(d, &["--json", "init"]);
    ok_json(d, &["--json", "import", "prompts", "he.jsonl"]);
    ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "teacher.jsonl",
            "--model",
            "canonical",
            "--role",
            "teacher",
        ],
    );
    ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "student.jsonl",
            "--model",
            "broken",
            "--role",
            "student",
        ],
    );
}

/// Executions as the executor reports them for a `teacher_and_student` project of `n` prompts:
/// the teacher's responses (1..=n) pass 3/3, the student's (n+1..=2n) fail every test.
/// Written through the store, so tests that rank or review need no sandbox.
pub async fn fixture_executions(db: &Path, n: i64) {
    let store = rrtf_store::Store::open(db).await.unwrap();
    let rows: Vec<rrtf_store::NewExecution> = (1..=2 * n)
        .map(|rid| {
            let pass = rid <= n;
            rrtf_store::NewExecution {
                response_id: rid,
                test_id: if pass { rid } else { rid - n },
                outcome: if pass {
                    rrtf_store::Outcome::Pass
                } else {
                    rrtf_store::Outcome::TestFailure
                },
                tests_passed: if pass { 3 } else { 0 },
                tests_total: 3,
                first_failure: (!pass).then(|| "AssertionError: assert candidate(1) == 2".into()),
                stderr_tail: None,
                wall_ms: Some(5),
                cpu_ms: Some(4),
                peak_rss_kb: Some(9000),
                executor_hash: "fixture".into(),
            }
        })
        .collect();
    let inserted = store.insert_executions(&rows).await.unwrap().inserted;
    assert_eq!(inserted as i64, 2 * n);
    store.close().await;
}
