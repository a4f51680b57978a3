//! The pipeline on PostgreSQL (`--db postgres://...`), against a throwaway server
//! (`rrtf_store::testing`): the same commands on a SQLite project and on a PostgreSQL one give
//! the same executions, rankings, exports, reviews and status; errors name the database without
//! its password.

use crate::common;

use std::path::Path;

use common::{ok_json, read_jsonl, rrtf, teacher_and_student, use_database};
use serde_json::Value;

/// Drop what legitimately differs between two projects: times, and the database's name.
fn scrub(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            for key in [
                "created_at",
                "started_at",
                "finished_at",
                "last_started_at",
                "last_finished_at",
                "db",
                "schema_version",
                "clock_ms",
                "worker",
            ] {
                map.remove(key);
            }
            for (_, x) in map.iter_mut() {
                *x = scrub(x.take());
            }
        }
        Value::Array(items) => {
            for x in items.iter_mut() {
                *x = scrub(x.take());
            }
        }
        _ => {}
    }
    v
}

/// The commands a user runs on a project, and what they print (scrubbed) and export.
fn pipeline(d: &Path) -> Vec<(String, Value)> {
    // 12 HumanEval problems: the canonical solution as teacher `canonical`, a body that fails
    // every test as student `broken`, printing NUL bytes and raising with one in its message
    // (PostgreSQL's text cannot hold U+0000: such a sample once stopped its executors).
    let problems: Vec<Value> = common::humaneval().into_iter().take(12).collect();
    teacher_and_student(
        d,
        &problems,
        "    print(\"\\x00\" * 3)\n    raise ValueError(\"bad \\x00 byte\")\n",
    );
    let mut out = Vec::new();
    let mut step = |name: &str, args: &[&str]| {
        let v = ok_json(d, args);
        out.push((name.to_owned(), scrub(v)));
    };
    step(
        "exec",
        &["--json", "exec", "--batch", "7", "--timeout", "20"],
    );
    step("exec again", &["--json", "exec"]);
    step("rank", &["--json", "rank"]);
    step(
        "pin",
        &[
            "--json",
            "review",
            "pin",
            "HumanEval/3",
            "16",
            "--reason",
            "r",
        ],
    );
    step("exclude", &["--json", "review", "exclude", "HumanEval/4"]);
    step(
        "note",
        &["--json", "review", "note", "HumanEval/5", "looks fine"],
    );
    step("list", &["--json", "review", "list"]);
    step("show", &["--json", "review", "show", "HumanEval/3"]);
    step("stats", &["--json", "review", "stats"]);
    step("status", &["--json", "status"]);
    step("report", &["--json", "report", "--out", "report.html"]);
    step(
        "export",
        &[
            "--json",
            "export",
            "--format",
            "trl",
            "--out",
            "pairs.jsonl",
        ],
    );
    out.push((
        "pairs.jsonl".to_owned(),
        Value::Array(read_jsonl(&d.join("pairs.jsonl"))),
    ));
    out
}

