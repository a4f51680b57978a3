//! `rrtf sweep` end to end on the quickstart's data and its shipped sweep: a 2x2 grid over a training and a ranking
//! parameter, every variant ranked, trained, evaluated and recorded; the table, JSON and report
//! list every variant; running again skips them all; a bad key is exit code 2 naming it.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{ok_json, rrtf};
use serde_json::Value;

fn done_variant_runs(db: &Path) -> usize {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = rrtf_store::Store::open(db).await.unwrap();
        let n = store.done_runs("sweep/variant").await.unwrap().len();
        store.close().await;
        n
    })
}

#[test]
fn grid_sweep_records_compares_resumes_and_rejects_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    // The quickstart's data stages only: evolve, synth-tests, sample, exec.
    let qs_summary = ok_json(
        dir.path(),
        &["--json", "quickstart", "--dir", "qs", "--until", "exec"],
    );
    assert_eq!(qs_summary["ok"], true, "{qs_summary}");
    let qs = dir.path().join("qs");
    // The shipped quickstart/sweep.toml: learning rate x pair set, 2 x 2. (Not the teacher
    // epsilon: it moves scores, never the order, so under the paper's unweighted hinge two
    // epsilons train the same model.)
    assert!(qs.join("sweep.toml").is_file());

    let s = ok_json(&qs, &["--json", "sweep", "--config", "sweep.toml"]);
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["metric"]["name"], "pass@1", "evaluation is on: {s}");
    // The shared data stages were done by the quickstart under the same config: all skipped.
    for st in s["data"]["stages"].as_array().unwrap() {
        assert_eq!(st["status"], "skipped", "{st}");
    }
    let variants = s["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4, "{s}");

    // Every combination, with the swept values, exactly once.
    let combos: BTreeSet<(String, String)> = variants
        .iter()
        .map(|v| {
            let vals = &v["values"];
            assert_eq!(vals.as_object().unwrap().len(), 2, "{v}");
            (
                vals["training.learning_rate"].to_string(),
                vals["ranking.pairs"].to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("0.001", "\"all\""),
        ("0.001", "\"best-vs-worst\""),
        ("0.005", "\"all\""),
        ("0.005", "\"best-vs-worst\""),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(combos, want);

    // Each ran, with its own ranker per epsilon, metrics and pass@k, and its own model.
    let rankers: BTreeSet<&str> = variants
        .iter()
        .map(|v| v["ranker"].as_str().unwrap())
        .collect();
    assert_eq!(rankers.len(), 2, "one ranking per pair set");
    let mut weights = BTreeSet::new();
    for v in variants {
        assert_eq!(v["status"], "ran", "{v}");
        assert!(v["steps"].as_u64().unwrap() > 0, "{v}");
        for m in ["train_loss", "eval_loss", "tokens_per_s"] {
            let x = v[m].as_f64().unwrap_or_else(|| panic!("{m}: {v}"));
            assert!(x.is_finite() && x > 0.0, "{m}: {v}");
        }
        let acc = v["eval_preference_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{v}");
        let p = v["pass_at_k"]["pass@1"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{v}");
        assert_eq!(v["eval_problems"], 4, "[set] evaluation.max_problems: {v}");
        assert_eq!(v["metric"], v["pass_at_k"]["pass@1"]);
        let model = qs.join(v["output_dir"].as_str().unwrap());
        assert!(
            model.starts_with(qs.join("sweeps/lr-pairs")),
            "{}",
            model.display()
        );
        weights.insert(std::fs::read(model.join("model.safetensors")).unwrap());
        // The variant's config is a round config that loads, with the swept values.
        let cfg = v["config"].as_str().unwrap();
        let check = rrtf(&qs, &["config", "check", cfg]);
        assert!(check.status.success());
        let text = std::fs::read_to_string(qs.join(cfg)).unwrap();
        assert!(text.contains("epochs = 1"), "{text}");
    }
    assert_eq!(weights.len(), 4, "every variant trained a different model");
    // Sorted by pass@1, best first, ranks 1..=4.
    let metric: Vec<f64> = variants
        .iter()
        .map(|v| v["metric"].as_f64().unwrap())
        .collect();
    assert!(metric.windows(2).all(|w| w[0] >= w[1]), "{metric:?}");
    let ranks: Vec<u64> = variants
        .iter()
        .map(|v| v["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 2, 3, 4]);

    // One recorded run per variant, one training run each.
    assert_eq!(done_variant_runs(&qs.join("rrtf.db")), 4);
    let status = ok_json(&qs, &["--db", "rrtf.db", "--json", "status"]);
    assert_eq!(status["training_runs"], 4, "{status}");

    // The table, the JSON file and the report name every variant; the report has its plots.
    let table = std::fs::read_to_string(qs.join(s["table"].as_str().unwrap())).unwrap();
    let report = std::fs::read_to_string(qs.join(s["report"].as_str().unwrap())).unwrap();
    let json_file: Value = serde_json::from_str(
        &std::fs::read_to_string(qs.join(s["json"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(json_file["variants"].as_array().unwrap().len(), 4);
    assert!(table.contains("training.learning_rate") && table.contains("pass@1"));
    for v in variants {
        let id = v["id"].as_str().unwrap();
        assert!(table.contains(id), "{id} not in\n{table}");
        assert!(report.contains(id), "{id} not in the report");
    }
    assert!(report.contains("<polyline") && report.contains("<rect"));
    assert!(report.contains("held-out preference accuracy per variant"));

    // Running again skips every variant, trains nothing, and keeps the same comparison.
    let again = ok_json(&qs, &["--json", "sweep", "--config", "sweep.toml"]);
    let again_variants = again["variants"].as_array().unwrap();
    assert_eq!(again_variants.len(), 4);
    for (v, w) in again_variants.iter().zip(variants) {
        assert_eq!(v["status"], "skipped", "{again}");
        assert_eq!(v["id"], w["id"]);
        assert_eq!(v["train_loss"], w["train_loss"]);
    }
    assert_eq!(done_variant_runs(&qs.join("rrtf.db")), 4);
    let status = ok_json(&qs, &["--db", "rrtf.db", "--json", "status"]);
    assert_eq!(status["training_runs"], 4, "{status}");

    // The same variants under a changed [set] (same ids, same directories, new configs): each
    // trains afresh over its finished run (never resumed from it and reported as the new
    // config's model).
    let text = std::fs::read_to_string(qs.join("sweep.toml")).unwrap();
    std::fs::write(
        qs.join("sweep-wd.toml"),
        text.replace(
            "\"training.epochs\" = 1",
            "\"training.epochs\" = 1\n\"training.weight_decay\" = 0.5",
        ),
    )
    .unwrap();
    let changed = ok_json(&qs, &["--json", "sweep", "--config", "sweep-wd.toml"]);
    let changed_variants = changed["variants"].as_array().unwrap();
    assert_eq!(changed_variants.len(), 4, "{changed}");
    for v in changed_variants {
        assert_eq!(v["status"], "ran", "{v}");
        assert!(v["steps"].as_u64().unwrap() > 0, "{v}");
        let model = qs.join(v["output_dir"].as_str().unwrap());
        assert!(
            model.starts_with(qs.join("sweeps/lr-pairs")),
            "the same directories: {}",
            model.display()
        );
        assert!(
            !weights.contains(&std::fs::read(model.join("model.safetensors")).unwrap()),
            "{}: a model of the earlier config",
            v["id"]
        );
    }
    // One training run per output directory: the retrained variants replaced their records.
    let status = ok_json(&qs, &["--db", "rrtf.db", "--json", "status"]);
    assert_eq!(status["training_runs"], 4, "{status}");
    assert_eq!(
        done_variant_runs(&qs.join("rrtf.db")),
        8,
        "both configs recorded"
    );

    // A key the round config does not have, and one outside the swept sections: exit code 2
    // naming the key (and what is allowed), before anything runs.
    for (key, wanted) in [
        ("training.lr", "unknown field `lr`, expected one of"),
        ("sampling.max_prompts", "ranking, training, evaluation"),
    ] {
        std::fs::write(
            qs.join("bad.toml"),
            format!("base = \"round.toml\"\n[grid]\n\"{key}\" = [1]\n"),
        )
        .unwrap();
        let out = rrtf(&qs, &["sweep", "--config", "bad.toml"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("`{key}`")) && err.contains(wanted),
            "{err}"
        );
        assert!(
            !qs.join("sweeps/bad").exists(),
            "nothing runs for a bad sweep"
        );
    }
}
