//! Decontamination end to end (issue 15 point 16): `rrtf decontaminate` eliminates prompts
//! whose text, paraphrase, reference or tests leak a benchmark problem and responses that
//! reproduce a canonical solution, stores why, lists it in `rrtf status`, never executes what it
//! eliminated, and `rrtf import prompts` of a benchmark file itself warns and marks it.

use crate::common;

use common::{humaneval, humaneval_path, ok_json, rrtf, write_jsonl};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decontaminate_eliminates_leaks_keeps_the_rest_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval();
    let (prompt0, solution0) = (
        he[0]["prompt"].as_str().unwrap(),
        he[0]["canonical_solution"].as_str().unwrap(),
    );
    ok_json(d, &["--json", "init"]);
    write_jsonl(
        &d.join("seeds.jsonl"),
        &[
            json!({"id": "clean", "instruction": "Write a function factorial(n) that returns n! for a non-negative integer n.",
                   "tests": "def check(candidate):\n    assert candidate(3) == 6\n    assert candidate(0) == 1\n", "entry_point": "factorial"}),
            json!({"id": "copy", "instruction": "Solve this task. Check if in given list of numbers, are any two numbers closer to each other than given threshold."}),
            json!({"id": "paraphrase", "instruction": "Given a list of float numbers and a threshold, check whether any two numbers in the list are closer to each other than the threshold. Implement has_close_elements(numbers: List[float], threshold: float) -> bool."}),
            json!({"id": "leaky-test", "instruction": "Write a function near(xs, t) that says whether two values of xs differ by less than t.",
                   "tests": he[0]["test"], "entry_point": "near"}),
            json!({"id": "leaky-reference", "instruction": "Write a function that tells whether two values of a list are within t of each other.",
                   "output": format!("{prompt0}{solution0}")}),
        ],
    );
    ok_json(d, &["--json", "import", "prompts", "seeds.jsonl"]);

    // Nothing to check against: exit 2 naming the fix.
    let none = rrtf(d, &["decontaminate"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--benchmark FILE"));

    let bench = humaneval_path();
    let bench = bench.to_str().unwrap();
    let first = ok_json(d, &["--json", "decontaminate", "--benchmark", bench]);
    assert_eq!(first["benchmarks"]["problems"], 164, "{first}");
    assert_eq!(first["prompts"]["prompts_checked"], 5, "{first}");
    assert_eq!(first["prompts"]["prompts_eliminated"], 4, "{first}");

    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    let pool = store.prompt_pool().await.unwrap();
    let reason = |sid: &str| {
        let p = pool.iter().find(|p| p.source_id == sid).unwrap();
        (
            p.status.clone(),
            p.status_reason.clone().unwrap_or_default(),
        )
    };
    assert_eq!(reason("clean").0, "kept");
    for (sid, why) in [
        ("copy", "(ngram, text)"),
        ("paraphrase", "(minhash, text): Jaccard 0."),
        ("leaky-test", "(ngram, test "),
        ("leaky-reference", "(ngram, reference)"),
    ] {
        let (status, r) = reason(sid);
        assert_eq!(status, "eliminated", "{sid}");
        assert!(
            r.starts_with("contaminated: HumanEval.jsonl.gz:HumanEval/0 ") && r.contains(why),
            "{sid}: {r}"
        );
    }
    store.close().await;

    // `rrtf status` lists what was removed, per method and benchmark, and the reasons.
    let status = ok_json(d, &["--json", "status"]);
    let lines = status["contamination"].as_array().unwrap();
    let count = |method: &str| {
        lines
            .iter()
            .find(|l| l["method"] == method && l["item"] == "prompt")
            .map_or(0, |l| l["count"].as_i64().unwrap())
    };
    assert_eq!((count("ngram"), count("minhash")), (3, 1), "{status}");
    assert!(lines.iter().all(|l| l["benchmark"] == "HumanEval.jsonl.gz"));
    assert_eq!(status["contaminated"].as_array().unwrap().len(), 4);
    assert_eq!(status["prompts_eliminated"], 4);
    let text = rrtf(d, &["status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("decontamination:")
            && text.contains("eliminated 3 prompt(s) (ngram, HumanEval.jsonl.gz)"),
        "{text}"
    );

    // Responses: one reproduces HumanEval/0's canonical solution, one does not.
    write_jsonl(
        &d.join("answers.jsonl"),
        &[
            json!({"task_id": "clean", "response": format!("```python\n{prompt0}{solution0}```")}),
            json!({"task_id": "clean", "response": "```python\ndef factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)\n```"}),
        ],
    );
    ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "answers.jsonl",
            "--model",
            "t",
            "--role",
            "teacher",
        ],
    );
    let again = ok_json(d, &["--json", "decontaminate", "--benchmark", bench]);
    assert_eq!(
        again["prompts"]["prompts_checked"], 1,
        "idempotent: {again}"
    );
    assert_eq!(again["prompts"]["prompts_eliminated"], 0, "{again}");
    assert_eq!(again["responses"]["responses_checked"], 2, "{again}");
    assert_eq!(again["responses"]["responses_eliminated"], 1, "{again}");
    // What was eliminated is never executed.
    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    let pending = store.pending_executions(None, None).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(pending[0].raw_text.contains("factorial(n - 1)"));
    store.close().await;

    ok_json(d, &["--json", "exec", "--timeout", "20"]);
    // An answer executed before decontamination found it is eliminated all the same, and
    // ranking never sees it.
    write_jsonl(
        &d.join("late.jsonl"),
        &[
            json!({"task_id": "clean", "response": format!("Copied:\n```python\n{prompt0}{solution0}```")}),
        ],
    );
    ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "late.jsonl",
            "--model",
            "late",
            "--role",
            "teacher",
        ],
    );
    assert_eq!(
        ok_json(d, &["--json", "exec", "--timeout", "20"])["executed"],
        1
    );
    let late = ok_json(d, &["--json", "decontaminate", "--benchmark", bench]);
    assert_eq!(late["responses"]["responses_eliminated"], 1, "{late}");
    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    let inputs = store.rank_inputs(None).await.unwrap();
    assert_eq!(inputs.len(), 1, "only the clean prompt is ranked");
    assert_eq!(inputs[0].candidates.len(), 1, "{:?}", inputs[0].candidates);
    assert!(
        inputs[0].candidates[0]
            .raw_text
            .contains("factorial(n - 1)")
    );
    store.close().await;

    // The report lists what was removed and why.
    ok_json(d, &["--json", "rank"]);
    ok_json(d, &["--json", "report", "--out", "report.html"]);
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    let section = html
        .split("id=\"decontamination\"")
        .nth(1)
        .expect("a section");
    assert!(
        section.contains("<td>minhash</td>")
            && section.contains("HumanEval.jsonl.gz:HumanEval/0")
            && section.contains("seeds:leaky-test"),
        "{section}"
    );

    // Importing the benchmark itself as training prompts warns and marks every prompt.
    let out = rrtf(d, &["--json", "import", "prompts", bench]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("itself") && stderr.contains("marked"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let overlap = &report["benchmark_overlap"];
    assert_eq!(overlap["marked"], 164, "{report}");
    assert!(
        overlap["benchmark"]
            .as_str()
            .unwrap()
            .ends_with("tests/data/HumanEval.jsonl.gz"),
        "{overlap}"
    );
    let status = ok_json(d, &["--json", "status"]);
    let marked: i64 = status["contamination"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == "marked")
        .map(|l| l["count"].as_i64().unwrap())
        .sum();
    assert_eq!(marked, 164, "{status}");
}
