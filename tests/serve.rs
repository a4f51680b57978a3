//! `rrtf serve` end to end: the binary on a free port, reached by reqwest (shapes, errors,
//! auth, streaming), compared with `rrtf model generate`, and used by the official `openai`
//! Python client and by our own client (`rrtf-llm`), as `rrtf round` samples the student.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rrtf_llm::{Backend, GenRequest, HttpBackend, Message, Params, Prompt, RetryPolicy};
use serde_json::{Value, json};

const KEY_VAR: &str = "RRTF_SERVE_TEST_KEY";
const KEY: &str = "sk-test-0123456789";

fn model_dir(name: &str) -> PathBuf {
    rrtf_model::fixtures_dir().join(name)
}

/// `rrtf serve --port 0 --json` on `model` with `extra` arguments, the test key in its
/// environment.
struct Serve;

impl Serve {
    fn start(model: &Path, extra: &[&str]) -> common::serve::Serve {
        let dir = tempfile::tempdir().unwrap();
        let model = model.to_str().unwrap();
        let args = [&["--json", "serve", "--model", model, "--port", "0"], extra].concat();
        let mut cmd = common::rrtf_cmd(dir.path(), &args);
        cmd.env(KEY_VAR, KEY);
        common::serve::Serve::spawn(cmd, dir, Duration::from_secs(120))
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// POST `body` to `path` with the test token; (status, JSON body).
async fn post(s: &common::serve::Serve, path: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(s.url(path))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn completion(s: &common::serve::Serve, body: Value) -> Value {
    let (status, v) = post(s, "/v1/completions", body.clone()).await;
    assert_eq!(status, 200, "{body}: {v}");
    v
}

/// `rrtf model generate --json` for the same prompt: (text, finish reason as OpenAI's).
fn generate(model: &Path, prompt: &str, max_tokens: usize, extra: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let n = max_tokens.to_string();
    let args = [
        &[
            "--json",
            "model",
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--prompt",
            prompt,
            "--max-new-tokens",
            &n,
        ],
        extra,
    ]
    .concat();
    let v = common::ok_json(dir.path(), &args);
    let reason = match v["stop_reason"].as_str().unwrap() {
        "max_new_tokens" => "length",
        _ => "stop",
    };
    (v["text"].as_str().unwrap().to_owned(), reason.to_owned())
}

fn assert_error(v: &Value, param: Option<&str>, needle: &str) {
    let e = &v["error"];
    for k in ["message", "type", "param", "code"] {
        assert!(e.get(k).is_some(), "error without {k}: {v}");
    }
    assert_eq!(e["param"].as_str(), param, "{v}");
    assert!(
        e["message"].as_str().unwrap().contains(needle),
        "{needle:?} not in {v}"
    );
}

#[tokio::test]
async fn shapes_auth_errors_stop_seed_and_streaming() {
    let s = Serve::start(
        &model_dir("mqa"),
        &["--model-name", "tiny", "--api-key-env", KEY_VAR],
    );
    assert_eq!(s.line["model"], "tiny");
    assert!(s.base_url().starts_with("http://127.0.0.1:"), "{}", s.line);

    // Auth: none, wrong, right; /health is open.
    let r = client().get(s.url("/v1/models")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_error(&r.json().await.unwrap(), None, "API key");
    let r = client()
        .get(s.url("/v1/models"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_api_key"
    );
    let r = client().get(s.url("/health")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = client()
        .get(s.url("/v1/models"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let models: Value = r.json().await.unwrap();
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], "tiny");
    assert_eq!(models["data"][0]["object"], "model");

    // A completion with n = 3 at temperature 0: three equal choices, usage adds up.
    let v = completion(
        &s,
        json!({"model": "tiny", "prompt": "def ", "max_tokens": 12, "temperature": 0, "n": 3}),
    )
    .await;
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-"));
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert_eq!(c["text"], choices[0]["text"]);
        assert!(["stop", "length"].contains(&c["finish_reason"].as_str().unwrap()));
    }
    let u = &v["usage"];
    let (p, c) = (
        u["prompt_tokens"].as_u64().unwrap(),
        u["completion_tokens"].as_u64().unwrap(),
    );
    assert!(p >= 1 && (3..=36).contains(&c), "{u}");
    assert_eq!(u["total_tokens"].as_u64().unwrap(), p + c);
    let greedy = choices[0]["text"].as_str().unwrap().to_owned();

    // A stop string taken from the greedy text cuts it there, with finish_reason "stop".
    if let Some((at, ch)) = greedy.char_indices().nth(2) {
        let stop = ch.to_string();
        let cut = &greedy[..greedy[..].find(&stop).unwrap()];
        let v = completion(
            &s,
            json!({"model": "tiny", "prompt": "def ", "max_tokens": 12, "temperature": 0, "stop": [stop]}),
        )
        .await;
        assert_eq!(
            v["choices"][0]["text"], cut,
            "stop {stop:?} at {at} of {greedy:?}"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
    } else {
        panic!("greedy text too short to test stop strings: {greedy:?}");
    }

    // max_tokens reached: "length".
    let v = completion(
        &s,
        json!({"model": "tiny", "prompt": "def ", "max_tokens": 1, "temperature": 0}),
    )
    .await;
    assert_eq!(v["usage"]["completion_tokens"], 1);
    if v["choices"][0]["text"] != "" {
        assert_eq!(v["choices"][0]["finish_reason"], "length");
    }

    // A seed makes sampling repeat; choices of one request differ in seed.
    let sampled = json!({"model": "tiny", "prompt": "def ", "max_tokens": 16,
                         "temperature": 1.5, "n": 4, "seed": 11});
    let a = completion(&s, sampled.clone()).await;
    let b = completion(&s, sampled).await;
    assert_eq!(a["choices"], b["choices"]);
    let texts: std::collections::HashSet<&str> = a["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.len() > 1,
        "4 seeded choices at temperature 1.5 all equal: {a}"
    );

    // Chat.
    let (status, v) = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "tiny", "max_tokens": 6, "temperature": 0, "messages": [
            {"role": "system", "content": "Write Python."},
            {"role": "user", "content": "def add"}]}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert!(v["choices"][0]["message"]["content"].is_string());
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 5);

    // Errors: (path, body, status, param, text in the message).
    let cases = [
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": "x", "temperature": 5}),
            400,
            Some("temperature"),
            "temperature = 5",
        ),
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": "x", "top_p": 1.5}),
            400,
            Some("top_p"),
            "top_p = 1.5",
        ),
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": "x", "n": 0}),
            400,
            Some("n"),
            "n = 0",
        ),
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": "x", "max_tokens": 1000}),
            400,
            Some("max_tokens"),
            "maximum context length is 128",
        ),
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": "x", "stop": 3}),
            400,
            Some("stop"),
            "stop = 3",
        ),
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": "x", "logprobs": 2}),
            400,
            Some("logprobs"),
            "not supported",
        ),
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": ""}),
            400,
            Some("prompt"),
            "no tokens",
        ),
        (
            "/v1/completions",
            json!({"model": "tiny", "prompt": [100000]}),
            400,
            Some("prompt"),
            "token id 100000",
        ),
        (
            "/v1/completions",
            json!({"model": "gpt-4", "prompt": "x"}),
            404,
            None,
            "`gpt-4` does not exist",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "messages": [{"role": "robot", "content": "x"}]}),
            400,
            Some("messages[0].role"),
            "robot",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny"}),
            400,
            Some("messages"),
            "provide messages",
        ),
        (
            "/v1/embeddings",
            json!({"model": "tiny"}),
            404,
            None,
            "Invalid URL (POST /v1/embeddings)",
        ),
    ];
    for (path, body, status, param, needle) in cases {
        let (got, v) = post(&s, path, body.clone()).await;
        assert_eq!(got, status, "{path} {body}: {v}");
        assert_error(&v, param, needle);
    }
    let r = client()
        .post(s.url("/v1/completions"))
        .bearer_auth(KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_error(&r.json().await.unwrap(), Some("body"), "not valid JSON");

    // Streaming: the deltas add up to the non-streamed text; usage comes last, then [DONE].
    let r = client()
        .post(s.url("/v1/completions"))
        .bearer_auth(KEY)
        .json(
            &json!({"model": "tiny", "prompt": "def ", "max_tokens": 12, "temperature": 0,
                      "stream": true, "stream_options": {"include_usage": true}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = r.text().await.unwrap();
    let data: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{body}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(streamed, greedy);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert!(last["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"].is_string())
    );

    // Concurrent requests queue for the model thread and get the sequential answers.
    let body = json!({"model": "tiny", "prompt": "def ", "max_tokens": 12, "temperature": 0});
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let request = client()
                .post(s.url("/v1/completions"))
                .bearer_auth(KEY)
                .json(&body);
            tokio::spawn(async move { request.send().await?.json::<Value>().await })
        })
        .collect();
    for task in tasks {
        let v = task.await.unwrap().unwrap();
        assert_eq!(v["choices"][0]["text"], greedy.as_str(), "{v}");
    }

    // Requests are logged on stderr, the token never.
    let log = s.stderr();
    assert!(log.contains("/v1/completions"), "{log}");
    assert!(!log.contains(KEY), "the token leaked into the log");
}

