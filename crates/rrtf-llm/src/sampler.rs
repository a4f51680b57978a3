//! The multi-teacher sampler: every planned request exactly once, as answers arrive.
//!
//! [`plan`] turns (prompts x endpoints x temperatures x samples) into [`Job`]s, each with its
//! idempotency key; the caller drops the jobs whose key is already stored. [`run`] sends the
//! rest with at most `concurrency` requests in flight per endpoint, all endpoints at once, and
//! hands answers to a [`Sink`] in small batches (whatever has arrived since the last write).
//! Each endpoint is a [`FanOut`] (keyed requests, bounded fan-out, the fatal-endpoint stop, as
//! evolve and synth-tests send theirs) whose `admit` check is the stop flag and the budget.
//!
//! - Invariant: a request's concurrency permit is released only after its answer was stored
//!   (or it failed), so at any moment at most `Σ concurrency` requests were sent and not yet
//!   stored. A crash or `kill -9` loses at most those; a re-run re-sends only them.
//! - A request is sent only after its worst-case cost was reserved in the [`Budget`]; when the
//!   reservation is refused the endpoint stops taking jobs, answers in flight are still stored,
//!   and the report says how many were left unsent.
//! - A 401/403/404 stops the endpoint (every further request would fail the same way); other
//!   failures are counted per label and the request is left for the next run.
//! - Setting the `stop` flag (Ctrl-C in the binary) stops dispatching; answers in flight are
//!   still stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rrtf_config::Endpoint;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::fanout::{FanOut, Halt, Keyed, SendError, Slot, keyed};
use crate::ledger::cost_usd;
use crate::render::{TaskKind, answer_text, render};
use crate::{
    Answerer, Backend, BoxFuture, Budget, GenRequest, Generation, Ledger, LlmError, Params,
    RequestRecord, answer_cost, request_key_v1,
};

/// A stored prompt, as the sampler needs it.
#[derive(Clone, Debug)]
pub struct Task {
    pub prompt_id: i64,
    pub kind: TaskKind,
    pub text: String,
    pub language: String,
}

/// One request to send.
#[derive(Clone, Debug)]
pub struct Job {
    /// Index of the endpoint in the list given to [`plan`] and [`run`].
    pub endpoint: usize,
    pub prompt_id: i64,
    pub temperature: f64,
    pub sample_index: u32,
    /// The idempotency key (`responses.request_hash`).
    pub key: String,
    /// For a `base_url` endpoint, the key layout 1 gave this request
    /// ([`crate::request_key_v1`]): an answer stored under it before the upgrade counts as
    /// stored when the model's recorded URL is this endpoint's (the caller decides).
    pub legacy_key: Option<String>,
    pub request: GenRequest,
}

/// Every (prompt, endpoint, temperature, sample index), prompt-major so that a partial run
/// covers whole prompts first. Fails when what serves an endpoint cannot be identified
/// ([`Answerer::of`]: a replay file or checkpoint that cannot be read).
pub fn plan(tasks: &[Task], endpoints: &[Endpoint], round_seed: u64) -> Result<Vec<Job>, LlmError> {
    let answerers = endpoints
        .iter()
        .map(Answerer::of)
        .collect::<Result<Vec<_>, _>>()?;
    let mut jobs = Vec::new();
    for task in tasks {
        for (e, ep) in endpoints.iter().enumerate() {
            let answerer = &answerers[e];
            let remote = ep.replay.is_none() && ep.local_model.is_none();
            let text = match ep.training_templates {
                Some(_) => task.text.as_str().into(),
                None => answer_text(task.kind, &task.text, &task.language),
            };
            let prompt = render(task.kind, &text, &task.language, ep);
            let stop = ep.sampling_stop(task.kind == TaskKind::Completion);
            for &temperature in &ep.temperatures {
                for sample_index in 0..ep.samples {
                    let params = Params {
                        temperature,
                        top_p: ep.top_p,
                        max_tokens: Some(ep.max_tokens),
                        stop: stop.clone(),
                        seed: None,
                    };
                    let legacy_key = remote.then(|| {
                        request_key_v1(
                            &ep.name,
                            &ep.model,
                            &prompt,
                            &params,
                            sample_index,
                            round_seed,
                        )
                    });
                    let Keyed { key, request } =
                        keyed(answerer, prompt.clone(), params, sample_index, round_seed);
                    jobs.push(Job {
                        endpoint: e,
                        prompt_id: task.prompt_id,
                        temperature,
                        sample_index,
                        key,
                        legacy_key,
                        request,
                    });
                }
            }
        }
    }
    Ok(jobs)
}

