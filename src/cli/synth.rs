//! `rrtf synth-tests --config FILE`: the `[test_synthesis] teacher` writes a HumanEval-style
//! test program (`check(candidate)` + entry point) and a reference solution for each kept
//! prompt that has no test; each test is then validated by running it.
//!
//! Answers are checked statically (`rrtf_evolve::synth::check`) and stored with origin
//! `synthesized`, the teacher and this run: as `unvalidated`, or `invalid` with the reason.
//! Prompts are handled in chunks and each chunk is stored at once, so a crash loses at most
//! one chunk; a re-run asks only for prompts still without a test. Then every unvalidated test
//! (this run's, or one an earlier run stored and did not validate) runs in the sandbox against
//! a stub and twice against its reference (`rrtf_evolve::synth::validate` judges the runs):
//! it becomes `valid`, or `invalid` with the rule that rejected it. Only valid tests are run by
//! `rrtf exec`. Each run also flags synthesized tests that executed responses were run against
//! and none passed. Requests are budgeted and stored in the request ledger (`cli/ledger.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_evolve::synth;
use rrtf_exec::{ExecConfig, ExecResult, Executor, Job, Language};
use rrtf_llm::render::{TaskKind, render};
use rrtf_llm::{
    Answerer, Backend, GenRequest, HttpBackend, Params, RetryPolicy, request_key, request_seed,
};
use rrtf_store::{ModelRole, NewSynthTest, Store, UnvalidatedTest};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::exec::lift;
use super::ledger::{self, Metering};
use super::{BadInput, Ctx, progress_bar};

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The round config ([test_synthesis] and the teacher's [[teachers]] entry).
    #[arg(long)]
    pub config: PathBuf,
    /// Write tests for at most this many prompts (for a trial run).
    #[arg(long)]
    pub max_prompts: Option<u64>,
}

/// How one request ended.
enum Asked {
    Answer(rrtf_llm::Generation),
    Failed(String),
    /// Not sent: the endpoint stopped (a fatal rejection, or the budget).
    Unsent,
}

