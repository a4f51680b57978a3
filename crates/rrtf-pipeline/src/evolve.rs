//! `rrtf evolve --config FILE`: Evol-Instruct over the stored prompts with the configured
//! evolver, `[evolution] steps` steps, every evolution stored with its lineage (parent,
//! method) and its status: kept, or eliminated with the rule that dropped it.
//!
//! Evolved prompts go to source `evol-r{round}`, named `{parent}>{step}` (in-breadth:
//! `>b{step}`); a re-run asks only for the children not stored yet. Requests that failed are
//! not stored and are asked again by the next run.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_evolve::evolve::{Evolver, Parent, planned_children, run_step};
use rrtf_evolve::minhash::NearDupIndex;
use rrtf_llm::{Backend, HttpBackend, RetryPolicy};
use rrtf_store::{NewPrompt, PromptKind};
use serde_json::{Value, json};

use super::decontaminate::{Benchmarks, screen_prompts};
use super::ledger::{self, Metering};
use super::{BadInput, Ctx, endpoints, progress_bar};

#[derive(Debug, Args)]
pub struct EvolveArgs {
    /// The round config ([evolution] and the evolver's [[teachers]] entry).
    #[arg(long)]
    pub config: PathBuf,
    /// Evolve only the seeds of this source (dataset name).
    #[arg(long)]
    pub source: Option<String>,
    /// Evolve at most this many seeds (for a trial run).
    #[arg(long)]
    pub max_seeds: Option<usize>,
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

pub async fn evolve(ctx: &Ctx, args: EvolveArgs) -> Result<()> {
    let config = RoundConfig::load(&args.config)?;
    let ev_cfg = &config.evolution;
    if !ev_cfg.enabled {
        return Err(BadInput(format!(
            "{}: [evolution] enabled = false",
            args.config.display()
        ))
        .into());
    }
    let Some(endpoint) = ev_cfg.evolver.as_deref().and_then(|n| config.teacher(n)) else {
        return Err(BadInput(format!(
            "{}: set [evolution] evolver to the name of a [[teachers]] entry",
            args.config.display()
        ))
        .into());
    };
    let live = endpoints::start(endpoint).await?;
    let http: Arc<dyn Backend> =
        Arc::new(HttpBackend::new(&live.endpoint, RetryPolicy::default())?);
    let benchmarks = Benchmarks::from_config(&config)?;
    let store = ctx.store().await?;
    let round = config.round.number;
    let evol_source = format!("evol-r{round}");
    let run = store
        .begin_run(&rrtf_pipeline::round_run(
            &config,
            "evolve",
            super::REVISION,
        ))
        .await?;
    // Every request is budgeted (the round's [sampling] budget_usd) and stored in the ledger.
    let metering = Metering::start(&store, &config, run.id, "evolve", endpoint, http).await?;
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
        .filter(|p| args.source.as_ref().is_none_or(|s| &p.source == s))
        .map(|p| Parent {
            id: p.id,
            name: pool_name(p),
            text: p.text.clone(),
        })
        .collect();
    if let Some(n) = args.max_seeds {
        seeds.truncate(n);
    }
    if seeds.is_empty() {
        return Err(BadInput(format!(
            "no seed prompts in {}: import some first",
            ctx.db.display()
        ))
        .into());
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
            .filter(|(_, name, _)| !stored.contains(name))
            .collect();
        let n_asked = todo.len();
        let bar = progress_bar(ctx, n_asked as u64, "evolving");
        let report = run_step(
            &ev,
            &parents,
            todo,
            &mut index,
            benchmarks.as_ref().map(|b| &b.index),
            &|n| bar.inc(n),
        )
        .await;
        bar.finish_and_clear();
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
                    language: "python".into(),
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
                ledger::budget_stop(&args.config, &config, spent)
            } else {
                msg.clone()
            };
            let summary = json!({ "run": run.id, "steps": steps, "stopped": stopped, "round_spent_usd": spent });
            store.finish_run(run, false, &summary).await?;
            store.close().await;
            if at_budget {
                ctx.emit(|| stopped.clone(), || summary.clone());
                anyhow::bail!("{stopped}");
            }
            return Err(BadInput(msg.clone()).into());
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
            .map(|p| Parent {
                id: p.id,
                name: p.source_id,
                text: p.text,
            })
            .collect();
    }
    let failed: u64 = steps
        .iter()
        .map(|s| s["failed"].as_u64().unwrap_or(0))
        .sum();
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
    ctx.emit(
        || {
            let mut out = String::new();
            for s in summary["steps"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "step {}: {} parents, {} asked ({} already stored), {} kept {}, dropped {}, {} failed; \
                     {} answers, tokens {} in / {} out, ${:.4}\n",
                    s["step"], s["parents"], s["asked"], s["already_stored"], s["kept"], s["kept_by_method"], s["dropped"], s["failed"],
                    s["requests"], s["prompt_tokens"], s["completion_tokens"], s["cost_usd"].as_f64().unwrap_or(0.0)
                ));
                if let Some(f) = s["first_failure"].as_str() {
                    out.push_str(&format!("  first failure: {f}\n"));
                }
            }
            let screened = super::decontaminate::summary_text(&summary["decontamination"]);
            if !screened.is_empty() {
                out.push_str(&screened);
                out.push('\n');
            }
            out.push_str(&format!("evolved prompts are in source `{}` (rrtf status)", summary["source"].as_str().unwrap_or("")));
            out.push_str(&ledger::ledger_text(&summary["round_requests"]));
            out
        },
        || summary.clone(),
    );
    if failed > 0 {
        anyhow::bail!("{failed} evolution request(s) failed; re-run `rrtf evolve` to ask again");
    }
    Ok(())
}
