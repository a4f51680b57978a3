//! Ranking and review end to end through the `rrtf` binary: HumanEval's canonical solutions as a
//! teacher's responses, broken bodies as a student's. Executions are written through the store
//! (`common::fixture_executions`: the verdicts the executor gives these programs).

mod common;

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

    fixture_executions(&d.join("rrtf.db"), 164).await;
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
