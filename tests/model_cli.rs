//! `rrtf tokenizer ...` and `rrtf model ...` end to end: output formats and exit codes.
//! Numbers are checked against transformers in crates/rrtf-model/tests/parity.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn rrtf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rrtf"))
        .args(args)
        .output()
        .expect("run rrtf")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model")
}

fn ok_json_lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn quickstart_train_init_score_generate() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(
        p("corpus.py"),
        "def add(a, b):\n    return a + b\n".repeat(50),
    )
    .unwrap();
    let out = rrtf(&[
        "--json",
        "tokenizer",
        "train",
        "--files",
        &p("corpus.py"),
        "--vocab-size",
        "300",
        "--out",
        &p("tok.json"),
    ]);
    assert!(ok_json_lines(&out)[0]["vocab_size"].as_u64().unwrap() <= 300);
    let out = rrtf(&[
        "--json",
        "model",
        "init",
        "--preset",
        "tiny-mqa",
        "--tokenizer",
        &p("tok.json"),
        "--out",
        &p("m"),
        "--seed",
        "3",
    ]);
    assert_eq!(ok_json_lines(&out)[0]["config"]["multi_query"], true);
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(dir.path().join("m").join(f).is_file(), "{f}");
    }
    std::fs::write(
        p("pairs.jsonl"),
        "{\"prompt\": \"def add(a, b):\\n\", \"response\": \"    return a + b\\n\"}\n\n{\"prompt\": \"x\", \"response\": \"\"}\n",
    )
    .unwrap();
    let rows = ok_json_lines(&rrtf(&[
        "model",
        "logprobs",
        "--model",
        &p("m"),
        "--input",
        &p("pairs.jsonl"),
        "--batch-size",
        "2",
    ]));
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let lps = row["token_logprobs"].as_array().unwrap();
        assert_eq!(lps.len(), row["response_ids"].as_array().unwrap().len());
        let sum: f64 = lps.iter().map(|x| x.as_f64().unwrap()).sum();
        assert!((sum - row["sum"].as_f64().unwrap()).abs() < 1e-3 && sum < 0.0);
    }
    assert_eq!(
        rows[1]["response_ids"],
        serde_json::json!([0]),
        "empty response scores only end-of-text"
    );
    let gen_args = [
        "--json",
        "model",
        "generate",
        "--model",
        &p("m"),
        "--prompt",
        "def ",
        "--max-new-tokens",
        "5",
    ];
    let greedy = ok_json_lines(&rrtf(&gen_args));
    assert_eq!(
        greedy,
        ok_json_lines(&rrtf(&gen_args)),
        "greedy is deterministic"
    );
    let n = greedy[0]["new_ids"].as_array().unwrap().len();
    assert!((1..=5).contains(&n));
    let sampled = ok_json_lines(&rrtf(
        &[
            &gen_args[..],
            &["--temperature", "0.8", "--top-p", "0.9", "--seed", "4"],
        ]
        .concat(),
    ));
    assert!(sampled[0]["text"].is_string());
}

#[test]
fn greedy_generation_matches_fixture() {
    let exp: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let row = &exp["models"]["mha"]["greedy"][0];
    let model = fixtures().join("mha");
    // The default device, and `--device cpu` (which is it): the same tokens.
    for device in [&[][..], &["--device", "cpu"]] {
        let mut args = vec![
            "--json",
            "model",
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--prompt",
            row["prompt"].as_str().unwrap(),
            "--max-new-tokens",
            "12",
        ];
        args.extend_from_slice(device);
        let out = rrtf(&args);
        assert_eq!(
            ok_json_lines(&out)[0]["new_ids"],
            row["new_ids"],
            "{args:?}"
        );
    }
}

#[test]
fn bad_input_exits_2_and_names_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixtures().join("mqa");
    let bad_lines = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad_lines,
        "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": 1}\n",
    )
    .unwrap();
    let missing = dir.path().join("nope");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "model",
                "logprobs",
                "--model",
                missing.to_str().unwrap(),
                "--input",
                bad_lines.to_str().unwrap(),
            ],
            "does not exist",
        ),
        (
            vec![
                "model",
                "logprobs",
                "--model",
                model.to_str().unwrap(),
                "--input",
                bad_lines.to_str().unwrap(),
            ],
            "line 2",
        ),
        (
            vec![
                "model",
                "generate",
                "--model",
                model.to_str().unwrap(),
                "--prompt",
                "x",
                "--max-new-tokens",
                "500",
            ],
            "n_positions = 128",
        ),
        (
            vec![
                "model",
                "generate",
                "--model",
                model.to_str().unwrap(),
                "--prompt",
                "x",
                "--top-p",
                "0",
            ],
            "--top-p",
        ),
        (
            vec![
                "model",
                "generate",
                "--model",
                model.to_str().unwrap(),
                "--prompt",
                "x",
                "--device",
                "tpu",
            ],
            "\"tpu\" is not a device",
        ),
        (
            vec![
                "model",
                "logprobs",
                "--model",
                model.to_str().unwrap(),
                "--input",
                bad_lines.to_str().unwrap(),
                "--device",
                "cuda:x",
            ],
            "is not a device",
        ),
        (
            vec![
                "model",
                "init",
                "--preset",
                "huge",
                "--tokenizer",
                "t.json",
                "--out",
                "o",
            ],
            "tokenizer t.json",
        ),
    ];
    for (args, needle) in cases {
        let out = rrtf(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} should mention {needle:?}"
        );
    }
}

