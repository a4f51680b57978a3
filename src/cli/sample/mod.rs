//! `rrtf sample --config FILE`: every (prompt, teacher or student, temperature, sample index)
//! once, from OpenAI-compatible endpoints, stored as the answers arrive.
//!
//! The plan is rebuilt on every run and the requests whose key (`responses.request_hash`) is
//! stored are dropped, so a re-run after a crash, a `kill -9`, Ctrl-C or a budget stop sends
//! only what is missing. `code` is left NULL for the exec stage to extract, except for chat
//! answers to completion prompts (see `StoreSink::code`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Args;
use rrtf_config::{Endpoint, RoundConfig};
use rrtf_llm::render::TaskKind;
use rrtf_llm::sampler::{self, Lane, Stopped, Task};
use rrtf_llm::{Backend, Budget, HttpBackend, Ledger, RetryPolicy};
use rrtf_store::{ModelRole, PromptKind};
use serde_json::{Value, json};

use super::decontaminate::{self, Benchmarks, screen_prompts};
use super::{BadInput, Ctx, REVISION, endpoints, progress_bar};

mod report;
mod screen;

use report::{LENGTH_WARNING, check_context, human, summary_json};
use rrtf_pipeline::sample_sink::StoreSink;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The round config (teachers, student, [sampling]).
    #[arg(long)]
    pub config: PathBuf,
    /// Sample only these endpoints (teacher or student names). Repeatable.
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
    /// Count what would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn sample(ctx: &Ctx, args: SampleArgs) -> Result<()> {
    let config = RoundConfig::load(&args.config)?;
    let mut endpoints: Vec<(Endpoint, ModelRole)> = config
        .teachers
        .iter()
        .map(|t| (t.clone(), ModelRole::Teacher))
        .chain(
            config
                .student
                .iter()
                .map(|s| (s.clone(), ModelRole::Student)),
        )
        .collect();
    for name in &args.only {
        if !endpoints.iter().any(|(e, _)| &e.name == name) {
            let names: Vec<_> = endpoints.iter().map(|(e, _)| e.name.as_str()).collect();
            return Err(BadInput(format!(
                "--only {name}: no teacher or student of that name in {} (names: {})",
                args.config.display(),
                names.join(", ")
            ))
            .into());
        }
    }
    if !args.only.is_empty() {
        endpoints.retain(|(e, _)| args.only.contains(&e.name));
    }
    if endpoints.is_empty() {
        return Err(BadInput(format!(
            "{} has no [[teachers]] and no [student]: add an endpoint to sample from",
            args.config.display()
        ))
        .into());
    }
    // Keys are checked before anything is sent or written.
    for (e, _) in &endpoints {
        let mut e = e.clone();
        if e.base_url.is_empty() {
            e.base_url = "http://127.0.0.1/v1".into(); // started later (replay, local model)
        }
        HttpBackend::new(&e, RetryPolicy::default())?;
    }

    let store = ctx.store().await?;
    let round = config.round.number;
    let mut model_ids = Vec::with_capacity(endpoints.len());
    for (e, role) in &endpoints {
        let id = store
            .upsert_model(
                &e.name,
                *role,
                Some(&endpoints::provenance(e)),
                Some(&e.model),
            )
            .await?;
        model_ids.push(id);
    }
    // A run is recorded (decontamination's findings name it), except by a dry run, which
    // writes nothing.
    let run = match args.dry_run {
        true => None,
        false => Some(
            store
                .begin_run(&rrtf_pipeline::round_run(&config, "sample", REVISION))
                .await?,
        ),
    };
    // Benchmark problems are eliminated before anything is sampled for them.
    let benchmarks = Benchmarks::from_config(&config)?;
    let (screened, leaked) = match &benchmarks {
        Some(b) => {
            let (summary, ids) =
                screen_prompts(&store, b, run.as_ref().map(|r| r.id), !args.dry_run).await?;
            (json!({ "benchmarks": b.info(), "prompts": summary }), ids)
        }
        None => (Value::Null, Vec::new()),
    };
    let prompts: Vec<_> = store
        .sampling_prompts(config.sampling.max_prompts)
        .await?
        .into_iter()
        .filter(|p| !leaked.contains(&p.id))
        .collect();
    if prompts.is_empty() {
        if let Some(run) = run {
            store
                .finish_run(run, false, &json!({ "error": "no prompts" }))
                .await?;
        }
        return Err(BadInput(format!(
            "no prompts to sample in {}: import some first (rrtf import prompts FILE)",
            ctx.db.display()
        ))
        .into());
    }
    let tasks: Vec<Task> = prompts
        .into_iter()
        .map(|p| Task {
            prompt_id: p.id,
            kind: match p.kind {
                PromptKind::Completion => TaskKind::Completion,
                PromptKind::Instruction => TaskKind::Instruction,
            },
            text: p.text,
            language: p.language,
        })
        .collect();
    let eps: Vec<Endpoint> = endpoints.iter().map(|(e, _)| e.clone()).collect();
    check_context(&args.config, &config, &eps)?;
    let planned = sampler::plan(&tasks, &eps, config.round.seed)?;
    let stored = store.stored_request_hashes(&model_ids).await?;
    // Answers stored under key layout 1 count for a `base_url` endpoint still at the URL its
    // model was registered with (README, upgrade notes).
    let mut legacy_ok = Vec::with_capacity(eps.len());
    for (e, id) in eps.iter().zip(&model_ids) {
        let recorded = store.model_endpoint(*id).await?;
        legacy_ok.push(
            e.replay.is_none()
                && e.local_model.is_none()
                && recorded.as_deref() == Some(e.base_url.as_str()),
        );
    }
    let teachers: Vec<bool> = endpoints
        .iter()
        .map(|(_, role)| *role == ModelRole::Teacher)
        .collect();
    let teacher_jobs: Vec<screen::Planned> = planned
        .iter()
        .filter(|j| teachers[j.endpoint])
        .map(|j| screen::Planned {
            prompt_id: j.prompt_id,
            key: j.key.clone(),
            legacy_key: j.legacy_key.clone().filter(|_| legacy_ok[j.endpoint]),
        })
        .collect();
    let mut per_endpoint: Vec<(u64, u64)> = vec![(0, 0); eps.len()]; // (planned, already stored)
    let jobs: Vec<_> = planned
        .into_iter()
        .filter(|j| {
            per_endpoint[j.endpoint].0 += 1;
            let done = stored.contains(&j.key)
                || (legacy_ok[j.endpoint]
                    && j.legacy_key.as_ref().is_some_and(|k| stored.contains(k)));
            per_endpoint[j.endpoint].1 += u64::from(done);
            !done
        })
        .collect();
    let to_send = jobs.len() as u64;

    if args.dry_run {
        store.close().await;
        let rows: Vec<_> = eps
            .iter()
            .zip(&per_endpoint)
            .map(|(e, (p, s))| json!({"name": e.name, "planned": p, "stored": s, "to_send": p - s}))
            .collect();
        ctx.emit(
            || {
                let mut text = rows.iter()
                    .map(|r| format!("{}: {} planned, {} stored, {} to send", r["name"].as_str().unwrap_or(""), r["planned"], r["stored"], r["to_send"]))
                    .collect::<Vec<_>>()
                    .join("\n");
                if !screened.is_null() {
                    text.push_str(&format!(
                        "\n(dry run) decontamination would eliminate {} of {} prompt(s)",
                        screened["prompts"]["prompts_eliminated"], screened["prompts"]["prompts_checked"]
                    ));
                }
                text
            },
            || json!({ "dry_run": true, "prompts": tasks.len(), "to_send": to_send, "endpoints": rows, "decontamination": screened }),
        );
        return Ok(());
    }
    let run = run.expect("recorded unless a dry run");
    let budget = Arc::new(Budget::new(
        config.sampling.budget_usd,
        store.round_spend(round).await?,
    ));
    let spent_before = budget.spent();
    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: finishing the requests in flight (Ctrl-C again to abort)");
            s.store(true, Ordering::Relaxed);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    // Replay and local-model endpoints are started only when something is left to send.
    let mut busy = vec![false; eps.len()];
    for j in &jobs {
        busy[j.endpoint] = true;
    }
    let mut live = Vec::new();
    let mut backends: Vec<Arc<dyn Backend>> = Vec::with_capacity(eps.len());
    for (e, busy) in eps.iter().zip(&busy) {
        let e = if *busy {
            live.push(endpoints::start(e).await?);
            live.last().expect("pushed").endpoint.clone()
        } else {
            // Nothing to send: never contacted, so a replay or local model is not started.
            let mut idle = e.clone();
            if idle.base_url.is_empty() {
                idle.base_url = "http://127.0.0.1/v1".into();
            }
            idle
        };
        backends.push(Arc::new(HttpBackend::new(&e, RetryPolicy::default())?));
    }
    let lanes: Vec<Lane> = eps
        .iter()
        .zip(backends)
        .map(|(e, backend)| Lane {
            name: e.name.clone(),
            model: e.model.clone(),
            backend,
            concurrency: e.concurrency as usize,
            price_per_1k_input: e.price_per_1k_input,
            price_per_1k_output: e.price_per_1k_output,
        })
        .collect();
    let bar = progress_bar(ctx, to_send, "sampling");
    let started = std::time::Instant::now();
    let mut sink = StoreSink {
        store: &store,
        model_ids: model_ids.clone(),
        round,
        run_id: run.id,
        names: eps
            .iter()
            .map(|e| (e.name.clone(), e.model.clone()))
            .collect(),
        chat: eps
            .iter()
            .map(|e| e.kind == rrtf_config::EndpointKind::Chat)
            .collect(),
        completion_prompts: tasks
            .iter()
            .filter(|t| t.kind == TaskKind::Completion)
            .map(|t| (t.prompt_id, (t.text.clone(), t.language.clone())))
            .collect(),
        benchmarks: benchmarks.as_ref(),
        eliminated: 0,
    };
    let result = sampler::run(
        &lanes,
        jobs,
        budget.clone(),
        ledger.clone(),
        stop,
        &mut sink,
        &|n| bar.inc(n),
    )
    .await;
    bar.finish_and_clear();
    drop(live);
    let reports = match result {
        Ok(r) => r,
        Err(e) => {
            store
                .finish_run(run, false, &json!({ "error": e.to_string() }))
                .await?;
            store.close().await;
            return Err(anyhow::anyhow!(e)).context("storing answers failed; re-run to resume");
        }
    };
    let answers_eliminated = sink.eliminated;
    let stats = ledger.snapshot();
    let elapsed = started.elapsed().as_secs_f64();
    let summary = summary_json(
        &eps,
        &per_endpoint,
        &reports,
        &stats,
        &budget,
        spent_before,
        elapsed,
        run.id,
    );
    let mut summary = summary;
    // Answers cut by max_tokens, over every response of the round per endpoint.
    let finish = store.finish_counts(round, &model_ids).await?;
    let mut warnings = Vec::new();
    for (i, (e, (total, by_length))) in eps.iter().zip(finish).enumerate() {
        let share = if total > 0 {
            by_length as f64 / total as f64
        } else {
            0.0
        };
        let entry = &mut summary["endpoints"][i];
        entry["responses"] = json!(total);
        entry["ended_by_length"] = json!(by_length);
        entry["length_share"] = json!(share);
        if share > LENGTH_WARNING {
            warnings.push(format!(
                "{by_length} of `{}`'s {total} responses in round {round} ({:.1}%) ended by \
                 length (max_tokens = {}): they are cut short; raise its max_tokens",
                e.name,
                share * 100.0,
                e.max_tokens
            ));
        }
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    summary["warnings"] = json!(warnings);
    if !screened.is_null() {
        summary["decontamination"] = screened;
        summary["decontamination"]["responses"] =
            json!({ "responses_eliminated": answers_eliminated });
    }
    // WizardLM's rules 2 and 3 on the teachers' answers: a prompt every teacher answered with
    // an apology or nothing but stop words is eliminated (ranking never sees it).
    summary["eliminated_by_teacher_answers"] =
        screen::teacher_refusals(&store, &teacher_jobs, &model_ids, run.id).await?;
    summary["round_ledger"] = serde_json::to_value(store.round_ledger(round).await?)?;
    summary["round_requests"] = serde_json::to_value(store.ledger_lines(Some(round)).await?)?;
    let failed: u64 = reports.values().map(|r| r.failed).sum();
    store.finish_run(run, failed == 0, &summary).await?;
    store.close().await;
    ctx.emit(
        || {
            let mut text = human(&eps, &per_endpoint, &reports, &stats, &budget, elapsed);
            let screened = decontaminate::summary_text(&summary["decontamination"]);
            if !screened.is_empty() {
                text.push('\n');
                text.push_str(&screened);
            }
            let refused = &summary["eliminated_by_teacher_answers"];
            if refused["eliminated"].as_u64().unwrap_or(0) > 0 {
                text.push_str(&format!(
                    "\n{} prompt(s) eliminated: every teacher answer was an apology or only \
                     stop words (WizardLM's rules 2 and 3)",
                    refused["eliminated"]
                ));
            }
            for e in summary["endpoints"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "\n{}: {} of {} responses in the round ended by length ({:.1}%)",
                    e["name"].as_str().unwrap_or(""),
                    e["ended_by_length"],
                    e["responses"],
                    e["length_share"].as_f64().unwrap_or(0.0) * 100.0
                ));
            }
            text.push_str(&format!("\nround {round} ledger:"));
            for m in summary["round_ledger"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "\n  {}: {} responses, tokens {} in / {} out, ${:.4}",
                    m["model"].as_str().unwrap_or(""),
                    m["responses"],
                    m["prompt_tokens"],
                    m["completion_tokens"],
                    m["cost_usd"].as_f64().unwrap_or(0.0)
                ));
            }
            text.push_str(&super::ledger::ledger_text(&summary["round_requests"]));
            text
        },
        || summary.clone(),
    );

    let fatal: Vec<_> = reports
        .values()
        .filter_map(|r| match &r.stopped {
            Some(Stopped::Endpoint(m)) => Some(m.clone()),
            _ => None,
        })
        .collect();
    if !fatal.is_empty() {
        return Err(BadInput(fatal.join("\n")).into());
    }
    if failed > 0 {
        anyhow::bail!("{failed} request(s) failed (see above); re-run `rrtf sample` to retry them");
    }
    Ok(())
}