#[tokio::test]
async fn temperature_0_matches_rrtf_model_generate() {
    for name in ["mha", "mqa"] {
        let model = model_dir(name);
        let s = Serve::start(&model, &[]);
        assert_eq!(s.line["model"], name, "default name is the directory's");
        for (prompt, max_tokens) in [("def ", 20), ("import os\n", 7), ("x = [1, 2", 40)] {
            let (text, reason) = generate(&model, prompt, max_tokens, &[]);
            let v = completion(
                &s,
                json!({"model": name, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}),
            )
            .await;
            assert_eq!(v["choices"][0]["text"], text, "{name} {prompt:?}");
            assert_eq!(
                v["choices"][0]["finish_reason"], reason,
                "{name} {prompt:?}"
            );
        }
        // Seeded sampling: choice 0 uses the request's seed, as `--seed` does.
        let (text, _) = generate(
            &model,
            "def ",
            24,
            &["--temperature", "0.8", "--top-p", "0.9", "--seed", "4"],
        );
        let v = completion(
            &s,
            json!({"model": name, "prompt": "def ", "max_tokens": 24, "temperature": 0.8,
                   "top_p": 0.9, "seed": 4}),
        )
        .await;
        assert_eq!(v["choices"][0]["text"], text, "{name} seeded");
    }
}

