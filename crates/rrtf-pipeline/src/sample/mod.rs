//! `rrtf sample`: every (prompt, teacher or student, temperature, sample index) once, from
//! OpenAI-compatible endpoints, stored as the answers arrive.
//!
//! The plan is rebuilt on every run and the requests whose key (`responses.request_hash`) is
//! stored are dropped, so a re-run after a crash, a `kill -9`, Ctrl-C or a budget stop sends
//! only what is missing. `code` is left NULL for the exec stage to extract, except for chat
//! answers to completion prompts (see [`crate::sample_sink::StoreSink`]). Benchmark problems
//! are screened out before anything is sampled ([`crate::decontam`]); after sampling,
//! WizardLM's rules 2 and 3 judge the teachers' answers ([`screen`]).
//!
//! Ctrl-C or SIGTERM ([`SampleRequest::stop`]) stops the sending: the requests in flight are
//! finished and stored, the rest stay unsent, and the run is recorded as `interrupted`.
//!
//! Not here: planning and sending (`rrtf_llm::sampler`), the progress bar and the printed
//! text (the binary, through [`SampleProgress`] and [`SampleReport`]).

mod screen;
mod share;
mod summary;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rrtf_config::{Endpoint, RoundConfig};
use rrtf_llm::render::TaskKind;
use rrtf_llm::sampler::{self, Lane, LaneReport, Task};
use rrtf_llm::{Backend, Budget, HttpBackend, Ledger, RetryPolicy, TeacherStats};
use rrtf_store::{ModelRole, PromptKind};
use serde_json::{Value, json};
pub use summary::LENGTH_WARNING;

use crate::decontam::{Benchmarks, screen_prompts};
use crate::sample_sink::StoreSink;
use crate::stop::{Signal, Stop};
use crate::{PipelineError, Result, Rrtf, endpoints};

/// What `rrtf sample` was asked.
#[derive(Debug, Clone)]
pub struct SampleRequest {
    /// Where `config` was read from (named by the errors about it).
    pub config_path: PathBuf,
    pub config: RoundConfig,
    /// Only these endpoints (teacher or student names); empty: all.
    pub only: Vec<String>,
    /// Count what would be sent, send and write nothing.
    pub dry_run: bool,
    /// Stop sending when it asks (the requests in flight are finished and stored).
    pub stop: Stop,
    /// How long a claimed request stays this process's without a renewal (`share`): other
    /// samplers on the database skip it meanwhile, and take it over once it runs out.
    pub lease: std::time::Duration,
}

/// The sending's progress, and when to stop.
pub trait SampleProgress: Sync {
    /// Sending starts with `to_send` requests.
    fn start(&mut self, to_send: u64);
    /// `n` more requests done.
    fn inc(&self, n: u64);
    fn finish(&mut self);
}

/// What a run did.
pub enum SampleReport {
    /// `--dry-run`: the planned, stored and to-send counts per endpoint, as printed by `--json`.
    DryRun(Value),
    Sampled(Box<Sampled>),
}

/// A run that sent its requests: the summary recorded with the `sample` run (and printed by
/// `--json`), and what the human text is made of.
pub struct Sampled {
    pub round: i64,
    pub endpoints: Vec<Endpoint>,
    /// Per endpoint: (planned, already stored).
    pub counts: Vec<(u64, u64)>,
    pub reports: BTreeMap<String, LaneReport>,
    pub stats: BTreeMap<String, TeacherStats>,
    pub budget: Arc<Budget>,
    pub seconds: f64,
    pub summary: Value,
    /// Stopped by this signal before every request was sent (the run is `interrupted`).
    pub interrupted: Option<Signal>,
}

impl Sampled {
    /// Requests left unsent, over every endpoint (a re-run sends them).
    pub fn unsent(&self) -> u64 {
        self.reports.values().map(|r| r.unsent).sum()
    }

    /// Requests that failed, over every endpoint (a re-run retries them).
    pub fn failed(&self) -> u64 {
        self.reports.values().map(|r| r.failed).sum()
    }

