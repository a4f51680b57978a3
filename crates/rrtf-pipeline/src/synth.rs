//! `rrtf synth-tests`: the `[test_synthesis] teacher` writes a HumanEval-style
//! test program (`check(candidate)` + entry point) and a reference solution for each kept
//! prompt that has no test; each test is then validated by running it.
//!
//! Answers are checked statically (`rrtf_evolve::synth::check`) and stored with origin
//! `synthesized`, the teacher and this run: as `unvalidated`, or `invalid` with the reason.
//! Prompts are handled in chunks and each chunk is stored at once, so a crash loses at most
//! one chunk; a re-run asks only for prompts still without a test. Then every unvalidated test
//! (this run's, or one an earlier run stored and did not validate) runs in the sandbox against
//! a stub and twice against its reference (the protocol and its typed verdict are
//! `rrtf_evolve::validation`'s): it becomes `valid`, or `invalid` with the rule that rejected
//! it. Only valid tests are run by `rrtf exec`. Each run also flags synthesized tests that
//! executed responses were run against and none passed. Requests are budgeted and stored in
//! the request ledger ([`crate::ledger`]).
//!
//! Not here: the static check and the validation protocol (`rrtf_evolve::synth`,
//! `rrtf_evolve::validation`), printing (the binary, from [`SynthReport`]).

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use rrtf_config::RoundConfig;
use rrtf_evolve::synth;
use rrtf_evolve::validation::{self, Candidate, Tally};
use rrtf_exec::{ExecConfig, Executor, Language};
use rrtf_llm::fanout::{FanOut, keyed};
use rrtf_llm::render::{TaskKind, render};
use rrtf_llm::{Answerer, Backend, HttpBackend, Params, RetryPolicy};
use rrtf_store::{ModelRole, NewSynthTest, Store};
use serde_json::{Value, json};

use crate::decontam::{Benchmarks, screen_prompts};
use crate::ledger::{Metering, budget_stop};
use crate::{Counter, PipelineError, Result, Rrtf, endpoints};

/// What `rrtf synth-tests` was asked.
#[derive(Debug, Clone)]
pub struct SynthRequest {
    /// Where `config` was read from (named by the errors about it).
    pub config_path: PathBuf,
    pub config: RoundConfig,
    /// Write tests for at most this many prompts (a trial run).
    pub max_prompts: Option<u64>,
}

/// What a run did: `summary` is recorded with the `synth-tests` run (and printed by `--json`).
#[derive(Debug)]
pub struct SynthReport {
    /// Prompts that had no test.
    pub prompts: usize,
    pub stored: u64,
    /// Answers stored as invalid, by the check's reason.
    pub invalid: BTreeMap<String, u64>,
    pub failed: u64,
    pub unsent: u64,
    pub validation: Tally,
    /// Synthesized tests flagged now as passed by no executed response.
    pub flagged: u64,
    /// Synthesized tests by validation state.
    pub totals: BTreeMap<String, i64>,
    /// Why the run stopped early (the budget, or a fatal endpoint error).
    pub stopped: Option<String>,
    /// It stopped at the round's budget.
    pub at_budget: bool,
    pub summary: Value,
}

