//! `rrtf exec run | doctor | passk` end to end: row format and order, exit codes for bad input
//! and missing toolchains, HumanEval-X Go and Java rows with per-check counts, pass@k values,
//! and the unprivileged modes (a user namespace; none, refused unless `--insecure-sandbox`).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::common;

fn rrtf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rrtf"))
        .args(args)
        .output()
        .expect("run rrtf")
}

fn humaneval(n: usize) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/HumanEval.jsonl.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .take(n)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_rows(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn read_rows(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Rows of three kinds per problem: completion mode (canonical), a chat response with a fenced
/// wrong solution, and a prose-only response.
fn sample_rows(problems: &[Value]) -> Vec<Value> {
    let mut rows = Vec::new();
    for p in problems {
        let (task, test, entry) = (&p["task_id"], &p["test"], &p["entry_point"]);
        rows.push(json!({"task_id": task, "prompt": p["prompt"], "completion": p["canonical_solution"], "test": test, "entry_point": entry}));
        // The response re-states the function without the prompt's imports: they are added.
        let prompt = p["prompt"].as_str().unwrap();
        let body: String = prompt
            .lines()
            .filter(|l| !l.starts_with("from ") && !l.starts_with("import "))
            .collect::<Vec<_>>()
            .join("\n");
        let wrong =
            format!("Here is my solution:\n```python\n{body}\n    return None\n```\nIt is fast.");
        rows.push(json!({"task_id": task, "language": "python", "prompt": prompt, "code": wrong, "test": test, "entry_point": entry}));
        rows.push(json!({"task_id": task, "code": "I am not sure how to do this.", "test": test, "entry_point": entry}));
    }
    rows
}

#[test]
fn run_writes_one_row_per_sample_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    let problems = humaneval(4);
    write_rows(&input, &sample_rows(&problems));
    let out = rrtf(&[
        "--json",
        "exec",
        "run",
        "--timeout",
        "20",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["samples"], 12);
    assert_eq!(summary["passed"], 4);
    assert_eq!(summary["executor"].as_str().unwrap().len(), 16, "{summary}");
    let rows = read_rows(&output);
    assert_eq!(rows.len(), 12);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["task_id"], problems[i / 3]["task_id"]);
        for key in [
            "outcome",
            "passed",
            "tests_passed",
            "tests_total",
            "detail",
            "wall_ms",
            "cpu_ms",
            "peak_rss_kb",
        ] {
            assert!(row.get(key).is_some(), "row {i} lacks {key}: {row}");
        }
        let (outcome, passed) = (
            row["outcome"].as_str().unwrap(),
            row["passed"].as_bool().unwrap(),
        );
        match i % 3 {
            0 => assert!(
                passed && outcome == "pass" && row["tests_passed"] == row["tests_total"],
                "{row}"
            ),
            // `return None` fails the asserts; without the prompt's `from typing import List`
            // it would be a NameError (runtime_error) instead.
            1 => {
                let detail = row["detail"].as_str().unwrap();
                let failed = outcome == "test_failure" || outcome == "runtime_error";
                assert!(!passed && failed && !detail.contains("NameError"), "{row}");
            }
            _ => assert!(!passed && outcome == "compile_error", "{row}"),
        }
    }
}

#[test]
fn bad_rows_exit_2_and_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    let cases = [
        "{\"task_id\": \"a\", \"code\": \"x\", \"test\": \"\"}\n{not json\n",
        "{\"task_id\": \"a\", \"test\": \"assert True\"}\n",
        "{\"task_id\": \"a\", \"language\": \"cobol\", \"code\": \"x\", \"test\": \"\"}\n",
    ];
    for (i, text) in cases.iter().enumerate() {
        std::fs::write(&input, text).unwrap();
        let out = rrtf(&[
            "exec",
            "run",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains("line"), "case {i}: {err}");
    }
    // Limits that would store good code as failed are refused before anything runs, by the
    // stand-alone runner and by the stage alike.
    std::fs::write(&input, "").unwrap();
    let db = dir.path().join("rrtf.db");
    for (flag, value, says) in [
        ("--memory-mb", "0", "--memory-mb must be at least 64 MiB"),
        ("--memory-mb", "63", "got 63"),
        ("--workers", "0", "--workers must be at least 1"),
        // A negative number reaches the tool's own check (not clap's "unexpected argument").
        (
            "--timeout",
            "-1",
            "--timeout must be in (0, 600] seconds, got -1",
        ),
    ] {
        let run = [
            "exec",
            "run",
            flag,
            value,
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ];
        let stage = ["--db", db.to_str().unwrap(), "exec", flag, value];
        for args in [&run[..], &stage[..]] {
            let out = rrtf(args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(says), "{args:?}: {err}");
        }
    }
}

