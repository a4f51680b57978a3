//! The model thread: it owns the checkpoint and answers jobs from a bounded queue, so CPU-bound
//! generation never runs on the async runtime. A job reports through a channel of [`Event`]s;
//! when the request's receiver is gone (the client left), its generation stops at the next
//! token.
//!
//! Continuous batching ([`batched`]): every running choice of every request decodes in one
//! step (`rrtf_model::batch::Decoder`), and requests join and leave between steps, up to
//! `max_batch` sequences; a request's `n` choices of one prompt share that prompt's prefill.
//! A sequence decodes bit for bit as it would alone, so answers do not depend on what else
//! runs. Models the decoder does not take (another device than the CPU, non-f32 weights, the
//! erf GELU) answer one job at a time ([`run_job`]).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rrtf_model::batch::{Decoder, SeqCache};
use rrtf_model::generate::{DecodeBatch, Decoding};
use rrtf_model::{Checkpoint, Device, ModelError, Quantize, SamplingParams, StopReason};
use tokio::sync::{mpsc, oneshot};

use crate::api::{ApiError, GenSpec, PromptInput, Usage};
use crate::error::ServeError;

/// What a job reports, in this order: `Started` or `Failed`; then per choice `Delta`s (when
/// streaming) and its `Finished`; then `Done` (or `Failed`).
#[derive(Debug)]
pub enum Event {
    Started,
    /// New text of choice `index`; the deltas of a choice add up to its final text.
    Delta {
        index: usize,
        text: String,
    },
    Finished {
        index: usize,
        text: String,
        reason: StopReason,
    },
    Done(Usage),
    Failed(ApiError),
}

pub struct Job {
    pub spec: GenSpec,
    pub events: mpsc::UnboundedSender<Event>,
}

/// What the handlers need to know about the model.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    pub n_positions: usize,
    /// Its linear layers are int8 (`--quantize int8`, or a checkpoint saved quantized).
    pub int8: bool,
}

/// The model thread's counters, read by `GET /metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Decoding steps run, and the sequences they advanced (their sum over steps).
    steps: AtomicU64,
    step_sequences: AtomicU64,
    /// Sequences decoding now, and the most ever decoded in one step.
    running: AtomicUsize,
    peak: AtomicUsize,
    max_batch: AtomicUsize,
}

impl Stats {
    fn record_step(&self, sequences: usize) {
        self.steps.fetch_add(1, Ordering::Relaxed);
        self.step_sequences
            .fetch_add(sequences as u64, Ordering::Relaxed);
        self.peak.fetch_max(sequences, Ordering::Relaxed);
    }

    /// Prometheus' text exposition format.
    pub fn prometheus(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let get_us = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        format!(
            "# HELP rrtf_decode_steps_total Decoding steps run (each advances every running sequence by one token).\n\
             # TYPE rrtf_decode_steps_total counter\n\
             rrtf_decode_steps_total {}\n\
             # HELP rrtf_decode_sequence_steps_total Sequences advanced, summed over steps (divided by the steps: the mean batch).\n\
             # TYPE rrtf_decode_sequence_steps_total counter\n\
             rrtf_decode_sequence_steps_total {}\n\
             # HELP rrtf_running_sequences Sequences decoding now.\n\
             # TYPE rrtf_running_sequences gauge\n\
             rrtf_running_sequences {}\n\
             # HELP rrtf_batch_peak Most sequences decoded in one step since start.\n\
             # TYPE rrtf_batch_peak gauge\n\
             rrtf_batch_peak {}\n\
             # HELP rrtf_max_batch The batch limit (--max-batch); 0 when this model decodes one job at a time.\n\
             # TYPE rrtf_max_batch gauge\n\
             rrtf_max_batch {}\n",
            get(&self.steps),
            get(&self.step_sequences),
            get_us(&self.running),
            get_us(&self.peak),
            get_us(&self.max_batch),
        )
    }
}

