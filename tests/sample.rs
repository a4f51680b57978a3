//! `rrtf sample` end to end: the binary against a scripted OpenAI-compatible server on
//! 127.0.0.1, killed with SIGKILL mid-run and run again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rrtf_llm::testserver::{Reply, Request, TestServer, echo};
use serde_json::Value;

fn rrtf(dir: &Path, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_rrtf"));
    c.args(args)
        .current_dir(dir)
        .env("RRTF_DB", crate::common::database(dir))
        .env_remove("RRTF_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

async fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let out = rrtf(dir, args).output().await.unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn humaneval() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/HumanEval.jsonl.gz")
}

/// 40 prompts x (chat teacher: 2 temperatures x 2 samples + completion student: 1 x 1) = 200.
fn config(url: &str, seed: u64) -> String {
    format!(
        r#"
[round]
number = 1
seed = {seed}

[[teachers]]
name = "teacher"
base_url = "{url}"
model = "big"
kind = "chat"
temperatures = [0.2, 0.8]
samples = 2
concurrency = 4
max_tokens = 64
price_per_1k_input = 0.001
price_per_1k_output = 0.002

[student]
name = "student"
base_url = "{url}"
model = "small"
kind = "completion"
temperatures = [0.2]
samples = 1
concurrency = 2

[sampling]
max_prompts = 40
"#
    )
}

async fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    ok_json(tmp.path(), &["--json", "init"]).await;
    ok_json(
        tmp.path(),
        &["--json", "import", "prompts", humaneval().to_str().unwrap()],
    )
    .await;
    tmp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_then_resume_stores_every_request_once_and_loses_none() {
    let tmp = setup().await;
    let d = tmp.path();
    let server = TestServer::start(echo(Duration::from_millis(20))).await;
    std::fs::write(d.join("round.toml"), config(&server.url(), 3)).unwrap();

    let mut child = rrtf(d, &["--json", "sample", "--config", "round.toml"])
        .spawn()
        .unwrap();
    // Kill once the server has seen a third of the requests.
    let t0 = std::time::Instant::now();
    while server.requests().len() < 70 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the sampler sent too little"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("sampler exited before the kill: {status}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let sent_first = server.requests().len();

    let stored_before = ok_json(d, &["--json", "status"]).await["responses"]
        .as_i64()
        .unwrap();
    assert!(
        stored_before > 0 && stored_before < 200,
        "{stored_before} stored at the kill"
    );

    let summary = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(
        summary["stored"].as_i64().unwrap() + stored_before,
        200,
        "{summary}"
    );
    let eps = summary["endpoints"].as_array().unwrap();
    // The round's ledger counts what both runs stored, per model.
    let ledger = summary["round_ledger"].as_array().unwrap();
    assert_eq!(ledger[0]["model"], "student");
    assert_eq!(ledger[0]["responses"], 40);
    assert_eq!(ledger[1]["model"], "teacher");
    assert_eq!(ledger[1]["responses"], 160);
    assert!(ledger[1]["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(eps[0]["planned"], 160);
    assert_eq!(eps[1]["planned"], 40);

    // The database holds every (prompt, model, temperature, sample) exactly once.
    let store = rrtf_store::Store::open(&crate::common::database(d))
        .await
        .unwrap();
    let rows = store.response_identities(1).await.unwrap();
    assert_eq!(rows.len(), 200);
    let combos: HashSet<_> = rows
        .iter()
        .map(|r| {
            (
                r.prompt_id,
                r.model.clone(),
                r.temperature.map(f64::to_bits),
                r.sample_index,
            )
        })
        .collect();
    assert_eq!(
        combos.len(),
        200,
        "a (prompt, model, temperature, sample) is stored twice"
    );
    let prompts: HashSet<_> = rows.iter().map(|r| r.prompt_id).collect();
    assert_eq!(prompts.len(), 40);
    // Each response names the run that stored it: the killed run, then the second.
    let first_run = summary["run"].as_i64().unwrap() - 1;
    let runs: HashSet<_> = rows.iter().map(|r| r.run_id).collect();
    assert_eq!(
        runs,
        HashSet::from([Some(first_run), Some(first_run + 1)]),
        "response run ids"
    );
    // The ledger has one answered request per stored response (written in the same
    // transaction), the cost the responses carry, and no failures.
    let lines = store.ledger_lines(Some(1)).await.unwrap();
    let requests: i64 = lines.iter().map(|l| l.requests).sum();
    assert_eq!(requests, 200, "{lines:?}");
    assert!(lines.iter().all(|l| l.stage == "sample" && l.failed == 0));
    let ledger_cost: f64 = lines.iter().map(|l| l.cost_usd).sum();
    assert!((ledger_cost - store.round_spend(1).await.unwrap()).abs() < 1e-12);
    let response_cost: f64 = ledger.iter().map(|m| m["cost_usd"].as_f64().unwrap()).sum();
    assert!(
        (ledger_cost - response_cost).abs() < 1e-9,
        "{ledger_cost} vs {response_cost}"
    );
    store.close().await;

    // The server saw every request, and again only those in flight at the kill:
    // at most the sum of concurrencies (4 + 2).
    let counts = server.body_counts();
    assert_eq!(counts.len(), 200, "distinct requests sent");
    let resent: u32 = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "stored at the kill: {stored_before}; sent before it: {sent_first}; sent twice: {resent}"
    );
    assert!(
        resent <= 6,
        "{resent} requests sent twice (sent {sent_first} before the kill)"
    );
    assert_eq!(server.requests().len(), 200 + resent as usize);

    // A third run has nothing left to send.
    let n = server.requests().len();
    let summary = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(summary["stored"], 0);
    assert_eq!(server.requests().len(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_render_per_endpoint_kind_and_a_new_seed_is_a_new_request() {
    let tmp = setup().await;
    let d = tmp.path();
    // Chat answers are a fenced whole function, completions a continuation.
    let server = TestServer::start(std::sync::Arc::new(|r: &Request| {
        if r.path.ends_with("/chat/completions") {
            Reply::ok("Here it is:\n```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    return False\n```\n")
        } else {
            Reply::ok("    return False\n")
        }
    }))
    .await;
    std::fs::write(
        d.join("round.toml"),
        config(&server.url(), 3).replace("max_prompts = 40", "max_prompts = 1"),
    )
    .unwrap();
    let summary = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(summary["stored"], 5);
    let reqs = server.requests();
    let chat = reqs
        .iter()
        .find(|r| r.path == "/v1/chat/completions")
        .unwrap();
    let text = chat.body["messages"][0]["content"].as_str().unwrap();
    assert!(
        text.starts_with("Complete the following python function."),
        "{text}"
    );
    assert!(text.contains("def has_close_elements("), "{text}");
    let comp = reqs.iter().find(|r| r.path == "/v1/completions").unwrap();
    assert!(
        comp.body["prompt"]
            .as_str()
            .unwrap()
            .starts_with("from typing import List")
    );
    // Costs were recorded from the server's usage.
    assert!(summary["spent_usd"].as_f64().unwrap() > 0.0, "{summary}");
    // Chat answers to a completion prompt are whole functions: their code is extracted now
    // (with the prompt's imports); the completion endpoint's continuations are left to exec.
    let store = rrtf_store::Store::open(&crate::common::database(d))
        .await
        .unwrap();
    let pending = store.pending_executions(None, None).await.unwrap();
    assert_eq!(pending.len(), 5, "5 responses x HumanEval/0's test");
    for p in &pending {
        let code = p.code.as_deref();
        if p.raw_text.contains("```") {
            let code = code.expect("chat answer's code is stored");
            assert!(code.starts_with("from typing import List"), "{code}");
            assert!(
                code.contains("def has_close_elements(") && !code.contains("```"),
                "{code}"
            );
        } else {
            assert_eq!(code, None, "a continuation is extracted by the exec stage");
        }
    }
    store.close().await;

    std::fs::write(
        d.join("round.toml"),
        config(&server.url(), 4).replace("max_prompts = 40", "max_prompts = 1"),
    )
    .unwrap();
    let dry = ok_json(
        d,
        &["--json", "sample", "--config", "round.toml", "--dry-run"],
    )
    .await;
    assert_eq!(
        dry["to_send"], 5,
        "another round seed is another request: {dry}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_or_a_rejected_key_exits_2_naming_the_fix() {
    let tmp = setup().await;
    let d = tmp.path();
    let server = TestServer::start(std::sync::Arc::new(|_: &rrtf_llm::testserver::Request| {
        rrtf_llm::testserver::Reply::status(
            401,
            r#"{"error":{"message":"Incorrect API key provided"}}"#,
        )
    }))
    .await;
    let cfg = config(&server.url(), 0).replace(
        "model = \"big\"",
        "model = \"big\"\napi_key_env = \"RRTF_TEST_KEY_FOR_SAMPLE\"",
    );
    std::fs::write(d.join("round.toml"), cfg).unwrap();

    let out = rrtf(d, &["sample", "--config", "round.toml"])
        .env_remove("RRTF_TEST_KEY_FOR_SAMPLE")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`RRTF_TEST_KEY_FOR_SAMPLE`") && err.contains("is not set"),
        "{err}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing is sent without the key"
    );

    // A dry run needs no key: it says the key is missing, shows the first requests as they
    // would be sent and the worst-case cost per endpoint, and sends and writes nothing.
    let out = rrtf(
        d,
        &["--json", "sample", "--config", "round.toml", "--dry-run"],
    )
    .env_remove("RRTF_TEST_KEY_FOR_SAMPLE")
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (teacher, student) = (&dry["endpoints"][0], &dry["endpoints"][1]);
    assert_eq!(teacher["name"], "teacher", "{dry}");
    assert_eq!(
        teacher["api_key"],
        "RRTF_TEST_KEY_FOR_SAMPLE is not set: export it before sampling"
    );
    // 40 prompts x 2 temperatures x 2 samples, each at most max_tokens 64.
    assert_eq!(teacher["to_send"], 160, "{dry}");
    assert_eq!(teacher["completion_tokens_max"], 160 * 64, "{dry}");
    let prompt_tokens = teacher["prompt_tokens_estimate"].as_u64().unwrap();
    assert!(prompt_tokens > 160 * 20, "{dry}");
    let cost = teacher["cost_usd_max"].as_f64().unwrap();
    let expected = prompt_tokens as f64 / 1000.0 * 0.001 + (160.0 * 64.0) / 1000.0 * 0.002;
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
    assert_eq!(student["api_key"], "not needed");
    assert_eq!(student["to_send"], 40, "{dry}");
    let examples = dry["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3, "{dry}");
    assert_eq!(examples[0]["endpoint"], "teacher");
    let chat = examples[0]["prompt"]["chat"].as_array().unwrap();
    assert!(
        chat.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("def has_close_elements("),
        "{dry}"
    );
    assert_eq!(examples[1]["endpoint"], "student");
    assert!(
        examples[1]["prompt"]["text"]
            .as_str()
            .unwrap()
            .contains("def has_close_elements("),
        "{dry}"
    );
    assert_eq!(examples[0]["params"]["max_tokens"], 64);
    let text = rrtf(d, &["sample", "--config", "round.toml", "--dry-run"])
        .env_remove("RRTF_TEST_KEY_FOR_SAMPLE")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("(dry run: nothing is sent or written)")
            && text.contains("teacher: 160 planned, 0 stored, 160 to send")
            && text.contains("API key: RRTF_TEST_KEY_FOR_SAMPLE is not set")
            && text.contains(
                "--- request to teacher (prompt 1, temperature 0.2, sample 0; max_tokens 64) ---"
            )
            && text.contains("[user]"),
        "{text}"
    );
    assert!(server.requests().is_empty(), "a dry run sends nothing");
    let status = ok_json(d, &["--json", "status"]).await;
    assert_eq!(status["models"], 0, "a dry run writes nothing: {status}");

    let out = rrtf(
        d,
        &["sample", "--config", "round.toml", "--only", "teacher"],
    )
    .env("RRTF_TEST_KEY_FOR_SAMPLE", "sk-never-printed")
    .output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HTTP 401") && err.contains("Incorrect API key provided"),
        "{err}"
    );
    assert!(
        !err.contains("sk-never-printed")
            && !String::from_utf8_lossy(&out.stdout).contains("sk-never")
    );
    assert!(
        server.requests().len() <= 4,
        "the endpoint stopped after the requests in flight"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer sk-never-printed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_stops_cleanly_and_carries_over_to_the_next_run() {
    let tmp = setup().await;
    let d = tmp.path();
    let server = TestServer::start(echo(Duration::from_millis(5))).await;
    // Teacher only: 40 prompts x 4 = 160 requests. A chat request's worst case is about
    // (prompt ~150 tokens + 64) x $1/1k, a little over $0.2; $5 covers a few dozen.
    let cfg = config(&server.url(), 1)
        .replace("price_per_1k_input = 0.001", "price_per_1k_input = 1.0")
        .replace("price_per_1k_output = 0.002", "price_per_1k_output = 1.0")
        .replace("max_prompts = 40", "max_prompts = 40\nbudget_usd = 5.0");
    std::fs::write(d.join("round.toml"), cfg).unwrap();
    let first = ok_json(
        d,
        &[
            "--json",
            "sample",
            "--config",
            "round.toml",
            "--only",
            "teacher",
        ],
    )
    .await;
    let ep = &first["endpoints"][0];
    assert_eq!(ep["stopped"], "budget", "{first}");
    let stored = first["stored"].as_u64().unwrap();
    assert!(stored > 0 && stored < 160, "{first}");
    assert_eq!(ep["unsent"].as_u64().unwrap() + stored, 160);
    assert!(first["round_spent_usd"].as_f64().unwrap() <= 5.0, "{first}");
    // The spend is read back from the stored responses: a second run cannot spend it again.
    let n = server.requests().len();
    let second = ok_json(
        d,
        &[
            "--json",
            "sample",
            "--config",
            "round.toml",
            "--only",
            "teacher",
        ],
    )
    .await;
    assert!(second["stored"].as_u64().unwrap() <= 1, "{second}");
    assert!(
        second["round_spent_usd"].as_f64().unwrap() <= 5.0,
        "{second}"
    );
    assert!(server.requests().len() <= n + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stores_what_is_in_flight_so_a_rerun_sends_nothing_twice() {
    let tmp = setup().await;
    let d = tmp.path();
    let server = TestServer::start(echo(Duration::from_millis(20))).await;
    std::fs::write(d.join("round.toml"), config(&server.url(), 9)).unwrap();
    let child = rrtf(d, &["--json", "sample", "--config", "round.toml"])
        .spawn()
        .unwrap();
    while server.requests().len() < 50 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().await.unwrap();
    // Issue 19: a clean stop exits with 130, records the run as interrupted and says how to
    // resume (the same command).
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("rrtf sample interrupted by SIGINT (Ctrl-C)")
            && err.contains("resume with `rrtf --json sample --config round.toml`"),
        "{err}"
    );
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["endpoints"][0]["stopped"], "interrupted", "{first}");
    assert_eq!(first["interrupted"], "SIGINT", "{first}");
    let store = rrtf_store::Store::open(&crate::common::database(d))
        .await
        .unwrap();
    let statuses = store.run_statuses("sample").await.unwrap();
    store.close().await;
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].1, "interrupted");
    let second = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(
        first["stored"].as_u64().unwrap() + second["stored"].as_u64().unwrap(),
        200
    );
    let resent: u32 = server.body_counts().values().map(|c| c - 1).sum();
    assert_eq!(resent, 0, "an interrupted run stores what it sent");
}

/// HumanEval/0's canonical body, as a chat teacher would answer: a whole function in a fence.
const CHAT_ANSWER: &str = "Sure:\n```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n            if idx != idx2:\n                distance = abs(elem - elem2)\n                if distance < threshold:\n                    return True\n\n    return False\n```\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_answers_to_humaneval_pass_through_the_exec_stage() {
    let tmp = setup().await;
    let d = tmp.path();
    let server = TestServer::start(std::sync::Arc::new(|r: &Request| {
        if r.path.ends_with("/chat/completions") {
            Reply::ok(CHAT_ANSWER)
        } else {
            Reply::ok("    return False\n") // a continuation that fails some asserts
        }
    }))
    .await;
    let cfg = config(&server.url(), 0).replace("max_prompts = 40", "max_prompts = 1");
    std::fs::write(d.join("round.toml"), cfg).unwrap();
    ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    let exec = ok_json(d, &["--json", "exec", "--timeout", "20"]).await;
    assert_eq!(exec["executed"], 5, "{exec}");
    // The 4 chat answers pass (run as stored code, not glued after the prompt); the student's
    // continuation runs after the prompt and fails some asserts.
    assert_eq!(exec["outcomes"]["pass"], 4, "{exec}");
    let failing = exec["outcomes"]["partial"].as_u64().unwrap_or(0)
        + exec["outcomes"]["test_failure"].as_u64().unwrap_or(0);
    assert_eq!(failing, 1, "{exec}");
}

/// Issue 15 point 11: the shipped `[student]` block sets no `max_tokens`; it is sent anyway
/// (1024, never the server's 16), completion requests carry Codex's stops, and a run reports
/// the share of answers that ended by length, warning above 5%.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_tokens_is_always_sent_and_answers_cut_by_length_are_reported() {
    let tmp = setup().await;
    let d = tmp.path();
    // The student's answers all end by length; the teacher's stop.
    let server = TestServer::start(std::sync::Arc::new(|r: &Request| {
        if r.path.ends_with("/chat/completions") {
            Reply::ok("```python\ndef f():\n    return 1\n```")
        } else {
            Reply::Ok {
                text: "    x = 1".into(),
                finish_reason: "length".into(),
            }
        }
    }))
    .await;
    let cfg = config(&server.url(), 0).replace("max_prompts = 40", "max_prompts = 2");
    let student_block = cfg.split("[student]").nth(1).unwrap();
    assert!(
        !student_block.contains("max_tokens"),
        "as shipped: {student_block}"
    );
    std::fs::write(d.join("round.toml"), cfg).unwrap();
    let out = rrtf(d, &["--json", "sample", "--config", "round.toml"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    for r in server.requests() {
        if r.path.ends_with("/v1/completions") {
            assert_eq!(r.body["max_tokens"], 1024, "{}", r.body);
            // Codex's five stops: four sent (OpenAI's and `rrtf serve`'s limit), the fifth
            // applied to the answer.
            assert_eq!(
                r.body["stop"],
                serde_json::json!(["\nclass", "\ndef", "\n#", "\nif"]),
                "{}",
                r.body
            );
        } else {
            assert_eq!(r.body["max_tokens"], 64, "the teacher's own value");
            assert!(
                r.body.get("stop").is_none(),
                "chat endpoints stop by themselves"
            );
        }
    }
    let student = &summary["endpoints"][1];
    assert_eq!(student["name"], "student");
    assert_eq!(student["ended_by_length"], 2, "{summary}");
    assert_eq!(student["length_share"], 1.0, "{summary}");
    assert_eq!(summary["endpoints"][0]["length_share"], 0.0, "{summary}");
    let warnings = summary["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{summary}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains("`student`") && w.contains("max_tokens = 1024"),
        "{w}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: 2 of `student`'s 2 responses"),
        "{stderr}"
    );

    // The human summary says it too.
    let text = rrtf(d, &["sample", "--config", "round.toml"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("student: 2 of 2 responses in the round ended by length (100.0%)"),
        "{stdout}"
    );
}

/// A `local_model` student whose `max_tokens` leaves no room for a prompt in its context
/// would have every request refused by `rrtf serve`: exit 2 before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_model_whose_context_cannot_hold_max_tokens_is_refused_up_front() {
    let tmp = setup().await;
    let d = tmp.path();
    std::fs::create_dir(d.join("tiny")).unwrap();
    std::fs::write(d.join("tiny/config.json"), r#"{"n_positions": 512}"#).unwrap();
    std::fs::write(d.join("tiny/model.safetensors"), "weights").unwrap();
    std::fs::write(
        d.join("round.toml"),
        "[[teachers]]\nname = \"t\"\nlocal_model = \"tiny\"\nmodel = \"m\"\nkind = \"completion\"\n",
    )
    .unwrap();
    let out = rrtf(d, &["sample", "--config", "round.toml"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("max_tokens = 1024") && err.contains("512 tokens"),
        "{err}"
    );
}

/// Issue 15 point 12: the key names the server. Answers stored before the key named it
/// (layout 1) still count for the URL the model was registered with; another URL behind the
/// same endpoint name is sampled again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_from_another_server_are_not_reused_and_layout_1_answers_are() {
    let tmp = setup().await;
    let d = tmp.path();
    let server = TestServer::start(echo(Duration::from_millis(1))).await;
    let cfg = config(&server.url(), 3).replace("max_prompts = 40", "max_prompts = 2");
    std::fs::write(d.join("round.toml"), &cfg).unwrap();

    // A database as the previous layout left it: the teacher's answers under layout-1 keys,
    // the model registered with this URL.
    let config = rrtf_config::RoundConfig::load(&d.join("round.toml")).unwrap();
    let store = rrtf_store::Store::open(&crate::common::database(d))
        .await
        .unwrap();
    let teacher = &config.teachers[0];
    let model_id = store
        .upsert_model(
            &teacher.name,
            rrtf_store::ModelRole::Teacher,
            Some(&teacher.base_url),
            Some(&teacher.model),
        )
        .await
        .unwrap();
    let tasks: Vec<rrtf_llm::sampler::Task> = store
        .sampling_prompts(Some(2))
        .await
        .unwrap()
        .into_iter()
        .map(|p| rrtf_llm::sampler::Task {
            prompt_id: p.id,
            kind: rrtf_llm::render::TaskKind::Completion,
            text: p.text,
            language: p.language,
        })
        .collect();
    let jobs = rrtf_llm::sampler::plan(&tasks, std::slice::from_ref(teacher), 3).unwrap();
    assert_eq!(jobs.len(), 8);
    let old: Vec<rrtf_store::NewResponse> = jobs
        .iter()
        .map(|j| rrtf_store::NewResponse {
            prompt_id: j.prompt_id,
            model_id,
            round: 1,
            temperature: Some(j.temperature),
            sample_index: i64::from(j.sample_index),
            raw_text: "```python\ndef f(): pass\n```".into(),
            code: None,
            finish_reason: Some("stop".into()),
            prompt_tokens: None,
            completion_tokens: None,
            latency_ms: None,
            cost_usd: None,
            request_hash: j.legacy_key.clone().unwrap(),
            run_id: None,
        })
        .collect();
    store.insert_responses(&old, &|_| {}).await.unwrap();
    store.close().await;

    let dry = ok_json(
        d,
        &["--json", "sample", "--config", "round.toml", "--dry-run"],
    )
    .await;
    assert_eq!(
        dry["endpoints"][0]["stored"], 8,
        "layout-1 answers count: {dry}"
    );
    assert_eq!(dry["endpoints"][0]["to_send"], 0, "{dry}");
    let first = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(first["endpoints"][0]["sent"], 0, "{first}");
    assert_eq!(
        first["endpoints"][1]["stored"], 2,
        "the student was sampled: {first}"
    );

    // The same endpoint name at another server: every teacher request is new.
    let other = TestServer::start(echo(Duration::from_millis(1))).await;
    let moved = cfg.replacen(&server.url(), &other.url(), 1);
    assert_ne!(moved, cfg);
    std::fs::write(d.join("round.toml"), moved).unwrap();
    let second = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(second["endpoints"][0]["stored"], 8, "{second}");
    assert_eq!(
        second["endpoints"][1]["stored"], 0,
        "the student did not move: {second}"
    );
    assert_eq!(other.requests().len(), 8);
}

/// A project with `rows` as instruction prompts (JSON rows with `id`, `instruction`, `tests`).
async fn project_with(rows: &[Value]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]).await;
    let lines: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(d.join("seeds.jsonl"), lines).unwrap();
    ok_json(d, &["--json", "import", "prompts", "seeds.jsonl"]).await;
    tmp
}

fn factorial_row(id: &str) -> Value {
    serde_json::json!({
        "id": id,
        "instruction": format!("Write a function factorial(n) that returns n! ({id})."),
        "tests": "def check(candidate):\n    assert candidate(3) == 6\n",
        "entry_point": "factorial",
    })
}

/// Issue 15 point 16 in the sample stage: with `[round] benchmark` set (nothing else), prompts
/// that are benchmark problems are eliminated before sampling, and answers reproducing a
/// canonical solution are stored eliminated (never executed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_round_benchmark_is_decontaminated_against_before_and_after_sampling() {
    let he: Vec<Value> = {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(humaneval()).unwrap()),
            &mut text,
        )
        .unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let copied: Vec<Value> = he[..3]
        .iter()
        .map(|r| serde_json::json!({"id": r["task_id"], "instruction": r["prompt"]}))
        .collect();
    let mut rows = copied;
    rows.push(factorial_row("clean"));
    let tmp = project_with(&rows).await;
    let d = tmp.path();
    let leak = format!(
        "```python\n{}{}```",
        he[0]["prompt"].as_str().unwrap(),
        he[0]["canonical_solution"].as_str().unwrap()
    );
    // At temperature 0.2 the teacher reproduces HumanEval/0's solution.
    let server = TestServer::start(std::sync::Arc::new(move |r: &Request| {
        if !r.path.ends_with("/chat/completions") {
            Reply::ok("    return 1\n")
        } else if r.body["temperature"] == 0.2 {
            Reply::ok(leak.clone())
        } else {
            Reply::ok("```python\ndef factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)\n```")
        }
    }))
    .await;
    let cfg = config(&server.url(), 0).replace(
        "seed = 0\n",
        &format!("seed = 0\nbenchmark = \"{}\"\n", humaneval().display()),
    );
    std::fs::write(d.join("round.toml"), cfg).unwrap();
    let dry = ok_json(
        d,
        &["--json", "sample", "--config", "round.toml", "--dry-run"],
    )
    .await;
    assert_eq!(
        dry["decontamination"]["prompts"]["prompts_eliminated"], 3,
        "{dry}"
    );
    assert_eq!(
        dry["to_send"], 5,
        "the dry run plans the clean prompt only: {dry}"
    );

    let summary = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    let screened = &summary["decontamination"];
    assert_eq!(screened["prompts"]["prompts_eliminated"], 3, "{summary}");
    assert_eq!(
        screened["responses"]["responses_eliminated"], 2,
        "{summary}"
    );
    assert_eq!(
        server.requests().len(),
        5,
        "only the clean prompt was sampled"
    );
    let store = rrtf_store::Store::open(&crate::common::database(d))
        .await
        .unwrap();
    let pending = store.pending_executions(None, None).await.unwrap();
    assert_eq!(pending.len(), 3, "2 of 5 answers eliminated: {pending:?}");
    assert!(
        pending
            .iter()
            .all(|p| !p.raw_text.contains("has_close_elements"))
    );
    store.close().await;
    let again = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(again["stored"], 0);
    assert_eq!(again["decontamination"]["prompts"]["prompts_eliminated"], 0);

    // Issue 18: the recorded opt-out. Without a reason the config is refused (exit 2, both
    // keys named); with one, the stage warns with the reason and screens nothing.
    let round = std::fs::read_to_string(d.join("round.toml")).unwrap();
    let off = format!("{round}\n[decontamination]\nscreen_round_benchmark = false\n");
    std::fs::write(d.join("no-reason.toml"), &off).unwrap();
    let refused = rrtf(d, &["sample", "--config", "no-reason.toml", "--dry-run"])
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("decontamination.reason") && err.contains("screen_round_benchmark"),
        "{err}"
    );
    std::fs::write(
        d.join("opt-out.toml"),
        format!("{off}reason = \"the generator splits the benchmark itself\"\n"),
    )
    .unwrap();
    let out = rrtf(
        d,
        &["--json", "sample", "--config", "opt-out.toml", "--dry-run"],
    )
    .output()
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("screen_round_benchmark = false")
            && err.contains("because: the generator splits the benchmark itself"),
        "the stage warns with the reason: {err}"
    );
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(dry["decontamination"].is_null(), "nothing screened: {dry}");
}

