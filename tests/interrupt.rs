//! Issue 19 item 3: Ctrl-C (SIGINT) and SIGTERM are clean stops. The real binary runs as a
//! process and gets a real signal mid-run: it finishes the work in flight (a training step, an
//! executor batch), records its run as `interrupted`, says how to resume and exits with 130
//! (SIGINT) or 143 (SIGTERM); the rerun then loses and repeats nothing. (`rrtf sample`'s is
//! `sample::ctrl_c_...`.)

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::{humaneval_teacher_and_student, ok_json, read_jsonl, rrtf_cmd};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Poll `done` every 5 ms until it holds; panics when `child` ends first or after 5 minutes.
fn wait_for(child: &mut Child, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ended ({status}) before {what}");
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) of our own child, not yet waited for.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

fn run_statuses(db: &Path, stage: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = rrtf_store::Store::open(db).await.unwrap();
        let out = store.run_statuses(stage).await.unwrap();
        store.close().await;
        out.into_iter().map(|(_, status)| status).collect()
    })
}

/// The `step` lines of a metrics file: step -> (loss, grad_norm), each step once.
fn step_losses(metrics: &Path) -> BTreeMap<u64, (f64, f64)> {
    let mut out = BTreeMap::new();
    for line in read_jsonl(metrics) {
        if line["kind"] == "step" {
            let step = line["step"].as_u64().unwrap();
            let values = (
                line["loss"].as_f64().unwrap(),
                line["grad_norm"].as_f64().unwrap(),
            );
            assert!(
                out.insert(step, values).is_none(),
                "step {step} logged twice"
            );
        }
    }
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run `rrtf ARGS` in `dir` as a terminal would (its own process group), wait until
/// `metrics` has 3 training steps, press Ctrl-C (SIGINT to the group), and return what it
/// printed once it ended: (exit code 130 checked, stderr, the JSON summary on stdout).
fn ctrl_c_after_3_steps(dir: &Path, args: &[&str], metrics: &Path) -> (String, Value) {
    use std::os::unix::process::CommandExt;

    let mut child = rrtf_cmd(dir, args)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&mut child, "3 training steps", || {
        std::fs::read_to_string(metrics).is_ok_and(|t| t.matches("\"kind\":\"step\"").count() >= 3)
    });
    // SAFETY: kill(2) of the process group our child leads (a terminal's Ctrl-C).
    assert_eq!(
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ok"], false, "{summary}");
    (err, summary)
}

/// Long enough (about 4 s here, 160 steps/s) that the signal, sent once 3 steps are logged,
/// comes well before the end on a loaded machine.
const STEPS: u64 = 600;

/// SIGINT during `rrtf train`: the step in flight finishes and is checkpointed, the run is
/// `interrupted`, exit code 130 and the resume command on stderr; running the same command
/// again resumes from that checkpoint by default (no `--resume`) and ends with the weights,
/// losses and metrics of an uninterrupted run, every step logged once (file and database).
#[test]
fn sigint_stops_training_after_its_step_and_the_same_command_resumes_it_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let groups = s(&fixtures().join("train/groups.jsonl"));
    // Two runs of one config but their output_dir: `a` interrupted and resumed, `b` not.
    let config = |name: &str| {
        let text = format!(
            "[round]\nseed = 3\n[training]\nbase_model = {:?}\noutput_dir = {:?}\n\
             batch_size = 2\neval_fraction = 0.2\nprompt_template = \"{{prompt}}\"\n\
             code_only = false\nlearning_rate = 1e-3\nwarmup_steps = 2\nmax_steps = {STEPS}\n\
             checkpoint_every = 1000\n",
            s(&fixtures().join("model/mqa")),
            s(&d.join(name))
        );
        let path = d.join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        s(&path)
    };
    let (a, b) = (config("a"), config("b"));
    let train = |cfg: &str| rrtf_cmd(d, &["--json", "train", "--config", cfg, "--input", &groups]);

    // `--restart` (nothing to discard yet) is left out of the resume command: it would discard
    // the interrupted run.
    let mut child = rrtf_cmd(
        d,
        &[
            "--json",
            "train",
            "--config",
            &a,
            "--restart",
            "--input",
            &groups,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let metrics = d.join("a/metrics.jsonl");
    wait_for(&mut child, "3 training steps", || {
        std::fs::read_to_string(&metrics).is_ok_and(|t| t.matches("\"kind\":\"step\"").count() >= 3)
    });
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let stopped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stopped["interrupted"], "SIGINT", "{stopped}");
    let k = stopped["steps"].as_u64().unwrap();
    assert!((3..STEPS).contains(&k), "{stopped}");
    // The step in flight was kept: checkpointed (checkpoint_every is larger than the run) and
    // logged, and nothing after it.
    let ckpt = d.join(format!("a/checkpoints/step-{k}"));
    assert_eq!(stopped["checkpoint"], s(&ckpt), "{stopped}");
    assert!(ckpt.join("state.json").is_file());
    assert_eq!(
        step_losses(&metrics).into_keys().collect::<Vec<_>>(),
        (1..=k).collect::<Vec<_>>()
    );
    assert!(!d.join("a/model.safetensors").exists(), "no final model");
    assert!(
        err.contains("rrtf train interrupted by SIGINT (Ctrl-C)")
            && err.contains(&format!("after step {k} of {STEPS}")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "resume with `rrtf --json train --config {a} --input {groups}`"
        )),
        "{err}"
    );
    assert_eq!(run_statuses(&common::database(d), "train"), ["interrupted"]);

    // The same command continues from the checkpoint.
    let out = train(&a).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("resuming the earlier run from"), "{err}");
    // stderr is a pipe, not a terminal: progress comes as lines, the last one at the end.
    assert!(err.contains("progress: training"), "{err}");
    assert!(err.contains(&format!("{STEPS}/{STEPS} (100%")), "{err}");
    let resumed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resumed["steps"], STEPS);
    assert_eq!(resumed["resumed_from"], s(&ckpt));
    let out = train(&b).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let weights = |name: &str| std::fs::read(d.join(name).join("model.safetensors")).unwrap();
    assert!(
        weights("a") == weights("b"),
        "resumed weights differ from the uninterrupted run's"
    );
    let (la, lb) = (
        step_losses(&metrics),
        step_losses(&d.join("b/metrics.jsonl")),
    );
    assert_eq!(la.len() as u64, STEPS);
    assert_eq!(la, lb, "per-step loss and gradient norm");
    assert_eq!(
        run_statuses(&common::database(d), "train"),
        ["interrupted", "done", "done"]
    );
    // The database has every step once too, with the uninterrupted run's values.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let curves = rt.block_on(async {
        let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
        let c = store.training_curves().await.unwrap();
        store.close().await;
        c
    });
    let series = |name: &str| {
        let run = curves
            .iter()
            .find(|c| c.output_dir == s(&d.join(name)))
            .unwrap();
        assert_eq!(run.status, "done");
        run.series("train", "loss")
    };
    assert_eq!(series("a"), series("b"));
    assert_eq!(series("a").len() as u64, STEPS);
}