/// The handle to the model thread. Dropping every handle ends the thread after its job.
#[derive(Clone, Debug)]
pub struct Worker {
    jobs: mpsc::Sender<Job>,
    queue: usize,
    pub info: ModelInfo,
    pub stats: Arc<Stats>,
}

impl Worker {
    /// Start the thread, load `dir` in it on `device` (`None`: the build's default) and wait
    /// until the model is ready.
    pub async fn start(
        dir: PathBuf,
        queue: usize,
        max_batch: usize,
        device: Option<String>,
        quantize: Quantize,
    ) -> Result<Worker, ServeError> {
        let (jobs, rx) = mpsc::channel(queue.max(1));
        let (ready, loaded) = oneshot::channel();
        let stats = Arc::new(Stats::default());
        let theirs = stats.clone();
        std::thread::Builder::new()
            .name("rrtf-serve-model".into())
            .spawn(move || {
                let model = (dir, device, quantize);
                run(model, max_batch.max(1), &theirs, ready, rx)
            })
            .map_err(|e| ServeError::Worker(e.to_string()))?;
        let info = loaded
            .await
            .map_err(|_| ServeError::Worker("it ended while loading the model".into()))??;
        Ok(Worker {
            jobs,
            queue,
            info,
            stats,
        })
    }

    /// Queue a job; 503 when the queue is full.
    pub fn submit(&self, job: Job) -> Result<(), ApiError> {
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ApiError::overloaded(self.queue),
            mpsc::error::TrySendError::Closed(_) => ApiError::internal("the model worker stopped"),
        })
    }
}

fn run(
    (dir, device, quantize): (PathBuf, Option<String>, Quantize),
    max_batch: usize,
    stats: &Stats,
    ready: oneshot::Sender<Result<ModelInfo, ServeError>>,
    mut jobs: mpsc::Receiver<Job>,
) {
    let device = match device.as_deref().map(rrtf_model::parse_device) {
        None => rrtf_model::default_device(),
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let ckpt = match load(&dir, &device, quantize) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let info = ModelInfo {
        n_positions: ckpt.config.n_positions,
        int8: ckpt.is_int8(),
    };
    if ready.send(Ok(info)).is_err() {
        return;
    }
    // An int8 model's steps read the int8 values themselves (`Decoder::packed` sees its flag).
    if let Some(decoder) = Decoder::packed(&ckpt.model) {
        stats.max_batch.store(max_batch, Ordering::Relaxed);
        return batched(&ckpt, &decoder, max_batch, stats, jobs);
    }
    while let Some(job) = jobs.blocking_recv() {
        if job.events.is_closed() {
            continue; // the client left while the job waited
        }
        let events = job.events.clone();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run_job(&ckpt, job))) {
            let what = panic_message(panic.as_ref());
            tracing::error!(panic = %what, "generation panicked");
            let _ = events.send(Event::Failed(ApiError::internal(format!(
                "generation failed: {what}"
            ))));
        }
    }
}