/// Issue 15 point 14: WizardLM's rules 2 and 3 judge the teachers' answers. A prompt every
/// teacher answered with an apology is eliminated with the rule, once all its teacher answers
/// are in (a run that failed to get one judges nothing; the run that completes it does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_every_teacher_refuses_is_eliminated_once_its_answers_are_in() {
    let tmp = project_with(&[factorial_row("refused"), factorial_row("answered")]).await;
    let d = tmp.path();
    let failed_once = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = failed_once.clone();
    let server = TestServer::start(std::sync::Arc::new(move |r: &Request| {
        let text = r.body.to_string();
        if !r.path.ends_with("/chat/completions") {
            Reply::ok("    return 1\n")
        } else if text.contains("(refused)") {
            if r.body["temperature"] == 0.8
                && !f.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                return Reply::status(400, r#"{"error":{"message":"try later"}}"#);
            }
            Reply::ok("I'm sorry, but I can't help with that request.")
        } else {
            Reply::ok("```python\ndef factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)\n```")
        }
    }))
    .await;
    std::fs::write(d.join("round.toml"), config(&server.url(), 0)).unwrap();

    // One teacher request of "refused" fails: its answers are not all in, nothing is judged.
    let out = rrtf(d, &["--json", "sample", "--config", "round.toml"])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        first["eliminated_by_teacher_answers"]["eliminated"], 0,
        "{first}"
    );
    assert_eq!(
        first["eliminated_by_teacher_answers"]["prompts_judged"], 1,
        "{first}"
    );

    let second = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(second["stored"], 1, "{second}");
    assert_eq!(
        second["eliminated_by_teacher_answers"]["eliminated"], 1,
        "{second}"
    );
    let store = rrtf_store::Store::open(&crate::common::database(d))
        .await
        .unwrap();
    let pool = store.prompt_pool().await.unwrap();
    let refused = pool.iter().find(|p| p.source_id == "refused").unwrap();
    assert_eq!(refused.status, "eliminated");
    let why = refused.status_reason.as_deref().unwrap();
    assert!(
        why.starts_with("apology: every teacher answer (4)"),
        "{why}"
    );
    assert_eq!(
        pool.iter()
            .find(|p| p.source_id == "answered")
            .unwrap()
            .status,
        "kept"
    );
    // Execution (and so ranking) never sees the eliminated prompt.
    let pending = store.pending_executions(None, None).await.unwrap();
    assert_eq!(pending.len(), 5, "the answered prompt's 4 + 1 answers");
    store.close().await;
    // Idempotent: nothing new to send or to eliminate.
    let third = ok_json(d, &["--json", "sample", "--config", "round.toml"]).await;
    assert_eq!(third["stored"], 0);
    assert_eq!(third["eliminated_by_teacher_answers"]["eliminated"], 0);
}