fn executions(dir: &Path) -> i64 {
    ok_json(dir, &["--json", "status"])["executions"]
        .as_i64()
        .unwrap()
}

/// SIGTERM during `rrtf exec`: no further program is handed to the sandbox, those in it finish
/// and are stored, the rest of their batch (here all 328 pairs are one batch) stays pending and
/// is never recorded as run; the run is `interrupted` with the pairs left, exit code 143; the
/// same command then executes exactly those.
#[test]
fn sigterm_stops_exec_mid_batch_and_the_rerun_runs_exactly_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    humaneval_teacher_and_student(d, "    raise NotImplementedError\n");
    let db = common::database(d);
    // One worker and the default batch (512): every pending pair is in the first batch.
    let args = ["--json", "exec", "--workers", "1", "--timeout", "20"];
    let mut child = rrtf_cmd(d, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&mut child, "the exec run", || {
        run_statuses(&db, "exec") == ["running"]
    });
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(143), "{err}");
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["interrupted"], "SIGTERM", "{first}");
    let done = first["executed"].as_i64().unwrap();
    // Stopped inside the batch (finishing it would have run all 328), and what the run reports
    // is what is stored.
    assert!(done < 100, "{first}");
    assert_eq!(executions(d), done);
    assert_eq!(first["pending"].as_i64().unwrap(), 328 - done, "{first}");
    assert!(
        err.contains("rrtf exec interrupted by SIGTERM")
            && err.contains(&format!("resume with `rrtf {}`", args.join(" "))),
        "{err}"
    );
    assert_eq!(run_statuses(&db, "exec"), ["interrupted"]);

    let second = ok_json(d, &args);
    assert_eq!(second["executed"].as_i64().unwrap(), 328 - done, "{second}");
    assert_eq!(executions(d), 328);
    assert_eq!(run_statuses(&db, "exec"), ["interrupted", "done"]);
    // Every pair's verdict is the one an uninterrupted run gives: the teacher's canonical
    // solutions pass, the student's stub fails.
    let count = |v: &Value, outcome: &str| v["outcomes"][outcome].as_i64().unwrap_or(0);
    assert_eq!(
        count(&first, "pass") + count(&second, "pass"),
        164,
        "{first} {second}"
    );
    let all = |v: &Value| -> i64 {
        v["outcomes"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_i64().unwrap())
            .sum()
    };
    assert_eq!((all(&first), all(&second)), (done, 328 - done));
}

