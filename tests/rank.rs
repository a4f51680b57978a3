//! Ranking and review end to end through the `rrtf` binary: HumanEval's canonical solutions as a
//! teacher's responses, broken bodies as a student's. Executions are written through the store
//! (`common::fixture_executions`: the verdicts the executor gives these programs).

use crate::common;

use common::{fixture_executions, humaneval_teacher_and_student, ok_json, read_jsonl, rrtf};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn canonical_beats_broken_and_reviews_survive_a_rerank() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval_teacher_and_student(d, "    return None\n");

    let out = rrtf(d, &["rank"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "nothing executed yet is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("rrtf exec"));

    fixture_executions(&common::database(d), 164).await;
    let ranked = ok_json(d, &["--json", "rank"]);
    assert_eq!(ranked["prompts"], 164);
    assert_eq!(ranked["kept"], 164);
    assert_eq!(ranked["pairs"], 164);
    let st = ok_json(d, &["--json", "status"]);
    assert_eq!(
        (
            st["ranked_prompts"].as_i64(),
            st["pairs"].as_i64(),
            st["executions"].as_i64()
        ),
        (Some(164), Some(164), Some(328))
    );

    let rep = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "trl",
            "--out",
            "pairs.jsonl",
        ],
    );
    assert_eq!(rep["rows"], 164);
    let pairs = read_jsonl(&d.join("pairs.jsonl"));
    for (row, p) in pairs.iter().zip(&he) {
        assert_eq!(row["prompt"], p["prompt"]);
        assert_eq!(
            row["chosen"], p["canonical_solution"],
            "every pair prefers the canonical solution"
        );
        assert_eq!(row["rejected"], "    return None\n");
    }

    // An operator pins the broken answer of HumanEval/0 and excludes HumanEval/1.
    ok_json(
        d,
        &[
            "--json",
            "review",
            "pin",
            "HumanEval/0",
            "165",
            "--reason",
            "testing pins",
        ],
    );
    ok_json(d, &["--json", "review", "exclude", "HumanEval/1"]);
    let out = rrtf(d, &["review", "pin", "HumanEval/0", "2"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "response 2 answers another prompt"
    );

    // A review policy (issue 19 item 7): reasons required to pin; refused without one (also a
    // blank one), named in the message; notes cannot require one; `none` lifts it. Kept in
    // the database with who set it.
    let policy = ok_json(
        d,
        &[
            "--json",
            "review",
            "policy",
            "--require-reason",
            "pin,reorder",
            "--author",
            "lead",
        ],
    );
    assert_eq!(
        policy["policy"]["require_reason"],
        json!(["pin", "reorder"])
    );
    assert_eq!(policy["set_by"], "lead");
    // Blank, or only invisible: a zero-width space, a terminal escape.
    for reason in [None, Some("  "), Some("\u{200b}"), Some("\u{1b}[2J")] {
        let mut args = vec!["review", "pin", "HumanEval/0", "165", "--author", "ana"];
        if let Some(r) = reason {
            args.extend(["--reason", r]);
        }
        let out = rrtf(d, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{reason:?}: {err}");
        assert!(
            err.contains("requires a reason to pin") && err.contains("--reason"),
            "{err}"
        );
    }
    let out = rrtf(d, &["review", "policy", "--require-reason", "note"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a note's text is its reason"));
    let out = rrtf(d, &["review", "policy", "--require-reason", "pinn"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--require-reason pinn"));
    let shown = rrtf(d, &["review", "policy"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout)
            .contains("a reason is required to pin, reorder (set by lead at "),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
    let lifted = ok_json(
        d,
        &[
            "--json",
            "review",
            "policy",
            "--require-reason",
            "none",
            "--author",
            "lead",
        ],
    );
    assert_eq!(lifted["policy"]["require_reason"], json!([]));

    // Re-rank with another config: a new ranker, the old rankings kept, the reviews still apply.
    std::fs::write(d.join("r.toml"), "[ranking]\nteacher_epsilon = 0.2\n").unwrap();
    let again = ok_json(d, &["--json", "rank", "--config", "r.toml"]);
    assert_ne!(again["ranker"], ranked["ranker"]);
    ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "trl",
            "--out",
            "after.jsonl",
        ],
    );
    let after = read_jsonl(&d.join("after.jsonl"));
    assert_eq!(after.len(), 163);
    assert_eq!(
        after[0]["chosen"], "    return None\n",
        "the pin survives the re-rank"
    );
    assert_eq!(
        after[1]["prompt"], he[2]["prompt"],
        "the excluded prompt stays out"
    );
    let old = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "rrtf",
            "--out",
            "old.jsonl",
            "--ranker",
            ranked["ranker"].as_str().unwrap(),
        ],
    );
    assert_eq!(
        old["ranker"], ranked["ranker"],
        "the first ranking is still there"
    );

    let show = ok_json(d, &["--json", "review", "show", "HumanEval/0"]);
    assert_eq!(show["responses"][0]["model"], "canonical");
    assert_eq!(show["responses"][0]["outcome"], "pass");
    let comps: Value =
        serde_json::from_str(show["responses"][0]["components_json"].as_str().unwrap()).unwrap();
    assert_eq!(comps["outcome"], 1.0);
    assert_eq!(comps["teacher"], 0.2);
    assert_eq!(
        show["responses"][1]["first_failure"],
        "AssertionError: assert candidate(1) == 2"
    );
    assert_eq!(show["effective_order"], json!([165, 1]));
    assert_eq!(show["reviews"][0]["author"], "tester");

    let list = ok_json(d, &["--json", "review", "list", "--reviewed"]);
    assert_eq!(list["total"], 2);
    // Filters combine on the same response: every prompt has a failing response (the
    // student's), none a failing response of the teacher's.
    let total = |args: &[&str]| {
        let mut all = vec!["--json", "review", "list"];
        all.extend_from_slice(args);
        ok_json(d, &all)["total"].clone()
    };
    assert_eq!(total(&["--outcome", "test_failure"]), 164);
    assert_eq!(
        total(&["--teacher", "canonical", "--outcome", "test_failure"]),
        0
    );
    assert_eq!(total(&["--teacher", "canonical", "--outcome", "pass"]), 164);
    // A misspelt outcome is refused, not an empty list.
    let out = rrtf(d, &["review", "list", "--outcome", "compile-error"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--outcome compile-error") && err.contains("compile_error"),
        "{err}"
    );
    // Search covers prompt text (case-insensitive) and response text.
    assert_eq!(total(&["--search", "has_close_ELEMENTS"]), 1);
    assert_eq!(total(&["--search", "return None"]), 164);
    assert_eq!(total(&["--search", "no prompt says this"]), 0);
    let stats = ok_json(d, &["--json", "review", "stats"]);
    assert_eq!(stats["models"][0]["model"], "canonical");
    assert_eq!(stats["models"][0]["pass_rate"], 1.0);
    assert_eq!(stats["outcomes"]["test_failure"], 164);

    ok_json(d, &["--json", "report", "--out", "report.html"]);
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("canonical") && html.contains("Pairs per round")
    );
}

/// One execution of `response` against its prompt's test `test`.
fn execution(
    response: i64,
    test: i64,
    outcome: rrtf_store::Outcome,
    passed: i64,
    total: i64,
) -> rrtf_store::NewExecution {
    rrtf_store::NewExecution {
        response_id: response,
        test_id: test,
        outcome,
        tests_passed: passed,
        tests_total: total,
        first_failure: None,
        stderr_tail: None,
        wall_ms: Some(5),
        cpu_ms: Some(4),
        peak_rss_kb: Some(9000),
        executor_hash: "fixture".into(),
    }
}

/// Issue 15 points 1, 2, 3, 9, 19 and 20 through the binary: four HumanEval prompts, a teacher
/// (responses 1-4), a student (5-8) and a second student (9-12), with the executions below.
#[tokio::test(flavor = "multi_thread")]
async fn lexicographic_ranking_configured_pairs_and_honest_reviews() {
    use rrtf_store::Outcome::*;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = common::humaneval();
    let problems = &he[..4];
    // The student's answers are longer than the canonical ones the teacher gives: no length
    // penalty makes the teacher's partial pass look worse than it is.
    let body = format!("{}    return None\n", "    # padding\n".repeat(20));
    common::teacher_and_student(d, problems, &body);
    // The second student: the third prompt's answer draws lint findings, the others are plain.
    let second: Vec<Value> = problems
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let body = if i == 2 {
                "    return eval('None')  # noqa\n"
            } else {
                "    return 0\n"
            };
            json!({"task_id": p["task_id"], "completion": body})
        })
        .collect();
    common::write_jsonl(&d.join("second.jsonl"), &second);
    ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "second.jsonl",
            "--model",
            "second",
            "--role",
            "student",
        ],
    );
    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    store
        .insert_executions(&[
            // 1: a teacher's 13/14 against a student's 14/14.
            execution(1, 1, Partial, 13, 14),
            execution(5, 1, Pass, 14, 14),
            execution(9, 1, TestFailure, 0, 14),
            // 2: a student that passed 9 of 10 tests, then hung.
            execution(2, 2, Pass, 10, 10),
            execution(6, 2, Timeout, 9, 10),
            execution(10, 2, TestFailure, 0, 10),
            // 3: two passing students that differ only by heuristics.
            execution(3, 3, Pass, 3, 3),
            execution(7, 3, Pass, 3, 3),
            execution(11, 3, Pass, 3, 3),
            // 4: the teacher passes, both students fail.
            execution(4, 4, Pass, 3, 3),
            execution(8, 4, TestFailure, 0, 3),
            execution(12, 4, TestFailure, 0, 3),
        ])
        .await
        .unwrap();
    // The exec stage stores a completion prompt's program: the prompt, then the completion.
    let program = format!(
        "{}{}",
        problems[3]["prompt"].as_str().unwrap(),
        problems[3]["canonical_solution"].as_str().unwrap()
    );
    store.set_response_code(&[(4, program)]).await.unwrap();
    store.close().await;
    std::fs::write(
        d.join("r.toml"),
        "[ranking]\npairs = \"best-vs-each\"\n[ranking.filters]\nteacher_below_student = false\n",
    )
    .unwrap();
    let ranked = ok_json(d, &["--json", "rank", "--config", "r.toml"]);
    assert_eq!(ranked["kept"], 4, "{ranked}");

    let groups = |file: &str, extra: &[&str]| {
        let mut args = vec!["--json", "export", "--format", "rrtf", "--out", file];
        args.extend(extra);
        ok_json(d, &args);
        read_jsonl(&d.join(file))
    };
    let g = groups("g.jsonl", &[]);
    let ids = |row: &Value| -> Vec<i64> {
        row["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["response_id"].as_i64().unwrap())
            .collect()
    };
    // Point 1: the student's 14/14 ranks above the teacher's 13/14, and scores agree.
    assert_eq!(ids(&g[0]), [5, 1, 9]);
    let scores = g[0]["scores"].as_array().unwrap();
    assert!(scores[0].as_f64() > scores[1].as_f64(), "{}", g[0]);
    // Point 9: 9/10 then a timeout is a partial pass, above a clean failure, limit noted.
    assert_eq!(ids(&g[1]), [2, 6, 10]);
    assert_eq!(g[1]["details"][1]["outcome"], "partial");
    assert_eq!(g[1]["details"][1]["components"]["limit"], "timeout");
    // Point 2: the configured strategy (best-vs-each) is each row's `pairs`.
    for row in &g {
        assert_eq!(row["pairs"], json!([[0, 1], [0, 2]]), "{row}");
        assert!(row["lineage"].as_str().is_some_and(|l| l.len() == 64));
    }
    let trl = |file: &str, extra: &[&str]| {
        let mut args = vec!["--json", "export", "--format", "trl", "--out", file];
        args.extend(extra);
        ok_json(d, &args);
        read_jsonl(&d.join(file))
    };
    let pairs_of = |rows: &[Value], prompt: &Value| -> Vec<(i64, i64)> {
        rows.iter()
            .filter(|r| r["prompt"] == *prompt)
            .map(|r| {
                (
                    r["chosen_id"].as_i64().unwrap(),
                    r["rejected_id"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let rows = trl("t.jsonl", &[]);
    assert_eq!(pairs_of(&rows, &problems[1]["prompt"]), [(2, 6), (2, 10)]);
    // Point 3: the two passing students tie; even `--pairs all` pairs them with nobody.
    let rows = trl("all.jsonl", &["--pairs", "all"]);
    let mut all = pairs_of(&rows, &problems[2]["prompt"]);
    all.sort();
    assert_eq!(all, [(3, 7), (3, 11)]);
    // Point 19: `--text code` does not repeat a completion prompt.
    let rows = trl("code.jsonl", &["--text", "code"]);
    let row = rows.iter().find(|r| r["chosen_id"] == 4).unwrap();
    assert_eq!(row["chosen"], problems[3]["canonical_solution"]);

    // Point 20: a pin keeps every response's own score and says who pinned.
    let before: Vec<(i64, f64)> = g[3]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["response_id"].as_i64().unwrap(),
                x["ranker_score"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(before.iter().map(|b| b.0).collect::<Vec<_>>(), [4, 8, 12]);
    ok_json(
        d,
        &[
            "--json",
            "review",
            "pin",
            problems[3]["task_id"].as_str().unwrap(),
            "8",
        ],
    );
    ok_json(
        d,
        &[
            "--json",
            "review",
            "exclude",
            problems[2]["task_id"].as_str().unwrap(),
        ],
    );
    let g = groups("pinned.jsonl", &[]);
    assert_eq!(g.len(), 3, "the excluded prompt stays out");
    let pinned = &g[2];
    assert_eq!(ids(pinned), [8, 4, 12]);
    let own: Vec<f64> = pinned["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    let score_of = |id: i64| before.iter().find(|b| b.0 == id).unwrap().1;
    assert_eq!(
        own,
        [score_of(8), score_of(4), score_of(12)],
        "scores follow their responses"
    );
    assert!(own[1] > own[0], "{own:?}");
    assert_eq!(pinned["pinned_by"], "tester");
    assert_eq!(pinned["pairs"], json!([[0, 1], [0, 2]]));
    let rows = trl("pinned-trl.jsonl", &[]);
    let row = rows.iter().find(|r| r["chosen_id"] == 8).unwrap();
    assert_eq!(
        (&row["preference"], &row["pinned_by"]),
        (&json!("review"), &json!("tester"))
    );
    // Excluded prompts show as excluded in `review list`.
    let list = ok_json(d, &["--json", "review", "list", "--status", "excluded"]);
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["prompts"][0]["source_id"], problems[2]["task_id"]);
    assert_eq!(list["prompts"][0]["excluded"], true);
    let kept = ok_json(d, &["--json", "review", "list", "--status", "kept"]);
    assert_eq!(kept["total"], 3);
    let out = rrtf(d, &["review", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(problems[2]["task_id"].as_str().unwrap()))
        .unwrap();
    assert!(line.contains("excluded"), "{text}");
}

/// Issue 19 item 6: exports as the ecosystem reads them. `--hf-dataset` writes a Hugging Face
/// dataset directory (data file, card with the licence, manifest) in every format, TRL's
/// conversational format and LLaMA-Factory's ShareGPT format carry a system message, and
/// `datasets.load_dataset(DIR)` (the real library; CI installs it) reads every one with the
/// rows rrtf reports.
#[tokio::test(flavor = "multi_thread")]
async fn exports_are_hugging_face_datasets_in_trl_and_sharegpt_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval_teacher_and_student(d, "    return None\n");
    fixture_executions(&common::database(d), 164).await;
    ok_json(d, &["--json", "rank"]);
    let system = "You write correct Python.";

    let chat = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "trl-chat",
            "--hf-dataset",
            "--data-format",
            "jsonl",
            "--out",
            "ds/trl-chat",
            "--system",
            system,
            "--license",
            "apache-2.0",
        ],
    );
    assert_eq!(chat["rows"], 164, "{chat}");
    let dir = d.join("ds/trl-chat");
    let rows = read_jsonl(&dir.join("data/train-00000-of-00001.jsonl"));
    assert_eq!(rows.len(), 164);
    assert_eq!(
        rows[0]["prompt"],
        json!([{"role": "system", "content": system}, {"role": "user", "content": he[0]["prompt"]}])
    );
    assert_eq!(
        rows[0]["chosen"],
        json!([{"role": "assistant", "content": he[0]["canonical_solution"]}])
    );
    assert_eq!(
        rows[0]["rejected"],
        json!([{"role": "assistant", "content": "    return None\n"}])
    );
    let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(card.starts_with("---\nlicense: apache-2.0\n"), "{card}");
    assert!(
        card.contains("path: data/train-*.jsonl")
            && card.contains(&format!(
                "| ranker config hash | `{}` |",
                chat["ranker"].as_str().unwrap()
            ))
            && card.contains("| rows | 164 |")
            && card.contains("| system message | `You write correct Python.` |"),
        "{card}"
    );
    assert!(dir.join("rrtf-manifest.json").is_file());

    let share = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "sharegpt",
            "--hf-dataset",
            "--data-format",
            "jsonl",
            "--out",
            "ds/sharegpt",
            "--system",
            system,
        ],
    );
    assert_eq!(share["rows"], 164);
    let rows = read_jsonl(&d.join("ds/sharegpt/data/train-00000-of-00001.jsonl"));
    assert_eq!(
        (
            &rows[0]["conversations"],
            &rows[0]["chosen"],
            &rows[0]["system"]
        ),
        (
            &json!([{"from": "human", "value": he[0]["prompt"]}]),
            &json!({"from": "gpt", "value": he[0]["canonical_solution"]}),
            &json!(system)
        )
    );
    let info: Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("ds/sharegpt/dataset_info.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(info["sharegpt"]["formatting"], "sharegpt");
    assert_eq!(
        info["sharegpt"]["file_name"],
        "data/train-00000-of-00001.jsonl"
    );
    assert_eq!(info["sharegpt"]["columns"]["messages"], "conversations");

    // A dataset directory cannot be written over a file.
    std::fs::write(d.join("a-file"), "").unwrap();
    let out = rrtf(
        d,
        &[
            "export",
            "--format",
            "trl",
            "--hf-dataset",
            "--out",
            "a-file",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--out a-file: a file, but --hf-dataset")
    );
    // --system is refused where no format has a place for it.
    let out = rrtf(
        d,
        &[
            "export", "--format", "trl", "--out", "x.jsonl", "--system", system,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--system is for the chat formats"));
    // So are --pairs and --min-gap for kto, which exports no pairs.
    for extra in [["--pairs", "all"], ["--min-gap", "0.5"]] {
        let mut args = vec!["export", "--format", "kto", "--out", "k.jsonl"];
        args.extend(extra);
        let out = rrtf(d, &args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("kto exports no pairs"), "{err}");
        assert!(!d.join("k.jsonl").exists());
    }

    // The directory's default data file is Parquet (as on the Hub); the same rows as JSON
    // Lines (the real `datasets` compares them below).
    let parquet = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "trl-chat",
            "--hf-dataset",
            "--out",
            "ds/trl-chat-parquet",
            "--system",
            system,
            "--license",
            "apache-2.0",
        ],
    );
    assert_eq!(parquet["rows"], 164, "{parquet}");
    let pq = d.join("ds/trl-chat-parquet");
    let magic = std::fs::read(pq.join("data/train-00000-of-00001.parquet")).unwrap();
    assert!(magic.starts_with(b"PAR1") && magic.ends_with(b"PAR1"));
    assert!(!pq.join("data/train-00000-of-00001.jsonl").exists());
    let card = std::fs::read_to_string(pq.join("README.md")).unwrap();
    assert!(card.contains("path: data/train-*.parquet"), "{card}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(pq.join("rrtf-manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["data_format"], "parquet", "{manifest}");
    assert_eq!(manifest["files"][0]["rows"], 164, "{manifest}");
    // A plain file ending in .parquet is Parquet too; --data-format names the bad value.
    let file = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "rrtf",
            "--out",
            "listwise.parquet",
        ],
    );
    assert_eq!(file["rows"], 164, "{file}");
    assert!(
        std::fs::read(d.join("listwise.parquet"))
            .unwrap()
            .starts_with(b"PAR1")
    );
    let out = rrtf(
        d,
        &[
            "export",
            "--format",
            "trl",
            "--out",
            "x.jsonl",
            "--data-format",
            "csv",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected jsonl or parquet"));

    let mut expected = vec![
        ("trl-chat", 164),
        ("sharegpt", 164),
        ("trl-chat-parquet", 164),
    ];
    for (format, rows) in [
        ("trl", 164),
        ("llama-factory", 164),
        ("kto", 328),
        ("rrtf", 164),
    ] {
        let r = ok_json(
            d,
            &[
                "--json",
                "export",
                "--format",
                format,
                "--hf-dataset",
                "--out",
                &format!("ds/{format}"),
            ],
        );
        assert_eq!(r["rows"], rows, "{format}: {r}");
        expected.push((format, rows));
    }

    // The real `datasets` library reads each directory as it is.
    let has_datasets = std::process::Command::new("python3")
        .args(["-c", "import datasets"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_datasets
        && !common::missing(
            "the Python `datasets` package (python3 -m pip install --break-system-packages datasets)",
        )
    {
        return;
    }
    let script = "import datasets, json, sys\n\
                  out = {}\n\
                  rows = {}\n\
                  for name in sys.argv[2:]:\n\
                  \x20   ds = datasets.load_dataset(sys.argv[1] + '/' + name, split='train')\n\
                  \x20   out[name] = [ds.num_rows, sorted(ds.features)]\n\
                  \x20   rows[name] = ds.to_list()\n\
                  out['same'] = rows['trl-chat'] == rows['trl-chat-parquet']\n\
                  print(json.dumps(out))\n";
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", script, &s_path(&d.join("ds"))])
        .args(expected.iter().map(|(f, _)| *f))
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HOME", d.join("hf-home"));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (format, rows) in expected {
        assert_eq!(loaded[format][0], rows, "{format}: {loaded}");
    }
    assert_eq!(
        loaded["same"], true,
        "the Parquet and JSON Lines exports load as different rows"
    );
    assert!(
        loaded["trl-chat"][1]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "chosen"),
        "{loaded}"
    );
}

fn s_path(p: &std::path::Path) -> String {
    p.display().to_string()
}
