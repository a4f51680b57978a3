//! Data-driven checks of sweep expansion: each case is sweep TOML and the variants (or the error)
//! it must produce.

use std::path::Path;

use serde_json::json;

use super::SweepConfig;
use crate::RoundConfig;

fn base(benchmark: bool) -> RoundConfig {
    let round = if benchmark {
        "[round]\nseed = 3\nbenchmark = \"bench.jsonl\"\n[evaluation]\nsamples = 2\nk = [1, 2]\n"
    } else {
        "[round]\nseed = 3\n"
    };
    let text = format!("{round}[training]\nbase_model = \"models/r0\"\nlearning_rate = 1e-3\n");
    RoundConfig::from_toml(&text, Path::new("round.toml")).unwrap()
}

fn sweep(text: &str) -> Result<SweepConfig, String> {
    SweepConfig::from_toml(text, Path::new("dir/lr.toml"), base(true)).map_err(|e| e.to_string())
}

/// (variant id, overrides as JSON) of every variant.
fn variants(s: &SweepConfig) -> Vec<(String, serde_json::Value)> {
    s.variants
        .iter()
        .map(|v| {
            (
                v.id.clone(),
                v.overrides
                    .iter()
                    .cloned()
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            )
        })
        .collect()
}

#[test]
fn grid_is_the_cartesian_product_with_readable_ids() {
    let s = sweep(
        r#"base = "round.toml"
[grid]
"training.learning_rate" = [1e-3, 3e-4]
"training.rank_weight" = [0.5, 1, 2.0]
"#,
    )
    .unwrap();
    assert_eq!(s.name, "lr", "default name: the file's stem");
    assert_eq!(s.base_path, Path::new("dir/round.toml"));
    assert_eq!(s.keys, ["training.learning_rate", "training.rank_weight"]);
    assert_eq!(s.variants.len(), 6);
    let v = variants(&s);
    assert_eq!(v[0].0, "learning_rate=0.001,rank_weight=0.5");
    assert_eq!(
        v[0].1,
        json!({"training.learning_rate": 0.001, "training.rank_weight": 0.5})
    );
    // The last key varies fastest; an integer where a float is expected is accepted.
    assert_eq!(v[1].0, "learning_rate=0.001,rank_weight=1");
    assert_eq!(v[5].0, "learning_rate=0.0003,rank_weight=2.0");
    let c = &s.variants[1].config.training;
    assert_eq!((c.learning_rate, c.rank_weight), (1e-3, 1.0));
    // Each variant trains into its own directory; everything else is the base's.
    let dirs: Vec<_> = s
        .variants
        .iter()
        .map(|v| v.config.training.output_dir.clone().unwrap())
        .collect();
    assert_eq!(
        dirs[0],
        Path::new("sweeps/lr/learning_rate=0.001,rank_weight=0.5/model")
    );
    assert_eq!(
        dirs.iter().collect::<std::collections::BTreeSet<_>>().len(),
        6
    );
    assert!(s.variants.iter().all(|v| v.config.round.seed == 3
        && v.config.training.base_model.as_deref() == Some(Path::new("models/r0"))));
    // Hashes differ per variant; the default metric is pass@1 (the base evaluates).
    assert_ne!(s.variants[0].config.hash(), s.variants[1].config.hash());
    assert_eq!(s.metric.name, "pass@1");
}

#[test]
fn nested_tables_dotted_keys_and_set_apply() {
    // Unquoted dotted keys are nested tables in TOML: they flatten to the same paths.
    let s = sweep(
        r#"base = "round.toml"
name = "weights"
metric = "eval_loss"
output_dir = "out/w"
[set]
training.epochs = 3
evaluation.max_problems = 4
[grid]
ranking.weights.lint = [-0.01, -0.005]
ranking.filters.all_equal = [true, false]
"#,
    )
    .unwrap();
    assert_eq!(s.variants.len(), 4);
    // (Keys of one TOML table may come back sorted: the id holds both, in either order.)
    let id = &s.variants[0].id;
    assert!(
        id.contains("lint=-0.01") && id.contains("all_equal=true") && id.contains(','),
        "{id}"
    );
    for v in &s.variants {
        let c = &v.config;
        assert_eq!(c.training.epochs, 3, "[set] applies to every variant");
        assert_eq!(c.evaluation.max_problems, Some(4));
        // Setting one weight keeps the others.
        assert_eq!(c.ranking.weights["truncated"], -0.02);
        assert!(
            v.overrides.iter().all(|(k, _)| k.starts_with("ranking.")),
            "[set] is not a swept value: {:?}",
            v.overrides
        );
    }
    assert_eq!(s.variants[3].config.ranking.weights["lint"], -0.005);
    assert!(!s.variants[3].config.ranking.filters.all_equal);
    assert_eq!(s.metric.name, "eval_loss");
    assert!(!s.metric.higher_is_better);
    assert!(
        s.variants[0]
            .config
            .training
            .output_dir
            .as_ref()
            .unwrap()
            .starts_with("out/w")
    );
}

