//! The real pipeline on HumanEval: canonical solutions as a teacher's responses, broken bodies
//! as a student's, executed in the sandbox by `rrtf exec` (killed half-way and resumed), ranked,
//! and exported: 164 pairs, each preferring the canonical solution.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{humaneval_teacher_and_student, ok_json, read_jsonl, rrtf_cmd};
use serde_json::Value;

fn executions(dir: &Path) -> i64 {
    ok_json(dir, &["--json", "status"])["executions"]
        .as_i64()
        .unwrap()
}

#[test]
fn humaneval_canonical_beats_broken_through_exec_rank_export() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let he = humaneval_teacher_and_student(d, "    raise NotImplementedError\n");

    // Start the stage in small batches, kill it once some batches are committed, resume.
    let mut child = rrtf_cmd(d, &["exec", "--batch", "16", "--timeout", "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while executions(d) < 32 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = executions(d);
    assert!(partial > 0, "some batches were committed before the kill");
    let resumed = ok_json(d, &["--json", "exec", "--timeout", "20"]);
    assert_eq!(
        resumed["executed"].as_i64().unwrap() + partial,
        328,
        "resume runs exactly what is missing"
    );
    assert_eq!(executions(d), 328);
    let again = ok_json(d, &["--json", "exec"]);
    assert_eq!(again["executed"], 0);

    let ranked = ok_json(d, &["--json", "rank"]);
    assert_eq!(ranked["kept"], 164, "{ranked}");
    let rep = ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "trl",
            "--out",
            "pairs.jsonl",
        ],
    );
    assert_eq!(rep["rows"], 164);
    let pairs = read_jsonl(&d.join("pairs.jsonl"));
    for (row, p) in pairs.iter().zip(&he) {
        assert_eq!(row["chosen"], p["canonical_solution"], "{}", p["task_id"]);
        assert_eq!(row["chosen_model"], "canonical");
    }
    let stats = ok_json(d, &["--json", "review", "stats"]);
    assert_eq!(stats["models"][0]["pass_rate"], 1.0, "{stats}");
    assert_eq!(
        stats["models"][1]["outcomes"]["pass"],
        Value::Null,
        "{stats}"
    );
    // The completion prompt + body was stored as the code each response was judged on.
    let show = ok_json(d, &["--json", "review", "show", "HumanEval/0"]);
    assert!(
        show["responses"][0]["code"]
            .as_str()
            .unwrap()
            .starts_with("from typing import List")
    );
}

#[test]
fn a_pair_the_executor_cannot_judge_is_not_stored_and_stays_pending() {
    // Problem 2's test ends the judge's process: the executor fails on its pairs, every time.
    // They get no verdict (a `crashed` row would rank the canonical answer as rejected): the
    // other pairs are stored, these stay pending, the run is recorded as failed, the command
    // exits 1 naming them, and a rerun tries exactly them again.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut problems: Vec<Value> = common::humaneval().into_iter().take(3).collect();
    let test = problems[1]["test"].as_str().unwrap().to_owned();
    problems[1]["test"] = format!("import os\n{test}\n    os._exit(3)\n").into();
    common::teacher_and_student(d, &problems, "    return None\n");
    let out = common::rrtf(d, &["--json", "exec", "--timeout", "20"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 of 6 samples could not be judged") && stderr.contains("judge failed"),
        "{stderr}"
    );
    // Each was tried once more after the others (each try: a worker, then a fresh one).
    assert_eq!(stderr.matches("was not judged").count(), 4, "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &summary["executed"],
            &summary["unjudged"],
            &summary["pending"]
        ),
        (&Value::from(4), &Value::from(2), &Value::from(2)),
        "{summary}"
    );
    assert_eq!(summary["outcomes"]["pass"], 2, "{summary}");
    assert_eq!(summary["outcomes"].get("crashed"), None, "{summary}");
    assert_eq!(executions(d), 4);
    let status = ok_json(d, &["--json", "status"]);
    let exec = status["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "exec")
        .unwrap();
    assert_eq!(exec["last_status"], "failed", "{status}");
    let again = common::rrtf(d, &["--json", "exec", "--timeout", "20"]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    let summary: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (&summary["executed"], &summary["unjudged"]),
        (&Value::from(0), &Value::from(2)),
        "{summary}"
    );
    assert_eq!(executions(d), 4);
}

/// Whether process `pid` still runs (a zombie waiting for a reaper has ended).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let state = s.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// Start `sh` standing for a round (it starts a long-lived `rrtf serve`, passing its own pid in
/// `RRTF_PARENT_PID` when `tell` is set, as the pipeline does), kill -9 it, and say whether the
/// `rrtf` child was still running 10 seconds later (it is then killed).
fn child_survives_parents_kill(tell: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let model = rrtf_model::fixtures_dir().join("mqa");
    let var = if tell {
        format!("{}=$$ ", rrtf_pipeline::child::PARENT_PID_VAR)
    } else {
        String::new()
    };
    let script = format!(
        "{var}'{}' serve --model '{}' --port 0 >/dev/null 2>&1 & echo $!; wait",
        env!("CARGO_BIN_EXE_rrtf"),
        model.display()
    );
    #[allow(clippy::disallowed_methods)] // a shell standing for the round, in a test
    let mut parent = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env_remove(rrtf_pipeline::child::PARENT_PID_VAR)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(parent.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let child: u32 = line.trim().parse().expect("the child's pid");
    // Let the child get going (its watcher starts first thing in main).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(running(child), "rrtf serve did not start");
    parent.kill().unwrap();
    parent.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let survived = running(child);
    // SAFETY: kill(2) with SIGKILL of the test's own grandchild, whatever its state.
    unsafe { libc::kill(child as libc::pid_t, libc::SIGKILL) };
    survived
}

/// kill -9 of a round must not leave its stage running (a rerun would meet a second trainer on
/// the same output directory): a child told its parent's pid ends with it; one not told (the
/// control, so this test can fail) outlives it.
#[test]
fn a_stage_ends_when_its_round_is_killed() {
    assert!(
        !child_survives_parents_kill(true),
        "an rrtf child told its parent's pid kept running after the parent's kill -9"
    );
    assert!(
        child_survives_parents_kill(false),
        "the control: an rrtf child not told its parent's pid should outlive it"
    );
}
