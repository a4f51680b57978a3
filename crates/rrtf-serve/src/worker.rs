//! The model thread: it owns the checkpoint and answers jobs from a bounded queue, one at a
//! time, so CPU-bound generation never runs on the async runtime (burn already spreads one
//! job's matrix products over the cores). A job reports through a channel of [`Event`]s; when
//! the request's receiver is gone (the client left), its generation stops at the next token.
//!
//! Not here: batching of concurrent requests (jobs run one after another).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use rrtf_model::{Checkpoint, ModelError, SamplingParams, StopReason};
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
}

/// The handle to the model thread. Dropping every handle ends the thread after its job.
#[derive(Clone, Debug)]
pub struct Worker {
    jobs: mpsc::Sender<Job>,
    queue: usize,
    pub info: ModelInfo,
}

impl Worker {
    /// Start the thread, load `dir` in it on `device` (`None`: the build's default) and wait
    /// until the model is ready.
    pub async fn start(
        dir: PathBuf,
        queue: usize,
        device: Option<String>,
    ) -> Result<Worker, ServeError> {
        let (jobs, rx) = mpsc::channel(queue.max(1));
        let (ready, loaded) = oneshot::channel();
        std::thread::Builder::new()
            .name("rrtf-serve-model".into())
            .spawn(move || run(dir, device, ready, rx))
            .map_err(|e| ServeError::Worker(e.to_string()))?;
        let info = loaded
            .await
            .map_err(|_| ServeError::Worker("it ended while loading the model".into()))??;
        Ok(Worker { jobs, queue, info })
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
    dir: PathBuf,
    device: Option<String>,
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
    let ckpt = match Checkpoint::load(&dir, &device) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let info = ModelInfo {
        n_positions: ckpt.config.n_positions,
    };
    if ready.send(Ok(info)).is_err() {
        return;
    }
    while let Some(job) = jobs.blocking_recv() {
        if job.events.is_closed() {
            continue; // the client left while the job waited
        }
        let events = job.events.clone();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run_job(&ckpt, job))) {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            tracing::error!(panic = %what, "generation panicked");
            let _ = events.send(Event::Failed(ApiError::internal(format!(
                "generation failed: {what}"
            ))));
        }
    }
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
struct Streamer<'a> {
    stops: &'a [String],
    sent: String,
}

impl<'a> Streamer<'a> {
    fn new(stops: &'a [String]) -> Self {
        Streamer {
            stops,
            sent: String::new(),
        }
    }

    /// The new safe text of `text` (all tokens so far, decoded), if any.
    fn advance(&mut self, text: &str) -> Option<String> {
        let mut end = text.trim_end_matches('\u{FFFD}').len();
        for stop in self.stops {
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
}
