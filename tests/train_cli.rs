//! `rrtf train loss` and `rrtf train` end to end: output, agreement with the PyTorch fixtures,
//! the HF-layout model and checkpoint a run leaves, and exit codes for bad input.

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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Write `dir/round.toml` training the fixture model `model/mqa` into `out_dir`: `round` in
/// its `[round]` section, `training` in `[training]`. Returns its path.
fn write_config(dir: &Path, out_dir: &Path, round: &str, training: &str) -> PathBuf {
    let config = dir.join("round.toml");
    let text = format!(
        "[round]\n{round}\n[training]\nbase_model = {:?}\noutput_dir = {:?}\n{training}",
        path(&fixtures().join("model/mqa")),
        path(out_dir)
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// `[training]` keys of the short runs: batches of 2, a fifth held out, the prompt itself as
/// the template, the raw responses.
const SHORT_RUN: &str =
    "batch_size = 2\neval_fraction = 0.2\nprompt_template = \"{prompt}\"\ncode_only = false\n";

/// Run `rrtf train loss ARGS`, which must succeed: its JSON lines.
fn loss_lines(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["train", "loss"];
    all.extend_from_slice(args);
    let out = rrtf(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Run `rrtf train loss ARGS` and compare its lines with the fixture rows `want`: the loss
/// terms within 1e-4 relative error, and as many `values_key` entries per line.
fn check_loss_lines(args: &[&str], want: &[Value], values_key: &str) -> Vec<Value> {
    let lines = loss_lines(args);
    assert_eq!(lines.len(), want.len());
    for (got, want) in lines.iter().zip(want) {
        for key in ["rank_loss", "sft_loss", "loss"] {
            let (g, w) = (got[key].as_f64().unwrap(), want[key].as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{key}: {g} vs {w}"
            );
        }
        assert_eq!(
            got[values_key].as_array().unwrap().len(),
            want[values_key].as_array().unwrap().len()
        );
    }
    lines
}

fn expected() -> Value {
    let f = fixtures().join("train/expected.json");
    serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
}

#[test]
fn train_loss_prints_the_objective_per_group() {
    let f = fixtures();
    let exp = expected();
    check_loss_lines(
        &[
            "--model",
            &path(&f.join("model/mqa")),
            "--input",
            &path(&f.join("train/groups.jsonl")),
        ],
        exp["models"]["mqa"]["groups"]["rrtf"].as_array().unwrap(),
        "p",
    );
}

#[test]
fn train_runs_saves_a_model_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let config = write_config(
        dir.path(),
        &out_dir,
        "number = 1\nseed = 3\n",
        &format!(
            "{SHORT_RUN}learning_rate = 1e-3\ngrad_accum = 1\nwarmup_steps = 1\ncheckpoint_every = 2\n"
        ),
    );
    let input = path(&fixtures().join("train/groups.jsonl"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "train",
            "--config",
            config.to_str().unwrap(),
            "--input",
            &input,
        ];
        args.extend_from_slice(extra);
        rrtf(&args)
    };
    let out = run(&["--max-steps", "4"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["steps"], 4);
    // The pairs trained on are the file's: 1 + 1 + 5 + 0 + 2 (two groups name theirs).
    assert_eq!(report["encode"]["pairs"], 9, "{report}");
    assert_eq!(report["encode"]["responses_dropped"], 0, "{report}");
    assert!(report["eval"]["preference_ties"].is_u64(), "{report}");
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.jsonl",
        "checkpoints/step-2/state.json",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(out_dir.join("metrics.jsonl")).unwrap();
    let steps = metrics
        .lines()
        .filter(|l| l.contains("\"kind\":\"step\""))
        .count();
    assert_eq!(steps, 4);
    // The saved model loads and scores.
    let loss = rrtf(&[
        "train",
        "loss",
        "--model",
        &path(&out_dir),
        "--input",
        &input,
    ]);
    assert!(
        loss.status.success(),
        "{}",
        String::from_utf8_lossy(&loss.stderr)
    );
    // Resume from step 2 to step 4.
    let ck = path(&out_dir.join("checkpoints/step-2"));
    let out = run(&["--max-steps", "4", "--resume", &ck]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A different schedule length cannot resume that run: exit code 2.
    let out = run(&["--max-steps", "5", "--resume", &ck]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out_dir.join("checkpoints/step-4").is_dir());
    // Without --resume the run in output_dir is continued: finished, it is evaluated and saved
    // again, and nothing is trained or logged twice.
    let out = run(&["--max-steps", "4"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("already finished (4 steps)"), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["steps"], 4);
    assert_eq!(
        report["resumed_from"],
        path(&out_dir.join("checkpoints/step-4"))
    );
    // A run that cannot continue it (another schedule, another [training] value) is refused,
    // saying why and naming --restart; nothing is removed.
    let changed = dir.path().join("changed");
    std::fs::create_dir_all(&changed).unwrap();
    let changed = write_config(
        &changed,
        &out_dir,
        "number = 1\nseed = 3\n",
        &format!(
            "{SHORT_RUN}learning_rate = 2e-3\ngrad_accum = 1\nwarmup_steps = 1\ncheckpoint_every = 2\n"
        ),
    );
    for (config, max_steps, says) in [
        (
            &config,
            "1",
            "the run had 4 total steps, this config gives 1",
        ),
        (
            &changed,
            "4",
            "the [training] config changed since this checkpoint: training.learning_rate (0.001 -> 0.002)",
        ),
    ] {
        let out = rrtf(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--input",
            &input,
            "--max-steps",
            max_steps,
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(says) && err.contains("pass --restart"),
            "{err}"
        );
    }
    assert!(out_dir.join("checkpoints/step-4").is_dir());
    // --restart replaces the earlier run's checkpoints and metrics instead of mixing them.
    let out = run(&["--max-steps", "1", "--restart"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("starting afresh"), "{err}");
    let ckpts: Vec<String> = std::fs::read_dir(out_dir.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ckpts, ["step-1"]);
    let metrics = std::fs::read_to_string(out_dir.join("metrics.jsonl")).unwrap();
    let steps: Vec<Value> = metrics
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == "step")
        .collect();
    assert_eq!(steps.len(), 1, "{metrics}");
    assert_eq!(steps[0]["step"], 1);
}

#[test]
fn bad_input_exits_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"prompt\": \"x\", \"responses\": [\"a\", \"b\"], \"scores\": [1.0]}\n",
    )
    .unwrap();
    let model = path(&fixtures().join("model/mqa"));
    for args in [
        vec![
            "train",
            "loss",
            "--model",
            &model,
            "--input",
            bad.to_str().unwrap(),
        ],
        vec![
            "train",
            "loss",
            "--model",
            &model,
            "--input",
            bad.to_str().unwrap(),
            "--objective",
            "dpo",
        ],
        vec!["train"],
    ] {
        let out = rrtf(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn train_loss_dpo_cdpo_and_ipo_against_a_reference_match_pytorch() {
    let f = fixtures();
    let exp = expected();
    assert_eq!(exp["models"]["mqa"]["dpo_reference"], "mha");
    for variant in ["dpo", "cdpo", "ipo"] {
        let d = &exp["dpo"][variant];
        let s = |k: &str| match &d[k] {
            Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        let (beta, loss, smoothing, reduction, sft_weight, sft_normalize) = (
            s("beta"),
            s("dpo_loss"),
            s("label_smoothing"),
            s("pair_reduction"),
            s("sft_weight"),
            s("sft_normalize"),
        );
        let lines = check_loss_lines(
            &[
                "--model",
                &path(&f.join("model/mqa")),
                "--reference",
                &path(&f.join("model/mha")),
                "--objective",
                "dpo",
                "--dpo-beta",
                &beta,
                "--dpo-loss",
                &loss,
                "--dpo-label-smoothing",
                &smoothing,
                "--pair-reduction",
                &reduction,
                "--sft-weight",
                &sft_weight,
                "--sft-normalize",
                &sft_normalize,
                "--input",
                &path(&f.join("train/groups.jsonl")),
            ],
            exp["models"]["mqa"]["dpo"][variant].as_array().unwrap(),
            "reward",
        );
        for got in &lines {
            assert!(got.get("p").is_none(), "DPO prints rewards, not p: {got}");
        }
    }
}

/// Issue 15 point 6: by default `rrtf train loss` scores what `rrtf train` trains on: the
/// extracted code (`details[i].code`), the instruction template (PanGu-Coder2's triple quotes)
/// for an instruction and none for a completion prompt. The same groups written out by hand as
/// the trainer sees them (code, wrapped prompt, used verbatim) score the same.
#[test]
fn train_loss_scores_what_training_trains_on() {
    let dir = tempfile::tempdir().unwrap();
    let model = path(&fixtures().join("model/mqa"));
    let code = ["def f(x):\n    return x\n", "def f(x):\n    pass\n"];
    let exported = dir.path().join("exported.jsonl");
    let line = serde_json::json!({
        "prompt": "Write f, the identity.", "kind": "instruction",
        "responses": [
            format!("Here it is:\n```python\n{}```\n", code[0]),
            format!("Sure!\n```python\n{}```", code[1]),
        ],
        "scores": [1.0, -0.3],
        "details": [{"code": code[0]}, {"code": code[1]}],
    });
    std::fs::write(&exported, format!("{line}\n")).unwrap();
    let by_hand = dir.path().join("by_hand.jsonl");
    let line = serde_json::json!({
        "prompt": "\"\"\"\nWrite f, the identity.\n\"\"\"\n", "kind": "completion",
        "responses": code, "scores": [1.0, -0.3],
    });
    std::fs::write(&by_hand, format!("{line}\n")).unwrap();
    let score = |input: &Path, extra: &[&str]| -> Value {
        let mut args = vec![
            "train",
            "loss",
            "--model",
            &model,
            "--input",
            input.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = rrtf(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_object_mut().unwrap().remove("prompt");
        v
    };
    let (a, b) = (score(&exported, &[]), score(&by_hand, &[]));
    assert_eq!(a, b, "train loss must score the trained text");
    // The raw answers are another text: --raw scores them, and differently.
    assert_ne!(score(&exported, &["--raw"]), a);
}

/// Issue 15 point 7: a response longer than the model's positions is dropped (its value is
/// null and it is named), not cut and scored without its end-of-text; a group with fewer than
/// two responses left is dropped and says why.
#[test]
fn train_loss_drops_responses_that_do_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.jsonl");
    let long = "    x = 1\n".repeat(100);
    let lines = [
        serde_json::json!({"prompt": "def f():\n", "kind": "completion",
            "responses": ["    return 1\n", long, "    pass\n"], "scores": [1.0, 0.5, -1.0]}),
        serde_json::json!({"prompt": "def g():\n", "kind": "completion",
            "responses": ["    return 1\n", long], "scores": [1.0, -1.0]}),
    ];
    std::fs::write(
        &input,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let rows = loss_lines(&[
        "--model",
        &path(&fixtures().join("model/mqa")),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0]["dropped_responses"],
        serde_json::json!([1]),
        "{}",
        rows[0]
    );
    assert!(
        rows[0]["p"][1].is_null() && rows[0]["p"][0].is_f64(),
        "{}",
        rows[0]
    );
    assert!(rows[0]["loss"].is_f64());
    assert!(
        rows[1]["dropped"]
            .as_str()
            .unwrap()
            .contains("fewer than two"),
        "{}",
        rows[1]
    );
    assert!(rows[1].get("loss").is_none());
}

#[test]
fn device_and_reference_mistakes_exit_with_2_and_say_why() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &dir.path().join("out"), "number = 1\n", "");
    let input = path(&f.join("train/groups.jsonl"));
    let (mqa, mha) = (path(&f.join("model/mqa")), path(&f.join("model/mha")));
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec![
                "train",
                "--config",
                config.to_str().unwrap(),
                "--input",
                &input,
                "--device",
                "cuda:0",
            ],
            "--features cuda",
        ),
        (
            vec![
                "train",
                "--config",
                config.to_str().unwrap(),
                "--input",
                &input,
                "--device",
                "tpu",
            ],
            "\"tpu\" is not a device",
        ),
        (
            vec![
                "train",
                "loss",
                "--model",
                &mqa,
                "--input",
                &input,
                "--reference",
                &mha,
            ],
            "add --objective dpo",
        ),
    ];
    for (args, says) in cases {
        let out = rrtf(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
    }
}

/// `rrtf --json train --config CONFIG --input <fixture groups> --max-steps 3`, which must
/// succeed: its output and its stderr.
fn train_3_steps(config: &Path) -> (Output, String) {
    let out = rrtf(&[
        "--json",
        "train",
        "--config",
        config.to_str().unwrap(),
        "--input",
        &path(&fixtures().join("train/groups.jsonl")),
        "--max-steps",
        "3",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (out, err)
}

/// `rrtf train loss` of `model` on the fixture groups: its output (one line a group).
fn group_losses(model: &Path) -> String {
    let out = rrtf(&[
        "train",
        "loss",
        "--model",
        &path(model),
        "--input",
        &path(&fixtures().join("train/groups.jsonl")),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A 3-step `rrtf train` of the fixture model with `training` keys beside [`SHORT_RUN`] and a
/// learning rate of 1e-2: its JSON report, its stderr and the written model's directory (in
/// the returned temporary directory).
fn short_lora_run(training: &str) -> (Value, String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let config = write_config(
        dir.path(),
        &out_dir,
        "number = 1\nseed = 3\n",
        &format!("{SHORT_RUN}learning_rate = 1e-2\n{training}"),
    );
    let (out, err) = train_3_steps(&config);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["steps"], 3);
    (report, err, out_dir, dir)
}

#[test]
fn lora_run_reports_its_adapters_and_saves_a_merged_model() {
    let f = fixtures();
    let (report, err, out_dir, _dir) =
        short_lora_run("objective = \"dpo\"\nsft_weight = 0.0\nlora = { rank = 2, alpha = 4.0 }\n");
    assert!(
        err.contains("LoRA rank 2 alpha 4 on 8 projections"),
        "{err}"
    );
    assert_eq!(report["objective"], "dpo");
    assert_eq!(report["params"]["adapted"], 8);
    // mqa fixture: n_embd 32, kv 8, inner 64, 2 layers; A [d_in, 2] and B [2, d_out] each.
    let per_layer = 2 * ((32 + 48) + (32 + 32) + (32 + 64) + (64 + 32));
    assert_eq!(report["params"]["trainable"], 2 * per_layer);
    // The merged model is a plain checkpoint: it loads and scores, and it moved from the base.
    assert_ne!(group_losses(&out_dir), group_losses(&f.join("model/mqa")));
}

/// Issue 23: LoRA over a bf16 base with per-layer gradient checkpointing, from a config: the run
/// trains, and the model it writes is f32 (merged over the f32 base from disk), loads and scores
/// differently from the base.
#[test]
fn a_bf16_base_lora_run_with_layer_checkpointing_saves_an_f32_model() {
    let f = fixtures();
    let (report, _, out_dir, _dir) = short_lora_run(
        "gradient_checkpointing = \"layers\"\n\
         lora = { rank = 2, alpha = 4.0, base_dtype = \"bf16\" }\n",
    );
    assert_eq!(report["lora"]["base_dtype"], "bf16", "{report}");
    // Every tensor of the written model is F32 (safetensors header).
    let bytes = std::fs::read(out_dir.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let dtypes: Vec<&str> = header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, v)| v["dtype"].as_str().unwrap())
        .collect();
    assert!(
        !dtypes.is_empty() && dtypes.iter().all(|d| *d == "F32"),
        "{dtypes:?}"
    );
    assert_ne!(group_losses(&out_dir), group_losses(&f.join("model/mqa")));
}

/// Issue 18: `objective = "sft"`. `train loss --objective sft --sft-responses best` prints
/// `rrtf`'s fine-tuning term (PyTorch's figure) and no ranking term; `rrtf train` runs it from
/// a config and reports the objective; `sft_responses` without `objective = "sft"`, and
/// `teachers` on a file that names no roles, exit with 2 and say what to change.
#[test]
fn sft_objective_trains_and_scores_and_refuses_what_it_cannot_do() {
    let f = fixtures();
    let exp = expected();
    let model = path(&f.join("model/mqa"));
    let groups = path(&f.join("train/groups.jsonl"));
    let rows = exp["models"]["mqa"]["groups"]["rrtf"].as_array().unwrap();
    let lines = loss_lines(&[
        "--model",
        &model,
        "--input",
        &groups,
        "--objective",
        "sft",
        "--sft-responses",
        "best",
    ]);
    assert_eq!(lines.len(), rows.len());
    for (got, want) in lines.iter().zip(rows) {
        let (g, w) = (
            got["sft_loss"].as_f64().unwrap(),
            want["sft_loss"].as_f64().unwrap(),
        );
        assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "{g} vs {w}");
        assert_eq!(got["rank_loss"].as_f64(), Some(0.0));
        assert!((got["loss"].as_f64().unwrap() - g).abs() <= 1e-4 * g.abs());
    }

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let config = |extra: &str| {
        let training = format!("{SHORT_RUN}learning_rate = 1e-3\n{extra}");
        path(&write_config(dir.path(), &out_dir, "seed = 3\n", &training))
    };
    let train = |cfg: &str| {
        rrtf(&[
            "--json",
            "train",
            "--config",
            cfg,
            "--input",
            &groups,
            "--max-steps",
            "2",
        ])
    };
    let out = train(&config("objective = \"sft\"\nsft_responses = \"best\"\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["objective"], "sft");
    assert_eq!(report["steps"], 2);
    assert_eq!(report["last_step"]["rank_loss"].as_f64(), Some(0.0));
    assert!(report["last_step"]["sft_loss"].as_f64().unwrap() > 0.0);
    assert!(out_dir.join("model.safetensors").is_file());

    for (extra, wants) in [
        (
            "sft_responses = \"best\"\n",
            &["training.sft_responses", "objective = \"sft\""][..],
        ),
        (
            "objective = \"sft\"\nsft_responses = \"teachers\"\n",
            &["training.sft_responses", "`role`"][..],
        ),
    ] {
        let out = train(&config(extra));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
        for w in wants {
            assert!(err.contains(w), "{w} in {err}");
        }
    }
}

/// Issue 19: checkpoints are pruned as a run writes them: the last `keep_checkpoints` plus the
/// one with the best held-out loss stay.
#[test]
fn checkpoints_are_pruned_to_the_last_k_and_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let config = write_config(
        dir.path(),
        &out_dir,
        "number = 1\nseed = 3\n",
        &format!("{SHORT_RUN}learning_rate = 5e-2\ncheckpoint_every = 1\nkeep_checkpoints = 2\n"),
    );
    let out = rrtf(&[
        "--json",
        "train",
        "--config",
        config.to_str().unwrap(),
        "--input",
        &path(&fixtures().join("train/groups.jsonl")),
        "--max-steps",
        "8",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The held-out loss of each step's checkpoint (evaluated at every checkpoint).
    let evals: Vec<(u64, f64)> = std::fs::read_to_string(out_dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == "eval")
        .map(|v| (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
        .collect();
    assert_eq!(evals.len(), 8, "{evals:?}");
    let best = evals.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    let mut want = vec![7, 8, best];
    want.sort();
    want.dedup();
    let mut kept: Vec<u64> = std::fs::read_dir(out_dir.join("checkpoints"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_prefix("step-").unwrap().parse().unwrap()
        })
        .collect();
    kept.sort();
    assert_eq!(kept, want, "held-out losses {evals:?}");
}

/// Issue 23 item 5: `rrtf train --devices cpu,cpu` trains data-parallel (two replicas on flex;
/// `cuda:0,cuda:1` on two GPUs) and reports the same losses as the one-device run; the report
/// names the devices; one device in `--devices`, or `--devices` with `--device`, is refused.
#[test]
fn devices_trains_data_parallel_with_the_one_device_figures() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let input = path(&f.join("train/groups.jsonl"));
    let run = |name: &str, extra: &[&str]| {
        let here = dir.path().join(name);
        std::fs::create_dir(&here).unwrap();
        let config = write_config(
            &here,
            &here.join("out"),
            "number = 1\nseed = 3\n",
            "batch_size = 3\neval_fraction = 0.2\nprompt_template = \"{prompt}\"\n\
             code_only = false\nlearning_rate = 1e-3\n",
        );
        let mut args = vec![
            "--json",
            "train",
            "--config",
            config.to_str().unwrap(),
            "--input",
            &input,
            "--max-steps",
            "2",
        ];
        args.extend_from_slice(extra);
        let out = rrtf(&args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{extra:?}: {err}");
        (serde_json::from_slice::<Value>(&out.stdout).unwrap(), err)
    };
    let (one, _) = run("one", &[]);
    let (two, err) = run("two", &["--devices", "cpu,cpu"]);
    assert!(
        err.contains("data-parallel over 2 devices (cpu, cpu)"),
        "{err}"
    );
    assert_eq!(two["devices"], serde_json::json!(["cpu", "cpu"]), "{two}");
    assert_eq!(one["steps"], 2);
    assert_eq!(two["steps"], 2);
    for (part, key) in [
        ("last_step", "loss"),
        ("last_step", "rank_loss"),
        ("last_step", "sft_loss"),
        ("last_step", "grad_norm"),
        ("eval", "loss"),
    ] {
        let (a, b) = (
            one[part][key].as_f64().unwrap(),
            two[part][key].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1.0),
            "{part}.{key}: {a} vs {b}"
        );
    }
    assert_eq!(one["devices"], serde_json::json!([]), "{one}");
    let config = write_config(dir.path(), &dir.path().join("x"), "number = 1\n", "");
    for (extra, says) in [
        (vec!["--devices", "cpu"], "pass --device cpu instead"),
        (vec!["--devices", "cpu,tpu"], "\"tpu\" is not a device"),
        (
            vec!["--devices", "cpu,cpu", "--device", "cpu"],
            "cannot be used with",
        ),
    ] {
        let mut args = vec![
            "train",
            "--config",
            config.to_str().unwrap(),
            "--input",
            &input,
        ];
        args.extend_from_slice(&extra);
        let out = rrtf(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?} should say {says:?}: {err}");
    }
}

/// Issue 19: a checkpoint from an rrtf that did not record its `[training]` config resumes (as
/// before), but the run says that a changed key cannot be detected there.
#[test]
fn a_checkpoint_without_its_config_resumes_with_a_warning() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let config = write_config(
        dir.path(),
        &out_dir,
        "number = 1\nseed = 3\n",
        &format!("{SHORT_RUN}learning_rate = 1e-3\ncheckpoint_every = 1\n"),
    );
    let input = path(&f.join("train/groups.jsonl"));
    let args = [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--input",
        &input,
        "--max-steps",
        "2",
    ];
    let first = rrtf(&args);
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{err}");
    assert!(!err.contains("did not record"), "{err}");
    let state = out_dir.join("checkpoints/step-2/state.json");
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved["config"].is_object(), "{saved}");
    saved.as_object_mut().unwrap().remove("config");
    std::fs::write(&state, serde_json::to_string(&saved).unwrap()).unwrap();
    let again = rrtf(&args);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{err}");
    assert!(
        err.contains("did not record its [training] config") && err.contains("--restart"),
        "{err}"
    );
}

/// Training an int8 checkpoint (`rrtf model quantize`) is refused: it would move the weights
/// off the int8 grid while config.json still said int8.
#[test]
fn an_int8_base_is_refused_naming_the_f32_one() {
    let dir = tempfile::tempdir().unwrap();
    let int8 = dir.path().join("mqa-int8");
    let out = rrtf(&[
        "model",
        "quantize",
        "--model",
        &path(&fixtures().join("model/mqa")),
        "--out",
        &path(&int8),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.path().join("round.toml");
    std::fs::write(
        &config,
        format!(
            "[round]\n[training]\nbase_model = {:?}\noutput_dir = {:?}\n{SHORT_RUN}",
            path(&int8),
            path(&dir.path().join("out"))
        ),
    )
    .unwrap();
    let out = rrtf(&[
        "train",
        "--config",
        &path(&config),
        "--input",
        &path(&fixtures().join("train/groups.jsonl")),
        "--max-steps",
        "1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("int8 checkpoint") && err.contains("f32"),
        "{err}"
    );
}
