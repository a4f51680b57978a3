//! `rrtf experiment run` (issue 18) on a tiny world cut from funcworld's data: 8 pool problems,
//! 4 benchmark problems, one replay teacher, a `mini` base trained for one epoch, 2 arms, 2
//! rounds, 1 seed. It checks the plumbing, not learning: the base is made, every arm and round
//! is a recorded sweep variant in its own database, `results.json` agrees with those records,
//! an interrupted run continues without redoing or duplicating a unit, and `--seed` moves every
//! seed.

use crate::common;

use std::path::{Path, PathBuf};

use common::{ok_json, rrtf, rrtf_cmd};
use serde_json::Value;

fn funcworld(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments/funcworld")
        .join(name)
}

fn head(name: &str, n: usize) -> Vec<String> {
    std::fs::read_to_string(funcworld(name))
        .unwrap()
        .lines()
        .take(n)
        .map(str::to_owned)
        .collect()
}

/// The tiny world and its experiment file in `d`; returns the experiment file's path.
fn tiny_world(d: &Path) -> PathBuf {
    let pool = head("data/pool.jsonl", 8);
    std::fs::write(d.join("pool.jsonl"), pool.join("\n") + "\n").unwrap();
    std::fs::write(
        d.join("benchmark.jsonl"),
        head("data/benchmark.jsonl", 4).join("\n") + "\n",
    )
    .unwrap();
    std::fs::write(
        d.join("corpus.jsonl"),
        head("data/corpus.jsonl", 16).join("\n") + "\n",
    )
    .unwrap();
    // The teacher's recordings of these 8 prompts only.
    let prompts: Vec<String> = pool
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["prompt"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let teacher: Vec<String> = std::fs::read_to_string(funcworld("data/teacher-careless.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["match"].as_array().unwrap().len() == 1
                && prompts.iter().any(|p| v["match"][0] == p.as_str())
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(teacher.len(), 8, "one completion-shaped row per prompt");
    std::fs::write(d.join("teacher.jsonl"), teacher.join("\n") + "\n").unwrap();
    std::fs::write(
        d.join("round.toml"),
        r#"[round]
number = 1
seed = 1
benchmark = "benchmark.jsonl"

[[teachers]]
name = "careless"
replay = "teacher.jsonl"
model = "recorded"
kind = "completion"
temperatures = [0.2, 0.8]
samples = 2

[student]
name = "student"
local_model = "unused"
model = "student"
kind = "completion"
temperatures = [0.8]
samples = 4
concurrency = 2
max_tokens = 32

[evolution]
enabled = false

[test_synthesis]
enabled = false

[decontamination]
screen_round_benchmark = false
reason = "a test world cut from funcworld, whose generator splits it"

[execution]
timeout_s = 5.0

[training]
base_model = "unused"
output_dir = "unused"
learning_rate = 1e-3
warmup_steps = 1
epochs = 3
batch_size = 2
max_length = 256
eval_fraction = 0.2
prompt_template = "{prompt}"
code_only = true
checkpoint_every = 10

[evaluation]
samples = 1
temperature = 0.0
k = [1]
max_new_tokens = 32
"#,
    )
    .unwrap();
    std::fs::write(
        d.join("arms.toml"),
        r#"base = "round.toml"
metric = "pass@1"

[[runs]]
name = "rrtf"

[[runs]]
name = "sft-best"
"training.objective" = "sft"
"training.sft_responses" = "best"
"#,
    )
    .unwrap();
    std::fs::write(
        d.join("base.toml"),
        r#"[round]
seed = 1

[training]
base_model = "unused"
output_dir = "unused"
objective = "sft"
sft_responses = "all"
learning_rate = 3e-3
warmup_steps = 1
epochs = 40
batch_size = 8
max_length = 256
eval_fraction = 0.1
prompt_template = "{prompt}"
completion_template = "{prompt}"
code_only = true
checkpoint_every = 100
"#,
    )
    .unwrap();
    let path = d.join("experiment.toml");
    std::fs::write(
        &path,
        r#"name = "tiny"
round = "round.toml"
arms = "arms.toml"
rounds = 2
seed = 7
pool = "pool.jsonl"
out = "out"
default_profile = "tiny"

[base]
recipe = "base.toml"
corpus = "corpus.jsonl"
tokenizer_files = ["corpus.jsonl", "pool.jsonl"]
vocab_size = 512
preset = "mini"
dir = "bases"
holdout_pool_lines = 8

[profiles.tiny]
seeds = 1
base_epochs = 1
prompts_per_round = 4
teacher_samples = 1
student_samples = 1
epochs = 1
eval_problems = 4
sampled_samples = 3
sampled_k = [1, 3]
"#,
    )
    .unwrap();
    path
}

/// pass@k of completion rows (`rrtf eval --out`) by the unbiased estimator, computed here
/// from the rows' outcomes: per problem 1 - C(n-c, k) / C(n, k), averaged.
fn pass_at_k_of_rows(rows: &[Value], k: u64) -> f64 {
    let mut per: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for r in rows {
        let e = per
            .entry(r["task_id"].as_str().unwrap().to_owned())
            .or_default();
        e.0 += 1;
        e.1 += u64::from(r["outcome"] == "pass");
    }
    let choose = |n: u64, k: u64| -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).map(|i| (n - i) as f64 / (k - i) as f64).product()
    };
    per.values()
        .map(|&(n, c)| 1.0 - choose(n - c, k) / choose(n, k))
        .sum::<f64>()
        / per.len() as f64
}

/// Every done run of `stage` in a database: (run id, summary).
fn done_runs(db: &Path, stage: &str) -> Vec<(i64, Value)> {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = rrtf_store::Store::open(db).await.unwrap();
        let runs = store.done_runs(stage).await.unwrap();
        store.close().await;
        runs.into_iter()
            .map(|(_, r)| (r.id, r.summary.unwrap_or(Value::Null)))
            .collect()
    })
}