pub async fn synth_tests(ctx: &Ctx, args: SynthArgs) -> Result<()> {
    let config = RoundConfig::load(&args.config)?;
    if !config.test_synthesis.enabled {
        return Err(BadInput(format!(
            "{}: [test_synthesis] enabled = false",
            args.config.display()
        ))
        .into());
    }
    let Some(endpoint) = config
        .test_synthesis
        .teacher
        .as_deref()
        .and_then(|n| config.teacher(n))
    else {
        return Err(BadInput(format!(
            "{}: set [test_synthesis] teacher to the name of a [[teachers]] entry",
            args.config.display()
        ))
        .into());
    };
    let live = super::endpoints::start(endpoint).await?;
    let http: Arc<dyn Backend> =
        Arc::new(HttpBackend::new(&live.endpoint, RetryPolicy::default())?);
    let store = ctx.store().await?;
    let model_id = store
        .upsert_model(
            &endpoint.name,
            ModelRole::Teacher,
            Some(&super::endpoints::provenance(endpoint)),
            Some(&endpoint.model),
        )
        .await?;
    let prompts = store.prompts_without_tests(args.max_prompts).await?;
    let run = store
        .begin_run(
            config.round.number,
            "synth-tests",
            &config.snapshot_json(),
            &config.hash(),
            Some(super::REVISION),
            Some(config.round.seed as i64),
        )
        .await?;
    let metering = Metering::start(&store, &config, run.id, "synth-tests", endpoint, http).await?;
    let backend: Arc<dyn Backend> = metering.backend.clone();
    let answerer = Answerer::of(endpoint)?;
    let bar = progress_bar(ctx, prompts.len() as u64, "writing tests");
    let permits = Arc::new(Semaphore::new(endpoint.concurrency.max(1) as usize));
    let fatal: Arc<Mutex<Option<String>>> = Arc::default();
    let (mut stored, mut invalid, mut failed, mut unsent) =
        (0u64, BTreeMap::<String, u64>::new(), 0u64, 0u64);
    let (mut tokens_in, mut tokens_out) = (0u64, 0u64);
    let mut first_failure = None;
    for chunk in prompts.chunks(endpoint.concurrency.max(1) as usize * 4) {
        let mut set = tokio::task::JoinSet::new();
        for p in chunk {
            let text = synth::request(&p.text, &p.language);
            let prompt = render(TaskKind::Instruction, &text, &p.language, endpoint);
            let mut params = Params {
                temperature: endpoint.temperatures[0],
                top_p: endpoint.top_p,
                max_tokens: Some(endpoint.max_tokens),
                stop: endpoint.explicit_stop(),
                seed: None,
            };
            let key = request_key(&answerer, &prompt, &params, 0, config.round.seed);
            params.seed = Some(request_seed(&key));
            let req = GenRequest { prompt, params };
            let (backend, permits, fatal, id, language) = (
                backend.clone(),
                permits.clone(),
                fatal.clone(),
                p.id,
                p.language.clone(),
            );
            set.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("open");
                if fatal.lock().expect("lock").is_some() {
                    return (id, language, Asked::Unsent);
                }
                match backend.generate(&req).await {
                    Ok(g) => (id, language, Asked::Answer(g)),
                    Err(e) => {
                        if e.is_fatal_for_endpoint() {
                            fatal
                                .lock()
                                .expect("lock")
                                .get_or_insert_with(|| e.to_string());
                        }
                        if e.not_sent() {
                            (id, language, Asked::Unsent)
                        } else {
                            (id, language, Asked::Failed(e.to_string()))
                        }
                    }
                }
            });
        }
        let mut rows = Vec::new();
        while let Some(done) = set.join_next().await {
            let (prompt_id, language, result) = done?;
            bar.inc(1);
            let g = match result {
                Asked::Answer(g) => g,
                Asked::Failed(e) => {
                    failed += 1;
                    first_failure.get_or_insert(e);
                    continue;
                }
                Asked::Unsent => {
                    unsent += 1;
                    continue;
                }
            };
            tokens_in += g.prompt_tokens.unwrap_or(0);
            tokens_out += g.completion_tokens.unwrap_or(0);
            let row = match synth::check(&g.text) {
                Ok(t) => NewSynthTest {
                    prompt_id,
                    language,
                    code: t.code,
                    entry_point: Some(t.entry_point),
                    validation: "unvalidated",
                    detail: None,
                    model_id,
                    reference: t.reference,
                    run_id: Some(run.id),
                },
                Err(why) => {
                    let label = why.split(':').next().unwrap_or(&why).to_owned();
                    *invalid.entry(label).or_default() += 1;
                    NewSynthTest {
                        prompt_id,
                        language,
                        code: g.text,
                        entry_point: None,
                        validation: "invalid",
                        detail: Some(why),
                        model_id,
                        reference: None,
                        run_id: Some(run.id),
                    }
                }
            };
            rows.push(row);
        }
        stored += store.insert_synth_tests(&rows).await?.inserted;
    }
    bar.finish_and_clear();
    drop(live);
    let at_budget = metering.backend.budget_reached();
    drop(backend);
    metering.finish().await?;
    // The tests and reference solutions just written are decontaminated with their prompts:
    // a leak eliminates the prompt (never validated, executed or ranked).
    let screened = match super::decontaminate::Benchmarks::from_config(&config)? {
        Some(b) => {
            let (prompts, _) =
                super::decontaminate::screen_prompts(&store, &b, Some(run.id), true).await?;
            json!({ "benchmarks": b.info(), "prompts": prompts })
        }
        None => Value::Null,
    };
    let validation = validate_pending(ctx, &store, &config).await?;
    let flagged = store.flag_unpassed_synth_tests().await?;
    let totals: BTreeMap<String, i64> = store.synth_test_counts().await?.into_iter().collect();
    let round = config.round.number;
    let round_spent = store.round_spend(round).await?;
    let stopped = if at_budget {
        Some(ledger::budget_stop(&args.config, &config, round_spent))
    } else {
        fatal.lock().expect("lock").clone()
    };
    let summary = json!({
        "run": run.id,
        "teacher": endpoint.name,
        "prompts_without_tests": prompts.len(),
        "stored": stored,
        "invalid": invalid,
        "failed": failed,
        "unsent": unsent,
        "first_failure": first_failure,
        "stopped": stopped,
        "validation": validation,
        "decontamination": screened,
        "flagged_now": flagged,
        "synthesized_tests": totals,
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "cost_usd": rrtf_llm::cost_usd(tokens_in, tokens_out, endpoint.price_per_1k_input, endpoint.price_per_1k_output),
        "round_spent_usd": round_spent,
        "round_requests": store.ledger_lines(Some(round)).await?,
    });
    store
        .finish_run(run, failed == 0 && stopped.is_none(), &summary)
        .await?;
    store.close().await;
    ctx.emit(
        || {
            let mut text = format!(
                "{} prompts without tests: {stored} tests stored ({} invalid: {:?}), {failed} failed, \
                 {unsent} unsent; validated {} by running them: {} valid, rejected {}; \
                 {flagged} flagged as passed by no response; synthesized tests by state: {:?}",
                prompts.len(),
                invalid.values().sum::<u64>(),
                invalid,
                validation["validated"],
                validation["valid"],
                validation["rejected"],
                totals
            );
            let screened = super::decontaminate::summary_text(&summary["decontamination"]);
            if !screened.is_empty() {
                text.push('\n');
                text.push_str(&screened);
            }
            text.push_str(&ledger::ledger_text(&summary["round_requests"]));
            text
        },
        || summary.clone(),
    );
    if let Some(msg) = stopped {
        if at_budget {
            anyhow::bail!("{msg}");
        }
        return Err(BadInput(msg).into());
    }
    if failed > 0 {
        anyhow::bail!("{failed} request(s) failed; re-run `rrtf synth-tests` to ask again");
    }
    Ok(())
}

