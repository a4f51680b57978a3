//! End-to-end: the `rrtf` binary on real temporary databases, as a user runs it.

use crate::common;

use std::path::Path;

use common::{humaneval_path as humaneval, ok_json, rrtf};

#[test]
fn humaneval_import_reports_164_prompts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let rep = ok_json(
        d,
        &["--json", "import", "prompts", humaneval().to_str().unwrap()],
    );
    assert_eq!(rep["format"], "humaneval");
    assert_eq!(rep["prompts"]["inserted"], 164);
    let st = ok_json(d, &["--json", "status"]);
    for key in [
        "prompts",
        "responses",
        "executions",
        "ranked_prompts",
        "pairs",
    ] {
        assert!(st[key].is_i64(), "status.{key} must be an integer: {st}");
    }
    assert_eq!(st["prompts"], 164);
    assert_eq!(st["tests"], 164);
    // A second import adds nothing.
    let rep = ok_json(
        d,
        &["--json", "import", "prompts", humaneval().to_str().unwrap()],
    );
    assert_eq!(rep["prompts"]["existing"], 164);
    assert_eq!(rep["conflicts"], serde_json::json!([]));
    assert_eq!(ok_json(d, &["--json", "status"])["prompts"], 164);
}

/// A row whose id a prompt of other text holds (stored before, or an earlier row) is not
/// imported, and the import says so instead of counting it as already present.
#[test]
fn a_row_reusing_an_id_with_other_text_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let row = |id: &str, text: &str| format!(r#"{{"id": "{id}", "instruction": "{text}"}}"#);
    std::fs::write(
        d.join("p.jsonl"),
        [
            row("a", "Add two numbers."),
            row("b", "Reverse a list."),
            row("a", "Sort a list."),
        ]
        .join("\n"),
    )
    .unwrap();
    let out = rrtf(d, &["--json", "import", "prompts", "p.jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&rep["prompts"]["inserted"], &rep["prompts"]["existing"]),
        (&2.into(), &1.into())
    );
    assert_eq!(rep["conflicts"][0]["id"], "a", "{rep}");
    assert_eq!(rep["conflicts"][0]["stored"], "Add two numbers.", "{rep}");
    assert_eq!(rep["conflicts"][0]["row"], "Sort a list.", "{rep}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 row(s) were not imported") && err.contains("id `a`"),
        "{err}"
    );
    // A corrected file imported again: the changed row is said, the same ones are not.
    std::fs::write(
        d.join("p.jsonl"),
        [
            row("a", "Add  two numbers."),
            row("b", "Reverse a list, in place."),
        ]
        .join("\n"),
    )
    .unwrap();
    let rep = ok_json(d, &["--json", "import", "prompts", "p.jsonl"]);
    let ids: Vec<&str> = rep["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b"], "{rep}");
}

