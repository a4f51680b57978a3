//! A whole round end to end, offline: `rrtf quickstart` (shipped seed problems, the replay
//! teacher over HTTP, a fresh student served by `rrtf serve`, training, pass@k, the report), then
//! a re-run that skips every stage, then round 2 on the config round 1 wrote, which samples the
//! student trained in round 1.

use crate::common;

use common::{ok_json, rrtf};
use serde_json::Value;

fn stage<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {summary}"))
}

fn status(qs: &std::path::Path) -> Value {
    ok_json(qs, &["--db", "rrtf.db", "--json", "status"])
}

#[test]
fn quickstart_round_then_resume_then_round_two() {
    let dir = tempfile::tempdir().unwrap();
    let summary = ok_json(dir.path(), &["--json", "quickstart", "--dir", "qs"]);
    let qs = dir.path().join("qs");
    assert_eq!(summary["ok"], true, "{summary}");
    for name in [
        "evolve",
        "synth-tests",
        "sample",
        "exec",
        "rank",
        "train",
        "evaluate",
        "register",
        "report",
    ] {
        assert_eq!(stage(&summary, name)["status"], "ran", "{name}: {summary}");
    }
    // Evolution: every seed evolved once; the recorded judge calls five evolutions Equal.
    let evolve = &stage(&summary, "evolve")["detail"]["steps"][0];
    assert_eq!(evolve["kept"], 7, "{evolve}");
    let s = status(&qs);
    assert_eq!(s["prompts"], 19, "{s}");
    assert_eq!(s["prompts_eliminated"], 5, "{s}");
    // 19 kept prompts x (teacher: 2 temperatures x 2 samples + student: 2 samples).
    assert_eq!(s["responses"], 19 * 6, "{s}");
    assert_eq!(s["executions"], 19 * 6, "{s}");
    assert!(s["ranked_prompts"].as_i64().unwrap() >= 10, "{s}");
    assert!(s["pairs"].as_i64().unwrap() > 0, "{s}");
    assert_eq!(s["training_runs"], 1, "{s}");
    // Every stage's run is recorded under the round that ran it (exec and rank select every
    // round's pending work, and were recorded as round 0).
    for st in s["stages"].as_array().unwrap() {
        assert_eq!(st["last_round"], 1, "{st}");
    }
    assert_eq!(
        s["students"], 2,
        "student-r1 sampled, student-r2 registered: {s}"
    );

    // The student was really sampled over HTTP from the local model.
    let stats = ok_json(&qs, &["--db", "rrtf.db", "--json", "review", "stats"]);
    let student = stats["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "student-r1")
        .unwrap_or_else(|| panic!("no student-r1 in {stats}"));
    assert_eq!(student["responses"], 38, "{student}");

    // Training wrote a Hugging Face checkpoint and its metrics into the store and the report.
    let trained = qs.join("models/student-r1");
    assert!(trained.join("model.safetensors").is_file());
    let train = &stage(&summary, "train")["detail"];
    assert!(train["steps"].as_u64().unwrap() > 0, "{train}");
    let report = std::fs::read_to_string(qs.join("report.html")).unwrap();
    assert!(report.contains("id=\"training\"") && report.contains("<polyline"));
    assert!(report.contains("id=\"evaluation\"") && report.contains("pass@1"));
    // The report is evidence (issue 19 item 8): what made it and which run it describes, what
    // evolution eliminated by rule, examples per outcome, the request ledger, and a warning
    // that 8 problems are few.
    let provenance = report
        .split("<p id=\"provenance\">")
        .nth(1)
        .and_then(|r| r.split("</p>").next())
        .expect("a provenance line");
    assert!(
        provenance.starts_with("Made 20")
            && provenance.contains(" UTC by rrtf ")
            && provenance.contains("Latest round run: round 1, config hash <code>")
            && provenance.contains("seed 7"),
        "{provenance}"
    );
    assert!(report.contains("id=\"evolution\"") && report.contains("no new information"));
    assert!(
        report.contains("data-outcome=\"pass\"")
            && report.contains("data-outcome=\"compile_error\"")
    );
    assert!(report.contains("id=\"cost\"") && report.contains("<td>student-r1</td>"));
    assert!(report.contains("id=\"few-problems\"") && report.contains("moves pass@1 by 0.125"));
    // pass@k of both models on the 8 shipped benchmark problems.
    for model in ["base", "trained"] {
        let ev = &summary["evaluation"][model];
        assert_eq!(ev["problems"], 8, "{ev}");
        let p = ev["pass_at_k"]["pass@1"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{ev}");
    }

    // The next round's config loads and names the trained model as the student and base.
    let next = summary["next_config"].as_str().unwrap().to_owned();
    let check = rrtf(&qs, &["config", "check", &next]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let text = std::fs::read_to_string(qs.join(&next)).unwrap();
    assert!(
        text.contains("local_model = \"models/student-r1\""),
        "{text}"
    );
    assert!(text.contains("number = 2"), "{text}");

    // Running again skips every stage and asks nothing twice, and does not warn that its
    // problems were imported already (that is what a rerun expects).
    let rerun = rrtf(dir.path(), &["--json", "quickstart", "--dir", "qs"]);
    let err = String::from_utf8_lossy(&rerun.stderr);
    assert!(rerun.status.success(), "{err}");
    assert!(!err.contains("no prompts imported"), "{err}");
    let again: Value = serde_json::from_slice(&rerun.stdout).unwrap();
    for s in again["stages"].as_array().unwrap() {
        assert_eq!(s["status"], "skipped", "{again}");
    }
    assert_eq!(status(&qs)["responses"], 19 * 6);
    // A config changed only in [evaluation] evaluates again, and trains nothing again.
    let cfg = std::fs::read_to_string(qs.join("round.toml")).unwrap();
    assert!(cfg.contains("max_new_tokens = 48"), "{cfg}");
    std::fs::write(
        qs.join("round.toml"),
        cfg.replace("max_new_tokens = 48", "max_new_tokens = 40"),
    )
    .unwrap();
    let eval_only = ok_json(
        &qs,
        &[
            "--db",
            "rrtf.db",
            "--json",
            "round",
            "--config",
            "round.toml",
        ],
    );
    for s in eval_only["stages"].as_array().unwrap() {
        let before_evaluation = ["evolve", "synth-tests", "sample", "exec", "rank", "train"]
            .contains(&s["stage"].as_str().unwrap());
        let want = if before_evaluation { "skipped" } else { "ran" };
        assert_eq!(s["status"], want, "{eval_only}");
    }
    // A student's answers name the checkpoint that gave them, not only the round's name for
    // the student (issue 19 item 5).
    let show = rrtf(&qs, &["--db", "rrtf.db", "review", "show", "1"]);
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.contains("— student-r1 (student, from models/student-r0), T="),
        "{show}"
    );
    // The human summary says what each stage did (a skipped one: when it ran), not only that
    // it ran (issue 19 item 5).
    let text = rrtf(&qs, &["--db", "rrtf.db", "round", "--config", "round.toml"]);
    let text = String::from_utf8_lossy(&text.stdout);
    for line in [
        "(when it ran) 12 evolution(s) asked, 7 kept, 5 eliminated (no new information 5)",
        "(when it ran) replay-teacher: 76 sent, 0 stored before; student-r1: 38 sent, 0 stored before",
        "(when it ran) 114 (response, test) pair(s) executed (",
        "(when it ran) 19 prompt(s) ranked (19 kept), 114 response(s), ",
        "step(s) (rrtf), last loss ",
        "(when it ran) base pass@1 ",
        "(when it ran) next student student-r2 (models/student-r1)",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }

    // --from reruns a stage even though it is done; a reversed range is refused (exit 2).
    let rerun = ok_json(
        &qs,
        &[
            "--db",
            "rrtf.db",
            "--json",
            "round",
            "--config",
            "round.toml",
            "--from",
            "rank",
            "--until",
            "rank",
        ],
    );
    assert_eq!(rerun["stages"].as_array().unwrap().len(), 1, "{rerun}");
    assert_eq!(stage(&rerun, "rank")["status"], "ran");
    let bad = rrtf(
        &qs,
        &[
            "--db",
            "rrtf.db",
            "round",
            "--config",
            "round.toml",
            "--from",
            "train",
            "--until",
            "sample",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--from train comes after --until sample")
    );

    // Round 2 samples the student trained in round 1, trains from it, and writes round 3's config.
    let two = ok_json(
        &qs,
        &[
            "--db", "rrtf.db", "--json", "round", "--config", &next, "--until", "register",
        ],
    );
    assert_eq!(two["ok"], true, "{two}");
    assert_eq!(stage(&two, "train")["status"], "ran");
    let stats = ok_json(&qs, &["--db", "rrtf.db", "--json", "review", "stats"]);
    assert!(
        stats["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["model"] == "student-r2" && m["responses"].as_i64().unwrap() > 0),
        "{stats}"
    );
    assert!(qs.join("models/student-r2/model.safetensors").is_file());
    assert!(qs.join("models/student-r2/round-3.toml").is_file());

    // A failed stage shows its cause: the end of its log, quoted in the round's error, and the
    // whole log in logs/round-N/<command>.log beside the database (issue 19 item 1).
    let text = std::fs::read_to_string(qs.join("round.toml")).unwrap();
    let bad = text.replace(
        "base_model = \"models/student-r0\"",
        "base_model = \"models/missing\"",
    );
    assert_ne!(bad, text, "round.toml names models/student-r0 as the base");
    std::fs::write(qs.join("bad.toml"), bad).unwrap();
    let failed = rrtf(
        &qs,
        &[
            "--db", "rrtf.db", "round", "--config", "bad.toml", "--from", "train", "--until",
            "train",
        ],
    );
    assert_eq!(
        failed.status.code(),
        Some(2),
        "the trainer's bad input stays exit 2"
    );
    let err = String::from_utf8_lossy(&failed.stderr);
    let quoted = err
        .lines()
        .skip_while(|l| {
            // A finished run's stage runs again afresh: `--restart` (issue 19).
            !l.starts_with("error: `rrtf train --config bad.toml --restart` failed (exit code 2)")
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        quoted.contains("  | error: model directory models/missing: does not exist")
            && quoted.contains("(its whole log: logs/round-1/train.log)"),
        "{err}"
    );
    let log = std::fs::read_to_string(qs.join("logs/round-1/train.log")).unwrap();
    let last_run = log.rsplit("==> ").next().unwrap();
    assert!(
        last_run.starts_with("rrtf train --config bad.toml --restart (")
            && last_run.contains("error: model directory models/missing: does not exist"),
        "{log}"
    );
}