#[test]
fn the_pipeline_on_postgres_gives_what_it_gives_on_sqlite() {
    let Some(pg) = rrtf_store::testing::postgres_or_skip("postgres::pipeline") else {
        return;
    };
    let sqlite_dir = tempfile::tempdir().unwrap();
    let on_sqlite = pipeline(sqlite_dir.path());

    let pg_dir = tempfile::tempdir().unwrap();
    let url = pg.fresh_url("pipeline");
    use_database(pg_dir.path(), &url);
    let on_postgres = pipeline(pg_dir.path());

    assert_eq!(on_sqlite.len(), on_postgres.len());
    for ((name, a), (_, b)) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(a, b, "`{name}` differs between SQLite and PostgreSQL");
    }
    // The run did something: 24 executions, 12 pairs less the excluded prompt.
    let status = &on_postgres.iter().find(|(n, _)| n == "status").unwrap().1;
    assert_eq!(status["executions"], 24, "{status}");
    let pairs = &on_postgres
        .iter()
        .find(|(n, _)| n == "pairs.jsonl")
        .unwrap()
        .1;
    assert_eq!(pairs.as_array().unwrap().len(), 11);
    // The student's NUL bytes are stored as U+FFFD, on both backends alike (compared above).
    let show = &on_postgres.iter().find(|(n, _)| n == "show").unwrap().1;
    assert!(
        show.to_string().contains("bad \u{FFFD} byte"),
        "the failure is stored with the replacement character: {show}"
    );
    // The report (its run evidence, outcome examples, plots) reads the same data.
    let report = std::fs::read_to_string(pg_dir.path().join("report.html")).unwrap();
    assert!(
        report.contains("HumanEval/0") && report.contains("postgres://rrtf@"),
        "the report names the prompts and the database"
    );

    // The text status names the database without its password.
    let with_password = url.replacen("postgres://rrtf@", "postgres://rrtf:s3cret@", 1);
    let out = common::rrtf_cmd(pg_dir.path(), &["status"])
        .env("RRTF_DB", &with_password)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("postgres://rrtf:***@") && !text.contains("s3cret"),
        "{text}"
    );
}

#[test]
fn a_postgres_database_without_the_schema_is_refused_until_init() {
    let Some(pg) = rrtf_store::testing::postgres_or_skip("postgres::refused") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = pg.fresh_url("refused");
    let password_url = url.replacen("postgres://rrtf@", "postgres://rrtf:hunter2@", 1);
    use_database(d, &password_url);
    // No such database yet: `status` says to run `rrtf init`, naming it without the password.
    let out = rrtf(d, &["status"]);
    assert_eq!(out.status.code(), Some(2), "a user error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rrtf init") && err.contains("rrtf:***@") && !err.contains("hunter2"),
        "{err}"
    );
    let created = ok_json(d, &["--json", "init"]);
    assert_eq!(created["created"], true, "{created}");
    assert!(!created.to_string().contains("hunter2"), "{created}");
    let again = ok_json(d, &["--json", "init"]);
    assert_eq!(again["created"], false, "{again}");
    let status = ok_json(d, &["--json", "status"]);
    assert_eq!(status["prompts"], 0);
}

/// `rrtf db copy`: a SQLite project to PostgreSQL and on from there; the copy answers every
/// command as the original does; copying into a database with data, or onto itself, is refused.
#[test]
fn db_copy_moves_a_project_to_postgres() {
    let Some(pg) = rrtf_store::testing::postgres_or_skip("postgres::db_copy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let problems: Vec<Value> = common::humaneval().into_iter().take(6).collect();
    teacher_and_student(d, &problems, "    return None\n");
    ok_json(d, &["--json", "exec"]);
    ok_json(d, &["--json", "rank"]);
    ok_json(
        d,
        &[
            "--json",
            "review",
            "exclude",
            "HumanEval/2",
            "--reason",
            "r",
        ],
    );
    let url = pg.fresh_url("db_copy");
    let copied = ok_json(d, &["--json", "db", "copy", "--to", &url]);
    assert_eq!(copied["tables"].as_array().unwrap().len(), 18, "{copied}");
    assert!(copied["rows"].as_i64().unwrap() > 30, "{copied}");
    let sqlite_status = scrub(ok_json(d, &["--json", "status"]));
    let sqlite_list = scrub(ok_json(d, &["--json", "review", "list"]));
    let other = tempfile::tempdir().unwrap();
    use_database(other.path(), &url);
    assert_eq!(
        scrub(ok_json(other.path(), &["--json", "status"])),
        sqlite_status
    );
    assert_eq!(
        scrub(ok_json(other.path(), &["--json", "review", "list"])),
        sqlite_list
    );
    // Into a database with data: refused, nothing written.
    let out = rrtf(d, &["db", "copy", "--to", &url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already holds data"), "{err}");
    let out = rrtf(
        d,
        &["db", "copy", "--to", common::database(d).to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the same database: a usage error"
    );
}