/// Ctrl-C at a terminal during `rrtf round` (SIGINT to the round's whole process group, as a
/// terminal sends it): the stage running (`rrtf train`, in a process group of its own) gets the
/// signal once, from the round, finishes its step and records its run `interrupted`; the round
/// records its own run `interrupted`, starts no further stage, says how to resume and exits
/// 130 with its summary on stdout. The same command then resumes training from the step's
/// checkpoint and finishes the round, every step logged once.
#[test]
fn ctrl_c_at_a_terminal_stops_a_round_after_its_stage_stops_and_the_same_command_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    humaneval_teacher_and_student(d, "    raise NotImplementedError\n");
    let out_dir = d.join("trained");
    let config = d.join("round.toml");
    std::fs::write(
        &config,
        format!(
            "[round]\nnumber = 1\nseed = 3\n[evolution]\nenabled = false\n\
             [test_synthesis]\nenabled = false\n[training]\nbase_model = {:?}\n\
             output_dir = {:?}\nbatch_size = 2\neval_fraction = 0.2\n\
             prompt_template = \"{{prompt}}\"\ncode_only = false\nlearning_rate = 1e-3\n\
             warmup_steps = 2\nmax_steps = {STEPS}\ncheckpoint_every = 1000\n",
            s(&fixtures().join("model/mqa")),
            s(&out_dir)
        ),
    )
    .unwrap();
    let config = s(&config);
    let db = common::database(d);
    // The data stages first (executions, pairs), so that the signal lands in training.
    let data = ok_json(
        d,
        &["--json", "round", "--config", &config, "--until", "rank"],
    );
    assert_eq!(data["ok"], true, "{data}");

    let args = ["--json", "round", "--config", &config];
    let metrics = out_dir.join("metrics.jsonl");
    let (err, summary) = ctrl_c_after_3_steps(d, &args, &metrics);
    assert_eq!(summary["interrupted"], "SIGINT", "{summary}");
    let stages: Vec<(String, String)> = summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let last = stages.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("train", "interrupted"),
        "no stage after the interrupted one: {summary}"
    );
    // The trainer stopped by itself after its step (it got the signal once: a second one would
    // have ended it at once, without a checkpoint).
    assert!(
        err.contains("rrtf train interrupted by SIGINT (Ctrl-C)"),
        "{err}"
    );
    let k = step_losses(&metrics).len() as u64;
    assert!((3..STEPS).contains(&k), "{k} steps");
    assert!(
        out_dir
            .join(format!("checkpoints/step-{k}/state.json"))
            .is_file()
    );
    assert!(
        err.contains("rrtf round interrupted by SIGINT (Ctrl-C)")
            && err.contains(&format!("resume with `rrtf {}`", args.join(" "))),
        "{err}"
    );
    // The stage's own message names the round's command too: its command line (relative to
    // the project directory, without `--db`) would not run from where the round was started.
    let hints: Vec<&str> = err
        .split("resume with `")
        .skip(1)
        .map(|rest| rest.split('`').next().unwrap_or_default())
        .collect();
    assert!(
        hints.len() >= 2
            && hints
                .iter()
                .all(|h| *h == format!("rrtf {}", args.join(" "))),
        "{hints:?}\n{err}"
    );
    assert_eq!(run_statuses(&db, "train"), ["interrupted"]);
    assert_eq!(run_statuses(&db, "round"), ["done", "interrupted"]);
    // Nothing runs on: the metrics stay as they were.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(step_losses(&metrics).len() as u64, k);

    let again = ok_json(d, &args);
    assert_eq!(again["ok"], true, "{again}");
    let train = again["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "train")
        .unwrap();
    assert_eq!(train["status"], "ran", "{again}");
    assert_eq!(
        train["detail"]["resumed_from"],
        s(&out_dir.join(format!("checkpoints/step-{k}"))),
        "{again}"
    );
    assert_eq!(step_losses(&metrics).len() as u64, STEPS);
    assert_eq!(run_statuses(&db, "train"), ["interrupted", "done"]);
    assert_eq!(run_statuses(&db, "round"), ["done", "interrupted", "done"]);
}