impl Rrtf {
    /// Ask the `[test_synthesis] teacher` for a test of every kept prompt without one, store
    /// the answers checked, then validate every unvalidated test by running it.
    pub async fn synth_tests(
        &self,
        req: SynthRequest,
        counter: &mut dyn Counter,
    ) -> Result<SynthReport> {
        let config = &req.config;
        if !config.test_synthesis.enabled {
            return Err(PipelineError::Invalid(format!(
                "{}: [test_synthesis] enabled = false",
                req.config_path.display()
            )));
        }
        let Some(endpoint) = config
            .test_synthesis
            .teacher
            .as_deref()
            .and_then(|n| config.teacher(n))
        else {
            return Err(PipelineError::Invalid(format!(
                "{}: set [test_synthesis] teacher to the name of a [[teachers]] entry",
                req.config_path.display()
            )));
        };
        let live = endpoints::start(&self.exe, endpoint).await?;
        let http: Arc<dyn Backend> =
            Arc::new(HttpBackend::new(&live.endpoint, RetryPolicy::default())?);
        let store = self.store().await?;
        let model_id = store
            .upsert_model(
                &endpoint.name,
                ModelRole::Teacher,
                Some(&endpoints::provenance(endpoint)),
                Some(&endpoint.model),
            )
            .await?;
        let prompts = store.prompts_without_tests(req.max_prompts).await?;
        let run = store.begin_run(&self.run_of(config, "synth-tests")).await?;
        let metering =
            Metering::start(&store, config, run.id, "synth-tests", endpoint, http).await?;
        let backend: Arc<dyn Backend> = metering.backend.clone();
        let answerer = Answerer::of(endpoint)?;
        counter.start(prompts.len() as u64, "writing tests");
        let fan = FanOut::new(endpoint.concurrency as usize);
        let (mut stored, mut invalid, mut failed, mut unsent) =
            (0u64, BTreeMap::<String, u64>::new(), 0u64, 0u64);
        let (mut tokens_in, mut tokens_out) = (0u64, 0u64);
        let mut first_failure = None;
        for chunk in prompts.chunks(endpoint.concurrency.max(1) as usize * 4) {
            let mut answers = Vec::new();
            let out = fan
                .run(
                    chunk,
                    |_| Ok::<(), Infallible>(()),
                    |p, (), slot| {
                        let text = synth::request(&p.text, &p.language);
                        let prompt = render(TaskKind::Instruction, &text, &p.language, endpoint);
                        let req = keyed(
                            &answerer,
                            prompt,
                            Params::for_stage(endpoint),
                            0,
                            config.round.seed,
                        )
                        .request;
                        let (backend, id, language) = (backend.clone(), p.id, p.language.clone());
                        async move { (id, language, slot.send(&*backend, &req).await) }
                    },
                    |answer| {
                        counter.inc(1);
                        answers.push(answer);
                    },
                )
                .await;
            unsent += out.unsent.len() as u64;
            counter.inc(out.unsent.len() as u64);
            let mut rows = Vec::new();
            for (prompt_id, language, result) in answers {
                let g = match result {
                    Ok(g) => g,
                    Err(e) if e.not_sent() => {
                        unsent += 1;
                        continue;
                    }
                    Err(e) => {
                        failed += 1;
                        first_failure.get_or_insert(e.to_string());
                        continue;
                    }
                };
                tokens_in += g.prompt_tokens.unwrap_or(0);
                tokens_out += g.completion_tokens.unwrap_or(0);
                let checked = match Language::parse(&language) {
                    Ok(l) => synth::check_in(l, &g.text),
                    Err(e) => Err(format!("not checkable: {e}")),
                };
                let row = match checked {
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
        counter.finish();
        drop(live);
        let at_budget = metering.backend.budget_reached();
        drop(backend);
        metering.finish().await?;
        // The tests and reference solutions just written are decontaminated with their prompts:
        // a leak eliminates the prompt (never validated, executed or ranked).
        let screened = match Benchmarks::from_config(config)? {
            Some(b) => {
                let (prompts, _) = screen_prompts(&store, &b, Some(run.id), true).await?;
                json!({ "benchmarks": b.info(), "prompts": prompts })
            }
            None => Value::Null,
        };
        let validation = validate_pending(&store, config, counter).await?;
        let flagged = store.flag_unpassed_synth_tests().await?;
        let totals: BTreeMap<String, i64> = store.synth_test_counts().await?.into_iter().collect();
        let round = config.round.number;
        let round_spent = store.round_spend(round).await?;
        let stopped = if at_budget {
            Some(budget_stop(&req.config_path, config, round_spent))
        } else {
            fan.stopped()
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
        Ok(SynthReport {
            prompts: prompts.len(),
            stored,
            invalid,
            failed,
            unsent,
            validation,
            flagged,
            totals,
            stopped,
            at_budget,
            summary,
        })
    }
}
/// Tests validated per committed batch.
const VALIDATION_BATCH: usize = 64;

/// Run every unvalidated synthesized test through `rrtf_evolve::validation` (Python: a stub run
/// and two against its reference; the other languages: the two reference runs) and store the verdicts batch by batch. A test whose runs did not all
/// come back from the executor stays unvalidated (the next run tries again).
async fn validate_pending(
    store: &Store,
    config: &RoundConfig,
    counter: &mut dyn Counter,
) -> Result<Tally> {
    let pending = store.unvalidated_synth_tests().await?;
    let mut tally = Tally::default();
    if pending.is_empty() {
        return Ok(tally);
    }
    let cfg = crate::exec_config(&config.execution, ExecConfig::default());
    let executor = tokio::task::block_in_place(|| Executor::new(cfg))?;
    // The toolchains of the languages to validate (a name the executor does not know is the
    // test's rejection, not the stage's failure).
    let languages: HashSet<Language> = pending
        .iter()
        .filter_map(|t| Language::parse(&t.language).ok())
        .collect();
    executor.check_toolchains(&languages)?;
    counter.start(pending.len() as u64, "validating tests");
    for batch in pending.chunks(VALIDATION_BATCH) {
        let candidates: Vec<Candidate> = batch
            .iter()
            .map(|t| Candidate {
                language: t.language.clone(),
                code: t.code.clone(),
                entry_point: t.entry_point.clone(),
                reference: Candidate::reference_of(
                    t.reference.as_deref(),
                    t.prompt_reference.as_deref(),
                    &t.language,
                ),
            })
            .collect();
        let verdicts = tokio::task::block_in_place(|| validation::validate(&executor, &candidates));
        let mut rows: Vec<(i64, bool, String)> = Vec::new();
        for (t, verdict) in batch.iter().zip(&verdicts) {
            tally.add(verdict);
            if let Some((valid, detail)) = verdict.stored() {
                rows.push((t.id, valid, detail));
            }
        }
        store.set_test_validation(&rows).await?;
        counter.inc(batch.len() as u64);
    }
    counter.finish();
    Ok(tally)
}
