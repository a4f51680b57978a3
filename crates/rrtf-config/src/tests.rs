//! Data-driven checks: each case is a TOML text and the error it must produce (or none).

use std::path::{Path, PathBuf};

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
    // The paper's objective: no score-gap weights, pair terms summed; completion prompts verbatim.
    assert_eq!(c.training.rank_weighting, crate::RankWeighting::None);
    assert_eq!(c.training.pair_reduction, crate::PairReduction::Sum);
    assert_eq!(c.training.completion_template, "{prompt}");
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
            "[evolution]\nlanguages = [\"cpp\", \"cobol\"]\n",
            &["line 2", "`cobol`", "python, javascript, cpp"],
        ),
        (
            "[evolution]\nlanguages = [\"cpp\", \"c++\"]\n",
            &["`evolution.languages`", "cpp twice"],
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
            "[training]\ncompletion_template = \"def\"\n",
            &["`training.completion_template`", "{prompt}"],
        ),
        (
            "[training]\ndpo_label_smoothing = 0.5\n",
            &["`training.dpo_label_smoothing`", "[0, 0.5)"],
        ),
        (
            "[training]\nobjective = \"dpo\"\ndpo_loss = \"ipo\"\ndpo_label_smoothing = 0.1\n",
            &["`training.dpo_label_smoothing`", "dpo_loss = \"sigmoid\""],
        ),
        (
            "[training]\nobjective = \"dpo\"\nrank_weighting = \"gap\"\n",
            &["`training.rank_weighting`", "hinge objectives"],
        ),
        (
            "[training]\nsft_responses = \"best\"\n",
            &[
                "`training.sft_responses`",
                "is \"best\" with objective = \"rrtf\"",
                "set objective = \"sft\" or remove the key",
            ],
        ),
        (
            "[training]\nobjective = \"dpo\"\nsft_responses = \"teachers\"\n",
            &[
                "`training.sft_responses`",
                "\"teachers\" with objective = \"dpo\"",
            ],
        ),
        (
            "[training]\nobjective = \"sft\"\nsft_responses = \"top\"\n",
            &["unknown variant `top`", "all", "best", "teachers"],
        ),
        (
            "[training]\nobjective = \"sft\"\nsft_weight = 0.0\n",
            &[
                "`training.sft_weight`",
                "objective = \"sft\"",
                "nothing would train",
            ],
        ),
        (
            "[training]\nobjective = \"sft\"\nrank_weighting = \"gap\"\n",
            &[
                "`training.rank_weighting`",
                "objective = \"sft\"",
                "hinge objectives",
            ],
        ),
        (
            "[training]\npair_reduction = \"max\"\n",
            &["unknown variant `max`", "sum", "mean"],
        ),
        (
            "[training]\ndevice = \"gpu\"\n",
            &[
                "`training.device`",
                "\"cpu\", \"cuda\", \"cuda:N\" or \"wgpu\"",
            ],
        ),
        (
            "[execution]\nmemory_mb = 10\n",
            &["`execution.memory_mb`", "64"],
        ),
        (
            "[[teachers]]\nname = \"x\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\nmax_tokens = 0\n",
            &["`teachers[0].max_tokens`", "at least 1"],
        ),
        (
            "[[teachers]]\nname = \"x\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\nstop = [\"\\n\", \"\"]\n",
            &["`teachers[0].stop[1]`", "non-empty"],
        ),
        (
            "[decontamination]\nsimilarity = 0.0\n",
            &["`decontamination.similarity`", "(0, 1]"],
        ),
        (
            "[decontamination]\nngram = 0\n",
            &["`decontamination.ngram`", "at least 1"],
        ),
        // A zero that would make a stage do nothing: refused, naming the way to the intent.
        (
            "[evaluation]\nmax_problems = 0\n",
            &["`evaluation.max_problems`", "at least 1", "remove the key"],
        ),
        (
            "[evaluation]\ntop_p = 0.0\n",
            &["`evaluation.top_p`", "(0, 1]"],
        ),
        (
            "[evolution]\nsteps = 0\n",
            &["`evolution.steps`", "at least 1", "enabled = false"],
        ),
        (
            "[sampling]\nmax_prompts = 0\n",
            &["`sampling.max_prompts`", "at least 1"],
        ),
        (
            "[training]\nmax_steps = 0\n",
            &["`training.max_steps`", "at least 1", "epochs"],
        ),
        // Moved out of [evolution]: the error says where to.
        (
            "[evolution]\ndecontaminate = [\"he.jsonl\"]\n",
            &[
                "unknown field `decontaminate`",
                "[decontamination] benchmarks",
            ],
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

/// Issue 15 point 11: an endpoint that sets no `max_tokens` (the shipped `[student]` block)
/// still sends one, never the server's default of 16.
#[test]
fn every_endpoint_has_max_tokens_and_completion_endpoints_codex_stops() {
    let c = check(&format!(
        "{TEACHER}[student]\nname = \"s\"\nbase_url = \"http://127.0.0.1:8001/v1\"\nmodel = \"s\"\nkind = \"completion\"\n"
    ))
    .unwrap();
    let student = c.student.as_ref().unwrap();
    assert_eq!(student.max_tokens, crate::DEFAULT_MAX_TOKENS);
    assert_eq!(crate::DEFAULT_MAX_TOKENS, 1024);
    assert_eq!(c.teachers[0].max_tokens, 1024);
    assert_eq!(
        student.sampling_stop(true),
        ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
    );
    assert!(c.teachers[0].sampling_stop(true).is_empty(), "chat: none");
    assert!(
        student.explicit_stop().is_empty(),
        "prose requests: only what is configured"
    );
    // Written out (the next round's config), the defaults are explicit and load the same.
    let again = check(&c.to_toml().unwrap()).unwrap();
    assert_eq!(again.student.unwrap().max_tokens, 1024);
}

/// Issue 15 point 16: `[round] benchmark` is always in the decontamination set.
#[test]
fn the_round_benchmark_is_always_decontaminated_against() {
    let c = check("[round]\nbenchmark = \"he.jsonl\"\n").unwrap();
    assert!(c.decontamination.enabled);
    assert_eq!(c.decontamination_set(), vec![PathBuf::from("he.jsonl")]);
    let c = check(
        "[round]\nbenchmark = \"he.jsonl\"\n[decontamination]\nbenchmarks = [\"mbpp.jsonl\", \"he.jsonl\"]\n",
    )
    .unwrap();
    assert_eq!(
        c.decontamination_set(),
        vec![PathBuf::from("he.jsonl"), PathBuf::from("mbpp.jsonl")]
    );
    let off =
        check("[round]\nbenchmark = \"he.jsonl\"\n[decontamination]\nenabled = false\n").unwrap();
    assert!(off.decontamination_set().is_empty());
}

/// Issue 18: the round benchmark's screen is turned off only explicitly, with a reason that
/// is recorded (the snapshot) and shown (the warning); the default keeps its hash.
#[test]
fn the_round_benchmark_screen_is_off_only_with_a_reason() {
    let bench = "[round]\nbenchmark = \"he.jsonl\"\n[decontamination]\n";
    for (extra, error) in [
        ("screen_round_benchmark = false\n", Some("missing")),
        (
            "screen_round_benchmark = false\nreason = \"  \"\n",
            Some("missing"),
        ),
        ("reason = \"why\"\n", Some("is set, but")),
        ("screen_round_benchmark = true\n", None),
    ] {
        match check(&format!("{bench}{extra}")) {
            Ok(_) => assert!(error.is_none(), "{extra}: accepted"),
            Err(e) => {
                let want = error.unwrap_or_else(|| panic!("{extra}: {e}"));
                assert!(e.contains(want), "{extra}: {e}");
                assert!(
                    e.contains("decontamination.reason")
                        && e.contains("decontamination.screen_round_benchmark"),
                    "the error names both keys: {e}"
                );
            }
        }
    }
    let on = check(bench).unwrap();
    assert!(on.decontamination_warning().is_none());
    assert!(!on.snapshot_json().contains("screen_round_benchmark"));
    assert_eq!(
        on.hash(),
        check("[round]\nbenchmark = \"he.jsonl\"\n").unwrap().hash(),
        "the default leaves the hash alone"
    );
    let off = check(&format!(
        "{bench}screen_round_benchmark = false\nreason = \"the generator splits it\"\nbenchmarks = [\"mbpp.jsonl\"]\n"
    ))
    .unwrap();
    assert_eq!(off.decontamination_set(), vec![PathBuf::from("mbpp.jsonl")]);
    let warning = off.decontamination_warning().unwrap();
    assert!(
        warning.contains("he.jsonl") && warning.contains("because: the generator splits it"),
        "{warning}"
    );
    let snapshot = off.snapshot_json();
    assert!(
        snapshot.contains("\"screen_round_benchmark\":false")
            && snapshot.contains("the generator splits it"),
        "recorded with every run: {snapshot}"
    );
    assert_ne!(off.hash(), on.hash());
    // Written out (a sweep's variant), it loads the same.
    assert_eq!(check(&off.to_toml().unwrap()).unwrap(), off);
}

/// Every device key takes the names `rrtf_model::parse_device` reads; a device this build was
/// compiled without is refused at load with the command line's message, naming the rebuild.
#[test]
fn device_keys_take_the_model_names_and_refuse_devices_the_build_lacks() {
    const STUDENT: &str = "[student]\nname = \"s\"\nmodel = \"s\"\nlocal_model = \"m\"\n";
    let keys: [(&str, fn(&str) -> String); 4] = [
        ("training.device", |d| {
            format!("[training]\ndevice = \"{d}\"\n")
        }),
        ("training.devices", |d| {
            format!("[training]\ndevices = [\"cpu\", \"{d}\"]\n")
        }),
        ("evaluation.device", |d| {
            format!("[evaluation]\ndevice = \"{d}\"\n")
        }),
        ("student.device", |d| format!("{STUDENT}device = \"{d}\"\n")),
    ];
    for (key, toml) in keys {
        let c = check(&toml("cpu")).unwrap_or_else(|e| panic!("{key}: {e}"));
        let got = match key {
            "training.device" => Some(c.training.device.clone()),
            "training.devices" => c.training.devices.get(1).cloned(),
            "evaluation.device" => c.evaluation.device.clone(),
            _ => c.student.as_ref().unwrap().device.clone(),
        };
        assert_eq!(got.as_deref(), Some("cpu"), "{key}");
        for device in ["gpu", "cuda:", "cuda:x", "wgpu:1", "CPU"] {
            let e = check(&toml(device)).unwrap_err();
            assert!(e.contains(&format!("`{key}`")), "{key} = {device}: {e}");
        }
        for (device, feature, built) in [
            ("cuda", "cuda", cfg!(feature = "cuda")),
            ("cuda:3", "cuda", cfg!(feature = "cuda")),
            ("wgpu", "wgpu", cfg!(feature = "wgpu")),
        ] {
            match check(&toml(device)) {
                Ok(_) => assert!(
                    built,
                    "{key} = {device} accepted without --features {feature}"
                ),
                Err(e) => {
                    assert!(!built, "{key} = {device}: {e}");
                    assert!(
                        e.contains(&format!("`{key}`"))
                            && e.contains("built without")
                            && e.contains(&format!("cargo build --release --features {feature}")),
                        "{key} = {device}: {e}"
                    );
                }
            }
        }
    }
    // Data parallelism needs two devices or more.
    let e = check("[training]\ndevices = [\"cpu\"]\n").unwrap_err();
    assert!(
        e.contains("`training.devices`") && e.contains("device = \"cpu\""),
        "{e}"
    );
    // Only a served checkpoint has a device.
    let e = check(&format!("{TEACHER}device = \"cpu\"\n")).unwrap_err();
    assert!(
        e.contains("`teachers[0].device`") && e.contains("local_model"),
        "{e}"
    );
}

/// A config without the new device keys (and `training.gradient_checkpointing`) hashes as
/// before they existed (the keys are left out of the canonical snapshot when unset), so
/// recorded runs keep their config hashes.
#[test]
fn unset_device_keys_leave_the_snapshot_unchanged() {
    let c = check(&format!(
        "{TEACHER}[student]\nname = \"s\"\nmodel = \"s\"\nlocal_model = \"m\"\n"
    ))
    .unwrap();
    let json = serde_json::to_value(&c).unwrap();
    assert!(
        json["evaluation"].get("device").is_none(),
        "{}",
        json["evaluation"]
    );
    assert!(
        json["student"].get("device").is_none(),
        "{}",
        json["student"]
    );
    assert!(
        json["training"].get("devices").is_none(),
        "{}",
        json["training"]
    );
    assert!(
        json["training"].get("gradient_checkpointing").is_none(),
        "{}",
        json["training"]
    );
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

/// Issue 15 points 1-3: the outcome scores must agree with the class order for every pass
/// ratio; the weights no longer need to fit between classes (the ranker orders
/// lexicographically); the pair strategy defaults to every pair.
#[test]
fn ranking_scores_follow_the_class_order_and_pairs_default_to_all() {
    for (toml, expected) in [
        (
            "[ranking.scores]\npartial_base = -0.5\n",
            &["`ranking.scores.partial_base`", "test_failure (-0.3)"][..],
        ),
        (
            "[ranking.scores]\ntimeout = -0.2\n",
            &["`ranking.scores.timeout`", "runtime-error class"][..],
        ),
        (
            "[ranking]\nteacher_epsilon = 0.05\n",
            &["`ranking.weights`", "teacher_epsilon (0.05)"][..],
        ),
    ] {
        let err = check(toml).expect_err(toml);
        for e in expected {
            assert!(err.contains(e), "for\n{toml}\nexpected `{e}` in:\n{err}");
        }
    }
    let c = check(
        "[ranking]\nteacher_epsilon = 0.5\nheuristic_pairs = true\n\
         [ranking.weights]\nlength = -0.4\n",
    )
    .unwrap();
    assert!(c.ranking.heuristic_pairs);
    let d = check("").unwrap().ranking;
    assert_eq!(
        (d.pairs.as_str(), d.min_gap, d.heuristic_pairs),
        ("all", 0.0, false)
    );
}

/// `objective = "sft"` parses with and without `sft_responses`; the new keys stay out of the
/// snapshot (and so the hash) of a config that does not set them.
#[test]
fn sft_objective_and_its_responses() {
    let c = check("[training]\nobjective = \"sft\"\n").unwrap();
    assert_eq!(c.training.objective, crate::Objective::Sft);
    assert_eq!(
        c.training.sft_responses, None,
        "unset: the trainer reads it as all"
    );
    for (name, want) in [
        ("all", crate::SftResponses::All),
        ("best", crate::SftResponses::Best),
        ("teachers", crate::SftResponses::Teachers),
    ] {
        let c = check(&format!(
            "[training]\nobjective = \"sft\"\nsft_responses = \"{name}\"\n"
        ))
        .unwrap();
        assert_eq!(c.training.sft_responses, Some(want));
        assert!(c.snapshot_json().contains("sft_responses"));
    }
    assert!(!check("").unwrap().snapshot_json().contains("sft_responses"));
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
    assert!(!off.execution.insecure_sandbox && !off.execution.external_workers);
    for flag in ["insecure_sandbox", "external_workers"] {
        let explicit_off = check(&format!("[execution]\n{flag} = false\n")).unwrap();
        assert_eq!(
            off.hash(),
            explicit_off.hash(),
            "{flag} off is left out of the snapshot"
        );
        let on = check(&format!("[execution]\n{flag} = true\n")).unwrap();
        assert_ne!(off.hash(), on.hash(), "{flag}");
    }
    let on = check("[execution]\ninsecure_sandbox = true\n").unwrap();
    assert!(on.execution.insecure_sandbox);
}

/// `training.gradient_checkpointing` takes the old boolean (`true` is burn's op-level strategy,
/// and keeps its snapshot value, so recorded runs keep their hashes) or a name; a wrong name is
/// refused naming the choices.
#[test]
fn gradient_checkpointing_takes_a_boolean_or_a_mode() {
    use crate::GradientCheckpointing as G;
    for (value, mode, snapshot) in [
        ("true", G::Ops, Some(serde_json::json!(true))),
        ("\"ops\"", G::Ops, Some(serde_json::json!(true))),
        ("\"layers\"", G::Layers, Some(serde_json::json!("layers"))),
        ("false", G::Off, None),
        ("\"off\"", G::Off, None),
    ] {
        let c = check(&format!(
            "{TEACHER}[training]\ngradient_checkpointing = {value}\n"
        ))
        .unwrap();
        assert_eq!(c.training.gradient_checkpointing, mode, "{value}");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["training"].get("gradient_checkpointing").cloned(),
            snapshot,
            "{value}"
        );
    }
    let e = check(&format!(
        "{TEACHER}[training]\ngradient_checkpointing = \"layer\"\n"
    ))
    .unwrap_err();
    assert!(e.contains("\"layer\"") && e.contains("\"layers\""), "{e}");
}

#[test]
fn a_number_for_gradient_checkpointing_names_the_choices() {
    let e = check(&format!(
        "{TEACHER}[training]\ngradient_checkpointing = 1\n"
    ))
    .unwrap_err();
    assert!(e.contains("\"layers\""), "{e}");
}

/// `training.lora.base_dtype`: f32 by default (and then left out of the snapshot, so recorded
/// runs keep their hashes), bf16 accepted, refused on wgpu (WGSL has no bf16), and a wrong
/// name refused naming the choices.
#[test]
fn lora_base_dtype_is_f32_or_bf16_and_not_bf16_on_wgpu() {
    let c = check(&format!(
        "{TEACHER}[training]\nlora = {{ rank = 2, alpha = 4.0 }}\n"
    ))
    .unwrap();
    let json = serde_json::to_value(&c).unwrap();
    assert!(
        json["training"]["lora"].get("base_dtype").is_none(),
        "{json}"
    );
    let c = check(&format!(
        "{TEACHER}[training]\nlora = {{ rank = 2, alpha = 4.0, base_dtype = \"bf16\" }}\n"
    ))
    .unwrap();
    assert_eq!(
        c.training.lora.unwrap().base_dtype,
        crate::LoraBaseDtype::Bf16
    );
    let e = check(&format!(
        "{TEACHER}[training]\ndevice = \"wgpu\"\nlora = {{ rank = 2, alpha = 4.0, base_dtype = \"bf16\" }}\n"
    ))
    .unwrap_err();
    assert!(e.contains("base_dtype") && e.contains("wgpu"), "{e}");
    let e = check(&format!(
        "{TEACHER}[training]\nlora = {{ rank = 2, alpha = 4.0, base_dtype = \"fp16\" }}\n"
    ))
    .unwrap_err();
    assert!(e.contains("fp16") && e.contains("bf16"), "{e}");
}

#[test]
fn a_config_run_from_the_wrong_directory_names_the_right_one() {
    let root = std::env::temp_dir().join(format!("rrtf-config-misplaced-{}", std::process::id()));
    let project = root.join("project");
    std::fs::create_dir_all(project.join("models/student-r1")).unwrap();
    std::fs::write(project.join("teacher.jsonl"), "").unwrap();
    let config_path = project.join("models/student-r1/round-2.toml");
    let c = check(
        "[[teachers]]\nname = \"t\"\nreplay = \"teacher.jsonl\"\nmodel = \"m\"\n\
         [student]\nname = \"s\"\nlocal_model = \"models/student-r1\"\nmodel = \"m\"\n",
    )
    .unwrap();
    // From the project's directory every input is where it is read from.
    assert_eq!(c.misplaced_input(&config_path, &project), None);
    // From the directory above it, the first input is not, and the project is named.
    let (key, path, dir) = c.misplaced_input(&config_path, &root).unwrap();
    assert_eq!(key, "[[teachers]] t replay");
    assert_eq!(path, PathBuf::from("teacher.jsonl"));
    assert_eq!(dir, project);
    // A path missing everywhere is no misplacement (the stage that reads it says so).
    std::fs::remove_file(project.join("teacher.jsonl")).unwrap();
    let (key, _, dir) = c.misplaced_input(&config_path, &root).unwrap();
    assert_eq!(key, "[student] local_model");
    assert_eq!(dir, project);
    std::fs::remove_dir_all(project.join("models")).unwrap();
    assert_eq!(c.misplaced_input(&config_path, &root), None);
    std::fs::remove_dir_all(&root).unwrap();
}