#[test]
fn an_experiment_runs_resumes_and_writes_results_that_match_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_world(d);
    let args = ["--json", "experiment", "run", "--config", "experiment.toml"];

    // The plan: 1 sweep for round 1 (both arms on the same data), one per arm for round 2,
    // whose student is that arm's round-1 model.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let plan = ok_json(d, &dry);
    assert_eq!(plan["seeds"], serde_json::json!([7]), "{plan}");
    let units = plan["units"].as_array().unwrap();
    assert_eq!(units.len(), 3, "{plan}");
    assert_eq!(units[0]["arms"], serde_json::json!(["rrtf", "sft-best"]));
    assert_eq!(units[1]["arms"], serde_json::json!(["rrtf"]));
    assert_eq!(
        units[1]["student"],
        Value::from(format!("{}/rrtf/model", units[0]["dir"].as_str().unwrap()))
    );
    assert_eq!(units[2]["prompts"], serde_json::json!([4, 8]));
    assert!(!d.join("out").exists(), "a dry run writes nothing");

    // `--seed` moves the base's seed, every replicate's, and the directories.
    let mut moved = dry.clone();
    moved.extend(["--seed", "40"]);
    let other = ok_json(d, &moved);
    assert_eq!(other["seeds"], serde_json::json!([40]));
    assert_eq!(other["base"]["seed"], 40);
    assert_ne!(other["base"]["dir"], plan["base"]["dir"]);
    assert_ne!(other["out"], plan["out"]);
    assert!(
        other["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["seed"] == 40)
    );

    // Interrupted once round 1's sweep has finished: killed (with its children, which end
    // with their parent), then run again to the end.
    let r1 = d.join("out/tiny-seed7/seed-7/r1");
    let mut child = rrtf_cmd(d, &args[..5])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(900);
    while !r1.join("sweep.json").is_file() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the experiment ended before round 1's sweep was written: {status}");
        }
        assert!(std::time::Instant::now() < deadline, "round 1 never ended");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let r1_variants = done_runs(&r1.join("rrtf.db"), "sweep/variant");
    assert_eq!(r1_variants.len(), 2, "round 1 finished both arms");

    let run = ok_json(d, &args);
    let out = d.join("out/tiny-seed7");
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(run["results"], results, "what it printed is what it wrote");
    assert!(
        run["skipped"].as_u64().unwrap() >= 2,
        "round 1's arms were not redone: {run}"
    );
    assert_eq!(results["schema_version"], 1);
    assert_eq!(
        (&results["profile"], &results["seed"]),
        (&Value::from("tiny"), &Value::from(7))
    );
    assert_eq!(results["arms"], serde_json::json!(["rrtf", "sft-best"]));
    let base = &results["base"];
    assert_eq!(base["seed"], 7);
    // The base never saw the rounds' prompts: its corpus is the corpus without the lines of
    // the pool's first 8 problems (the 2 rounds x 4 prompts).
    assert_eq!(base["holdout_pool_lines"], 8);
    let pool_ids: Vec<Value> = common::read_jsonl(&d.join("pool.jsonl"))
        .iter()
        .map(|r| r["task_id"].clone())
        .collect();
    let trained = common::read_jsonl(&d.join(base["corpus"].as_str().unwrap()));
    assert_eq!(
        trained.len(),
        8,
        "16 corpus lines, 8 of them the pool's first 8 problems"
    );
    assert!(trained.iter().all(|r| !pool_ids.contains(&r["task_id"])));
    assert!(
        base["model_dir"].as_str().unwrap().contains("seed7-e1-h8"),
        "{base}"
    );
    assert_eq!(base["problems"], 4);
    assert!(base["pass_at_k"]["pass@1"].is_number(), "{base}");
    // The sampled evaluation (3 completions per problem): its figures are the estimator's on
    // its own rows.
    let base_rows = common::read_jsonl(&out.join("base-sampled-eval.jsonl"));
    assert_eq!(base_rows.len(), 12, "4 problems x 3 completions");
    for k in [1, 3] {
        let got = base["sampled_pass_at_k"][format!("pass@{k}")]
            .as_f64()
            .unwrap();
        assert!(
            (got - pass_at_k_of_rows(&base_rows, k)).abs() < 1e-9,
            "{base}"
        );
    }
    assert!(
        d.join(base["model_dir"].as_str().unwrap())
            .join("model.safetensors")
            .is_file()
    );

    // Nothing was done twice: one recorded variant per arm and round, one data stage each.
    assert_eq!(done_runs(&r1.join("rrtf.db"), "sweep/variant"), r1_variants);
    assert_eq!(done_runs(&r1.join("rrtf.db"), "round/sample").len(), 1);
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "2 arms x 2 rounds");
    for cell in cells {
        let (arm, round) = (
            cell["arm"].as_str().unwrap(),
            cell["round"].as_u64().unwrap(),
        );
        let runs = cell["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1, "one seed: {cell}");
        let r = &runs[0];
        assert_eq!(r["seed"], 7);
        let db = d.join(r["db"].as_str().unwrap());
        let recorded = done_runs(&db, "sweep/variant");
        let mine: Vec<&Value> = recorded
            .iter()
            .filter(|(_, v)| v["config_hash"] == r["config_hash"])
            .map(|(_, s)| s)
            .collect();
        assert_eq!(mine.len(), 1, "{arm} round {round}: recorded once");
        let v = mine[0];
        assert_eq!(v["id"], arm);
        assert_eq!(r["pass_at_k"], v["pass_at_k"], "{arm} round {round}");
        let sampled_dir = r1.parent().unwrap().join(if round == 1 {
            format!("r1/{arm}")
        } else {
            format!("r2-{arm}/{arm}")
        });
        let rows = common::read_jsonl(&sampled_dir.join("sampled-eval.jsonl"));
        assert_eq!(
            rows.len(),
            12,
            "{arm} round {round}: 4 problems x 3 completions"
        );
        let sampled = &r["sampled_pass_at_k"];
        for k in [1, 3] {
            let got = sampled[format!("pass@{k}")].as_f64().unwrap();
            assert!(
                (got - pass_at_k_of_rows(&rows, k)).abs() < 1e-9,
                "{arm} round {round}: {sampled}"
            );
            assert_eq!(
                cell["sampled_pass_at_k"][format!("pass@{k}")]["mean"].as_f64(),
                Some(got)
            );
        }
        assert_eq!(r["train_loss"], v["train_loss"]);
        assert_eq!(r["eval_loss"], v["eval_loss"]);
        assert_eq!(r["preference_accuracy"], v["eval_preference_accuracy"]);
        assert_eq!(cell["pass_at_1"]["mean"], v["pass_at_k"]["pass@1"]);
        assert_eq!(
            cell["pass_at_1"]["per_seed"],
            serde_json::json!([v["pass_at_k"]["pass@1"]])
        );
        assert!(cell["pass_at_1"]["std"].is_null(), "one seed: no spread");
        let model = d.join(r["model_dir"].as_str().unwrap());
        assert!(model.join("config.json").is_file(), "{}", model.display());
        assert!(model.join("model.safetensors").is_file());
        assert!(!r["train_curve"].as_array().unwrap().is_empty());
        // Round 2 trained from (and sampled) the arm's round-1 model.
        let student = r["student"].as_str().unwrap();
        if round == 2 {
            assert!(student.ends_with(&format!("r1/{arm}/model")), "{student}");
        } else {
            assert_eq!(student, base["model_dir"].as_str().unwrap());
        }
    }
    assert_eq!(results["examples"]["arm"], "rrtf");
    assert_eq!(results["examples"]["changes"].as_array().unwrap().len(), 2);
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    for part in [
        "sft-best",
        "pass@1 per round",
        "rrtf: training loss per step",
    ] {
        assert!(report.contains(part), "{part} not in the report");
    }

    assert!(
        report.contains("round 2 pass@3 (sampled, T=0.8)"),
        "the sampled columns"
    );

    // Once more: every unit is done, nothing runs, the figures are the same.
    let again = ok_json(d, &args);
    assert_eq!(again["ran"], 0, "{again}");
    assert_eq!(again["skipped"], 4);
    let mut a = again["results"].clone();
    let mut b = results.clone();
    for v in [&mut a, &mut b] {
        v["seconds"] = Value::Null;
        for cell in v["cells"].as_array_mut().unwrap() {
            for r in cell["runs"].as_array_mut().unwrap() {
                r["status"] = Value::Null;
            }
        }
    }
    assert_eq!(a, b);

    // A profile the file does not have: exit 2 naming the ones it has.
    let bad = rrtf(
        d,
        &[
            "experiment",
            "run",
            "--config",
            "experiment.toml",
            "--profile",
            "huge",
        ],
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no profile `huge`") && err.contains("tiny"),
        "{err}"
    );

    // A holdout smaller than what the rounds sample: refused before anything runs.
    let file = std::fs::read_to_string(d.join("experiment.toml")).unwrap();
    std::fs::write(
        d.join("small-holdout.toml"),
        file.replace("holdout_pool_lines = 8", "holdout_pool_lines = 6"),
    )
    .unwrap();
    let bad = rrtf(
        d,
        &[
            "experiment",
            "run",
            "--config",
            "small-holdout.toml",
            "--dry-run",
        ],
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("base.holdout_pool_lines")
            && err.contains("samples 8 pool prompts")
            && err.contains("repeat_prompts"),
        "{err}"
    );
    // ... unless every round samples the same prompts (the pool's first 4, in both rounds).
    std::fs::write(
        d.join("repeat.toml"),
        file.replace("holdout_pool_lines = 8", "holdout_pool_lines = 6")
            .replace(
                "prompts_per_round = 4\n",
                "prompts_per_round = 4\nrepeat_prompts = true\n",
            ),
    )
    .unwrap();
    let plan = ok_json(
        d,
        &[
            "--json",
            "experiment",
            "run",
            "--config",
            "repeat.toml",
            "--dry-run",
        ],
    );
    let ranges: Vec<&Value> = plan["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["prompts"])
        .collect();
    assert_eq!(ranges.len(), 3, "{plan}");
    assert!(
        ranges.iter().all(|r| **r == serde_json::json!([0, 4])),
        "{plan}"
    );

    // A sampled pass@k whose k exceeds the completions drawn, or a greedy "sampled"
    // evaluation: refused naming the key.
    for (from, to, key) in [
        (
            "sampled_k = [1, 3]",
            "sampled_k = [1, 4]",
            "profiles.tiny.sampled_k",
        ),
        (
            "sampled_k = [1, 3]",
            "sampled_temperature = 0.0",
            "profiles.tiny.sampled_temperature",
        ),
        ("sampled_samples = 3\n", "", "profiles.tiny.sampled_k"),
    ] {
        std::fs::write(d.join("bad-sampled.toml"), file.replace(from, to)).unwrap();
        let bad = rrtf(
            d,
            &[
                "experiment",
                "run",
                "--config",
                "bad-sampled.toml",
                "--dry-run",
            ],
        );
        let err = String::from_utf8_lossy(&bad.stderr);
        assert_eq!(bad.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(key), "{to}: {err}");
    }
}