/// Load `dir` on `device`, quantized to int8 when asked (`Checkpoint::quantize_int8`). Int8
/// decoding runs on the CPU's host kernels only: elsewhere it is refused, not faked.
fn load(dir: &Path, device: &Device, quantize: Quantize) -> Result<Checkpoint, ServeError> {
    let mut ckpt = Checkpoint::load(dir, device)?;
    if quantize == Quantize::Int8 {
        if !ckpt.model.host_kernels() {
            return Err(ModelError::Input {
                what: "--quantize int8".into(),
                message: "int8 decodes on the CPU's host kernels, which the model does not use \
                          on this --device: serve it with --device cpu, or without --quantize"
                    .into(),
            }
            .into());
        }
        ckpt.quantize_int8()?;
    }
    Ok(ckpt)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// A request being answered by [`batched`].
struct Running {
    spec: GenSpec,
    events: mpsc::UnboundedSender<Event>,
    /// Per prompt: its ids, `max_new_tokens`, and its prefill while choices of it are to start.
    prompts: Vec<(Vec<u32>, usize, Option<(SeqCache, Vec<f32>)>)>,
    base_seed: u64,
    /// Choices started (they start in index order) and finished.
    started: usize,
    finished: usize,
    usage: Usage,
}

impl Running {
    fn total(&self) -> usize {
        self.prompts.len() * self.spec.n
    }
    fn send(&self, e: Event) {
        let _ = self.events.send(e);
    }
}

/// A choice being decoded (the key of its sequence in the [`DecodeBatch`]): its request (a key of
/// [`batched`]'s table), its index, and what of its text was streamed.
struct Choice {
    job: u64,
    index: usize,
    streamer: Streamer,
}

/// The continuous-batching loop (see the module docs): take requests from the queue while the
/// batch has room, start their choices, then repeatedly choose every sequence's next token
/// (ending, streaming, cancelling) and run one decoding step for those still going.
fn batched(
    ckpt: &Checkpoint,
    decoder: &Decoder,
    max_batch: usize,
    stats: &Stats,
    mut jobs: mpsc::Receiver<Job>,
) {
    let mut running: BTreeMap<u64, Running> = Default::default();
    let mut seqs: DecodeBatch<Choice> = DecodeBatch::default();
    let mut next_key = 0u64;
    loop {
        // Take requests while there is room and every running request has all its choices
        // started (the queue holds the rest, and answers 503 when full).
        loop {
            let waiting = running.values().any(|r| r.started < r.total());
            if waiting || seqs.len() >= max_batch {
                break;
            }
            let job = if seqs.is_empty() && running.is_empty() {
                match jobs.blocking_recv() {
                    Some(job) => job,
                    None => return,
                }
            } else {
                match jobs.try_recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            };
            admit(ckpt, job, next_key, &mut running);
            next_key += 1;
        }
        let step = catch_unwind(AssertUnwindSafe(|| {
            fill(decoder, &mut running, &mut seqs, max_batch);
            choose(ckpt, &mut running, &mut seqs);
            stats.running.store(seqs.len(), Ordering::Relaxed);
            if !seqs.is_empty() {
                stats.record_step(seqs.len());
                seqs.step(decoder);
            }
        }));
        if let Err(panic) = step {
            let what = panic_message(panic.as_ref());
            tracing::error!(panic = %what, "generation panicked");
            for r in running.values() {
                r.send(Event::Failed(ApiError::internal(format!(
                    "generation failed: {what}"
                ))));
            }
            running.clear();
            seqs = DecodeBatch::default();
        }
    }
}

/// Check a request taken from the queue and add it to `running` under `key` (answering
/// `Started`), or answer its error; nothing when its client already left.
fn admit(ckpt: &Checkpoint, job: Job, key: u64, running: &mut BTreeMap<u64, Running>) {
    if job.events.is_closed() {
        return; // the client left while the job waited
    }
    let prompts = match encode(ckpt, &job.spec) {
        Ok(p) => p,
        Err(e) => {
            let _ = job.events.send(Event::Failed(e));
            return;
        }
    };
    let usage = Usage {
        prompt_tokens: prompts.iter().map(|(ids, _)| ids.len()).sum(),
        completion_tokens: 0,
    };
    let _ = job.events.send(Event::Started);
    running.insert(
        key,
        Running {
            base_seed: job.spec.seed.unwrap_or_else(rand::random),
            prompts: prompts.into_iter().map(|(i, m)| (i, m, None)).collect(),
            spec: job.spec,
            events: job.events,
            started: 0,
            finished: 0,
            usage,
        },
    );
}

/// Start choices of running requests, oldest first, until the batch is full: a prompt is
/// prefilled once, when its first choice starts, and its cache copied to each of its choices.
fn fill(
    decoder: &Decoder,
    running: &mut BTreeMap<u64, Running>,
    seqs: &mut DecodeBatch<Choice>,
    max_batch: usize,
) {
    for (&key, r) in running.iter_mut() {
        while seqs.len() < max_batch && r.started < r.total() {
            let index = r.started;
            let (p, n) = (index / r.spec.n, r.spec.n);
            let (ids, max_new, prefill) = &mut r.prompts[p];
            let prefilled = prefill.get_or_insert_with(|| decoder.prefill(ids, *max_new));
            let params = SamplingParams {
                max_new_tokens: *max_new,
                temperature: r.spec.temperature,
                top_k: r.spec.top_k,
                top_p: r.spec.top_p,
                seed: r.base_seed.wrapping_add(index as u64),
                stop: r.spec.stop.clone(),
            };
            let choice = Choice {
                job: key,
                index,
                streamer: Streamer::new(&r.spec.stop),
            };
            seqs.add(choice, Decoding::new(params), prefilled.clone());
            r.started += 1;
            if index % n == n - 1 {
                r.prompts[p].2 = None; // every choice of this prompt started
            }
        }
    }
}

/// Choose each sequence's next token; end (and report) the sequences that finished, drop every
/// sequence of a request whose client left, and report requests whose choices all finished.
fn choose(ckpt: &Checkpoint, running: &mut BTreeMap<u64, Running>, seqs: &mut DecodeBatch<Choice>) {
    let tok = &ckpt.tokenizer;
    let ended = seqs.choose(tok, |c, new_ids| {
        let Some(r) = running.get(&c.job) else {
            return false;
        };
        if r.events.is_closed() {
            return false;
        }
        if r.spec.stream
            && let Ok(text) = tok.decode(new_ids, true)
            && let Some(delta) = c.streamer.advance(&text)
        {
            r.send(Event::Delta {
                index: c.index,
                text: delta,
            });
        }
        true
    });
    let mut gone = Vec::new();
    for (mut c, result) in ended {
        if gone.contains(&c.job) {
            continue;
        }
        let Some(r) = running.get_mut(&c.job) else {
            continue;
        };
        let g = match result {
            Ok(g) => g,
            Err(e) => {
                r.send(Event::Failed(model_error(e, "prompt")));
                gone.push(c.job);
                continue;
            }
        };
        if g.stop_reason == StopReason::Cancelled {
            gone.push(c.job);
            continue;
        }
        if r.spec.stream
            && let Some(rest) = c.streamer.finish(&g.text)
        {
            r.send(Event::Delta {
                index: c.index,
                text: rest,
            });
        }
        r.usage.completion_tokens += g.new_ids.len();
        r.send(Event::Finished {
            index: c.index,
            text: g.text,
            reason: g.stop_reason,
        });
        r.finished += 1;
        if r.finished == r.total() {
            r.send(Event::Done(r.usage));
            gone.push(c.job);
        }
    }
    for key in gone {
        running.remove(&key);
    }
    seqs.retain(|c| running.contains_key(&c.job));
}

/// Encode and check every prompt, then generate every choice.
fn run_job(ckpt: &Checkpoint, job: Job) {
    let Job { spec, events } = job;
    let send = |e: Event| {
        let _ = events.send(e);
    };
    let prompts = match encode(ckpt, &spec) {
        Ok(p) => p,
        Err(e) => return send(Event::Failed(e)),
    };
    let mut usage = Usage {
        prompt_tokens: prompts.iter().map(|(ids, _)| ids.len()).sum(),
        completion_tokens: 0,
    };
    send(Event::Started);
    let base_seed = spec.seed.unwrap_or_else(rand::random);
    for (p, (ids, max_new_tokens)) in prompts.iter().enumerate() {
        for i in 0..spec.n {
            let index = p * spec.n + i;
            let params = SamplingParams {
                max_new_tokens: *max_new_tokens,
                temperature: spec.temperature,
                top_k: spec.top_k,
                top_p: spec.top_p,
                seed: base_seed.wrapping_add(index as u64),
                stop: spec.stop.clone(),
            };
            let mut streamer = Streamer::new(&spec.stop);
            let generation =
                rrtf_model::generate_with(&ckpt.model, &ckpt.tokenizer, ids, &params, |new_ids| {
                    if events.is_closed() {
                        return false;
                    }
                    if spec.stream
                        && let Ok(text) = ckpt.tokenizer.decode(new_ids, true)
                        && let Some(delta) = streamer.advance(&text)
                    {
                        send(Event::Delta { index, text: delta });
                    }
                    true
                });
            let g = match generation {
                Ok(g) => g,
                Err(e) => return send(Event::Failed(model_error(e, "prompt"))),
            };
            if g.stop_reason == StopReason::Cancelled {
                return;
            }
            if spec.stream
                && let Some(rest) = streamer.finish(&g.text)
            {
                send(Event::Delta { index, text: rest });
            }
            usage.completion_tokens += g.new_ids.len();
            send(Event::Finished {
                index,
                text: g.text,
                reason: g.stop_reason,
            });
        }
    }
    send(Event::Done(usage));
}

/// Each prompt's token ids and its `max_new_tokens`, or the first prompt's error.
fn encode(ckpt: &Checkpoint, spec: &GenSpec) -> Result<Vec<(Vec<u32>, usize)>, ApiError> {
    let ctx = ckpt.config.n_positions;
    let vocab = ckpt.config.vocab_size;
    let mut out = Vec::with_capacity(spec.prompts.len());
    for (i, prompt) in spec.prompts.iter().enumerate() {
        let param = if spec.prompts.len() == 1 {
            "prompt".to_owned()
        } else {
            format!("prompt[{i}]")
        };
        let ids = match prompt {
            PromptInput::Text(text) => {
                let text = match &spec.suffix {
                    Some(suffix) => ckpt
                        .tokenizer
                        .fim_prompt(text, suffix)
                        .map_err(|e| model_error(e, "suffix"))?,
                    None => text.clone(),
                };
                ckpt.tokenizer
                    .encode(&text)
                    .map_err(|e| model_error(e, &param))?
            }
            PromptInput::Ids(ids) => {
                if let Some(bad) = ids.iter().find(|&&id| id as usize >= vocab) {
                    return Err(ApiError::invalid(
                        param,
                        format!(
                            "token id {bad} is out of range: the vocabulary has {vocab} tokens"
                        ),
                    ));
                }
                ids.clone()
            }
        };
        if ids.is_empty() {
            return Err(ApiError::invalid(
                param,
                "the prompt encodes to no tokens: give a non-empty prompt",
            ));
        }
        let max_new = spec.max_tokens.unwrap_or(ctx.saturating_sub(ids.len()));
        if max_new == 0 || ids.len() + max_new > ctx {
            return Err(ApiError::invalid(
                if spec.max_tokens.is_some() { "max_tokens" } else { "messages" },
                format!(
                    "This model's maximum context length is {ctx} tokens. However, you requested {} tokens ({} in the prompt, {max_new} for the completion). Please reduce the prompt or max_tokens.",
                    ids.len() + max_new.max(1),
                    ids.len()
                ),
            )
            .with_code("context_length_exceeded"));
        }
        out.push((ids, max_new));
    }
    Ok(out)
}

fn model_error(e: ModelError, param: &str) -> ApiError {
    if rrtf_types::UserError::is_user_error(&e) {
        ApiError::invalid(param, e.to_string())
    } else {
        ApiError::internal(e.to_string())
    }
}

/// Turns the decoded text after each token into deltas that never need taking back: it holds
/// back a trailing replacement character (a split multi-byte character) and any tail that may
/// be the start of a stop string.
struct Streamer {
    stops: Vec<String>,
    sent: String,
}

impl Streamer {
    fn new(stops: &[String]) -> Self {
        Streamer {
            stops: stops.to_vec(),
            sent: String::new(),
        }
    }

    /// The new safe text of `text` (all tokens so far, decoded), if any.
    fn advance(&mut self, text: &str) -> Option<String> {
        let mut end = text.trim_end_matches('\u{FFFD}').len();
        for stop in &self.stops {
            if let Some(at) = text.find(stop.as_str()) {
                end = end.min(at);
            }
            // The longest tail of text[..end] that is a proper prefix of the stop string.
            let tail = (1..stop.len())
                .rev()
                .filter(|&k| stop.is_char_boundary(k) && k <= end)
                .find(|&k| text[..end].ends_with(&stop[..k]));
            if let Some(k) = tail {
                end -= k;
            }
        }
        self.emit(text, end)
    }

    /// What is left to send of the final text.
    fn finish(&mut self, text: &str) -> Option<String> {
        self.emit(text, text.len())
    }

    fn emit(&mut self, text: &str, end: usize) -> Option<String> {
        if end <= self.sent.len() || !text.starts_with(self.sent.as_str()) {
            if !text.starts_with(self.sent.as_str()) {
                tracing::warn!("decoded text changed under the stream; the rest is not sent");
            }
            return None;
        }
        let delta = text[self.sent.len()..end].to_owned();
        self.sent.push_str(&delta);
        Some(delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PromptInput;

    #[test]
    fn streamer_holds_back_stop_prefixes_and_split_characters() {
        let stops = vec!["\nUser:".to_owned()];
        let mut s = Streamer::new(&stops);
        let mut out = String::new();
        // (text after a token, what may be sent so far in total)
        for (text, sent) in [
            ("ab", "ab"),
            ("ab\n", "ab"),
            ("ab\nUs", "ab"),
            ("ab\nUx", "ab\nUx"),
            ("ab\nUx\u{FFFD}", "ab\nUx"),
            ("ab\nUxé", "ab\nUxé"),
            ("ab\nUxé\nUser: hi", "ab\nUxé"),
        ] {
            if let Some(d) = s.advance(text) {
                out.push_str(&d);
            }
            assert_eq!(out, sent, "after {text:?}");
        }
        assert_eq!(s.finish("ab\nUxé"), None);
        let mut s = Streamer::new(&[]);
        assert_eq!(s.advance("x"), Some("x".into()));
        assert_eq!(s.finish("xyz"), Some("yz".into()));
    }

    fn spec(prompt: &str, max_tokens: usize, n: usize, temperature: f32) -> GenSpec {
        GenSpec {
            prompts: vec![PromptInput::Text(prompt.into())],
            suffix: None,
            max_tokens: Some(max_tokens),
            temperature,
            top_p: 1.0,
            top_k: 0,
            n,
            stop: Vec::new(),
            seed: Some(7),
            stream: false,
            include_usage: false,
        }
    }

    /// Run `specs` through [`batched`] (queued before it starts, in order) with `max_batch`;
    /// each request's finished choices `(index, text, reason)`, and the counters.
    fn run_batched(
        ckpt: &Checkpoint,
        max_batch: usize,
        specs: &[GenSpec],
    ) -> (Vec<Vec<(usize, String, StopReason)>>, Stats) {
        let decoder = Decoder::packed(&ckpt.model).expect("the fixture decodes on the host");
        let (tx, rx) = mpsc::channel(specs.len());
        let mut receivers = Vec::new();
        for spec in specs {
            let (events, got) = mpsc::unbounded_channel();
            tx.try_send(Job {
                spec: spec.clone(),
                events,
            })
            .unwrap();
            receivers.push(got);
        }
        drop(tx);
        let stats = Stats::default();
        batched(ckpt, &decoder, max_batch, &stats, rx);
        let answers = receivers
            .into_iter()
            .map(|mut r| {
                let mut out = Vec::new();
                let mut done = false;
                while let Ok(e) = r.try_recv() {
                    match e {
                        Event::Finished {
                            index,
                            text,
                            reason,
                        } => out.push((index, text, reason)),
                        Event::Done(_) => done = true,
                        Event::Failed(e) => panic!("failed: {e:?}"),
                        _ => {}
                    }
                }
                assert!(done, "a request ended without Done");
                out.sort_by_key(|c| c.0);
                out
            })
            .collect();
        (answers, stats)
    }

    /// Requests queued together decode together; a short one that ends frees its place for the
    /// next while a long one keeps running (one step count proves it); and every answer, greedy
    /// or seeded sampling with several choices, is exactly the one it gets alone.
    #[test]
    fn requests_join_a_running_batch_and_answer_as_alone() {
        let dir = rrtf_model::fixtures_dir().join("mqa");
        let ckpt = Checkpoint::load(&dir, &rrtf_model::Device::flex()).unwrap();
        let (long, short) = (30, 5);
        let specs = [
            spec("def ", long, 1, 0.0),
            spec("import os\n", short, 1, 0.0),
            spec("x = [1, 2", short, 1, 0.0),
        ];
        let alone: Vec<_> = specs
            .iter()
            .map(|s| run_batched(&ckpt, 1, std::slice::from_ref(s)).0.remove(0))
            .collect();
        for (a, s) in alone.iter().zip(&specs) {
            assert_eq!(
                a[0].2,
                StopReason::MaxNewTokens,
                "the test needs {:?} to run its {} tokens",
                s.prompts,
                s.max_tokens.unwrap()
            );
        }
        let (together, stats) = run_batched(&ckpt, 2, &specs);
        assert_eq!(together, alone);
        // The first token of each comes from its prefill, the others from steps: the long
        // request's 29 steps carry both short ones (4 steps each, the second joining when the
        // first ends); waiting for the batch to empty would take 29 + 4.
        assert_eq!(stats.steps.load(Ordering::Relaxed), long as u64 - 1);
        assert_eq!(stats.peak.load(Ordering::Relaxed), 2);
        assert_eq!(
            stats.step_sequences.load(Ordering::Relaxed),
            (long - 1 + 2 * (short - 1)) as u64
        );

        // Several choices of one prompt share its prefill; sampled ones are reproducible per
        // seed whatever runs beside them.
        let specs = [
            spec("def ", 12, 3, 0.8),
            spec("import os\n", 9, 2, 0.0),
            spec("def ", 12, 1, 0.8),
        ];
        let alone: Vec<_> = specs
            .iter()
            .map(|s| run_batched(&ckpt, 1, std::slice::from_ref(s)).0.remove(0))
            .collect();
        let (together, stats) = run_batched(&ckpt, 16, &specs);
        assert_eq!(together, alone);
        assert_eq!(stats.peak.load(Ordering::Relaxed), 6);
        // Choice 0 of the 3-choice request and the 1-choice request share the seed.
        assert_eq!(together[0][0], together[2][0]);
    }

    /// A request whose client left stops at its next token, all its choices with it; the
    /// others go on.
    #[test]
    fn a_request_whose_client_left_stops_and_the_others_go_on() {
        let dir = rrtf_model::fixtures_dir().join("mqa");
        let ckpt = Checkpoint::load(&dir, &rrtf_model::Device::flex()).unwrap();
        let decoder = Decoder::packed(&ckpt.model).unwrap();
        let mut running = BTreeMap::new();
        let mut seqs = DecodeBatch::default();
        let (a_events, a) = mpsc::unbounded_channel();
        let (b_events, mut b) = mpsc::unbounded_channel();
        let jobs = [
            (spec("def ", 20, 3, 0.0), a_events),
            (spec("x = [1, 2", 20, 2, 0.0), b_events),
        ];
        for (key, (spec, events)) in jobs.into_iter().enumerate() {
            admit(&ckpt, Job { spec, events }, key as u64, &mut running);
        }
        fill(&decoder, &mut running, &mut seqs, 16);
        assert_eq!(seqs.len(), 5);
        choose(&ckpt, &mut running, &mut seqs);
        assert_eq!(seqs.len(), 5, "nothing ends after one token");
        seqs.step(&decoder);
        drop(a);
        choose(&ckpt, &mut running, &mut seqs);
        assert_eq!(running.keys().collect::<Vec<_>>(), [&1]);
        assert!(seqs.len() == 2 && seqs.keys().all(|c| c.job == 1));
        assert!(matches!(b.try_recv(), Ok(Event::Started)));
    }
}
