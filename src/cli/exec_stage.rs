//! `rrtf exec` (no subcommand): the pipeline stage. Runs every stored (response, test program)
//! pair not executed yet through the sandboxed pool and stores each result with the code that
//! was extracted. Resumable: results are committed batch by batch, and a re-run picks up
//! exactly the pairs still missing (the store's natural key refuses duplicates).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_exec::{ExecConfig, ExecError, Executor, Job, Language};
use rrtf_store::{NewExecution, NewRun, Outcome, PendingExecution};
use serde_json::json;

use super::exec::{LimitArgs, config};
use super::{BadInput, Ctx, REVISION, progress_bar};

#[derive(Debug, Args)]
pub struct StageArgs {
    /// Round config whose [execution] section sets the limits (else the flags below).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Execute only responses to prompts of this round.
    #[arg(long)]
    pub round: Option<i64>,
    /// Pairs per committed batch.
    #[arg(long, default_value_t = 512)]
    pub batch: i64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Keep the first `n` bytes' worth of a text (on a char boundary).
fn head(s: &str, n: usize) -> String {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn job_for(key: u64, p: &PendingExecution, language: Language) -> Job {
    let test = p.test_code.clone();
    let entry = p.entry_point.clone();
    match (&p.code, p.kind.as_str()) {
        // Extracted earlier (another test program of the same response): run the same code.
        (Some(code), _) => Job {
            key,
            language,
            code: (!code.is_empty()).then(|| code.clone()),
            test,
            entry_point: entry,
            // Trusted: the judge may run the prompt's own helpers, never the sample's copy.
            prompt: Some(p.prompt.clone()),
        },
        (None, "completion") => {
            Job::from_completion(key, language, &p.prompt, &p.raw_text, test, entry)
        }
        (None, _) => Job::from_response(key, language, &p.raw_text, Some(&p.prompt), test, entry),
    }
}

pub async fn run(ctx: &Ctx, a: StageArgs) -> Result<()> {
    if a.batch < 1 {
        return Err(BadInput(format!("--batch {}: must be at least 1", a.batch)).into());
    }
    let mut cfg: ExecConfig = config(&a.limits)?;
    if let Some(path) = &a.config {
        cfg = rrtf_pipeline::exec_config(&RoundConfig::load(path)?.execution, cfg);
    }
    let store = ctx.store().await?;
    let total = store.pending_execution_count(a.round).await?;
    if total == 0 {
        store.close().await;
        ctx.emit(
            || "nothing to execute: every response with tests has its results".into(),
            || json!({"executed": 0, "pending": 0}),
        );
        return Ok(());
    }
    let executor_json = json!({
        "rrtf_exec": env!("CARGO_PKG_VERSION"), "timeout_s": cfg.timeout.as_secs_f64(),
        "memory_mb": cfg.memory_mb, "output_limit_kb": cfg.output_limit_kb,
        "python": cfg.python, "processes": cfg.processes,
    });
    let executor = tokio::task::block_in_place(|| Executor::new(cfg))?;
    // What decides verdicts (crate version, worker source, limits, protections in force).
    let executor_hash = executor.fingerprint();
    let run = store
        .begin_run(&NewRun {
            round: a.round.unwrap_or(0),
            stage: "exec".into(),
            config_json: executor_json.to_string(),
            config_hash: executor_hash.clone(),
            revision: Some(REVISION.into()),
            seed: None,
        })
        .await?;
    let bar = progress_bar(ctx, total as u64, "executing");
    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut checked: HashSet<Language> = HashSet::new();
    let mut done = 0u64;
    loop {
        let batch = store.pending_executions(a.round, Some(a.batch)).await?;
        if batch.is_empty() {
            break;
        }
        let mut jobs = Vec::with_capacity(batch.len());
        for (i, p) in batch.iter().enumerate() {
            let language = Language::parse(&p.language).map_err(ExecError::from)?;
            if checked.insert(language) {
                executor.check_toolchains(&HashSet::from([language]))?;
            }
            jobs.push(job_for(i as u64, p, language));
        }
        // The code each response was judged on, stored once (empty: nothing to extract).
        let codes: Vec<(i64, String)> = batch
            .iter()
            .zip(&jobs)
            .filter(|(p, _)| p.code.is_none())
            .map(|(p, j)| (p.response_id, j.code.clone().unwrap_or_default()))
            .collect();
        let results = tokio::task::block_in_place(|| executor.run_all(jobs));
        let mut by_key: BTreeMap<u64, _> = results.into_iter().map(|r| (r.key, r)).collect();
        let rows: Vec<NewExecution> = batch
            .iter()
            .enumerate()
            .map(|(i, p)| {
                // A missing result is never a pass: it is recorded as a crash.
                let (outcome, passed, total_tests, detail, wall, cpu, rss) =
                    match by_key.remove(&(i as u64)) {
                        Some(r) => (
                            r.outcome,
                            i64::from(r.tests_passed),
                            i64::from(r.tests_total),
                            r.detail,
                            Some(r.wall_ms as i64),
                            Some(r.cpu_ms as i64),
                            Some(r.peak_rss_kb as i64),
                        ),
                        None => (
                            Outcome::Crashed,
                            0,
                            0,
                            "no result from the executor".to_owned(),
                            None,
                            None,
                            None,
                        ),
                    };
                *outcomes.entry(outcome.as_str()).or_default() += 1;
                NewExecution {
                    response_id: p.response_id,
                    test_id: p.test_id,
                    outcome,
                    tests_passed: passed,
                    tests_total: total_tests.max(passed),
                    first_failure: (outcome != Outcome::Pass && !detail.is_empty())
                        .then(|| head(&detail, 2000)),
                    stderr_tail: None,
                    wall_ms: wall,
                    cpu_ms: cpu,
                    peak_rss_kb: rss,
                    executor_hash: executor_hash.clone(),
                }
            })
            .collect();
        store.set_response_code(&codes).await?;
        store.insert_executions(&rows).await?;
        done += rows.len() as u64;
        bar.inc(rows.len() as u64);
    }
    bar.finish_and_clear();
    let summary = json!({ "executed": done, "outcomes": outcomes, "executor_hash": executor_hash, "run_id": run.id });
    store.finish_run(run, true, &summary).await?;
    store.close().await;
    ctx.emit(
        || {
            let mix: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o}: {n}")).collect();
            format!("executed {done} (response, test) pairs: {}", mix.join(", "))
        },
        || summary.clone(),
    );
    Ok(())
}
