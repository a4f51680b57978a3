//! The command line on wgpu (`cargo test --features wgpu --test wgpu`; in CI Mesa's lavapipe,
//! a software Vulkan device): `rrtf model logprobs`, `model generate`, `eval` and `serve` with
//! `--device wgpu` give what they give on the CPU: log-probs within 1e-4, the same greedy
//! tokens, the same completions and verdicts, the same served text. (The library paths under
//! them are checked against flex and transformers in crates/rrtf-model/tests/wgpu.rs.)
//!
//! Its own test binary, built only with the feature: the rrtf it runs must be a wgpu build.
//! No adapter: `SKIPPED ...` in the fast tier, a failure under `RRTF_FULL_TESTS=1`.
#![cfg(feature = "wgpu")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use wgpu_device::wgpu;

#[path = "../crates/rrtf-model/tests/common/wgpu_device.rs"]
mod wgpu_device;

#[path = "common/serve.rs"]
mod serve_common;
use serve_common::Serve;

fn rrtf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rrtf"))
        .args(args)
        .current_dir(dir)
        .env("RRTF_DB", dir.join("rrtf.db"))
        .env_remove("RRTF_LOG")
        .output()
        .expect("run rrtf")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = rrtf(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model/mqa")
}

fn humaneval() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/HumanEval.jsonl.gz")
}

#[test]
fn logprobs_generate_and_eval_on_wgpu_give_the_cpu_figures() {
    if wgpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model();
    let model = model.to_str().unwrap();
    std::fs::write(
        d.join("pairs.jsonl"),
        "{\"prompt\": \"def add(a, b):\\n\", \"response\": \"    return a + b\\n\"}\n\
         {\"prompt\": \"def is_even(n):\\n    \", \"response\": \"return n % 2 == 0\\n\"}\n",
    )
    .unwrap();
    let on = |device: &str, args: &[&str]| ok(d, &[args, &["--device", device]].concat());

    let logprobs = [
        "model",
        "logprobs",
        "--model",
        model,
        "--input",
        "pairs.jsonl",
    ];
    let (cpu, gpu) = (
        json_lines(&on("cpu", &logprobs)),
        json_lines(&on("wgpu", &logprobs)),
    );
    assert_eq!(cpu.len(), 2);
    let mut worst = 0.0f64;
    for (c, g) in cpu.iter().zip(&gpu) {
        assert_eq!(c["response_ids"], g["response_ids"]);
        let (c, g) = (
            c["token_logprobs"].as_array().unwrap(),
            g["token_logprobs"].as_array().unwrap(),
        );
        assert_eq!(c.len(), g.len());
        for (x, y) in c.iter().zip(g) {
            worst = worst.max((x.as_f64().unwrap() - y.as_f64().unwrap()).abs());
        }
    }
    eprintln!("model logprobs: wgpu within {worst:.1e} of cpu");
    assert!(worst < 1e-4, "token log-probs differ by {worst}");

    let generate = [
        "--json",
        "model",
        "generate",
        "--model",
        model,
        "--prompt",
        "def fib(n):\n",
        "--max-new-tokens",
        "12",
    ];
    let (cpu, gpu) = (
        json_lines(&on("cpu", &generate)),
        json_lines(&on("wgpu", &generate)),
    );
    assert_eq!(cpu[0]["new_ids"], gpu[0]["new_ids"], "greedy tokens");
    assert_eq!(cpu[0]["text"], gpu[0]["text"]);

    let eval = |device: &str| {
        let out = format!("completions-{device}.jsonl");
        let report: Value = serde_json::from_str(&on(
            device,
            &[
                "--json",
                "eval",
                "--model",
                model,
                "--benchmark",
                humaneval().to_str().unwrap(),
                "--max-problems",
                "3",
                "--max-new-tokens",
                "16",
                "--out",
                &out,
            ],
        ))
        .unwrap();
        let rows: Vec<Value> = json_lines(&std::fs::read_to_string(d.join(&out)).unwrap())
            .into_iter()
            .map(|r| json!([r["task_id"], r["completion"], r["outcome"], r["passed"]]))
            .collect();
        (report["pass_at_k"].clone(), rows)
    };
    let (cpu, gpu) = (eval("cpu"), eval("wgpu"));
    assert_eq!(cpu.1.len(), 3);
    assert_eq!(cpu, gpu, "eval: completions, verdicts and pass@k");
}

#[tokio::test]
async fn serve_on_wgpu_answers_with_the_cpu_text() {
    if wgpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = model();
    let model = model.to_str().unwrap();
    let expected = json_lines(&ok(
        dir.path(),
        &[
            "--json",
            "model",
            "generate",
            "--model",
            model,
            "--prompt",
            "def fib(n):\n",
            "--max-new-tokens",
            "12",
            "--device",
            "cpu",
        ],
    ));
    let serve_dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rrtf"));
    cmd.args([
        "--json", "serve", "--model", model, "--port", "0", "--device", "wgpu",
    ])
    .current_dir(serve_dir.path());
    let served = Serve::spawn(cmd, serve_dir, Duration::from_secs(300));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let answer = async {
        let models: Value = client
            .get(served.url("/v1/models"))
            .send()
            .await?
            .json()
            .await?;
        let name = models["data"][0]["id"].clone();
        client
            .post(served.url("/v1/completions"))
            .json(&json!({
                "model": name, "prompt": "def fib(n):\n", "max_tokens": 12, "temperature": 0
            }))
            .send()
            .await?
            .json::<Value>()
            .await
    }
    .await;
    drop(served);
    let answer = answer.expect("a completion from rrtf serve --device wgpu");
    assert_eq!(
        answer["choices"][0]["text"], expected[0]["text"],
        "{answer}"
    );
    // INT8 decodes on the CPU's kernels only: refused on wgpu, naming the way out.
    let out = rrtf(
        dir.path(),
        &[
            "serve",
            "--model",
            model,
            "--port",
            "0",
            "--device",
            "wgpu",
            "--quantize",
            "int8",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--quantize int8") && err.contains("--device cpu"),
        "{err}"
    );
}
