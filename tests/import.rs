//! `rrtf import responses` of answers to completion-style prompts (issue 15 point 18): chat
//! answers (prose and a fenced whole function) are judged as answers, not glued after the
//! prompt, by the rule the sampler uses (`rrtf_exec::answer::stored_code`); `--kind` forces
//! it, and a row's `code` field is the code itself.

use crate::common;

use common::{humaneval, ok_json, write_jsonl};
use serde_json::json;

fn whole_function(p: &serde_json::Value) -> String {
    format!(
        "{}{}",
        p["prompt"].as_str().unwrap(),
        p["canonical_solution"].as_str().unwrap()
    )
}

#[test]
fn chat_answers_to_completion_prompts_run_as_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval();
    write_jsonl(&d.join("he.jsonl"), &he[..3]);
    ok_json(d, &["--json", "init"]);
    ok_json(d, &["--json", "import", "prompts", "he.jsonl"]);
    // HumanEval/0's function with no typing import: the prompt's is put in front.
    let chat = format!(
        "Sure! Here is the function:\n\n```python\n{}```\n\nIt compares every pair.",
        whole_function(&he[0]).replace("from typing import List\n", "")
    );
    write_jsonl(
        &d.join("answers.jsonl"),
        &[
            json!({"task_id": "HumanEval/0", "response": chat}),
            json!({"task_id": "HumanEval/1", "completion": he[1]["canonical_solution"]}),
            json!({"task_id": "HumanEval/2", "response": "See the code field.", "code": whole_function(&he[2])}),
        ],
    );
    let report = ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "answers.jsonl",
            "--model",
            "teacher",
            "--role",
            "teacher",
        ],
    );
    assert_eq!(
        report["completion_answers"],
        json!({"chat": 1, "completion": 1, "code_given": 1}),
        "{report}"
    );
    // The same chat answer said to be a continuation: glued after the prompt, as before.
    write_jsonl(
        &d.join("forced.jsonl"),
        &[json!({"task_id": "HumanEval/0", "response": chat})],
    );
    let forced = ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "forced.jsonl",
            "--model",
            "forced",
            "--role",
            "teacher",
            "--kind",
            "completion",
        ],
    );
    assert_eq!(forced["completion_answers"]["completion"], 1, "{forced}");

    let exec = ok_json(d, &["--json", "exec", "--timeout", "20"]);
    assert_eq!(exec["executed"], 4, "{exec}");
    assert_eq!(exec["outcomes"]["pass"], 3, "{exec}");
    assert_eq!(exec["outcomes"]["compile_error"], 1, "{exec}");
    let show = ok_json(d, &["--json", "review", "show", "HumanEval/0"]);
    let chat_code = show["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "teacher")
        .and_then(|r| r["code"].as_str())
        .unwrap()
        .to_owned();
    assert!(
        chat_code.starts_with("from typing import List\n") && !chat_code.contains("```"),
        "{chat_code}"
    );
}

#[test]
fn every_canonical_humaneval_body_is_judged_a_continuation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval();
    write_jsonl(&d.join("he.jsonl"), &he);
    ok_json(d, &["--json", "init"]);
    ok_json(d, &["--json", "import", "prompts", "he.jsonl"]);
    let bodies: Vec<_> = he
        .iter()
        .map(|p| json!({"task_id": p["task_id"], "completion": p["canonical_solution"]}))
        .collect();
    write_jsonl(&d.join("bodies.jsonl"), &bodies);
    let report = ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "bodies.jsonl",
            "--model",
            "c",
            "--role",
            "teacher",
        ],
    );
    assert_eq!(
        report["completion_answers"],
        json!({"chat": 0, "completion": 164, "code_given": 0}),
        "{report}"
    );
}
