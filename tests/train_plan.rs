//! `rrtf train plan`: the memory plan of a run from a config file, a checkpoint directory or a
//! preset, as text and as JSON (`rrtf_train::plan` holds the arithmetic and its unit tests).

use std::path::Path;

use crate::common::{ok_json, rrtf};

fn repo(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

#[test]
fn plans_starcoder_from_its_config_and_says_whether_it_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let config = repo("configs/models/starcoderbase-1b.json");
    let plan = |extra: &[&str]| {
        let mut args = vec!["--json", "train", "plan", "--model", &config];
        args.extend_from_slice(extra);
        ok_json(d, &args)
    };
    let lora = plan(&["--lora-rank", "16", "--seq-len", "512", "--responses", "2"]);
    assert_eq!(lora["params"]["base"], 1_137_207_296u64);
    assert!(lora["params"]["trainable"].as_u64().unwrap() < 20_000_000);
    let parts = [
        "weights",
        "adapters",
        "composed_weights",
        "gradients",
        "gradient_accumulator",
        "optimizer",
        "reference",
        "activations",
    ];
    let sum: u64 = parts.iter().map(|k| lora[*k].as_u64().unwrap()).sum();
    assert_eq!(lora["total"].as_u64().unwrap(), sum);
    assert!(lora["fits"].is_null(), "no device memory given");
    // 1B with LoRA at 2 × 512 tokens needs about 14.5 GiB: fits 24, not 12.
    let gib = lora["total"].as_f64().unwrap() / (1u64 << 30) as f64;
    assert!((14.0..15.0).contains(&gib), "{gib}");
    let on = |g: &str| {
        plan(&[
            "--lora-rank",
            "16",
            "--seq-len",
            "512",
            "--responses",
            "2",
            "--device-memory",
            g,
        ])["fits"]
            .clone()
    };
    assert_eq!(on("24"), true);
    assert_eq!(on("12"), false);
    // A checkpoint directory reads its config.json; the text names every part and the verdict.
    let out = rrtf(
        d,
        &[
            "train",
            "plan",
            "--model",
            &repo("tests/fixtures/model/mqa"),
            "--objective",
            "dpo",
            "--seq-len",
            "64",
            "--device-memory",
            "1",
        ],
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "weights",
        "AdamW moments",
        "DPO reference",
        "activations",
        "fits",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn plan_mistakes_exit_2_naming_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let config = repo("configs/models/starcoderbase-1b.json");
    for (args, needle) in [
        (vec!["train", "plan"], "--model"),
        (vec!["train", "plan", "--preset", "huge"], "tiny-mqa"),
        (
            vec!["train", "plan", "--model", &config, "--seq-len", "9000"],
            "n_positions",
        ),
        (
            vec!["train", "plan", "--model", &config, "--objective", "ppo"],
            "rrtf, rrhf, dpo or sft",
        ),
        (
            vec!["train", "plan", "--model", &config, "--base-dtype", "bf16"],
            "LoRA",
        ),
        (
            vec!["train", "plan", "--model", &config, "--device", "tpu"],
            "cpu, cuda, cuda:N or wgpu",
        ),
    ] {
        let out = rrtf(d, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