#[test]
fn an_unjudged_sample_fails_the_run_and_its_row_has_no_verdict() {
    // The second row's (trusted) test ends its judge's process: the executor fails on it on
    // every attempt. Its row says so and has no outcome; the others are judged; the command
    // exits 1; pass@k refuses the file rather than count the row as a failure.
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    let right = "def f(x):\n    return 2 * x\n";
    let test = "def check(candidate):\n    assert candidate(2) == 4\n";
    let killer =
        "import os\ndef check(candidate):\n    assert candidate(2) == 4\n    os._exit(3)\n";
    let row = |task: &str, test: &str| json!({"task_id": task, "code": right, "test": test, "entry_point": "f"});
    write_rows(&input, &[row("a", test), row("b", killer), row("c", test)]);
    let out = rrtf(&[
        "exec",
        "run",
        "--timeout",
        "20",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("1 of 3 samples could not be judged"), "{err}");
    let rows = read_rows(&output);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (&rows[0]["outcome"], &rows[2]["outcome"]),
        (&json!("pass"), &json!("pass"))
    );
    assert_eq!(
        (&rows[1]["outcome"], &rows[1]["passed"]),
        (&Value::Null, &json!(false))
    );
    assert!(
        rows[1]["unjudged"]
            .as_str()
            .unwrap()
            .contains("judge failed"),
        "{}",
        rows[1]
    );
    let out = rrtf(&["exec", "passk", "--input", output.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("line 2") && err.contains("not judged"),
        "{err}"
    );
}

#[test]
fn a_missing_toolchain_fails_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    std::fs::write(
        &input,
        "{\"task_id\": \"t/0\", \"code\": \"def f():\\n    return 1\\n\", \"test\": \"assert f() == 1\"}\n",
    )
    .unwrap();
    let out = rrtf(&[
        "exec",
        "run",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--python",
        "/usr/bin/python3-not-installed",
    ]);
    // Another interpreter than the default was asked for: that path is named, as bad input.
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/usr/bin/python3-not-installed (--python) does not exist"),
        "{err}"
    );
    assert!(
        !output.exists(),
        "no result file for a run that did not start"
    );
}

/// The tests' compile cache (shared with rrtf-exec's tests: Go's warm-up is made once).
fn cache_dir() -> String {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("rrtf-exec-cache")
        .to_string_lossy()
        .into_owned()
}

