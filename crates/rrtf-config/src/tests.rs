//! Data-driven checks: each case is a TOML text and the error it must produce (or none).

use std::path::Path;

use crate::RoundConfig;

const TEACHER: &str = r#"
[[teachers]]
name = "local"
base_url = "http://127.0.0.1:8000/v1"
model = "starcoder"
"#;

fn check(toml: &str) -> Result<RoundConfig, String> {
    RoundConfig::from_toml(toml, Path::new("round.toml")).map_err(|e| e.to_string())
}

#[test]
fn empty_file_is_a_valid_round_with_defaults() {
    let c = check("").unwrap();
    assert_eq!(c.round.number, 1);
    assert_eq!(c.ranking.scores.compile_error, -1.0);
    assert_eq!(
        c.training.epsilon, 1e-8,
        "PyTorch's AdamW epsilon, not burn's"
    );
    assert_eq!(
        c.training.weight_decay, 0.01,
        "PyTorch's AdamW weight decay"
    );
}

#[test]
fn errors_name_the_key_and_where_it_is() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[round]\nnumber = 1\nsede = 3\n",
            &["line 3", "unknown field `sede`"],
        ),
        (
            "[ranking]\nscores = { pass = \"high\" }\n",
            &["line 2", "pass"],
        ),
        (
            "[[teachers]]\nname = \"x\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\napi_key = \"sk-123\"\n",
            &["line 5", "unknown field `api_key`", "api_key_env"],
        ),
        (
            "[round]\nnumber = 0\n",
            &["`round.number`", "rounds start at 1"],
        ),
        (
            "[[teachers]]\nname = \"x\"\nbase_url = \"localhost:8000\"\nmodel = \"m\"\n",
            &["`teachers[0].base_url`", "http://"],
        ),
        (
            "[[teachers]]\nname = \"x\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\napi_key_env = \"sk-abc-123\"\n",
            &["`teachers[0].api_key_env`", "never the key itself"],
        ),
        (
            "[[teachers]]\nname = \"x\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\ntemperatures = [0.2, 3.0]\n",
            &["`teachers[0].temperatures[1]`", "between 0 and 2"],
        ),
        (
            "[evolution]\nevolver = \"gpt\"\n",
            &["`evolution.evolver`", "`gpt` is not a teacher"],
        ),
        (
            "[evolution.methods]\nadd_constraint = 1.0\n",
            &["`evolution.methods.add_constraint`", "add_constraints"],
        ),
        (
            "[ranking.scores]\nruntime_error = -1.5\n",
            &["`ranking.scores.runtime_error`", "compile < runtime"],
        ),
        (
            "[ranking.scores]\npass = 0.5\n",
            &["`ranking.scores.pass`", "partial_base + partial_scale"],
        ),
        (
            "[ranking.weights]\nverbosity = 1.0\n",
            &["`ranking.weights.verbosity`", "truncated"],
        ),
        (
            "[ranking]\npairs = \"best\"\n",
            &["`ranking.pairs`", "best-vs-worst"],
        ),
        ("[training]\nbeta2 = 1.0\n", &["`training.beta2`", "[0, 1)"]),
        (
            "[training]\nprompt_template = \"no slot\"\n",
            &["`training.prompt_template`", "{prompt}"],
        ),
        (
            "[training]\ndevice = \"gpu\"\n",
            &["`training.device`", "cuda:N"],
        ),
        (
            "[execution]\nmemory_mb = 10\n",
            &["`execution.memory_mb`", "64"],
        ),
    ];
    for (toml, expected) in cases {
        let err = check(toml).expect_err(toml);
        assert!(err.starts_with("round.toml: "), "{err}");
        for e in *expected {
            assert!(err.contains(e), "for\n{toml}\nexpected `{e}` in:\n{err}");
        }
    }
}

#[test]
fn duplicate_names_are_refused() {
    let twice = format!("{TEACHER}{TEACHER}");
    assert!(
        check(&twice)
            .unwrap_err()
            .contains("`teachers[1].name` `local` is used twice")
    );
    let student = format!(
        "{TEACHER}[student]\nname = \"local\"\nbase_url = \"http://127.0.0.1:8001/v1\"\nmodel = \"s\"\n"
    );
    assert!(check(&student).unwrap_err().contains("`student.name`"));
}

#[test]
fn hash_ignores_layout_but_not_values() {
    let a = check(&format!("{TEACHER}\n[training]\nlearning_rate = 1e-5\n")).unwrap();
    let b = check(&format!("[training]\nlearning_rate = 0.00001\n{TEACHER}")).unwrap();
    let c = check(&format!("{TEACHER}\n[training]\nlearning_rate = 2e-5\n")).unwrap();
    assert_eq!(a.hash(), b.hash());
    assert_ne!(a.hash(), c.hash());
    assert_eq!(a.hash().len(), 64);
}

#[test]
fn shipped_example_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml")
            && !path.to_string_lossy().contains("sweep")
        {
            RoundConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 1, "no example config found in {}", dir.display());
}

#[test]
fn insecure_sandbox_is_off_by_default_and_changes_the_hash_only_when_on() {
    let off = check("").unwrap();
    assert!(!off.execution.insecure_sandbox);
    let explicit_off = check("[execution]\ninsecure_sandbox = false\n").unwrap();
    assert_eq!(
        off.hash(),
        explicit_off.hash(),
        "off is left out of the snapshot"
    );
    let on = check("[execution]\ninsecure_sandbox = true\n").unwrap();
    assert!(on.execution.insecure_sandbox);
    assert_ne!(off.hash(), on.hash());
}
