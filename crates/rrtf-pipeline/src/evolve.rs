//! `rrtf evolve`: Evol-Instruct over the stored prompts with the configured
//! evolver, `[evolution] steps` steps, every evolution stored with its lineage (parent,
//! method) and its status: kept, or eliminated with the rule that dropped it.
//!
//! Evolved prompts go to source `evol-r{round}`, named `{parent}>{step}` (in-breadth:
//! `>b{step}`); a re-run asks only for the children not stored yet. Requests that failed are
//! not stored and are asked again by the next run. Seeds that leak a benchmark are eliminated
//! first ([`crate::decontam`]); every request is budgeted and stored in the request ledger
//! ([`crate::ledger`]).
//!
//! Not here: evolving and filtering (`rrtf_evolve::evolve`), printing (the binary, from
//! [`EvolveReport`]).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use rrtf_config::RoundConfig;
use rrtf_evolve::evolve::{Evolver, Parent, planned_children, run_step};
use rrtf_evolve::minhash::NearDupIndex;
use rrtf_llm::{Backend, HttpBackend, RetryPolicy};
use rrtf_store::{NewPrompt, PromptKind};
use serde_json::{Value, json};

use crate::decontam::{Benchmarks, screen_prompts};
use crate::ledger::{Metering, budget_stop};
use crate::{Counter, PipelineError, Result, Rrtf, endpoints};

/// What `rrtf evolve` was asked.
#[derive(Debug, Clone)]
pub struct EvolveRequest {
    /// Where `config` was read from (named by the errors about it).
    pub config_path: PathBuf,
    pub config: RoundConfig,
    /// Evolve only the seeds of this source (dataset name).
    pub source: Option<String>,
    /// Evolve at most this many seeds (a trial run).
    pub max_seeds: Option<usize>,
}

/// What a run did: `summary` is recorded with the `evolve` run (and printed by `--json`).
#[derive(Debug)]
pub struct EvolveReport {
    pub summary: Value,
    /// Requests that failed (asked again by the next run).
    pub failed: u64,
    /// Why the run stopped early: the budget, or the evolver's fatal error.
    pub stopped: Option<String>,
    /// It stopped at the round's budget.
    pub at_budget: bool,
}

/// A prompt's name in lineages: `{source}:{source_id}` for a seed, the `source_id` (already
/// `{parent}>{step}`) for an evolution.
fn pool_name(p: &rrtf_store::PoolPrompt) -> String {
    if p.source.starts_with("evol-r") {
        p.source_id.clone()
    } else {
        format!("{}:{}", p.source, p.source_id)
    }
}

/// A stored prompt's language (a name `rrtf import` wrote, or another tool's: an unknown one is
/// an error naming the prompt).
fn stored_language(p: &rrtf_store::PoolPrompt) -> Result<rrtf_exec::Language> {
    rrtf_exec::Language::parse(&p.language).map_err(|e| {
        PipelineError::Invalid(format!(
            "prompt {} ({}:{}): {e}",
            p.id, p.source, p.source_id
        ))
    })
}

