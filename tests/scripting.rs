//! Issue 19 item 4: what scripts get. Under `--json` a failure is one JSON error object on
//! stdout (and the human text on stderr); an export makes its missing directory; an import
//! that adds nothing and an export that writes no row say so and why, and `--strict` makes
//! that exit code 1.

use crate::common;

use common::{fixture_executions, humaneval, ok_json, rrtf, teacher_and_student};
use serde_json::Value;

/// stdout as its one JSON document.
fn one_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn a_failure_under_json_is_one_error_object_on_stdout_and_text_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let out = rrtf(d, &["--json", "import", "prompts", "missing.jsonl"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: ") && err.contains("missing.jsonl"),
        "{err}"
    );
    let v = one_json(&out);
    let e = &v["error"];
    assert_eq!(e["exit_code"], 2, "{v}");
    assert!(e["kind"].is_string() && e["kind"] != "runtime", "{v}");
    assert!(
        e["message"].as_str().unwrap().contains("missing.jsonl"),
        "{v}"
    );
    assert!(e.as_object().unwrap().contains_key("hint"), "{v}");
    // Without --json, stdout stays empty.
    let out = rrtf(d, &["import", "prompts", "missing.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// Bad input is exit status 2 in every command (a new user's review, round 11: these were 1,
/// and `eval --out` into a path it cannot write failed only after the whole evaluation).
#[test]
fn missing_inputs_unwritable_outputs_and_bad_eval_options_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let bench = d.join("bench.jsonl");
    std::fs::write(&bench, "{}\n").unwrap();
    let bench = bench.to_str().unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--model", "no-model", "--benchmark", bench];
        args.extend_from_slice(extra);
        rrtf(d, &args)
    };
    for (what, out) in [
        (
            "exec run --input missing",
            rrtf(
                d,
                &[
                    "exec",
                    "run",
                    "--input",
                    "missing.jsonl",
                    "--output",
                    "o.jsonl",
                ],
            ),
        ),
        (
            "exec run --input a directory",
            rrtf(d, &["exec", "run", "--input", ".", "--output", "o.jsonl"]),
        ),
        (
            "exec passk --input missing",
            rrtf(d, &["exec", "passk", "--input", "missing.jsonl", "-k", "1"]),
        ),
        ("eval --max-new-tokens 0", eval(&["--max-new-tokens", "0"])),
        ("eval --temperature -1", eval(&["--temperature", "-1"])),
        ("eval --top-p 0", eval(&["--top-p", "0"])),
        (
            "eval --out unwritable",
            eval(&["--out", "/proc/rrtf-eval.jsonl"]),
        ),
    ] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains("error: "), "{what}: {err}");
    }
    // The option's own check names it (a negative number reached it).
    let err = String::from_utf8_lossy(&eval(&["--temperature", "-1"]).stderr).into_owned();
    assert!(
        err.contains("--temperature must be 0 (greedy) or more, got -1"),
        "{err}"
    );
}

/// A negative number given to any option reaches that option's own check (clap read `-1` as an
/// unknown flag: "unexpected argument '-1' found"), and a malformed row of a file given to
/// `eval --completions` names the file and says what is wrong in words (a new user's review).
#[test]
fn negative_numbers_reach_the_option_s_check_and_bad_rows_name_their_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let rows = d.join("rows.jsonl");
    std::fs::write(&rows, "{\"task_id\": \"HumanEval/0\"}\n{oops\n").unwrap();
    let rows = rows.to_str().unwrap();
    for (args, said) in [
        (
            &["exec", "--batch", "-1"][..],
            "--batch -1: must be at least 1",
        ),
        (&["exec", "--round", "-1"][..], "rounds are numbered from 0"),
        (
            &["import", "prompts", rows, "--round", "-3"][..],
            "rounds are numbered from 0",
        ),
        (
            &["review", "list", "--round", "-1"][..],
            "rounds are numbered from 0",
        ),
        (
            &[
                "exec",
                "run",
                "--input",
                rows,
                "--output",
                "o.jsonl",
                "--workers",
                "-2",
            ][..],
            "takes a number of 0 or more, not -2",
        ),
        (
            &["export", "--rounds", "0,-1", "--format", "trl"][..],
            "rounds are numbered from 0",
        ),
    ] {
        let out = rrtf(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(said) && !err.contains("unexpected argument"),
            "{args:?}: {err}"
        );
    }
    let bench = common::humaneval_path();
    let out = rrtf(
        d,
        &[
            "eval",
            "--completions",
            rows,
            "--benchmark",
            bench.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rows.jsonl: line 2: invalid JSON at column 2: ")
            && !err.contains("RowError")
            && !err.contains("at line 1 column"),
        "{err}"
    );
}

