//! `rrtf eval` on several languages at once (issue 20): the shipped HumanEval-X-format slice
//! (`tests/data/humaneval-x`), its canonical solutions and its wrong completions evaluated as
//! files of completions, pass@k per language and averaged, and cross-language pass@budget
//! checked against the estimator computed here.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{self, ok_json, read_jsonl, rrtf, write_jsonl};
use rrtf_exec::Language;

const LANGUAGES: [(&str, Language); 5] = [
    ("python", Language::Python),
    ("cpp", Language::Cpp),
    ("java", Language::Java),
    ("js", Language::JavaScript),
    ("go", Language::Go),
];

fn slice() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/humaneval-x")
}

fn benchmark_args(files: &[PathBuf]) -> Vec<String> {
    let mut args = vec!["--benchmark".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args
}

/// Every language's toolchain, or the test is skipped (fails in the full tier).
fn toolchains() -> bool {
    LANGUAGES.iter().all(|(_, l)| common::needs(*l))
}

fn eval(dir: &Path, completions: &[Value], files: &[PathBuf], extra: &[&str]) -> Value {
    write_jsonl(&dir.join("completions.jsonl"), completions);
    let mut args = vec!["--json", "eval", "--completions", "completions.jsonl"];
    let bench = benchmark_args(files);
    args.extend(bench.iter().map(String::as_str));
    args.extend(extra);
    ok_json(dir, &args)
}

#[test]
fn canonical_solutions_pass_and_wrong_ones_fail_in_every_language() {
    if !toolchains() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = LANGUAGES
        .iter()
        .map(|(l, _)| slice().join(format!("humaneval_{l}.jsonl")))
        .collect();
    let rows: Vec<Value> = files.iter().flat_map(|f| read_jsonl(f)).collect();
    assert!(
        rows.len() >= 100,
        "at least 20 problems in each of 5 languages"
    );
    let canonical: Vec<Value> = rows
        .iter()
        .map(|r| json!({"task_id": r["task_id"], "completion": r["canonical_solution"]}))
        .collect();
    let wrong = read_jsonl(&slice().join("wrong.jsonl"));
    assert_eq!(wrong.len(), rows.len(), "one wrong completion per problem");

    // The canonical solutions: pass@1 1 in every language, every program a pass.
    let r = eval(
        d.path(),
        &canonical,
        &files,
        &["--out", "canonical-rows.jsonl"],
    );
    assert_eq!(r["problems"], rows.len(), "{r}");
    assert_eq!(r["outcomes"], json!({"pass": rows.len()}), "{r}");
    assert_eq!(r["pass_at_k"]["pass@1"], 1.0, "{r}");
    let langs = r["languages"].as_object().unwrap();
    assert_eq!(langs.len(), 5, "{r}");
    for (name, l) in langs {
        assert_eq!(l["pass_at_k"]["pass@1"], 1.0, "{name}: {l}");
    }
    let out = read_jsonl(&d.path().join("canonical-rows.jsonl"));
    assert_eq!(out.len(), rows.len());
    assert!(
        out.iter()
            .all(|o| o["passed"] == true && o["language"].is_string())
    );

    // The wrong completions: every one fails (a wrong answer, not a harness error).
    let r = eval(d.path(), &wrong, &files, &["--out", "wrong-rows.jsonl"]);
    for row in read_jsonl(&d.path().join("wrong-rows.jsonl")) {
        assert_eq!(row["passed"], false, "a wrong completion passed: {row}");
        assert_ne!(
            row["outcome"], "error",
            "the harness failed, not the answer: {row}"
        );
    }
    assert_eq!(r["pass_at_k"]["pass@1"], 0.0, "{r}");

    // One right and one wrong per problem: pass@1 1/2 per language, pass@2 1. Cross-language
    // pass@2 over two languages (1 sample each): 1 - (1/2)(1/2) = 3/4 per problem.
    let both: Vec<Value> = canonical.iter().chain(&wrong).cloned().collect();
    let r = eval(
        d.path(),
        &both,
        &files,
        &[
            "-k",
            "1,2",
            "--budget",
            "2",
            "--allocation",
            "weights=python:1,cpp:1,java:0,js:0,go:0",
        ],
    );
    for (name, l) in r["languages"].as_object().unwrap() {
        assert_eq!(l["pass_at_k"]["pass@1"], 0.5, "{name}: {l}");
        assert_eq!(l["pass_at_k"]["pass@2"], 1.0, "{name}: {l}");
    }
    let c = &r["cross_language"];
    assert_eq!(
        c["allocation"],
        json!({"python": 1, "cpp": 1, "java": 0, "javascript": 0, "go": 0}),
        "{c}"
    );
    assert_eq!(c["problems"], rows.len() / 5, "{c}");
    assert!(
        (c["pass_at_budget"].as_f64().unwrap() - 0.75).abs() < 1e-12,
        "{c}"
    );

    // Learned from a dev split where only Java solves anything, half the time: both samples
    // go to Java (1 - 1/4 expected, against 1/2 for any split giving Java one).
    let dev: Vec<Value> = out
        .iter()
        .flat_map(|o| {
            let java = o["language"] == "java";
            [java, false].map(|passed| {
                json!({"task_id": o["task_id"], "language": o["language"], "passed": passed})
            })
        })
        .collect();
    write_jsonl(&d.path().join("dev.jsonl"), &dev);
    let r = eval(
        d.path(),
        &both,
        &files,
        &["--budget", "2", "--allocation", "learned=dev.jsonl"],
    );
    let c = &r["cross_language"];
    assert_eq!(c["allocation"]["java"], 2, "{c}");
    assert_eq!(c["search"], "exhaustive", "{c}");
    assert_eq!(c["pass_at_budget"], 1.0, "{c}");
}

#[test]
fn bad_inputs_are_refused_naming_the_value() {
    let d = tempfile::tempdir().unwrap();
    let files = vec![slice().join("humaneval_cpp.jsonl")];
    let bench = benchmark_args(&files);
    let bench: Vec<&str> = bench.iter().map(String::as_str).collect();
    write_jsonl(
        &d.path().join("c.jsonl"),
        &[json!({"task_id": "CPP/999", "completion": "}"})],
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["eval"];
        args.extend(&bench);
        args.extend(extra);
        let out = rrtf(d.path(), &args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--completions", "c.jsonl"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("task CPP/999 is not in the benchmark"),
        "{err}"
    );
    let (code, err) = run(&[
        "--completions",
        "c.jsonl",
        "--budget",
        "2",
        "--allocation",
        "weights=cpp",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("weights=cpp") && err.contains("LANGUAGE:WEIGHT"),
        "{err}"
    );
    // No model and no completions.
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--model") || err.contains("--completions"),
        "{err}"
    );
    // A problem with no completion is named.
    let first = read_jsonl(&files[0]);
    write_jsonl(
        &d.path().join("c.jsonl"),
        &[json!({"task_id": first[0]["task_id"], "completion": first[0]["canonical_solution"]})],
    );
    let (code, err) = run(&["--completions", "c.jsonl"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no completion for task CPP/1"), "{err}");
    // A budget share larger than a problem's samples (CPP/1 has two, the others one), refused
    // before anything runs; so is a budget no split fits, or none at all.
    let mut all: Vec<Value> = first
        .iter()
        .map(|r| json!({"task_id": r["task_id"], "completion": r["canonical_solution"]}))
        .collect();
    all.push(all[1].clone());
    write_jsonl(&d.path().join("c.jsonl"), &all);
    let (code, err) = run(&["--completions", "c.jsonl", "--budget", "2"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("gives cpp 2 samples, but CPP/0 has 1"),
        "{err}"
    );
    for budget in ["0", "3", "1000000000"] {
        let (code, err) = run(&["--completions", "c.jsonl", "--budget", budget]);
        assert_eq!(code, Some(2), "{err}");
        let says = format!("--budget {budget}: must be between 1 and the 1 language(s) x 2");
        assert!(err.contains(&says), "{err}");
    }
}