/// One endpoint as the sampler drives it.
pub struct Lane {
    pub name: String,
    /// The model name sent to the server (for the ledger).
    pub model: String,
    pub backend: Arc<dyn Backend>,
    pub concurrency: usize,
    pub price_per_1k_input: f64,
    pub price_per_1k_output: f64,
}

/// An answer to store.
#[derive(Clone, Debug)]
pub struct Answer {
    pub endpoint: usize,
    pub prompt_id: i64,
    pub temperature: f64,
    pub sample_index: u32,
    pub key: String,
    pub generation: Generation,
    pub cost_usd: f64,
}

pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// A request that was sent and failed for good (not stored as an answer; asked again by the
/// next run).
#[derive(Clone, Debug)]
pub struct Failure {
    pub endpoint: usize,
    /// `None` for an error raised before anything was sent.
    pub record: Option<RequestRecord>,
}

/// Where answers go (the project database in the binary; a vector in tests). A batch is
/// stored durably, or the call fails and the run stops.
pub trait Sink: Send {
    /// Store answers, and the failed requests that completed since the last call (for a
    /// ledger; ignored by default), in one durable write.
    fn store<'a>(
        &'a mut self,
        batch: &'a [Answer],
        failures: &'a [Failure],
    ) -> BoxFuture<'a, Result<(), SinkError>>;
}

/// Why an endpoint stopped before its queue was empty.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    Budget,
    Interrupted,
    /// A rejection that every further request would get (the message says which).
    Endpoint(String),
}

/// What happened per endpoint.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LaneReport {
    pub sent: u64,
    pub stored: u64,
    pub failed: u64,
    /// Jobs never sent (budget, interruption or a fatal rejection).
    pub unsent: u64,
    pub stopped: Option<Stopped>,
    /// The first failure's message, to show the user.
    pub first_error: Option<String>,
}

struct Shared {
    budget: Arc<Budget>,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
}