#[test]
fn imports_and_exports_of_nothing_say_why_and_strict_fails_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval();
    teacher_and_student(d, &he[..3], "    return None\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(fixture_executions(&common::database(d), 3));
    ok_json(d, &["--json", "rank"]);

    // Into a directory that does not exist yet: made.
    let v = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "trl",
            "--out",
            "new/dir/pairs.jsonl",
        ],
    );
    assert_eq!(v["rows"], 3, "{v}");
    assert!(d.join("new/dir/pairs.jsonl").is_file());
    assert!(v.get("nothing").is_none(), "{v}");

    // A round with no ranked prompt: no row, and why.
    let args = [
        "--json",
        "export",
        "--format",
        "trl",
        "--out",
        "none.jsonl",
        "--rounds",
        "7",
    ];
    let out = rrtf(d, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v = one_json(&out);
    assert_eq!(v["rows"], 0);
    let why = v["nothing"].as_str().unwrap();
    assert!(
        why.contains("no ranked prompts") && why.contains("--rounds"),
        "{v}"
    );
    assert!(err.contains(why), "{err}");
    let mut strict = args.to_vec();
    strict.push("--strict");
    let out = rrtf(d, &strict);
    assert_eq!(out.status.code(), Some(1));
    let v = one_json(&out);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no ranked prompts"),
        "{v}"
    );

    // The same file again adds nothing: said, and --strict fails it.
    let out = rrtf(d, &["--json", "import", "prompts", "he.jsonl"]);
    assert!(out.status.success());
    let v = one_json(&out);
    assert!(
        v["nothing"].as_str().unwrap().contains("all 3 of")
            && v["nothing"]
                .as_str()
                .unwrap()
                .contains("were already imported"),
        "{v}"
    );
    let out = rrtf(d, &["import", "prompts", "he.jsonl", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no prompts imported"), "{err}");
    // Stored prompts that gain a test: something was imported (no "nothing", --strict passes).
    let more: String = std::fs::read_to_string(d.join("he.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["test"] = Value::from(format!(
                "{}\n# a second test\n",
                v["test"].as_str().unwrap()
            ));
            format!("{v}\n")
        })
        .collect();
    std::fs::write(d.join("he-more.jsonl"), more).unwrap();
    let out = rrtf(
        d,
        &[
            "--json",
            "import",
            "prompts",
            "he-more.jsonl",
            "--source",
            "he",
            "--strict",
        ],
    );
    let v = one_json(&out);
    assert!(out.status.success(), "{v}");
    assert_eq!(
        (
            v["prompts"]["inserted"].as_u64(),
            v["tests"]["inserted"].as_u64(),
            v.get("nothing")
        ),
        (Some(0), Some(3), None),
        "{v}"
    );
    let out = rrtf(
        d,
        &[
            "import",
            "responses",
            "teacher.jsonl",
            "--model",
            "canonical",
            "--role",
            "teacher",
            "--strict",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no responses imported"));
}

/// Progress when stderr is not a terminal: a line at the start and at the end (and every
/// `RRTF_PROGRESS_SECS`, here too long to come), and with `-v` one after every batch.
#[test]
fn progress_comes_as_lines_off_a_terminal_and_per_batch_with_v() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval();
    teacher_and_student(d, &he[..3], "    return None\n");
    let exec = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["exec", "--batch", "2", "--timeout", "20"]);
        let out = common::rrtf_cmd(d, &args)
            .env("RRTF_PROGRESS_SECS", "100000")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        err
    };
    let lines = |err: &str, n: usize| {
        err.lines()
            .filter(|l| l.starts_with(&format!("progress: executing {n}/6 (")))
            .count()
    };
    // The 6 pairs, in 3 batches.
    let err = exec(&[]);
    assert_eq!(
        (lines(&err, 0), lines(&err, 2), lines(&err, 6)),
        (1, 0, 1),
        "{err}"
    );
    // Again with -v, on a fresh project: a line per batch.
    let tmp2 = tempfile::tempdir().unwrap();
    let d2 = tmp2.path();
    teacher_and_student(d2, &he[..3], "    return None\n");
    let out = common::rrtf_cmd(d2, &["-v", "exec", "--batch", "2", "--timeout", "20"])
        .env("RRTF_PROGRESS_SECS", "100000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    // 2/6 and 4/6 after their batches; 6/6 after the last batch and at the end.
    assert_eq!(
        (lines(&err, 2), lines(&err, 4), lines(&err, 6)),
        (1, 1, 2),
        "{err}"
    );
}

/// A worker's first claim is at most 32 pairs (`exec_stage::FIRST_CLAIM`), each next at most
/// twice the last, up to `--batch`: two workers started together on a project smaller than a
/// few batches share it, instead of the first taking every pair and the second waiting. Seen
/// in the per-batch progress lines.
#[test]
fn a_worker_s_claims_ramp_up_to_a_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval();
    teacher_and_student(d, &he[..50], "    return None\n");
    let out = common::rrtf_cmd(d, &["-v", "exec", "--batch", "80", "--timeout", "20"])
        .env("RRTF_PROGRESS_SECS", "100000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let done: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("progress: executing "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    // The start, claims of 32, 64 (under the batch), 80 (the batch: the 4 left), the end.
    assert_eq!(
        done,
        ["0/100", "32/100", "96/100", "100/100", "100/100"],
        "{err}"
    );
}

/// `rrtf quickstart` keeps its database in its own directory: a database named with `--db` is
/// refused (exit 2, naming both), not silently ignored, before anything is written; one named
/// by `RRTF_DB` (set for other work) is said to be left aside.
#[test]
fn quickstart_refuses_a_database_named_on_its_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let named: [&[&str]; 2] = [
        &["--db", "elsewhere.db", "quickstart", "--dir", "qs"],
        &["quickstart", "--dir", "qs", "--db=elsewhere.db"],
    ];
    for args in named {
        let out = rrtf(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(
                "keeps its database in its directory (qs/rrtf.db), not in --db elsewhere.db"
            ),
            "{err}"
        );
        assert!(
            !d.join("qs").exists() && !d.join("elsewhere.db").exists(),
            "{args:?}"
        );
    }
    // `rrtf` (the tests' helper) sets RRTF_DB.
    let out = rrtf(d, &["quickstart", "--dir", "qs", "--until", "evolve"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "note: RRTF_DB ({}) is not used: the quickstart's database is qs/rrtf.db",
            common::database(d).display()
        )),
        "{err}"
    );
    assert!(d.join("qs/rrtf.db").is_file() && !d.join("rrtf.db").exists());
}