/// `--quantize int8` serves the int8 model: what `rrtf model generate` gives on the checkpoint
/// `rrtf model quantize` writes, which a server loads as int8 without the flag.
#[tokio::test]
async fn int8_serves_what_the_quantized_checkpoint_generates() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("mqa-int8");
    let model = model_dir("mqa");
    common::ok_json(
        dir.path(),
        &[
            "--json",
            "model",
            "quantize",
            "--model",
            model.to_str().unwrap(),
            "--out",
            saved.to_str().unwrap(),
        ],
    );
    let flag = Serve::start(&model, &["--quantize", "int8"]);
    let loaded = Serve::start(&saved, &["--model-name", "mqa"]);
    let plain = Serve::start(&model, &[]);
    assert_eq!(flag.line["weights"], "int8", "{}", flag.line);
    assert_eq!(loaded.line["weights"], "int8", "{}", loaded.line);
    assert_eq!(plain.line["weights"], "f32", "{}", plain.line);
    for (prompt, max_tokens) in [("def ", 20), ("import os\n", 7), ("x = [1, 2", 40)] {
        let (text, _) = generate(&saved, prompt, max_tokens, &[]);
        for s in [&flag, &loaded] {
            let v = completion(
                s,
                json!({"model": "mqa", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}),
            )
            .await;
            assert_eq!(v["choices"][0]["text"], text, "{prompt:?}");
        }
    }
}