/// Send `jobs` through `lanes`, storing answers through `sink` as they arrive. `progress` is
/// called with the number of requests finished (stored or failed) after each batch.
pub async fn run(
    lanes: &[Lane],
    jobs: Vec<Job>,
    budget: Arc<Budget>,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
    sink: &mut dyn Sink,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BTreeMap<String, LaneReport>, SinkError> {
    let shared = Arc::new(Shared {
        budget,
        ledger,
        stop,
    });
    let mut queues: Vec<Vec<Job>> = lanes.iter().map(|_| Vec::new()).collect();
    for job in jobs {
        queues[job.endpoint].push(job);
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<(Done, Slot)>();
    let mut dispatchers = tokio::task::JoinSet::new();
    for (lane, queue) in lanes.iter().zip(queues) {
        let lane = LaneHandle {
            name: lane.name.clone(),
            model: lane.model.clone(),
            backend: lane.backend.clone(),
            concurrency: lane.concurrency,
            prices: (lane.price_per_1k_input, lane.price_per_1k_output),
        };
        dispatchers.spawn(dispatch(lane, queue, shared.clone(), tx.clone()));
    }
    drop(tx);

    let mut stored: BTreeMap<usize, u64> = BTreeMap::new();
    let mut batch = Vec::new();
    let mut failures = Vec::new();
    let mut slots = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some((done, slot)) = next.take() {
            match done {
                Done::Answer(a) => batch.push(a),
                Done::Failed(f) => failures.push(f),
            }
            slots.push(slot);
            if slots.len() < 256 {
                next = rx.try_recv().ok();
            }
        }
        if let Err(e) = sink.store(&batch, &failures).await {
            dispatchers.abort_all();
            return Err(e);
        }
        for a in &batch {
            *stored.entry(a.endpoint).or_default() += 1;
        }
        progress(slots.len() as u64);
        batch.clear();
        failures.clear();
        slots.clear(); // stored: the lanes may send the next requests
    }

    let mut reports = BTreeMap::new();
    while let Some(done) = dispatchers.join_next().await {
        let (name, report) = done.map_err(|e| -> SinkError { Box::new(e) })?;
        reports.insert(name, report);
    }
    for (i, lane) in lanes.iter().enumerate() {
        if let Some(r) = reports.get_mut(&lane.name) {
            r.stored = stored.get(&i).copied().unwrap_or(0);
        }
    }
    Ok(reports)
}

/// A finished request, handed to the writer with its slot.
enum Done {
    Answer(Answer),
    Failed(Failure),
}

struct LaneHandle {
    name: String,
    model: String,
    backend: Arc<dyn Backend>,
    concurrency: usize,
    prices: (f64, f64),
}

/// How one request task ended, for the lane's report.
enum Request {
    Answered,
    /// Sent and failed (the error's message).
    Failed(String),
    /// Not sent after all: the endpoint stopped while the task was starting.
    Unsent,
}

/// One endpoint's loop ([`FanOut`]): take a slot, check the stop flag, reserve the budget,
/// send; the request task hands the answer (with its slot) to the writer.
async fn dispatch(
    lane: LaneHandle,
    queue: Vec<Job>,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<(Done, Slot)>,
) -> (String, LaneReport) {
    let total = queue.len() as u64;
    let mut report = LaneReport::default();
    let prices = lane.prices;
    let admit = |job: &Job| {
        if shared.stop.load(Ordering::Relaxed) {
            return Err(Stopped::Interrupted);
        }
        let (est_in, est_out) = job.request.token_estimate();
        let reserve = cost_usd(est_in, est_out, prices.0, prices.1);
        if !shared.budget.try_reserve(reserve) {
            return Err(Stopped::Budget);
        }
        Ok((est_in, reserve))
    };
    let task = |job: Job, (est_in, reserve): (u64, f64), slot: Slot| {
        let (backend, shared, tx) = (lane.backend.clone(), shared.clone(), tx.clone());
        let (name, model) = (lane.name.clone(), lane.model.clone());
        async move {
            let started = std::time::Instant::now();
            match slot.send(&*backend, &job.request).await {
                Ok(g) => {
                    let cost = answer_cost(&g, est_in, prices.0, prices.1);
                    shared.budget.settle(reserve, cost);
                    shared.ledger.update(&name, |s| {
                        s.received += 1;
                        s.retries += u64::from(g.attempts.saturating_sub(1));
                        s.prompt_tokens += g.prompt_tokens.unwrap_or(0);
                        s.completion_tokens += g.completion_tokens.unwrap_or(0);
                        s.cost_usd += cost;
                        s.latency_ms_total += g.latency_ms;
                        s.truncated += u64::from(g.finish_reason.as_deref() == Some("length"));
                    });
                    let answer = Answer {
                        endpoint: job.endpoint,
                        prompt_id: job.prompt_id,
                        temperature: job.temperature,
                        sample_index: job.sample_index,
                        key: job.key,
                        generation: g,
                        cost_usd: cost,
                    };
                    // The writer is gone only when the run is failing; the answer is lost
                    // with it, as a crash would lose it.
                    let _ = tx.send((Done::Answer(answer), slot));
                    Request::Answered
                }
                Err(SendError::Stopped(_)) => {
                    shared.budget.settle(reserve, 0.0);
                    Request::Unsent
                }
                Err(SendError::Failed(e)) => {
                    shared.budget.settle(reserve, 0.0);
                    shared.ledger.update(&name, |s| {
                        *s.failed.entry(e.label().to_owned()).or_default() += 1
                    });
                    tracing::warn!(endpoint = %name, "request failed: {e}");
                    let latency = started.elapsed().as_millis() as u64;
                    // Stored (for the ledger) before the slot is freed.
                    let failure = Failure {
                        endpoint: job.endpoint,
                        record: RequestRecord::failed(&name, &model, &job.key, &e, latency),
                    };
                    let _ = tx.send((Done::Failed(failure), slot));
                    Request::Failed(e.to_string())
                }
            }
        }
    };
    let out = FanOut::new(lane.concurrency)
        .run(queue, admit, task, |sent| match sent {
            Request::Answered => report.sent += 1,
            Request::Failed(e) => {
                report.sent += 1;
                report.failed += 1;
                report.first_error.get_or_insert(e);
            }
            Request::Unsent => {}
        })
        .await;
    drop(tx);
    report.unsent = total - report.sent;
    report.stopped = out.halted.map(|h| match h {
        Halt::Endpoint(msg) => Stopped::Endpoint(msg),
        Halt::Refused(why) => why,
    });
    (lane.name, report)
}