#[test]
fn runs_list_variants_with_optional_names() {
    let s = sweep(
        r#"base = "round.toml"
[[runs]]
name = "baseline"
[[runs]]
"training.objective" = "rrhf"
"training.rank_weight" = 0.5
[[runs]]
name = "lora"
"training.lora" = { rank = 8, alpha = 16.0 }
"#,
    )
    .unwrap();
    let v = variants(&s);
    assert_eq!(v[0], ("baseline".into(), json!({})));
    assert_eq!(
        v[1],
        (
            "objective=rrhf,rank_weight=0.5".into(),
            json!({"training.objective": "rrhf", "training.rank_weight": 0.5})
        )
    );
    assert_eq!(v[2].0, "lora");
    assert_eq!(s.variants[2].config.training.lora.as_ref().unwrap().rank, 8);
    let mut keys = s.keys.clone();
    keys.sort();
    assert_eq!(
        keys,
        [
            "training.lora.alpha",
            "training.lora.rank",
            "training.objective",
            "training.rank_weight",
        ]
    );
    assert_eq!(s.variants[0].config.training, {
        let mut t = base(true).training;
        t.output_dir = Some("sweeps/lr/baseline/model".into());
        t
    });
}

#[test]
fn errors_name_the_key_the_value_and_what_is_allowed() {
    let cases: &[(&str, &[&str])] = &[
        (
            "base = \"round.toml\"\n[grid]\n\"training.lr\" = [1e-3]\n",
            &[
                "`training.lr` = 0.001",
                "unknown field `lr`",
                "learning_rate",
            ],
        ),
        (
            "base = \"round.toml\"\n[grid]\n\"sampling.max_prompts\" = [1, 2]\n",
            &[
                "`sampling.max_prompts`",
                "cannot be swept",
                "ranking, training, evaluation",
            ],
        ),
        (
            "base = \"round.toml\"\n[grid]\n\"training.output_dir\" = [\"a\"]\n",
            &["`training.output_dir`", "its own"],
        ),
        (
            "base = \"round.toml\"\n[grid]\n\"training.learning_rate\" = [\"fast\"]\n",
            &["`training.learning_rate` = \"fast\"", "invalid type"],
        ),
        (
            "base = \"round.toml\"\n[grid]\n\"training.learning_rate\" = 1e-3\n",
            &["`training.learning_rate` = 0.001", "give a list"],
        ),
        (
            "base = \"round.toml\"\n[grid]\n\"training.learning_rate\" = []\n",
            &["empty list"],
        ),
        (
            "base = \"round.toml\"\n[grid]\n\"training.learning_rate.x\" = [1]\n",
            &["`training.learning_rate` is a float, not a table"],
        ),
        (
            "base = \"round.toml\"\n[grid]\ntraining = [1]\n",
            &["`training`", "is not a key", "training.learning_rate"],
        ),
        (
            // Parses, but fails the round config's validation: the variant and value are named.
            "base = \"round.toml\"\n[grid]\n\"training.learning_rate\" = [1e-3, -1.0]\n",
            &[
                "variant `learning_rate=-1.0`",
                "training.learning_rate = -1.0",
                "`training.learning_rate` is -1",
            ],
        ),
        (
            "base = \"round.toml\"\n[grid]\n\"training.learning_rate\" = [1e-3]\n[[runs]]\n",
            &["either [grid]", "not both"],
        ),
        ("base = \"round.toml\"\n", &["either [grid]"]),
        (
            "base = \"round.toml\"\n[[runs]]\n\"training.epochs\" = 2\n[[runs]]\n\"training.epochs\" = 2\n",
            &["variant #2", "same values as `epochs=2`"],
        ),
        (
            "base = \"round.toml\"\n[[runs]]\nname = \"a\"\n[[runs]]\nname = \"a\"\n\"training.epochs\" = 2\n",
            &["name = \"a\" is used twice"],
        ),
        (
            "base = \"round.toml\"\n[[runs]]\nname = \"a b\"\n",
            &["[[runs]] #1: name = \"a b\""],
        ),
        (
            "base = \"round.toml\"\nmetric = \"accuracy\"\n[[runs]]\n",
            &["metric = \"accuracy\"", "pass@K, eval_preference_accuracy"],
        ),
        (
            "base = \"round.toml\"\nmetric = \"pass@5\"\n[[runs]]\n",
            &["pass@[1, 2]", "add 5 to evaluation.k"],
        ),
        (
            "base = \"round.toml\"\n[set]\n\"round.seed\" = 4\n[[runs]]\n",
            &["[set]", "`round.seed`", "cannot be swept"],
        ),
        (
            "base = \"round.toml\"\ngrdi = 1\n",
            &["unknown field `grdi`", "configs/sweep.toml"],
        ),
    ];
    for (text, wanted) in cases {
        let e = SweepConfig::from_toml(text, Path::new("s.toml"), base(true))
            .map(|s| format!("no error: {} variants", s.variants.len()))
            .unwrap_or_else(|e| e.to_string());
        for w in *wanted {
            assert!(e.contains(w), "{text}\n-> {e}\nmissing: {w}");
        }
    }
}