/// A copy of fixture `name` whose tokenizer has no FIM tokens (renamed, ids unchanged).
fn without_fim(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{name}-no-fim"));
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(model_dir(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, out.join(path.file_name().unwrap())).unwrap();
    }
    let tok = out.join("tokenizer.json");
    let text = std::fs::read_to_string(&tok).unwrap();
    let renamed = ["prefix", "middle", "suffix"].iter().fold(text, |t, part| {
        t.replace(&format!("<fim_{part}>"), &format!("<nofim_{part}>"))
    });
    std::fs::write(&tok, renamed).unwrap();
    out
}

#[tokio::test]
async fn fill_in_the_middle_and_the_engines_route_for_editor_clients() {
    let model = model_dir("mqa");
    let s = Serve::start(&model, &["--model-name", "tiny"]);
    let (prefix, suffix) = ("def add(a, b):\n    ", "\n\nprint(add(1, 2))\n");
    // `suffix` builds StarCoder's PSM prompt: the same text as `rrtf model generate --suffix`.
    let (filled, reason) = generate(&model, prefix, 12, &["--suffix", suffix]);
    let (plain, _) = generate(&model, prefix, 12, &[]);
    let fim = json!({"model": "tiny", "prompt": prefix, "suffix": suffix, "max_tokens": 12,
                     "temperature": 0});
    let v = completion(&s, fim.clone()).await;
    assert_eq!(v["choices"][0]["text"], filled, "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], reason, "{v}");
    assert_ne!(
        filled, plain,
        "the suffix changes the prompt the model sees"
    );
    let prompt_tokens = v["usage"]["prompt_tokens"].as_u64().unwrap();
    // The engines route (FauxPilot's, which Copilot-style clients call) answers the same,
    // with the body such a client sends: no model, logprobs 2, its own `extra` and `nwo`.
    let copilot = json!({"prompt": prefix, "suffix": suffix, "max_tokens": 12, "temperature": 0,
        "top_p": 1, "n": 1, "logprobs": 2, "stop": ["\ndef "], "nwo": "me/repo",
        "extra": {"language": "python", "next_indent": 4, "trim_by_indentation": true}});
    for engine in ["codegen", "copilot-codex", "tiny"] {
        let (status, v) = post(
            &s,
            &format!("/v1/engines/{engine}/completions"),
            copilot.clone(),
        )
        .await;
        assert_eq!(status, 200, "{engine}: {v}");
        assert_eq!(v["choices"][0]["text"], filled, "{engine}: {v}");
        assert_eq!(v["choices"][0]["logprobs"], Value::Null, "{v}");
        assert_eq!(v["usage"]["prompt_tokens"], prompt_tokens, "{v}");
        assert_eq!(v["model"], "tiny", "{v}");
    }
    // Streamed, as Copilot asks: the deltas add up to the same text.
    let streamed = client()
        .post(s.url("/v1/engines/codegen/completions"))
        .json(
            &json!({"prompt": prefix, "suffix": suffix, "max_tokens": 12, "temperature": 0,
                      "stream": true}),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let text: String = streamed
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|c| c["choices"][0]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, filled, "{streamed}");
    // Its other parameters are checked as on /v1/completions.
    let (status, v) = post(
        &s,
        "/v1/engines/codegen/completions",
        json!({"prompt": "x", "temperature": 9}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_error(&v, Some("temperature"), "temperature = 9");
    drop(s);

    // A tokenizer without StarCoder's FIM tokens: `suffix` is refused, naming the token; an
    // empty suffix (Copilot sends one at the end of a file) is a plain completion.
    let dir = tempfile::tempdir().unwrap();
    let plain_model = without_fim("mqa", dir.path());
    let s = Serve::start(&plain_model, &["--model-name", "tiny"]);
    let (status, v) = post(&s, "/v1/completions", fim).await;
    assert_eq!(status, 400, "{v}");
    assert_error(&v, Some("suffix"), "<fim_");
    let v = completion(
        &s,
        json!({"model": "tiny", "prompt": prefix, "suffix": "", "max_tokens": 12,
               "temperature": 0}),
    )
    .await;
    assert_eq!(v["choices"][0]["text"], plain, "{v}");
    let out = common::rrtf(
        dir.path(),
        &[
            "model",
            "generate",
            "--model",
            plain_model.to_str().unwrap(),
            "--prompt",
            prefix,
            "--suffix",
            suffix,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("<fim_"),
        "{out:?}"
    );
}

#[tokio::test]
async fn the_official_openai_python_client_works() {
    let s = Serve::start(
        &model_dir("mqa"),
        &["--model-name", "tiny", "--api-key-env", KEY_VAR],
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai_client.py");
    let base = s.base_url().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args([base.as_str(), "tiny", KEY])
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/openai_client.py failed (the openai package is installed with \
         `python3 -m pip install --break-system-packages openai`):\n{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["models"], json!(["tiny"]));
    let (greedy, _) = generate(&model_dir("mqa"), "def add(a, b):", 8, &["--stop", "\n\n"]);
    assert_eq!(v["completion"]["text"], greedy, "{v}");
    assert_eq!(v["streamed"], greedy, "{v}");
    let (filled, _) = generate(
        &model_dir("mqa"),
        "def add(a, b):\n    ",
        8,
        &["--suffix", "\n\nprint(add(1, 2))\n"],
    );
    assert_eq!(v["fim"], filled, "{v}");
    assert!(v["completion"]["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(v["chat"]["object"], "chat.completion");
    assert_eq!(v["chat"]["roles"], json!(["assistant", "assistant"]));
    assert_eq!(v["chat"]["contents"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["bad_request"],
        json!({"status": 400, "param": "temperature"})
    );
}

#[tokio::test]
async fn rrtf_llm_samples_the_student_over_http() {
    let model = model_dir("mqa");
    let s = Serve::start(&model, &["--model-name", "student"]);
    let endpoint = |kind: &str| -> rrtf_config::Endpoint {
        serde_json::from_value(json!({
            "name": "student", "base_url": s.base_url(), "model": "student", "kind": kind,
        }))
        .unwrap()
    };
    let params = Params {
        temperature: 0.0,
        top_p: None,
        max_tokens: Some(10),
        stop: vec![],
        seed: Some(1),
    };
    let backend = HttpBackend::new(&endpoint("completion"), RetryPolicy::default()).unwrap();
    let g = backend
        .generate(&GenRequest {
            prompt: Prompt::Text("def ".into()),
            params: params.clone(),
        })
        .await
        .unwrap();
    let (text, reason) = generate(&model, "def ", 10, &[]);
    assert_eq!(g.text, text);
    assert_eq!(g.finish_reason.as_deref(), Some(reason.as_str()));
    assert_eq!(g.prompt_tokens.map(|p| p > 0), Some(true));
    assert_eq!(g.attempts, 1);
    let chat = HttpBackend::new(&endpoint("chat"), RetryPolicy::default()).unwrap();
    let g = chat
        .generate(&GenRequest {
            prompt: Prompt::Chat(vec![Message::new("user", "Add two numbers.")]),
            params,
        })
        .await
        .unwrap();
    assert!(g.completion_tokens.unwrap() >= 1);

    // SIGTERM stops it cleanly (exit 0).
    let mut s = s;
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", s.stderr());
}

/// Continuous batching over HTTP: requests sent at once (greedy, seeded sampling, several
/// choices, a stop string, streamed and not) get exactly what a one-at-a-time server
/// (`--max-batch 1`) answers; `/metrics` counts the steps and shows choices decoded together.
#[tokio::test]
async fn concurrent_requests_answer_as_one_at_a_time() {
    let model = model_dir("mha");
    let one = Serve::start(&model, &["--max-batch", "1"]);
    let many = Serve::start(&model, &[]);
    let bodies: Vec<Value> = (0..8)
        .map(|i| {
            let prompt = ["def ", "import os\n", "x = [1, 2", "class A:\n"][i % 4];
            let mut b = json!({"model": "mha", "prompt": prompt, "max_tokens": 12 + 3 * i,
                               "temperature": if i % 2 == 0 { 0.0 } else { 0.9 },
                               "seed": 100 + i, "n": 1 + i % 3});
            if i == 5 {
                b["stop"] = json!(["\n"]);
            }
            b
        })
        .collect();
    let texts = |v: &Value| -> Vec<(String, String)> {
        v["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let text = c["text"].as_str().unwrap().to_owned();
                (text, c["finish_reason"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let mut alone = Vec::new();
    for b in &bodies {
        alone.push(texts(&completion(&one, b.clone()).await));
    }
    let together = futures_join(&many, &bodies).await;
    for (i, (a, t)) in alone.iter().zip(&together).enumerate() {
        assert_eq!(&texts(t), a, "request {i}: {}", bodies[i]);
    }
    // The same through a stream: the deltas add up to the text.
    let mut b = bodies[3].clone();
    b["stream"] = json!(true);
    let r = client()
        .post(many.url("/v1/completions"))
        .bearer_auth(KEY)
        .json(&b)
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    let mut streamed = vec![String::new(); alone[3].len()];
    for line in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if line == "[DONE]" {
            break;
        }
        let v: Value = serde_json::from_str(line).unwrap();
        let c = &v["choices"][0];
        streamed[c["index"].as_u64().unwrap() as usize] += c["text"].as_str().unwrap();
    }
    let want: Vec<String> = alone[3].iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(streamed, want);

    let metrics = |s: &common::serve::Serve| {
        let url = s.url("/metrics");
        async move {
            let text = client()
                .get(url)
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let get = |name: &str| -> u64 {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name} ")))
                    .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
                    .parse()
                    .unwrap()
            };
            (
                get("rrtf_decode_steps_total"),
                get("rrtf_decode_sequence_steps_total"),
                get("rrtf_batch_peak"),
                get("rrtf_max_batch"),
            )
        }
    };
    let (steps, seq_steps, peak, max) = metrics(&one).await;
    assert_eq!((peak, max), (1, 1));
    assert_eq!(steps, seq_steps);
    let (steps, seq_steps, peak, max) = metrics(&many).await;
    assert_eq!(max, rrtf_serve::DEFAULT_MAX_BATCH as u64);
    // Request 2 alone has three choices, decoded together.
    assert!(
        peak >= 3 && seq_steps > steps,
        "peak {peak}, {seq_steps} over {steps} steps"
    );
}

/// POST every body at once; the answers in order.
async fn futures_join(s: &common::serve::Serve, bodies: &[Value]) -> Vec<Value> {
    let url = s.url("/v1/completions");
    let tasks: Vec<_> = bodies
        .iter()
        .map(|b| {
            let (url, b) = (url.clone(), b.clone());
            tokio::spawn(async move {
                let r = client()
                    .post(url)
                    .bearer_auth(KEY)
                    .json(&b)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[test]
fn bad_arguments_exit_2_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir("mqa");
    let model = model.to_str().unwrap();
    // (extra arguments, text in stderr)
    let cases: [(&[&str], &str); 5] = [
        (
            &["--api-key-env", "RRTF_SERVE_UNSET_VAR"],
            "RRTF_SERVE_UNSET_VAR",
        ),
        (&["--chat-template", "chatml"], "plain, docstring, raw"),
        (&["--max-batch", "0"], "--max-batch 0"),
        (&["--quantize", "int4"], "int8"),
        (&["--host", "256.0.0.1"], "--host"),
    ];
    for (extra, needle) in cases {
        let args = [&["serve", "--model", model, "--port", "0"], extra].concat();
        let out = common::rrtf(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
    }
    let out = common::rrtf(
        dir.path(),
        &["serve", "--model", "no-such-dir", "--port", "0"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir"));
}