/// Ctrl-C at a terminal during `rrtf sweep` (its process group gets SIGINT): the variant in
/// training stops after its step, checkpointed; it is recorded `interrupted`, the later
/// variants `not run`, the sweep exits 130 saying how to resume; the same command then resumes
/// that variant from its checkpoint (every step logged once) and runs the rest.
/// The quickstart's model trains at about 5-15 steps/s here: 40 steps leave the signal, sent
/// after 3, seconds of margin.
const SWEEP_STEPS: u64 = 40;

#[test]
fn ctrl_c_stops_a_sweep_inside_a_variant_and_the_same_command_resumes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let qs_summary = ok_json(
        tmp.path(),
        &["--json", "quickstart", "--dir", "qs", "--until", "exec"],
    );
    assert_eq!(qs_summary["ok"], true, "{qs_summary}");
    let qs = tmp.path().join("qs");
    std::fs::write(
        qs.join("stop.toml"),
        format!(
            "base = \"round.toml\"\nname = \"stop\"\n[set]\n\"training.epochs\" = 1000\n\
             \"training.max_steps\" = {SWEEP_STEPS}\n\"training.checkpoint_every\" = 1000\n\
             \"evaluation.max_problems\" = 2\n[[runs]]\nname = \"a\"\n\
             \"training.learning_rate\" = 1e-3\n[[runs]]\nname = \"b\"\n\
             \"training.learning_rate\" = 5e-3\n"
        ),
    )
    .unwrap();
    let args = ["--json", "sweep", "--config", "stop.toml"];
    let model = qs.join("sweeps/stop/a/model");
    let metrics = model.join("metrics.jsonl");
    let (err, summary) = ctrl_c_after_3_steps(&qs, &args, &metrics);
    let status_of = |summary: &Value, id: &str| -> String {
        let v = summary["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("no variant {id}: {summary}"));
        v["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status_of(&summary, "a"), "interrupted", "{summary}");
    assert_eq!(status_of(&summary, "b"), "not run", "{summary}");
    assert!(
        err.contains("interrupted by SIGINT (Ctrl-C)")
            && err.contains(&format!("resume with `rrtf {}`", args.join(" "))),
        "{err}"
    );
    let k = step_losses(&metrics).len() as u64;
    assert!((3..SWEEP_STEPS).contains(&k), "{k} steps");
    assert!(
        model
            .join(format!("checkpoints/step-{k}/state.json"))
            .is_file()
    );
    let db = qs.join("rrtf.db");
    assert_eq!(run_statuses(&db, "sweep/variant"), ["interrupted"]);
    assert_eq!(run_statuses(&db, "sweep"), ["interrupted"]);
    assert!(!qs.join("sweeps/stop/b/model").exists(), "b never started");
    let before = std::fs::read_to_string(&metrics).unwrap();

    let again = ok_json(&qs, &args);
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(status_of(&again, "a"), "ran", "{again}");
    assert_eq!(status_of(&again, "b"), "ran", "{again}");
    // Resumed, not restarted: the first k steps' lines are the same bytes (they hold a
    // measured tokens_per_s, which a retrained step would not repeat), every step once.
    let after = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        after.starts_with(&before),
        "the interrupted run's lines were rewritten"
    );
    assert_eq!(step_losses(&metrics).len() as u64, SWEEP_STEPS);
    assert_eq!(
        run_statuses(&db, "sweep/variant"),
        ["interrupted", "done", "done"]
    );
    assert_eq!(run_statuses(&db, "sweep"), ["interrupted", "done"]);
}