#[test]
fn malformed_line_4_is_refused_with_exit_2_and_no_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let mut lines = vec![];
    for i in 0..6 {
        lines.push(format!(r#"{{"task_id": "T/{i}", "prompt": "def f():\n", "test": "def check(c): pass", "entry_point": "f"}}"#));
    }
    lines[3] = r#"{"task_id": "T/3", "prompt": "def f():\n", "test": "#.into();
    std::fs::write(d.join("bad.jsonl"), lines.join("\n")).unwrap();
    let out = rrtf(d, &["import", "prompts", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl: line 4: invalid JSON"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(ok_json(d, &["--json", "status"])["prompts"], 0);

    let out = rrtf(
        d,
        &["--json", "import", "prompts", "bad.jsonl", "--skip-invalid"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Not a terminal: progress comes as lines, the last one with the final count.
    assert!(
        err.lines()
            .any(|l| l.starts_with("progress: importing prompts 5 (")),
        "{err}"
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["prompts"]["inserted"], 5);
    assert_eq!(rep["skipped"]["rows"], 1);
    let reasons = rep["skipped"]["reasons"].as_object().unwrap();
    let (reason, skip) = reasons.iter().next().unwrap();
    assert!(reason.contains("invalid JSON"), "{rep}");
    assert_eq!(skip["count"], 1, "{rep}");
    assert_eq!(skip["locations"], serde_json::json!(["line 4"]), "{rep}");
}

#[test]
fn usage_and_input_errors_exit_2_with_a_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = rrtf(d, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rrtf init"));
    // A database in a directory that does not exist, or a URL of another kind: said so, not
    // SQLite's "(code: 14) unable to open database file".
    for (db, says) in [
        (
            "no/such/dir/rrtf.db",
            "the directory no/such/dir does not exist",
        ),
        ("mysql://u:secret@h/db", "cannot use a `mysql://` database"),
    ] {
        for cmd in ["init", "status"] {
            let out = rrtf(d, &["--db", db, cmd]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{db} {cmd}: {err}");
            assert!(
                err.contains(says) && !err.contains("secret"),
                "{db} {cmd}: {err}"
            );
        }
    }

    ok_json(d, &["--json", "init"]);
    let out = rrtf(d, &["export", "--format", "trl", "--out", "x.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `rrtf rank` first"));

    let out = rrtf(d, &["export", "--format", "csv", "--out", "x.jsonl"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2");
    // With --json, a usage error is a JSON document on stdout too.
    for args in [
        &["--json", "exec", "--workers", "abc"][..],
        &["--json", "frobnicate"],
        &["--json", "export", "--format", "trl"],
    ] {
        let out = rrtf(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e})"));
        assert_eq!(doc["error"]["kind"], "usage", "{args:?}: {doc}");
        assert_eq!(doc["error"]["exit_code"], 2, "{args:?}: {doc}");
        assert!(!doc["error"]["message"].as_str().unwrap().is_empty());
    }

    // Input that is not a file of rows: a directory, a truncated .gz. The user's input: exit 2.
    std::fs::create_dir(d.join("adir")).unwrap();
    let gz =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/HumanEval.jsonl.gz"))
            .unwrap();
    std::fs::write(d.join("cut.jsonl.gz"), &gz[..gz.len() / 2]).unwrap();
    for file in ["adir", "cut.jsonl.gz"] {
        let out = rrtf(d, &["import", "prompts", file]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(file), "{file}: {err}");
    }
    // eval's --timeout: refused naming the value (a negative or NaN one panicked in Duration).
    for t in ["-1", "nan"] {
        let out = rrtf(
            d,
            &[
                "eval",
                "--completions",
                "none.jsonl",
                "--benchmark",
                "none.jsonl",
                "--timeout",
                t,
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{t}: {err}");
        assert!(
            err.contains("--timeout must be in (0, 600] seconds"),
            "{t}: {err}"
        );
    }
    // export's --min-gap: a negative number reaches the export's own check.
    let out = rrtf(
        d,
        &[
            "export",
            "--format",
            "trl",
            "--out",
            "x.jsonl",
            "--min-gap",
            "-1",
        ],
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unexpected argument"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(d.join("r.toml"), "[round]\nnumber = 1\nsede = 2\n").unwrap();
    let out = rrtf(d, &["config", "check", "r.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("sede"), "{err}");
}

#[test]
fn example_config_checks_with_a_stable_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/round.toml");
    let a = ok_json(
        tmp.path(),
        &["--json", "config", "check", cfg.to_str().unwrap()],
    );
    let b = ok_json(
        tmp.path(),
        &["--json", "config", "check", cfg.to_str().unwrap()],
    );
    assert_eq!(a["ok"], true);
    assert_eq!(a["hash"], b["hash"]);
    assert_eq!(a["config"]["training"]["epsilon"], 1e-8);
}

/// A round config naming a device this build was compiled without (each GPU feature it
/// lacks: CI's build has `wgpu`, never `cuda`) is refused when it is loaded (exit 2), with the
/// command line's message naming the rebuild.
#[test]
fn a_config_device_the_build_lacks_is_refused_naming_the_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let lacking = [
        ("wgpu", cfg!(feature = "wgpu")),
        ("cuda", cfg!(feature = "cuda")),
    ];
    let lacking: Vec<&str> = lacking.iter().filter(|f| !f.1).map(|f| f.0).collect();
    assert!(!lacking.is_empty(), "a build with every GPU feature");
    for device in lacking {
        for (section, key) in [
            (
                format!("[evaluation]\ndevice = \"{device}\"\n"),
                "evaluation.device",
            ),
            (
                format!(
                    "[student]\nname = \"s\"\nmodel = \"s\"\nlocal_model = \"m\"\ndevice = \"{device}\"\n"
                ),
                "student.device",
            ),
        ] {
            std::fs::write(d.join("r.toml"), section).unwrap();
            let out = rrtf(d, &["config", "check", "r.toml"]);
            assert_eq!(out.status.code(), Some(2), "{key}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(key)
                    && err.contains(&format!("cargo build --release --features {device}")),
                "{device} {key}: {err}"
            );
        }
    }
}

/// `rrtf status | head -1` where the reader has gone: the command ends quietly (exit 0), not
/// with a panic about a broken pipe.
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    for args in [&["status"][..], &["--json", "status"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // the reader is gone before the first write: EPIPE for certain
        let out = common::rrtf_cmd(d, args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