    /// Why endpoints stopped for good (a refused key, an unknown model...): the user's to fix.
    pub fn fatal(&self) -> Vec<String> {
        self.reports
            .values()
            .filter_map(|r| match &r.stopped {
                Some(rrtf_llm::sampler::Stopped::Endpoint(m)) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }
}

/// The endpoints to sample from: the teachers, then the student, narrowed to `only`.
fn endpoints_of(req: &SampleRequest) -> Result<Vec<(Endpoint, ModelRole)>> {
    let config = &req.config;
    let mut endpoints: Vec<(Endpoint, ModelRole)> = config
        .teachers
        .iter()
        .map(|t| (t.clone(), ModelRole::Teacher))
        .chain(config.student.iter().map(|s| {
            // Asked in the format it is trained on (rrtf_llm::render).
            let mut s = s.clone();
            s.training_templates = Some(rrtf_config::TrainingTemplates {
                instruction: config.training.prompt_template.clone(),
                completion: config.training.completion_template.clone(),
            });
            (s, ModelRole::Student)
        }))
        .collect();
    for name in &req.only {
        if !endpoints.iter().any(|(e, _)| &e.name == name) {
            let names: Vec<_> = endpoints.iter().map(|(e, _)| e.name.as_str()).collect();
            return Err(PipelineError::Invalid(format!(
                "--only {name}: no teacher or student of that name in {} (names: {})",
                req.config_path.display(),
                names.join(", ")
            )));
        }
    }
    if !req.only.is_empty() {
        endpoints.retain(|(e, _)| req.only.contains(&e.name));
    }
    if endpoints.is_empty() {
        return Err(PipelineError::Invalid(format!(
            "{} has no [[teachers]] and no [student]: add an endpoint to sample from",
            req.config_path.display()
        )));
    }
    Ok(endpoints)
}

/// How many of the requests to send a dry run shows whole.
const DRY_RUN_EXAMPLES: usize = 3;

/// The first requests to send, as sent: one per endpoint first (in order), then the next ones,
/// [`DRY_RUN_EXAMPLES`] in all.
fn dry_run_examples(jobs: &[sampler::Job], eps: &[Endpoint]) -> Vec<Value> {
    let mut picked: Vec<&sampler::Job> = Vec::new();
    for e in 0..eps.len() {
        if let Some(j) = jobs.iter().find(|j| j.endpoint == e) {
            picked.push(j);
        }
    }
    for j in jobs {
        if picked.len() >= DRY_RUN_EXAMPLES {
            break;
        }
        if !picked.iter().any(|p| std::ptr::eq(*p, j)) {
            picked.push(j);
        }
    }
    picked.truncate(DRY_RUN_EXAMPLES);
    picked
        .into_iter()
        .map(|j| {
            json!({
                "endpoint": eps[j.endpoint].name, "prompt_id": j.prompt_id,
                "temperature": j.temperature, "sample_index": j.sample_index,
                "prompt": j.request.prompt, "params": j.request.params,
            })
        })
        .collect()
}

/// Whether an endpoint's API key is there (a dry run checks instead of failing): `not needed`,
/// `VAR is set`, or `VAR is not set`.
fn api_key_state(e: &Endpoint) -> String {
    match &e.api_key_env {
        _ if e.replay.is_some() || e.local_model.is_some() => "not needed".into(),
        None => "not needed".into(),
        Some(var) if std::env::var_os(var).is_some_and(|v| !v.is_empty()) => {
            format!("{var} is set")
        }
        Some(var) => format!("{var} is not set: export it before sampling"),
    }
}

/// `e` with a placeholder URL when it has none yet (a replay or local model, started later or
/// never: only to build and check its client).
fn with_url(e: &Endpoint) -> Endpoint {
    let mut e = e.clone();
    if e.base_url.is_empty() {
        e.base_url = "http://127.0.0.1/v1".into();
    }
    e
}

impl Rrtf {
    /// Sample what is planned and not stored yet.
    pub async fn sample(
        &self,
        req: SampleRequest,
        progress: &mut dyn SampleProgress,
    ) -> Result<SampleReport> {
        let config = &req.config;
        let endpoints = endpoints_of(&req)?;
        // Keys are checked before anything is sent or written; a dry run sends nothing, so it
        // says which are missing instead.
        if !req.dry_run {
            for (e, _) in &endpoints {
                HttpBackend::new(&with_url(e), RetryPolicy::default())?;
            }
        }

        let store = self.store().await?;
        let round = config.round.number;
        let mut model_ids = Vec::with_capacity(endpoints.len());
        for (e, role) in &endpoints {
            let id = match req.dry_run {
                // Nothing written: a model not registered yet has nothing stored.
                true => store.model_id(&e.name).await?.unwrap_or(-1),
                false => {
                    store
                        .upsert_model(
                            &e.name,
                            *role,
                            Some(&endpoints::provenance(e)),
                            Some(&e.model),
                        )
                        .await?
                }
            };
            model_ids.push(id);
        }
        // A run is recorded (decontamination's findings name it), except by a dry run, which
        // writes nothing.
        let run = match req.dry_run {
            true => None,
            false => Some(store.begin_run(&self.run_of(config, "sample")).await?),
        };
        // Benchmark problems are eliminated before anything is sampled for them.
        let benchmarks = Benchmarks::from_config(config)?;
        let (screened, leaked) = match &benchmarks {
            Some(b) => {
                let (summary, ids) =
                    screen_prompts(&store, b, run.as_ref().map(|r| r.id), !req.dry_run).await?;
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
            return Err(PipelineError::Invalid(format!(
                "no prompts to sample in {}: import some first (rrtf import prompts FILE)",
                self.db_display()
            )));
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
        summary::check_context(&req.config_path, config, &eps)?;
        let planned = sampler::plan(&tasks, &eps, config.round.seed)?;
        let stored = store.stored_request_hashes(&model_ids).await?;
        // Answers stored under key layout 1 count for a `base_url` endpoint still at the URL
        // its model was registered with (README, upgrade notes).
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
        let mut per_endpoint: Vec<(u64, u64)> = vec![(0, 0); eps.len()]; // (planned, stored)
        // What would be sent per endpoint: (estimated prompt tokens, at most completion tokens).
        let mut tokens: Vec<(u64, u64)> = vec![(0, 0); eps.len()];
        let jobs: Vec<_> = planned
            .into_iter()
            .filter(|j| {
                per_endpoint[j.endpoint].0 += 1;
                let done = stored.contains(&j.key)
                    || (legacy_ok[j.endpoint]
                        && j.legacy_key.as_ref().is_some_and(|k| stored.contains(k)));
                per_endpoint[j.endpoint].1 += u64::from(done);
                if !done {
                    let (prompt, completion) = j.request.token_estimate();
                    tokens[j.endpoint].0 += prompt;
                    tokens[j.endpoint].1 += completion;
                }
                !done
            })
            .collect();
        let to_send = jobs.len() as u64;

        if req.dry_run {
            store.close().await;
            let rows: Vec<_> = eps
                .iter()
                .zip(&per_endpoint)
                .zip(&tokens)
                .map(|((e, (p, s)), (prompt, completion))| {
                    json!({
                        "name": e.name, "planned": p, "stored": s, "to_send": p - s,
                        "api_key": api_key_state(e),
                        "prompt_tokens_estimate": prompt,
                        "completion_tokens_max": completion,
                        "cost_usd_max": rrtf_llm::cost_usd(
                            *prompt, *completion, e.price_per_1k_input, e.price_per_1k_output),
                    })
                })
                .collect();
            return Ok(SampleReport::DryRun(json!({
                "dry_run": true, "prompts": tasks.len(), "to_send": to_send, "endpoints": rows,
                "budget_usd": config.sampling.budget_usd,
                "examples": dry_run_examples(&jobs, &eps),
                "decontamination": screened,
            })));
        }
        let run = run.expect("recorded unless a dry run");
        let budget = Arc::new(Budget::new(
            config.sampling.budget_usd,
            store.round_spend(round).await?,
        ));
        let spent_before = budget.spent();
        let ledger = Arc::new(Ledger::default());
        progress.start(to_send);
        // The sampler's flag, set once `req.stop` asks (checked every 50 ms while sending).
        let stop = Arc::new(AtomicBool::new(false));
        let watch = {
            let (flag, asked) = (stop.clone(), req.stop.clone());
            tokio::spawn(async move {
                while asked.requested().is_none() {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                flag.store(true, Ordering::SeqCst);
            })
        };
        // Replay and local-model endpoints are started only when something is left to send.
        let mut busy = vec![false; eps.len()];
        for j in &jobs {
            busy[j.endpoint] = true;
        }
        let mut live = Vec::new();
        let mut backends: Vec<Arc<dyn Backend>> = Vec::with_capacity(eps.len());
        for (e, busy) in eps.iter().zip(&busy) {
            let e = if *busy {
                live.push(endpoints::start(&self.exe, e).await?);
                live.last().expect("pushed").endpoint.clone()
            } else {
                // Nothing to send: never contacted, so a replay or local model is not started.
                with_url(e)
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
        let result = {
            let progress: &dyn SampleProgress = progress;
            let me = share::Claimant {
                name: crate::exec_stage::worker_name(),
                lease: req.lease,
            };
            let sending = share::Sending {
                lanes: &lanes,
                budget: budget.clone(),
                ledger: ledger.clone(),
                stop,
                progress: &|n| progress.inc(n),
            };
            share::run(&store, &me, jobs, &sending, &mut sink).await
        };
        progress.finish();
        watch.abort();
        drop(live);
        let reports = match result {
            Ok(r) => r,
            Err(source) => {
                store
                    .finish_run(run, false, &json!({ "error": source.to_string() }))
                    .await?;
                store.close().await;
                return Err(PipelineError::Storing { source });
            }
        };
        let answers_eliminated = sink.eliminated;
        let stats = ledger.snapshot();
        let elapsed = started.elapsed().as_secs_f64();
        let mut summary = summary::summary_json(
            &eps,
            &per_endpoint,
            &reports,
            &stats,
            &budget,
            spent_before,
            elapsed,
            run.id,
        );
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
            self.log(&format!("warning: {w}"));
        }
        summary["warnings"] = json!(warnings);
        if !screened.is_null() {
            summary["decontamination"] = screened;
            summary["decontamination"]["responses"] =
                json!({ "responses_eliminated": answers_eliminated });
        }
        // WizardLM's rules 2 and 3 on the teachers' answers: a prompt every teacher answered
        // with an apology or nothing but stop words is eliminated (ranking never sees it).
        summary["eliminated_by_teacher_answers"] =
            screen::teacher_refusals(&store, &teacher_jobs, &model_ids, run.id).await?;
        summary["round_ledger"] = json!(store.round_ledger(round).await?);
        summary["round_requests"] = json!(store.ledger_lines(Some(round)).await?);
        let failed: u64 = reports.values().map(|r| r.failed).sum();
        // Interrupted only when the stop left requests unsent (a signal after the last one
        // was sent loses nothing).
        let interrupted = req.stop.requested().filter(|_| {
            reports
                .values()
                .any(|r| r.stopped == Some(rrtf_llm::sampler::Stopped::Interrupted))
        });
        match interrupted {
            Some(signal) => {
                summary["interrupted"] = json!(signal.name());
                store.interrupt_run(run, &summary).await?;
            }
            None => store.finish_run(run, failed == 0, &summary).await?,
        }
        store.close().await;
        Ok(SampleReport::Sampled(Box::new(Sampled {
            round,
            endpoints: eps,
            counts: per_endpoint,
            reports,
            stats,
            budget,
            seconds: elapsed,
            summary,
            interrupted,
        })))
    }
}
