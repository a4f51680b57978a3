//! `rrtf synth-tests` end to end against a scripted teacher on 127.0.0.1: checked tests are
//! stored, then validated by running them in the sandbox (against a stub and twice against the
//! teacher's reference); each static and dynamic rule rejects what it should, with the reason
//! stored; only valid tests are executed by `rrtf exec`; a re-run asks nothing again; a test
//! that executed responses all fail is flagged; and the round budget covers synth-tests too.

use crate::common;

use std::sync::Arc;

use common::{ok_json, rrtf};
use rrtf_llm::testserver::{Reply, Request, TestServer};

/// (source id, function the task asks for, the teacher's answer, expected state, reason part)
fn cases() -> Vec<(
    &'static str,
    &'static str,
    String,
    &'static str,
    &'static str,
)> {
    let fence = |body: &str| format!("```python\n{body}```\n");
    let with_ref = |tests: &str, reference: &str| {
        format!(
            "Tests:\n{}\nReference solution:\n{}",
            fence(tests),
            fence(reference)
        )
    };
    // 20 asserts that each pass half the time: two runs agree with probability 2^-20.
    let coin_flips: String = (0..20)
        .map(|i| format!("    assert candidate(2, {i}) == 2 ** {i} and random.random() < 0.5\n"))
        .collect();
    vec![
        (
            "1",
            "add",
            with_ref(
                "# entry_point: add\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) == 0\n    assert candidate(-1, 1) == 0\n",
                "def add(a, b):\n    return a + b\n",
            ),
            "valid",
            "the reference solution passes 3/3 tests",
        ),
        (
            "2",
            "sub",
            fence("# entry_point: sub\ndef check(candidate):\n    assert True\n"),
            "invalid",
            "trivially true: `assert True` does not call candidate",
        ),
        (
            "3",
            "mul",
            "Sorry, I can't.".into(),
            "invalid",
            "no code block in the answer",
        ),
        // Passes the static checks (every assert calls candidate), but a stub passes it too.
        (
            "4",
            "div",
            with_ref(
                "# entry_point: div\ndef check(candidate):\n    assert candidate(4, 2) == candidate(4, 2)\n    assert candidate(1, 1) == candidate(1, 1)\n",
                "def div(a, b):\n    return a / b\n",
            ),
            "invalid",
            "trivially true: a stub returning None passes all 2 tests",
        ),
        (
            "5",
            "power",
            with_ref(
                &format!(
                    "# entry_point: power\nimport random\n\ndef check(candidate):\n{coin_flips}"
                ),
                "def power(a, b):\n    return a ** b\n",
            ),
            "invalid",
            "not deterministic: two runs against the reference gave per-test results",
        ),
        (
            "6",
            "neg",
            with_ref(
                "# entry_point: neg\ndef check(candidate):\n    assert candidate(1) == -1\n    assert candidate(2 == -2\n",
                "def neg(x):\n    return -x\n",
            ),
            "invalid",
            "does not parse: the test itself does not compile: SyntaxError",
        ),
        (
            "7",
            "absval",
            fence("# entry_point: absval\ndef check(candidate):\n    assert candidate(-3) == 3\n"),
            "invalid",
            "not checkable: no reference solution",
        ),
        // The reference does not run: the tests cannot be judged.
        (
            "8",
            "half",
            with_ref(
                "# entry_point: half\ndef check(candidate):\n    assert candidate(4) == 2\n",
                "def half(x):\n    return x //\n",
            ),
            "invalid",
            "not checkable: the tests did not run against the reference solution (compile_error",
        ),
    ]
}

fn teacher() -> rrtf_llm::testserver::Script {
    let cases = cases();
    Arc::new(move |r: &Request| {
        let text = r.body["messages"][0]["content"].as_str().unwrap();
        let task = text.split("Task:\n").nth(1).unwrap();
        let answer = cases
            .iter()
            .find(|c| task.contains(&format!("Write {}(", c.1)))
            .map(|c| c.2.clone())
            .unwrap();
        Reply::ok(answer)
    })
}

