//! A multilingual round's data stages end to end (issue 20 item 3), on the shipped
//! HumanEval-X-format slice: prompts imported in three languages at once (each row's task id
//! names its language), a teacher answering with the canonical solutions and a student with the
//! slice's wrong completions, executed in each prompt's language, ranked within each prompt,
//! and `status`, the report and the export broken down by language.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{self, ok_json, read_jsonl, write_jsonl};
use rrtf_exec::Language;

const FILES: [(&str, &str, Language); 3] = [
    ("cpp", "cpp", Language::Cpp),
    ("js", "javascript", Language::JavaScript),
    ("python", "python", Language::Python),
];

fn slice() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/humaneval-x")
}

/// Run a command that must succeed; its stdout.
fn succeed(dir: &Path, args: &[&str]) -> String {
    let out = common::rrtf(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_multilingual_round_is_executed_ranked_and_reported_per_language() {
    if !FILES.iter().all(|(_, _, l)| common::needs(*l)) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let mut canonical = Vec::new();
    for (file, _, _) in FILES {
        let path = slice().join(format!("humaneval_{file}.jsonl"));
        let rep = ok_json(
            d,
            &["--json", "import", "prompts", &path.display().to_string()],
        );
        assert_eq!(rep["prompts"]["inserted"], 20, "{rep}");
        canonical.extend(
            read_jsonl(&path)
                .into_iter()
                .map(|r| json!({"task_id": r["task_id"], "completion": r["canonical_solution"]})),
        );
    }
    // A model that goes on after the function (a `main` of its own, which would clash with the
    // test's) is judged on the function, as HumanEval-X's generation would have stopped it.
    for r in canonical
        .iter_mut()
        .filter(|r| r["task_id"] == "CPP/0" || r["task_id"] == "JavaScript/0")
    {
        let body = r["completion"].as_str().unwrap().to_owned();
        r["completion"] = format!("{body}\nint main() {{\n    return 1;\n}}\n").into();
    }
    let prefixes: Vec<String> = canonical
        .iter()
        .map(|r| {
            r["task_id"]
                .as_str()
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let wrong: Vec<Value> = read_jsonl(&slice().join("wrong.jsonl"))
        .into_iter()
        .filter(|r| {
            prefixes
                .iter()
                .any(|p| r["task_id"].as_str().unwrap().starts_with(&format!("{p}/")))
        })
        .collect();
    assert_eq!(wrong.len(), 60);
    write_jsonl(&d.join("teacher.jsonl"), &canonical);
    write_jsonl(&d.join("student.jsonl"), &wrong);
    for (file, model, role) in [
        ("teacher.jsonl", "canon", "teacher"),
        ("student.jsonl", "wrong", "student"),
    ] {
        ok_json(
            d,
            &[
                "--json",
                "import",
                "responses",
                file,
                "--model",
                model,
                "--role",
                role,
            ],
        );
    }
    let exec = ok_json(d, &["--json", "exec", "--timeout", "20"]);
    assert_eq!(exec["executed"], 120, "{exec}");
    assert_eq!(exec["outcomes"]["pass"], 60, "{exec}");
    ok_json(d, &["--json", "rank"]);

    // status: one row per language, each with its pass rate (the canonical half passes).
    let st = ok_json(d, &["--json", "status"]);
    let langs = st["languages"].as_array().unwrap();
    assert_eq!(langs.len(), 3, "{st}");
    for (_, name, _) in FILES {
        let l = langs.iter().find(|l| l["language"] == name).unwrap();
        assert_eq!(
            (
                &l["prompts"],
                &l["tests"],
                &l["responses"],
                &l["executions"],
                &l["executions_passed"],
                &l["ranked_prompts"]
            ),
            (
                &20.into(),
                &20.into(),
                &40.into(),
                &40.into(),
                &20.into(),
                &20.into()
            ),
            "{l}"
        );
        assert_eq!(l["pass_rate"], 0.5, "{l}");
    }
    let text = succeed(d, &["status"]);
    assert!(
        text.contains("by language") && text.contains("javascript"),
        "{text}"
    );
    let report = d.join("report.html");
    succeed(d, &["report", "--out", &report.display().to_string()]);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<h2 id=\"languages\">Languages</h2>"),
        "no languages section"
    );
    assert!(html.contains("<td>cpp</td>") && html.contains("<td>50.0%</td>"));

    // The export: each group is one prompt in one language, the right answer ranked first.
    let out = d.join("ranked.jsonl");
    ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "rrtf",
            "--out",
            &out.display().to_string(),
        ],
    );
    let lines = read_jsonl(&out);
    assert_eq!(lines.len(), 60);
    let cpp0 = lines.iter().find(|l| l["source_id"] == "CPP/0").unwrap();
    let code = cpp0["details"][0]["code"].as_str().unwrap();
    assert!(
        code.trim_end().ends_with('}') && !code.contains("main"),
        "{code}"
    );
    for (file, name, _) in FILES {
        let of_lang: Vec<&Value> = lines.iter().filter(|l| l["language"] == name).collect();
        assert_eq!(of_lang.len(), 20, "{file}");
        for l in of_lang {
            let prefix = l["source_id"].as_str().unwrap().split('/').next().unwrap();
            let details = l["details"].as_array().unwrap();
            assert_eq!(details.len(), 2, "{l}");
            assert_eq!(
                (&details[0]["model"], &details[0]["outcome"]),
                (&"canon".into(), &"pass".into()),
                "{l}"
            );
            assert_ne!(details[1]["outcome"], "pass", "{l}");
            assert!(
                Language::parse(prefix).map_or(name == "python", |lang| lang.name() == name),
                "{prefix} is not {name}"
            );
        }
    }
}