/// HumanEval-X rows (`Go/0`, `Java/0`: prompt + completion, `test` only, language from the task
/// prefix) with per-check counts, through the command line.
#[test]
fn humaneval_x_go_and_java_rows_run_with_per_check_counts() {
    if !(common::needs(rrtf_exec::Language::Go) && common::needs(rrtf_exec::Language::Java)) {
        return;
    }
    let go_prompt = "import (\n    \"math\"\n)\n\n// Check if in given list of numbers, are any two numbers closer to each other than given threshold.\nfunc HasCloseElements(numbers []float64, threshold float64) bool {\n";
    let go_ok = "    for i := 0; i < len(numbers); i++ {\n        for j := i + 1; j < len(numbers); j++ {\n            var distance float64 = math.Abs(numbers[i] - numbers[j])\n            if distance < threshold {\n                return true\n            }\n        }\n    }\n    return false\n}\n";
    let go_test = "func TestHasCloseElements(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(true, HasCloseElements([]float64{1.0, 2.0, 3.9, 4.0, 5.0, 2.2}, 0.3))\n    assert.Equal(false, HasCloseElements([]float64{1.0, 2.0, 3.9, 4.0, 5.0, 2.2}, 0.05))\n    assert.Equal(true, HasCloseElements([]float64{1.0, 2.0, 5.9, 4.0, 5.0}, 0.95))\n    assert.Equal(false, HasCloseElements([]float64{1.0, 2.0, 5.9, 4.0, 5.0}, 0.8))\n}\n";
    let java_prompt = "import java.util.*;\nimport java.lang.*;\n\nclass Solution {\n    public boolean isEqualToSumEven(int n) {\n";
    let java_test = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(\n                s.isEqualToSumEven(4) == false,\n                s.isEqualToSumEven(6) == false,\n                s.isEqualToSumEven(8) == true,\n                s.isEqualToSumEven(10) == true\n        );\n        if (correct.contains(false)) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    let rows = [
        json!({"task_id": "Go/0", "prompt": go_prompt, "completion": go_ok, "test": go_test}),
        json!({"task_id": "Go/0", "prompt": go_prompt, "completion": "    _ = math.Abs\n    return threshold > 0.5\n}\n", "test": go_test}),
        json!({"task_id": "Go/0", "prompt": go_prompt, "completion": "    return false\n", "test": go_test}),
        json!({"task_id": "Java/0", "prompt": java_prompt, "completion": "        return n % 2 == 0 && n >= 8;\n    }\n}", "test": java_test}),
        json!({"task_id": "Java/0", "prompt": java_prompt, "completion": "        return n == 8;\n    }\n}", "test": java_test}),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    write_rows(&input, &rows);
    let cache = cache_dir();
    let out = rrtf(&[
        "exec",
        "run",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--timeout",
        "20",
        "--cache-dir",
        &cache,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<(String, u64, u64)> = read_rows(&output)
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap().to_string(),
                r["tests_passed"].as_u64().unwrap(),
                r["tests_total"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("pass", 4, 4),
        ("partial", 2, 4),
        ("compile_error", 0, 4), // the function is never closed (the test has 4 checks)
        ("pass", 4, 4),
        ("partial", 3, 4),
    ];
    let want: Vec<(String, u64, u64)> = want
        .iter()
        .map(|(o, p, t)| (o.to_string(), *p, *t))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn passk_is_the_unbiased_estimator() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("results.jsonl");
    // Task a: 1 of 4 passes; task b: 2 of 4 (one given by outcome only).
    let rows = [
        json!({"task_id": "a", "passed": true}),
        json!({"task_id": "a", "passed": false}),
        json!({"task_id": "a", "passed": false}),
        json!({"task_id": "a", "passed": false}),
        json!({"task_id": "b", "passed": true}),
        json!({"task_id": "b", "outcome": "pass"}),
        json!({"task_id": "b", "outcome": "partial"}),
        json!({"task_id": "b", "passed": false}),
    ];
    write_rows(&input, &rows);
    let out = rrtf(&[
        "--json",
        "exec",
        "passk",
        "--input",
        input.to_str().unwrap(),
        "-k",
        "1,2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p1 = v["pass_at_k"]["pass@1"].as_f64().unwrap();
    let p2 = v["pass_at_k"]["pass@2"].as_f64().unwrap();
    // pass@1 = mean(1/4, 2/4); pass@2 = mean(1 - C(3,2)/C(4,2), 1 - C(2,2)/C(4,2)).
    assert!((p1 - 0.375).abs() < 1e-12, "{v}");
    assert!((p2 - (0.5 + 5.0 / 6.0) / 2.0).abs() < 1e-12, "{v}");
    let out = rrtf(&[
        "exec",
        "passk",
        "--input",
        input.to_str().unwrap(),
        "-k",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn doctor_lists_protections_and_passes_its_self_test() {
    let cache = cache_dir();
    let out = rrtf(&["--json", "exec", "doctor", "--cache-dir", &cache]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["self_test"]["ok"], true, "{v}");
    assert_eq!(v["toolchains"]["python"]["ok"], true, "{v}");
    // Every language's toolchain is installed in the full tier (.ci/run installs them); in the
    // fast tier a missing one is a skip of this check, naming what doctor says is missing.
    for l in ["javascript", "cpp", "java", "go", "rust"] {
        if v["toolchains"][l]["ok"] != true {
            common::missing(&format!("{l}: {}", v["toolchains"][l]));
        }
    }
    assert_eq!(v["compile_cache"]["on"], true, "{v}");
    // SAFETY: a query.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(v["mode"], "root", "{v}");
    }
    // cgroup v2 limits, or why not (here: cgroups v1 own the memory and pids controllers).
    let cgroup = &v["protections"]["cgroup"];
    assert!(
        cgroup["v2"]["dir"].is_string() || cgroup["unavailable"]["reason"].is_string(),
        "{v}"
    );
    // Without them, the gap of the rlimit fallback is stated.
    let gaps = v["limit_gaps"].as_array().unwrap();
    assert_eq!(cgroup["v2"].is_null(), !gaps.is_empty(), "{v}");
    assert!(
        gaps.iter()
            .all(|g| g.as_str().unwrap().contains("RLIMIT_AS")),
        "{v}"
    );
    let out = rrtf(&["--json", "exec", "doctor", "--no-cache"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["compile_cache"]["on"], false, "{v}");
    assert!(!v["active"].as_array().unwrap().is_empty());
}

/// Without root the executor runs its samples in the same namespaces, entered through an
/// unprivileged user namespace; where those are refused it refuses too, unless
/// `--insecure-sandbox` accepts the weaker sandbox (Landlock, seccomp, rlimits, a subreaper,
/// which still kills a daemonised sleeper). Needs root to drop to `nobody`.
#[test]
fn unprivileged_modes_run_refuse_and_clean_up() {
    // SAFETY: a query.
    if unsafe { libc::geteuid() } != 0 {
        return; // already unprivileged: the other tests exercise this mode
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    let check = "def check(candidate):\n    assert candidate() == 1\n";
    let outside = dir.path().join("pwned");
    let rows = [
        ("def f():\n    return 1\n", "pass"),
        (
            "import os, time\ndef f():\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            time.sleep(1000)\n        os._exit(0)\n    return 1\n",
            "pass",
        ),
        (
            &*format!(
                "def f():\n    open({:?}, 'w').write('x')\n    return 1\n",
                outside.to_str().unwrap()
            ),
            "runtime_error",
        ),
        (
            "import socket\ndef f():\n    socket.socket(socket.AF_UNIX)\n    return 1\n",
            "runtime_error",
        ),
    ];
    let jsonl: Vec<Value> = rows
        .iter()
        .map(|(code, _)| json!({"task_id": "t", "code": code, "test": check, "entry_point": "f"}))
        .collect();
    write_rows(&input, &jsonl);
    // A copy nobody can execute wherever the build directory is (e.g. under /root).
    let binary = dir.path().join("rrtf");
    std::fs::copy(env!("CARGO_BIN_EXE_rrtf"), &binary).unwrap();
    let exec_mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&binary, exec_mode).unwrap();
    let run_as_nobody = |refuse_userns: bool, extra: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary)
            .args([
                "exec",
                "run",
                "--timeout",
                "20",
                "--input",
                input.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
            ])
            .args(extra)
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        if refuse_userns {
            // As a kernel or container profile that forbids user namespaces would.
            let filters = user_namespaces_refused();
            // SAFETY: between fork and exec only prctl and seccomp on memory made before.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                    for f in &filters {
                        seccompiler::apply_filter(f).map_err(std::io::Error::other)?;
                    }
                    Ok(())
                });
            }
        }
        cmd.output().expect("setpriv (util-linux)")
    };
    let check_results = || {
        let results = read_rows(&output);
        assert_eq!(results.len(), rows.len());
        for ((code, want), r) in rows.iter().zip(&results) {
            assert_eq!(r["outcome"], *want, "{code}: {r}");
        }
        assert!(!outside.exists());
        let left: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
            .filter(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("65534"))
            })
            .collect();
        assert!(left.is_empty(), "leftover processes of nobody: {left:?}");
    };

    // A user namespace: the namespaces without root.
    let out = run_as_nobody(false, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    check_results();

    // No user namespace: refused (bad usage, exit 2), naming the flag and what is missing.
    std::fs::remove_file(&output).unwrap();
    let out = run_as_nobody(true, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in ["--insecure-sandbox", "not root and no user namespace"] {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    assert!(!output.exists(), "nothing ran");

    // Accepted: it runs, announcing the reduced isolation.
    let out = run_as_nobody(true, &["--insecure-sandbox"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("reduced isolation") && err.contains("not root and no user namespace"),
        "the reduced isolation must be announced: {err}"
    );
    check_results();
}

/// Seccomp programs that make `clone`/`unshare` with `CLONE_NEWUSER` fail (EPERM) and send
/// `clone3` (whose flags a filter cannot see) back to `clone` (ENOSYS).
fn user_namespaces_refused() -> Vec<seccompiler::BpfProgram> {
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    };
    let newuser = libc::CLONE_NEWUSER as u64;
    let rule = || {
        let c = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(newuser),
            newuser,
        );
        SeccompRule::new(vec![c.unwrap()]).unwrap()
    };
    let arch = || std::env::consts::ARCH.try_into().unwrap();
    let filter = |rules: Vec<(i64, Vec<SeccompRule>)>, errno: i32| -> seccompiler::BpfProgram {
        SeccompFilter::new(
            rules.into_iter().collect(),
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch(),
        )
        .unwrap()
        .try_into()
        .unwrap()
    };
    vec![
        filter(
            vec![
                (libc::SYS_clone, vec![rule()]),
                (libc::SYS_unshare, vec![rule()]),
            ],
            libc::EPERM,
        ),
        filter(vec![(libc::SYS_clone3, vec![])], libc::ENOSYS),
    ]
}