/// Import `rows` (JSON lines: task_id, completion) as the student `s`'s answers and execute
/// them: `rrtf exec`'s summary.
fn student_answers_executed(d: &std::path::Path, rows: &str) -> serde_json::Value {
    std::fs::write(d.join("r.jsonl"), rows).unwrap();
    ok_json(
        d,
        &[
            "--json",
            "import",
            "responses",
            "r.jsonl",
            "--model",
            "s",
            "--role",
            "student",
        ],
    );
    ok_json(d, &["--json", "exec", "--timeout", "20"])
}

fn import_tasks(d: &std::path::Path) {
    let lines: Vec<String> = cases()
        .iter()
        .map(|(id, name, ..)| {
            serde_json::json!({"id": id, "instruction": format!("Write {name}(...)."), "input": "", "output": ""})
                .to_string()
        })
        .collect();
    std::fs::write(d.join("p.jsonl"), lines.join("\n")).unwrap();
    ok_json(d, &["--json", "import", "prompts", "p.jsonl"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_are_checked_validated_by_running_them_and_stored_with_their_state() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = TestServer::start(teacher()).await;
    ok_json(d, &["--json", "init"]);
    import_tasks(d);
    let cfg = format!(
        "[[teachers]]\nname = \"t\"\nbase_url = \"{}\"\nmodel = \"m\"\n\n[test_synthesis]\nteacher = \"t\"\n",
        server.url()
    );
    std::fs::write(d.join("round.toml"), cfg).unwrap();

    let s = ok_json(d, &["--json", "synth-tests", "--config", "round.toml"]);
    assert_eq!(s["prompts_without_tests"], 8);
    assert_eq!(s["stored"], 8, "{s}");
    assert_eq!(s["invalid"]["trivially true"], 1, "{s}");
    assert_eq!(s["invalid"]["no code block in the answer"], 1, "{s}");
    let v = &s["validation"];
    assert_eq!(v["validated"], 6, "{s}");
    assert_eq!(v["valid"], 1, "{s}");
    for (label, n) in [
        ("trivially true", 1),
        ("not deterministic", 1),
        ("does not parse", 1),
        ("not checkable", 2),
    ] {
        assert_eq!(v["rejected"][label], n, "{label}: {s}");
    }
    assert_eq!(s["synthesized_tests"]["valid"], 1);
    assert_eq!(s["synthesized_tests"]["invalid"], 7);
    // The ledger has the teacher's 8 requests of this stage.
    let lines = s["round_requests"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{s}");
    assert_eq!(
        (
            &lines[0]["stage"],
            &lines[0]["teacher"],
            &lines[0]["requests"]
        ),
        (&"synth-tests".into(), &"t".into(), &8.into())
    );

    // Each test's state and reason, with its origin: the teacher and this run.
    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    for (id, name, _, state, reason) in cases() {
        let detail = store.prompt_detail(id, None).await.unwrap();
        assert_eq!(detail.tests.len(), 1, "{name}");
        let t = &detail.tests[0];
        assert_eq!(
            (t.origin.as_str(), t.validation.as_str()),
            ("synthesized", state),
            "{name}: {t:?}"
        );
        let why = t.validation_detail.as_deref().unwrap_or("");
        assert!(
            why.starts_with(reason),
            "{name}: {why:?}, wanted {reason:?}"
        );
    }
    store.close().await;

    // Nothing is asked again, and nothing is validated twice.
    let n = server.requests().len();
    let again = ok_json(d, &["--json", "synth-tests", "--config", "round.toml"]);
    assert_eq!(again["prompts_without_tests"], 0);
    assert_eq!(again["validation"]["validated"], 0);
    assert_eq!(server.requests().len(), n);

    // Responses to `add` and to `div`: only the valid test (add's) is executed. The add
    // response fails one of its asserts: no response passes, so the test is flagged.
    let exec = student_answers_executed(
        d,
        "{\"task_id\": \"1\", \"completion\": \"def add(a, b):\\n    return a - b\\n\"}\n\
         {\"task_id\": \"4\", \"completion\": \"def div(a, b):\\n    return a / b\\n\"}\n",
    );
    assert_eq!(
        exec["executed"], 1,
        "only the valid test runs, not the rejected ones: {exec}"
    );
    assert_eq!(exec["outcomes"]["partial"], 1, "{exec}");
    let flagged = ok_json(d, &["--json", "synth-tests", "--config", "round.toml"]);
    assert_eq!(flagged["flagged_now"], 1, "{flagged}");
    assert_eq!(flagged["synthesized_tests"]["flagged"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_round_budget_covers_synth_tests_and_carries_over_to_sampling() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Short answers (stored as invalid: nothing to validate).
    let server = TestServer::start(Arc::new(|_: &Request| Reply::ok("Sorry, I can't."))).await;
    ok_json(d, &["--json", "init"]);
    import_tasks(d);
    // At $1 per 1k tokens, a synth request (a prompt of ~780 characters, ~195 tokens) costs
    // ~$0.2 and reserves ~$1.0 with max_tokens = 800: the $1.1 budget pays for one, not two.
    // A student request reserves ~$0.95 (max_tokens = 950): it would fit in the budget alone,
    // not after the synth request's spend.
    let cfg = |budget: &str| {
        format!(
            "[round]\nnumber = 2\n\n[[teachers]]\nname = \"t\"\nbase_url = \"{url}\"\nmodel = \"m\"\n\
             concurrency = 1\nmax_tokens = 800\nprice_per_1k_input = 1.0\nprice_per_1k_output = 1.0\n\n\
             [student]\nname = \"stu\"\nbase_url = \"{url}\"\nmodel = \"s\"\nmax_tokens = 950\n\
             price_per_1k_input = 1.0\nprice_per_1k_output = 1.0\n\n\
             [test_synthesis]\nteacher = \"t\"\n\n[sampling]\nbudget_usd = {budget}\n",
            url = server.url()
        )
    };
    std::fs::write(d.join("round.toml"), cfg("1.1")).unwrap();
    let out = rrtf(d, &["--json", "synth-tests", "--config", "round.toml"]);
    assert_eq!(out.status.code(), Some(1), "stops at the budget");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[sampling] budget_usd = 1.1")
            && stderr.contains("raise budget_usd in round.toml"),
        "{stderr}"
    );
    assert_eq!(
        (s["stored"].as_u64(), s["unsent"].as_u64()),
        (Some(1), Some(7)),
        "{s}"
    );
    assert_eq!(server.requests().len(), 1);
    let spent = s["round_spent_usd"].as_f64().unwrap();
    assert!(spent > 0.15 && spent < 0.25, "{s}");

    // The spend is in the ledger: sampling in the same round starts from it and stops at once.
    let sample = ok_json(
        d,
        &[
            "--json",
            "sample",
            "--config",
            "round.toml",
            "--only",
            "stu",
        ],
    );
    assert_eq!(sample["endpoints"][0]["stopped"], "budget", "{sample}");
    assert_eq!(sample["stored"], 0);
    assert_eq!(server.requests().len(), 1);
    let status = ok_json(d, &["--json", "status"]);
    let lines = status["requests"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{status}");
    assert_eq!(lines[0]["round"], 2);
    assert_eq!(lines[0]["stage"], "synth-tests");
    assert_eq!(lines[0]["teacher"], "t");
    assert_eq!(lines[0]["requests"], 1);
    assert!((lines[0]["cost_usd"].as_f64().unwrap() - spent).abs() < 1e-9);

    // Raised, the budget lets the rest through; only the missing prompts are asked.
    std::fs::write(d.join("round.toml"), cfg("100")).unwrap();
    let s = ok_json(d, &["--json", "synth-tests", "--config", "round.toml"]);
    assert_eq!(s["prompts_without_tests"], 7, "{s}");
    assert_eq!(server.requests().len(), 8);
}

/// Issue 20 item 3: a prompt in another language gets that language's test template, its
/// answer is checked on HumanEval-X's shape of that language, validated by running the tests
/// twice against the teacher's reference in that language, and the valid tests then count a
/// response's checks one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_in_other_languages_are_written_checked_and_validated_in_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cpp_tests = "// entry_point: add\n#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(1, 2) == 3);\n    assert (add(0, 0) == 0);\n    assert (add(-1, 1) == 0);\n}\n";
    let js_tests = "// entry_point: twice\nconst testTwice = () => {\n  console.assert(twice(2) === 4)\n  console.assert(twice(0) === 0)\n}\ntestTwice()\n";
    let answers: Vec<(&str, String)> = vec![
        (
            "add",
            format!("```cpp\n{cpp_tests}```\n```cpp\nint add(int a, int b) {{\n    return a + b;\n}}\n```\n"),
        ),
        (
            "twice",
            format!("```javascript\n{js_tests}```\n```javascript\nconst twice = (x) => {{\n  return 2 * x\n}}\n```\n"),
        ),
        // Every assert must call the function: `assert (true)` does not.
        (
            "sub",
            "```cpp\n// entry_point: sub\n#include<assert.h>\nint main(){\n    assert (sub(3, 1) == 2);\n    assert (true);\n}\n```\n```cpp\nint sub(int a, int b) { return a - b; }\n```\n".into(),
        ),
        // The reference does not compile: the tests cannot be judged.
        (
            "neg",
            "```javascript\n// entry_point: neg\nconst t = () => {\n  console.assert(neg(1) === -1)\n}\nt()\n```\n```javascript\nconst neg = (x) => {\n  return -x +\n```\n".into(),
        ),
    ];
    let script_answers = answers.clone();
    let server = TestServer::start(Arc::new(move |r: &Request| {
        let text = r.body["messages"][0]["content"].as_str().unwrap();
        let task = text.split("Task:\n").nth(1).unwrap();
        let (name, answer) = script_answers
            .iter()
            .find(|(name, _)| task.contains(&format!("Write {name}(")))
            .unwrap();
        // Each prompt's own language's template.
        let language = if ["add", "sub"].contains(name) {
            "C++"
        } else {
            "JavaScript"
        };
        assert!(
            text.starts_with(&format!(
                "Write unit tests for the following {language} programming task."
            )),
            "{text}"
        );
        Reply::ok(answer.clone())
    }))
    .await;
    ok_json(d, &["--json", "init"]);
    let lines: Vec<String> = [("1", "add", "cpp"), ("2", "twice", "javascript"), ("3", "sub", "c++"), ("4", "neg", "js")]
        .iter()
        .map(|(id, name, language)| {
            serde_json::json!({"id": id, "instruction": format!("Write {name}(...)."), "language": language})
                .to_string()
        })
        .collect();
    std::fs::write(d.join("p.jsonl"), lines.join("\n")).unwrap();
    ok_json(d, &["--json", "import", "prompts", "p.jsonl"]);
    let cfg = format!(
        "[[teachers]]\nname = \"t\"\nbase_url = \"{}\"\nmodel = \"m\"\n\n[test_synthesis]\nteacher = \"t\"\n\n[execution]\ntimeout_s = 20.0\n",
        server.url()
    );
    std::fs::write(d.join("round.toml"), cfg).unwrap();
    let s = ok_json(d, &["--json", "synth-tests", "--config", "round.toml"]);
    assert_eq!(s["stored"], 4, "{s}");
    assert_eq!(s["invalid"]["trivially true"], 1, "{s}");
    let v = &s["validation"];
    assert_eq!(
        (&v["validated"], &v["valid"]),
        (&3.into(), &2.into()),
        "{s}"
    );
    assert_eq!(v["rejected"]["not checkable"], 1, "{s}");
    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    for (id, language, state, reason) in [
        (
            "1",
            "cpp",
            "valid",
            "the reference solution passes 3/3 tests",
        ),
        (
            "2",
            "javascript",
            "valid",
            "the reference solution passes 2/2 tests",
        ),
        (
            "3",
            "cpp",
            "invalid",
            "trivially true: the check `true` (test line 5) does not call sub",
        ),
        (
            "4",
            "javascript",
            "invalid",
            "not checkable: the tests did not run against the reference solution (compile_error",
        ),
    ] {
        let detail = store.prompt_detail(id, None).await.unwrap();
        let t = &detail.tests[0];
        assert_eq!(
            (detail.prompt.language.as_str(), t.validation.as_str()),
            (language, state),
            "{id}: {t:?}"
        );
        let why = t.validation_detail.as_deref().unwrap_or("");
        assert!(why.starts_with(reason), "{id}: {why:?}, wanted {reason:?}");
    }
    store.close().await;
    // A C++ answer that gets two of three right: the valid test counts its checks.
    let exec = student_answers_executed(
        d,
        "{\"task_id\": \"1\", \"completion\": \"```cpp\\nint add(int a, int b) { return a + b + (a == 0 ? 1 : 0); }\\n```\"}\n",
    );
    assert_eq!(exec["executed"], 1, "{exec}");
    assert_eq!(exec["outcomes"]["partial"], 1, "{exec}");
}