/// Tests validated per committed batch.
const VALIDATION_BATCH: usize = 64;

/// The executor's verdict as the validation rules read it.
fn as_run(r: &ExecResult) -> synth::Run {
    synth::Run {
        outcome: r.outcome.label().to_owned(),
        tests_passed: r.tests_passed,
        tests_total: r.tests_total,
        marks: r.test_results.clone(),
        detail: r.detail.clone(),
    }
}

/// What a test is run against: the teacher's reference, else the code of the prompt's own
/// reference answer (an imported dataset's solution).
fn reference_of(t: &UnvalidatedTest) -> Option<String> {
    t.reference.clone().or_else(|| {
        t.prompt_reference
            .as_deref()
            .and_then(|r| rrtf_exec::extract::extract_code(r, Language::Python))
    })
}

/// Run every unvalidated synthesized test against a stub and twice against its reference, and
/// store the verdicts batch by batch. A test whose runs did not all come back from the executor
/// stays unvalidated (the next run tries again): an executor failure is never the test's fault.
async fn validate_pending(ctx: &Ctx, store: &Store, config: &RoundConfig) -> Result<Value> {
    let pending = store.unvalidated_synth_tests().await?;
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    let (mut valid, mut left) = (0u64, 0u64);
    if pending.is_empty() {
        return Ok(
            json!({ "validated": 0, "valid": 0, "rejected": rejected, "left_unvalidated": 0 }),
        );
    }
    let x = &config.execution;
    let mut cfg = ExecConfig {
        timeout: Duration::from_secs_f64(x.timeout_s),
        memory_mb: x.memory_mb,
        output_limit_kb: x.max_output_kb,
        insecure_sandbox: x.insecure_sandbox,
        ..ExecConfig::default()
    };
    if x.workers > 0 {
        cfg.workers = x.workers as usize;
    }
    let executor = tokio::task::block_in_place(|| Executor::new(cfg)).map_err(lift)?;
    executor
        .check_toolchains(&HashSet::from([Language::Python]))
        .map_err(lift)?;
    let bar = progress_bar(ctx, pending.len() as u64, "validating tests");
    for batch in pending.chunks(VALIDATION_BATCH) {
        let mut verdicts: Vec<(i64, bool, String)> = Vec::new();
        let mut jobs = Vec::new();
        let mut runnable = Vec::new();
        for (i, t) in batch.iter().enumerate() {
            let entry = match (t.language.as_str(), &t.entry_point) {
                ("python", Some(e)) => e.clone(),
                ("python", None) => {
                    verdicts.push((t.id, false, "not checkable: no entry point".into()));
                    continue;
                }
                (other, _) => {
                    verdicts.push((
                        t.id,
                        false,
                        format!(
                            "not checkable: only Python tests can be validated (language {other})"
                        ),
                    ));
                    continue;
                }
            };
            let key = i as u64 * 3;
            let job = |key: u64, code: String| Job {
                key,
                language: Language::Python,
                code: Some(code),
                test: t.code.clone(),
                entry_point: Some(entry.clone()),
                prompt: None,
            };
            jobs.push(job(key, synth::stub(&entry)));
            let reference = reference_of(t);
            if let Some(r) = &reference {
                jobs.push(job(key + 1, r.clone()));
                jobs.push(job(key + 2, r.clone()));
            }
            runnable.push((i, t.id, reference.is_some()));
        }
        let results: HashMap<u64, ExecResult> =
            tokio::task::block_in_place(|| executor.run_all(jobs))
                .into_iter()
                .map(|r| (r.key, r))
                .collect();
        for (i, id, has_reference) in runnable {
            let key = i as u64 * 3;
            let stub = results.get(&key);
            let refs = (results.get(&(key + 1)), results.get(&(key + 2)));
            let verdict = match (stub, refs, has_reference) {
                (Some(s), (Some(a), Some(b)), true) => {
                    synth::validate(&as_run(s), Some((&as_run(a), &as_run(b))))
                }
                (Some(s), _, false) => synth::validate(&as_run(s), None),
                _ => {
                    left += 1;
                    continue;
                }
            };
            verdicts.push(match verdict {
                Ok(note) => (id, true, note),
                Err(why) => (id, false, why),
            });
        }
        for (_, ok, why) in &verdicts {
            if *ok {
                valid += 1;
            } else {
                let label = why.split(':').next().unwrap_or(why).to_owned();
                *rejected.entry(label).or_default() += 1;
            }
        }
        store.set_test_validation(&verdicts).await?;
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Ok(json!({
        "validated": valid + rejected.values().sum::<u64>(),
        "valid": valid,
        "rejected": rejected,
        "left_unvalidated": left,
    }))
}