impl Rrtf {
    /// Evolve the kept seeds `[evolution] steps` times with the configured evolver, storing
    /// every child with its status; resumable (children already stored are not asked again).
    pub async fn evolve(
        &self,
        req: EvolveRequest,
        counter: &mut dyn Counter,
    ) -> Result<EvolveReport> {
        let config = &req.config;
        let ev_cfg = &config.evolution;
        if !ev_cfg.enabled {
            return Err(PipelineError::Invalid(format!(
                "{}: [evolution] enabled = false",
                req.config_path.display()
            )));
        }
        let Some(endpoint) = ev_cfg.evolver.as_deref().and_then(|n| config.teacher(n)) else {
            return Err(PipelineError::Invalid(format!(
                "{}: set [evolution] evolver to the name of a [[teachers]] entry",
                req.config_path.display()
            )));
        };
        let live = endpoints::start(&self.exe, endpoint).await?;
        let http: Arc<dyn Backend> =
            Arc::new(HttpBackend::new(&live.endpoint, RetryPolicy::default())?);
        let benchmarks = Benchmarks::from_config(config)?;
        let store = self.store().await?;
        let round = config.round.number;
        let evol_source = format!("evol-r{round}");
        let run = store.begin_run(&self.run_of(config, "evolve")).await?;
        // Every request is budgeted (the round's [sampling] budget_usd) and stored in the ledger.
        let metering = Metering::start(&store, config, run.id, "evolve", endpoint, http).await?;
        let ev = Evolver {
            config: ev_cfg,
            endpoint,
            answerer: rrtf_llm::Answerer::of(endpoint)?,
            backend: metering.backend.clone(),
            round_seed: config.round.seed,
        };

        // Contaminated seeds are eliminated before anything is evolved from them.
        let screened = match &benchmarks {
            Some(b) => json!({
                "benchmarks": b.info(),
                "prompts": screen_prompts(&store, b, Some(run.id), true).await?.0,
            }),
            None => Value::Null,
        };
        let pool = store.prompt_pool().await?;
        // Named as parents are (`{source}:{id}` for seeds, the child's name for evolutions), so a
        // child is compared with every kept prompt but its own parent.
        let mut index = NearDupIndex::new(ev_cfg.dedup_threshold);
        for p in pool.iter().filter(|p| p.status == "kept") {
            let _ = index.insert_named(&p.text, Some(&pool_name(p)), None);
        }
        let mut seeds: Vec<Parent> = pool
            .iter()
            .filter(|p| p.status == "kept" && !p.source.starts_with("evol-r"))
            .filter(|p| req.source.as_ref().is_none_or(|s| &p.source == s))
            .map(|p| {
                Ok(Parent {
                    id: p.id,
                    name: pool_name(p),
                    text: p.text.clone(),
                    language: stored_language(p)?,
                })
            })
            .collect::<Result<_>>()?;
        if let Some(n) = req.max_seeds {
            seeds.truncate(n);
        }
        if seeds.is_empty() {
            return Err(PipelineError::Invalid(format!(
                "no seed prompts in {}: import some first",
                self.db_display()
            )));
        }
        let seed_names: HashSet<String> = seeds.iter().map(|s| s.name.clone()).collect();

        let mut steps = Vec::new();
        let mut parents = seeds;
        for step in 1..=ev_cfg.steps {
            let stored: HashSet<String> = store
                .prompt_pool()
                .await?
                .into_iter()
                .filter(|p| p.source == evol_source)
                .map(|p| p.source_id)
                .collect();
            let planned = planned_children(&ev, &parents, step);
            let n_planned = planned.len();
            let todo: Vec<_> = planned
                .into_iter()
                .filter(|p| !stored.contains(&p.name))
                .collect();
            let n_asked = todo.len();
            counter.start(n_asked as u64, "evolving");
            let report = run_step(
                &ev,
                &parents,
                todo,
                &mut index,
                benchmarks.as_ref().map(|b| &b.index),
                &|n| counter.inc(n),
            )
            .await;
            counter.finish();
            let rows: Vec<(NewPrompt, Option<String>)> = report
                .children
                .iter()
                .map(|c| {
                    let reason = c.dropped.as_ref().map(|(r, detail)| {
                        if detail.is_empty() {
                            r.as_str().to_owned()
                        } else {
                            format!("{}: {detail}", r.as_str())
                        }
                    });
                    let prompt = NewPrompt {
                        round,
                        source: evol_source.clone(),
                        source_id: c.name.clone(),
                        kind: PromptKind::Instruction,
                        text: c.text.clone(),
                        language: c.language.name().into(),
                        entry_point: None,
                        reference: None,
                        parent_id: Some(c.parent_id),
                        evolution_method: Some(c.method.clone()),
                        tests: vec![],
                    };
                    (prompt, reason)
                })
                .collect();
            store.insert_evolved(&rows).await?;
            let mut methods: BTreeMap<&str, u64> = BTreeMap::new();
            for c in report.kept() {
                *methods.entry(c.method.as_str()).or_default() += 1;
            }
            steps.push(json!({
                "step": step,
                "parents": parents.len(),
                "planned": n_planned,
                "already_stored": n_planned - n_asked,
                "asked": n_asked,
                "kept": report.kept().count(),
                "kept_by_method": methods,
                "dropped": report.drop_counts(),
                "failed": report.failed.len(),
                "stopped": report.stopped,
                "requests": report.usage.requests,
                "prompt_tokens": report.usage.prompt_tokens,
                "completion_tokens": report.usage.completion_tokens,
                "cost_usd": rrtf_llm::cost_usd(
                    report.usage.prompt_tokens,
                    report.usage.completion_tokens,
                    endpoint.price_per_1k_input,
                    endpoint.price_per_1k_output,
                ),
                "first_failure": report.failed.first().map(|(n, e)| format!("{n}: {e}")),
            }));
            if let Some(msg) = &report.stopped {
                let at_budget = metering.backend.budget_reached();
                drop(ev);
                metering.finish().await?;
                let spent = store.round_spend(round).await?;
                let stopped = if at_budget {
                    budget_stop(&req.config_path, config, spent)
                } else {
                    msg.clone()
                };
                let summary = json!({ "run": run.id, "steps": steps, "stopped": stopped, "round_spent_usd": spent });
                store.finish_run(run, false, &summary).await?;
                store.close().await;
                let failed = failed_in(&steps);
                return Ok(EvolveReport {
                    summary,
                    failed,
                    stopped: Some(stopped),
                    at_budget,
                });
            }
            // The next step evolves every kept child of this step, from this run or an earlier one.
            let suffixes = [format!(">{step}"), format!(">b{step}")];
            parents = store
                .prompt_pool()
                .await?
                .into_iter()
                .filter(|p| p.source == evol_source && p.status == "kept")
                .filter(|p| suffixes.iter().any(|s| p.source_id.ends_with(s.as_str())))
                .filter(|p| {
                    p.source_id
                        .rsplit_once('>')
                        .is_some_and(|(root, _)| seed_names.contains(root) || root.contains('>'))
                })
                .map(|p| {
                    Ok(Parent {
                        id: p.id,
                        language: stored_language(&p)?,
                        name: p.source_id,
                        text: p.text,
                    })
                })
                .collect::<Result<_>>()?;
        }
        let failed = failed_in(&steps);
        drop(ev);
        metering.finish().await?;
        let summary = json!({
            "run": run.id,
            "source": evol_source,
            "evolver": endpoint.name,
            "decontamination": screened,
            "steps": steps,
            "round_spent_usd": store.round_spend(round).await?,
            "round_requests": store.ledger_lines(Some(round)).await?,
        });
        store.finish_run(run, failed == 0, &summary).await?;
        store.close().await;
        Ok(EvolveReport {
            summary,
            failed,
            stopped: None,
            at_budget: false,
        })
    }
}

/// Failed requests over the steps' summaries.
fn failed_in(steps: &[Value]) -> u64 {
    steps
        .iter()
        .map(|s| s["failed"].as_u64().unwrap_or(0))
        .sum()
}
