//! `rrtf synth-tests --config FILE`: the `[test_synthesis] teacher` writes a HumanEval-style
//! test program (`check(candidate)` + entry point) for each kept prompt that has no test.
//!
//! Answers are checked statically (`rrtf_evolve::synth::check`) and stored with origin
//! `synthesized`: as `unvalidated` (for the executor to validate by running them) or `invalid`
//! with the reason. Prompts are handled in chunks and each chunk is stored at once, so a crash
//! loses at most one chunk; a re-run asks only for prompts still without a test. Each run also
//! flags synthesized tests that executed responses were run against and none passed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_evolve::synth;
use rrtf_llm::render::{TaskKind, render};
use rrtf_llm::{Backend, GenRequest, HttpBackend, Params, RetryPolicy, request_key, request_seed};
use rrtf_store::{ModelRole, NewSynthTest};
use serde_json::json;
use tokio::sync::Semaphore;

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
    let backend: Arc<dyn Backend> =
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
    let bar = progress_bar(ctx, prompts.len() as u64, "writing tests");
    let permits = Arc::new(Semaphore::new(endpoint.concurrency.max(1) as usize));
    let fatal: Arc<Mutex<Option<String>>> = Arc::default();
    let (mut stored, mut invalid, mut failed) = (0u64, BTreeMap::<String, u64>::new(), 0u64);
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
                max_tokens: endpoint.max_tokens,
                stop: endpoint.stop.clone(),
                seed: None,
            };
            let key = request_key(
                &endpoint.name,
                &endpoint.model,
                &prompt,
                &params,
                0,
                config.round.seed,
            );
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
                if let Some(msg) = fatal.lock().expect("lock").clone() {
                    return (
                        id,
                        language,
                        Err(format!("not sent, the endpoint stopped: {msg}")),
                    );
                }
                match backend.generate(&req).await {
                    Ok(g) => (id, language, Ok(g)),
                    Err(e) => {
                        if e.is_fatal_for_endpoint() {
                            fatal
                                .lock()
                                .expect("lock")
                                .get_or_insert_with(|| e.to_string());
                        }
                        (id, language, Err(e.to_string()))
                    }
                }
            });
        }
        let mut rows = Vec::new();
        while let Some(done) = set.join_next().await {
            let (prompt_id, language, result) = done?;
            bar.inc(1);
            let g = match result {
                Ok(g) => g,
                Err(e) => {
                    failed += 1;
                    first_failure.get_or_insert(e);
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
                    }
                }
            };
            rows.push(row);
        }
        stored += store.insert_synth_tests(&rows).await?.inserted;
    }
    bar.finish_and_clear();
    let flagged = store.flag_unpassed_synth_tests().await?;
    let totals: BTreeMap<String, i64> = store.synth_test_counts().await?.into_iter().collect();
    let stopped = fatal.lock().expect("lock").clone();
    let summary = json!({
        "run": run.id,
        "teacher": endpoint.name,
        "prompts_without_tests": prompts.len(),
        "stored": stored,
        "invalid": invalid,
        "failed": failed,
        "first_failure": first_failure,
        "stopped": stopped,
        "flagged_now": flagged,
        "synthesized_tests": totals,
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "cost_usd": rrtf_llm::cost_usd(tokens_in, tokens_out, endpoint.price_per_1k_input, endpoint.price_per_1k_output),
    });
    store.finish_run(run, failed == 0, &summary).await?;
    store.close().await;
    ctx.emit(
        || {
            format!(
                "{} prompts without tests: {stored} tests stored ({} invalid: {:?}), {failed} failed; \
                 {flagged} flagged as passed by no response; synthesized tests by state: {:?}",
                prompts.len(),
                invalid.values().sum::<u64>(),
                invalid,
                totals
            )
        },
        || summary.clone(),
    );
    if let Some(msg) = stopped {
        return Err(BadInput(msg).into());
    }
    if failed > 0 {
        anyhow::bail!("{failed} request(s) failed; re-run `rrtf synth-tests` to ask again");
    }
    Ok(())
}