#[test]
fn metric_defaults_to_preference_accuracy_without_a_benchmark() {
    let text = "base = \"round.toml\"\n[[runs]]\n";
    let s = SweepConfig::from_toml(text, Path::new("s.toml"), base(false)).unwrap();
    assert_eq!(s.metric.name, "eval_preference_accuracy");
    assert!(!s.evaluates());
    let e = SweepConfig::from_toml(
        "base = \"round.toml\"\nmetric = \"pass@1\"\n[[runs]]\n",
        Path::new("s.toml"),
        base(false),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no [round] benchmark"), "{e}");
    // The base must train: a sweep without a base model is refused.
    let untrained = RoundConfig::default();
    let e = SweepConfig::from_toml(text, Path::new("s.toml"), untrained)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no [training] base_model"), "{e}");
}

#[test]
fn long_ids_are_cut_with_a_hash_and_stay_unique() {
    let s = sweep(
        r#"base = "round.toml"
[grid]
"training.prompt_template" = ["a very long prompt template number one {prompt} with words", "a very long prompt template number one {prompt} with other words"]
"training.rank_weight" = [1.0]
"#,
    )
    .unwrap();
    let ids: Vec<&str> = s.variants.iter().map(|v| v.id.as_str()).collect();
    assert!(ids.iter().all(|i| i.len() <= 64), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert!(
        ids.iter()
            .all(|i| !i.contains(' ') && !i.contains('{') && !i.contains('/')),
        "{ids:?}"
    );
}

#[test]
fn the_shipped_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/sweep.toml");
    let s = SweepConfig::load(&path).unwrap();
    assert_eq!(s.name, "lr-x-rank-weight");
    assert_eq!(s.variants.len(), 6);
    assert_eq!(s.variants[1].id, "learning_rate=0.00001,rank_weight=1.0");
    assert!(
        s.variants
            .iter()
            .all(|v| v.config.training.max_steps == Some(200))
    );
    assert_eq!(s.metric.name, "eval_preference_accuracy");
}

/// Issue 18: the funcworld experiment's arms are variants of one round on the same data.
#[test]
fn the_funcworld_arms_load() {
    use crate::{Objective, SftResponses};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/funcworld/arms.toml");
    let s = SweepConfig::load(&path).unwrap();
    let arms: Vec<(&str, Objective, Option<SftResponses>, f64)> = s
        .variants
        .iter()
        .map(|v| {
            let t = &v.config.training;
            (
                v.id.as_str(),
                t.objective,
                t.sft_responses,
                v.config.ranking.teacher_epsilon,
            )
        })
        .collect();
    assert_eq!(
        arms,
        [
            ("rrtf", Objective::Rrtf, None, 0.1),
            (
                "sft-teachers",
                Objective::Sft,
                Some(SftResponses::Teachers),
                0.1
            ),
            ("sft-best", Objective::Sft, Some(SftResponses::Best), 0.1),
            ("dpo", Objective::Dpo, None, 0.1),
            ("rrhf-no-teacher", Objective::Rrhf, None, 0.0),
        ]
    );
    assert_eq!(s.metric.name, "pass@1");
}