/// Issue 22: `rrtf sample` processes sharing one database send each request once between
/// them. Two at once split the work (each sends a share, no request twice); then one killed
/// with SIGKILL mid-run leaves its claimed requests to another (at once: its process is gone
/// from this host; a remote sampler's would wait for its lease), and only the requests in
/// flight at the kill are sent again.
#[tokio::test(flavor = "multi_thread")]
async fn samplers_on_one_database_send_each_request_once() {
    let tmp = setup().await;
    let d = tmp.path();
    let server = TestServer::start(echo(Duration::from_millis(50))).await;
    std::fs::write(d.join("round.toml"), config(&server.url(), 3)).unwrap();
    let args = ["--json", "sample", "--config", "round.toml"];
    let (a, b) = (
        rrtf(d, &args).spawn().unwrap(),
        rrtf(d, &args).spawn().unwrap(),
    );
    // Bounded: samplers that wait on each other forever are a failure, not a hung suite.
    let bounded = |c: tokio::process::Child| async move {
        tokio::time::timeout(Duration::from_secs(120), c.wait_with_output())
            .await
            .expect("the samplers ended (no livelock)")
            .unwrap()
    };
    let (a, b) = (bounded(a).await, bounded(b).await);
    let stored = |out: &std::process::Output| -> i64 {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["stored"].as_i64().unwrap()
    };
    let (sa, sb) = (stored(&a), stored(&b));
    eprintln!("stored by each sampler: {sa} and {sb}");
    assert_eq!(sa + sb, 200);
    assert!(
        sa > 0 && sb > 0,
        "both samplers sent a share: {sa} and {sb}"
    );
    let counts = server.body_counts();
    assert_eq!(counts.len(), 200);
    assert!(counts.values().all(|&c| c == 1), "a request was sent twice");

    // A second round (seed 4: new requests): the first sampler is killed mid-run; the second,
    // started then, takes over its claims.
    std::fs::write(d.join("round.toml"), config(&server.url(), 4)).unwrap();
    let before = server.requests().len();
    let lease = [
        "--json",
        "sample",
        "--config",
        "round.toml",
        "--lease-secs",
        "3",
    ];
    let mut victim = rrtf(d, &lease).spawn().unwrap();
    let t0 = std::time::Instant::now();
    while server.requests().len() < before + 30 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the sampler sent too little"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    victim.start_kill().unwrap(); // SIGKILL
    victim.wait().await.unwrap();
    let sent_first = server.requests().len() - before;
    let summary = ok_json(d, &lease).await;
    let status = ok_json(d, &["--json", "status"]).await;
    assert_eq!(status["responses"], 400, "{status}");
    assert_eq!(status["samplers"], serde_json::json!([]), "claims released");
    let counts = server.body_counts();
    assert_eq!(counts.len(), 400);
    let resent: u32 = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "sent before the kill: {sent_first}; stored by the second: {}; sent twice: {resent}",
        summary["stored"]
    );
    assert!(
        resent <= 6,
        "{resent} sent twice: only those in flight at the kill (4 + 2)"
    );
}