/// A build without a GPU feature refuses its device (`--device wgpu` without `wgpu`, `--device
/// cuda` without `cuda`; CI's build has `wgpu`, never `cuda`) with exit 2 and says how to
/// rebuild, before loading anything; `rrtf eval` and `rrtf serve` as well. (A `wgpu` build runs
/// on the device instead: crates/rrtf-model/tests/wgpu.rs.)
#[test]
fn a_device_this_build_lacks_is_refused_naming_the_rebuild() {
    let lacking = [
        ("wgpu", "wgpu", cfg!(feature = "wgpu")),
        ("cuda", "CUDA", cfg!(feature = "cuda")),
    ];
    let lacking: Vec<_> = lacking.iter().filter(|f| !f.2).collect();
    assert!(!lacking.is_empty(), "a build with every GPU feature");
    for &&(device, name, _) in &lacking {
        refused_naming_the_rebuild(device, name);
    }
}

fn refused_naming_the_rebuild(device: &str, name: &str) {
    let model = fixtures().join("mqa");
    let bench = crate::common::humaneval_path();
    for args in [
        vec![
            "model",
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--prompt",
            "x",
            "--device",
            device,
        ],
        vec![
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--benchmark",
            bench.to_str().unwrap(),
            "--device",
            device,
        ],
        // Refused while loading, before it binds a port.
        vec![
            "serve",
            "--model",
            model.to_str().unwrap(),
            "--port",
            "0",
            "--device",
            device,
        ],
    ] {
        let out = rrtf(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("built without {name}"))
                && err.contains(&format!("--features {device}")),
            "{args:?}: {err}"
        );
    }
}

/// `rrtf model quantize`: writes an int8 checkpoint, measures its cost against the f32 one,
/// and refuses what it cannot do, naming the fix.
#[test]
fn quantize_writes_int8_and_reports_its_cost() {
    let dir = tempfile::tempdir().unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let pairs = dir.path().join("pairs.jsonl");
    let lines: Vec<String> = expected["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    std::fs::write(&pairs, lines.join("\n")).unwrap();
    let model = fixtures().join("mqa");
    let out_dir = dir.path().join("mqa-int8");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let out = rrtf(&[
        "--json",
        "model",
        "quantize",
        "--model",
        &s(&model),
        "--input",
        &s(&pairs),
        "--out",
        &s(&out_dir),
        "--new-tokens",
        "8",
    ]);
    let v = &ok_json_lines(&out)[0];
    let r = &v["report"];
    assert_eq!(r["pairs"], lines.len());
    assert!(r["tokens"].as_u64().unwrap() > 0);
    let mean = r["mean_abs_logprob_diff"].as_f64().unwrap();
    assert!(mean > 0.0 && mean < 0.2, "{v}");
    assert!(r["greedy_equal"].as_u64() <= r["prompts"].as_u64());
    assert!(v["weight_mean_abs_change"].as_f64().unwrap() > 0.0);
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["rrtf_quantization"], "int8");
    // Refused, exit 2, naming the fix.
    let no_prompt = dir.path().join("no-prompt.jsonl");
    std::fs::write(&no_prompt, "{\"text\": \"def f(): pass\"}\n").unwrap();
    let cases: [(Vec<String>, &str); 5] = [
        (
            vec![
                "--model".into(),
                s(&model),
                "--input".into(),
                s(&pairs),
                "--new-tokens".into(),
                "0".into(),
            ],
            "--new-tokens 0",
        ),
        (
            vec![
                "--model".into(),
                s(&model),
                "--input".into(),
                s(&pairs),
                "--new-tokens".into(),
                "500".into(),
            ],
            "lower --new-tokens",
        ),
        (vec!["--model".into(), s(&model)], "--out"),
        (
            vec![
                "--model".into(),
                s(&out_dir),
                "--out".into(),
                s(&dir.path().join("x")),
            ],
            "already int8",
        ),
        (
            vec!["--model".into(), s(&model), "--input".into(), s(&no_prompt)],
            "needs string fields `prompt` and `response`",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["model", "quantize"];
        all.extend(args.iter().map(String::as_str));
        let out = rrtf(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
