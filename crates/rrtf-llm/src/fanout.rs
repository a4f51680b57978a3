//! Keyed requests sent to one endpoint by a bounded fan-out that stops at the first fatal
//! rejection: the shape shared by every stage that asks a teacher (the [`crate::sampler`], per
//! endpoint; evolve's steps, `rrtf_evolve::evolve::run_step`; synth-tests' chunks in the
//! binary).
//!
//! The common shape:
//! 1. **Keyed request.** Each request gets its idempotency key ([`keyed`]: [`request_key`] over
//!    who answers, the rendered prompt, the parameters, the sample index and the round seed) and
//!    is sent with the seed derived from that key ([`request_seed`]), so a re-run asks exactly
//!    the same thing and the caller can skip what it already stored. [`Params::for_stage`] are
//!    the parameters of a stage that asks once per item (evolve, synth-tests).
//! 2. **Bounded fan-out.** [`FanOut::run`] dispatches jobs in order, at most `concurrency` in
//!    flight: a job waits for a [`Slot`], the caller's `admit` check may still refuse it (the
//!    sampler's budget reservation and Ctrl-C), and its task runs on the runtime holding the
//!    slot. A task may hand its slot on: the sampler passes it to its writer with the answer,
//!    so a slot is free again only once the answer is stored. Finished tasks' results reach the
//!    caller's `done` callback as they finish, while dispatch goes on.
//! 3. **Fatal-endpoint stop.** [`Slot::send`] notes an error that every further request would
//!    get ([`LlmError::is_fatal_for_endpoint`]: 401/403/404, the budget; and a request that
//!    could not connect in any of its attempts while no request to the endpoint has been
//!    answered, [`LlmError::is_unreachable`]: a server that is not running); after it no job is
//!    dispatched and no task sends again ([`SendError::Stopped`]); requests already in flight
//!    finish. The jobs never dispatched come back as [`Dispatched::unsent`], with why
//!    ([`Halt`]).
//!
//! A [`FanOut`] may run several batches (synth-tests runs one per chunk): its slots and its stop
//! carry over.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use rrtf_config::Endpoint;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    Answerer, Backend, GenRequest, Generation, LlmError, Params, Prompt, request_key, request_seed,
};

/// A request with its idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyed {
    /// [`request_key`] of the request (`seed` unset when keyed).
    pub key: String,
    /// The request as sent: `params.seed` is [`request_seed`] of the key.
    pub request: GenRequest,
}

/// Key a request and set the seed it is sent with. `params.seed` is ignored (the key is taken
/// over the parameters without a seed).
pub fn keyed(
    answerer: &Answerer,
    prompt: Prompt,
    mut params: Params,
    sample_index: u32,
    round_seed: u64,
) -> Keyed {
    params.seed = None;
    let key = request_key(answerer, &prompt, &params, sample_index, round_seed);
    params.seed = Some(request_seed(&key));
    Keyed {
        key,
        request: GenRequest { prompt, params },
    }
}

impl Params {
    /// The parameters of a stage that asks an endpoint once per item (evolve, synth-tests): its
    /// first temperature, its `top_p` and `max_tokens`, and only the stop sequences it sets.
    pub fn for_stage(endpoint: &Endpoint) -> Params {
        Params {
            temperature: endpoint.temperatures[0],
            top_p: endpoint.top_p,
            max_tokens: Some(endpoint.max_tokens),
            stop: endpoint.explicit_stop(),
            seed: None,
        }
    }
}

/// Bounded fan-out to one endpoint, stopped by the first fatal rejection.
pub struct FanOut {
    permits: Arc<Semaphore>,
    stop: Arc<Mutex<Option<String>>>,
    /// Some request to the endpoint was answered: it is reachable.
    answered: Arc<std::sync::atomic::AtomicBool>,
}

/// Why dispatch stopped before the last job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Halt<S> {
    /// A rejection every further request would get (the error's message).
    Endpoint(String),
    /// The caller's `admit` refused a job.
    Refused(S),
}

/// What [`FanOut::run`] did.
#[derive(Debug)]
pub struct Dispatched<J, S> {
    /// Jobs whose task ran.
    pub dispatched: u64,
    /// Jobs never dispatched, in order.
    pub unsent: Vec<J>,
    /// Why dispatch stopped early (`None` when every job was dispatched).
    pub halted: Option<Halt<S>>,
}

/// A place among the requests in flight, held by a task for as long as its request counts as
/// in flight (dropping it frees the place).
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    stop: Arc<Mutex<Option<String>>>,
    answered: Arc<std::sync::atomic::AtomicBool>,
}

/// Why [`Slot::send`] has no answer.
#[derive(Debug)]
pub enum SendError {
    /// Not sent: the endpoint stopped (the fatal error's message).
    Stopped(String),
    /// Sent (or refused before sending, see [`LlmError::not_sent`]) and failed.
    Failed(LlmError),
}

impl SendError {
    /// True when nothing reached the server.
    pub fn not_sent(&self) -> bool {
        match self {
            SendError::Stopped(_) => true,
            SendError::Failed(e) => e.not_sent(),
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Stopped(msg) => write!(f, "not sent, the endpoint stopped: {msg}"),
            SendError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SendError {}

impl rrtf_types::UserError for SendError {
    /// An endpoint stops on an error every request would get: a key, model or path the user
    /// configured, or the budget they set, all user errors ([`LlmError`]'s).
    fn is_user_error(&self) -> bool {
        match self {
            SendError::Stopped(_) => true,
            SendError::Failed(e) => rrtf_types::UserError::is_user_error(e),
        }
    }
}

impl Slot {
    /// Send `req` through `backend`, unless the endpoint has stopped. An error that every
    /// further request would get stops the endpoint.
    pub async fn send(
        &self,
        backend: &dyn Backend,
        req: &GenRequest,
    ) -> Result<Generation, SendError> {
        if let Some(msg) = self.stop.lock().expect("lock").clone() {
            return Err(SendError::Stopped(msg));
        }
        use std::sync::atomic::Ordering;
        let sent = backend.generate(req).await;
        match &sent {
            Ok(_) => self.answered.store(true, Ordering::Relaxed),
            Err(e) if e.is_fatal_for_endpoint() => {
                self.stop
                    .lock()
                    .expect("lock")
                    .get_or_insert_with(|| e.to_string());
            }
            Err(e) if e.is_unreachable() && !self.answered.load(Ordering::Relaxed) => {
                self.stop.lock().expect("lock").get_or_insert_with(|| {
                    format!(
                        "{e} (no request to it has been answered: is its server running at \
                         base_url?)"
                    )
                });
            }
            Err(_) => {}
        }
        sent.map_err(SendError::Failed)
    }
}

impl FanOut {
    /// At most `concurrency` (at least 1) requests in flight.
    pub fn new(concurrency: usize) -> FanOut {
        FanOut {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            stop: Arc::default(),
            answered: Arc::default(),
        }
    }

    /// The fatal error that stopped the endpoint, if one did.
    pub fn stopped(&self) -> Option<String> {
        self.stop.lock().expect("lock").clone()
    }

    /// Dispatch `jobs` in order: each waits for a [`Slot`]; then, unless the endpoint stopped
    /// or `admit` refuses it (which stops dispatch too), `task(job, admitted, slot)` is spawned.
    /// `done` gets each task's result as it finishes; `run` returns when every dispatched task
    /// has finished. A panic in a task is resumed here.
    pub async fn run<J, A, S, R, Fut>(
        &self,
        jobs: impl IntoIterator<Item = J>,
        mut admit: impl FnMut(&J) -> Result<A, S>,
        mut task: impl FnMut(J, A, Slot) -> Fut,
        mut done: impl FnMut(R),
    ) -> Dispatched<J, S>
    where
        Fut: Future<Output = R> + Send + 'static,
        R: Send + 'static,
    {
        let mut running = tokio::task::JoinSet::new();
        let finished = |r: Result<R, tokio::task::JoinError>, done: &mut dyn FnMut(R)| match r {
            Ok(r) => done(r),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let mut jobs = jobs.into_iter();
        let mut dispatched = 0;
        let mut halted = None;
        let mut unsent = Vec::new();
        for job in jobs.by_ref() {
            let permit = loop {
                tokio::select! {
                    biased;
                    Some(r) = running.join_next() => finished(r, &mut done),
                    p = self.permits.clone().acquire_owned() => break p.expect("never closed"),
                }
            };
            if let Some(msg) = self.stopped() {
                halted = Some(Halt::Endpoint(msg));
                unsent.push(job);
                break;
            }
            let admitted = match admit(&job) {
                Ok(a) => a,
                Err(s) => {
                    halted = Some(Halt::Refused(s));
                    unsent.push(job);
                    break;
                }
            };
            dispatched += 1;
            let slot = Slot {
                _permit: permit,
                stop: self.stop.clone(),
                answered: self.answered.clone(),
            };
            running.spawn(task(job, admitted, slot));
        }
        unsent.extend(jobs);
        while let Some(r) = running.join_next().await {
            finished(r, &mut done);
        }
        Dispatched {
            dispatched,
            unsent,
            halted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoxFuture;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Answers after 10 ms, counting requests in flight; rejects the prompt "500" with a 500 at
    /// once and "401" with a 401 after 5 ms.
    #[derive(Default)]
    struct Counting {
        in_flight: AtomicUsize,
        most: AtomicUsize,
        sent: AtomicUsize,
    }

    impl Backend for Counting {
        fn generate<'a>(
            &'a self,
            req: &'a GenRequest,
        ) -> BoxFuture<'a, Result<Generation, LlmError>> {
            Box::pin(async move {
                self.sent.fetch_add(1, Ordering::SeqCst);
                let Prompt::Text(t) = &req.prompt else {
                    panic!("text prompts")
                };
                let wait = match t.as_str() {
                    "500" => 0,
                    "401" => 5,
                    _ => 10,
                };
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                match t.as_str() {
                    "refused" => Err(LlmError::Exhausted {
                        endpoint: "e".into(),
                        attempts: 6,
                        elapsed: Duration::from_secs(15),
                        last: "connection failed: error sending request: Connection refused".into(),
                    }),
                    "401" | "500" => Err(LlmError::Rejected {
                        endpoint: "e".into(),
                        url: "u".into(),
                        status: t.parse().unwrap(),
                        message: format!("status {t}"),
                        hint: "",
                    }),
                    _ => Ok(Generation {
                        text: format!("answer to {t}"),
                        finish_reason: None,
                        prompt_tokens: None,
                        completion_tokens: None,
                        latency_ms: 10,
                        attempts: 1,
                    }),
                }
            })
        }
    }

    fn req(text: &str) -> GenRequest {
        GenRequest {
            prompt: Prompt::Text(text.into()),
            params: Params {
                temperature: 0.0,
                top_p: None,
                max_tokens: Some(8),
                stop: vec![],
                seed: None,
            },
        }
    }

    /// Sends every job with the slot it was given and returns (job, answer or error).
    async fn fan(
        fan: &FanOut,
        backend: &Arc<Counting>,
        texts: &[&str],
    ) -> (
        Vec<(usize, Result<String, String>)>,
        Dispatched<usize, Infallible>,
    ) {
        let mut done = Vec::new();
        let reqs: Vec<GenRequest> = texts.iter().map(|t| req(t)).collect();
        let out = fan
            .run(
                0..texts.len(),
                |_| Ok::<(), Infallible>(()),
                |i, (), slot| {
                    let (backend, req) = (backend.clone(), reqs[i].clone());
                    async move {
                        let r = slot.send(&*backend, &req).await;
                        (i, r.map(|g| g.text).map_err(|e| e.to_string()))
                    }
                },
                |r| done.push(r),
            )
            .await;
        done.sort_by_key(|d| d.0);
        (done, out)
    }

    #[tokio::test]
    async fn at_most_concurrency_requests_are_in_flight_and_every_job_is_answered() {
        let backend = Arc::new(Counting::default());
        let texts: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (done, out) = fan(&FanOut::new(3), &backend, &texts).await;
        assert_eq!(out.dispatched, 12);
        assert!(out.unsent.is_empty() && out.halted.is_none());
        assert_eq!(done.len(), 12);
        assert_eq!(done[4], (4, Ok("answer to 4".into())));
        assert_eq!(backend.most.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_fatal_rejection_stops_dispatch_and_the_rest_comes_back_unsent() {
        let backend = Arc::new(Counting::default());
        // Two in flight: the 500 (which fails its request only) comes back at once and frees
        // its slot for job 2; the 401 comes back before job 2's answer, and job 3, waiting for
        // a slot, finds the endpoint stopped.
        let texts = ["500", "401", "a", "b", "c", "d"];
        let f = FanOut::new(2);
        let (done, out) = fan(&f, &backend, &texts).await;
        let Some(Halt::Endpoint(msg)) = &out.halted else {
            panic!("stopped by the endpoint: {:?}", out.halted)
        };
        assert!(msg.contains("status 401"), "{msg}");
        assert_eq!(f.stopped().as_deref(), Some(msg.as_str()));
        assert_eq!(out.dispatched, 3);
        assert_eq!(out.unsent, vec![3, 4, 5]);
        assert_eq!(backend.sent.load(Ordering::SeqCst), 3);
        assert!(done[0].1.as_ref().unwrap_err().contains("status 500"));
        assert!(done[1].1.as_ref().unwrap_err().contains("status 401"));
        assert_eq!(done[2].1, Ok("answer to a".into()), "in flight: answered");
        // A later batch on the same fan-out sends nothing.
        let (done, out) = fan(&f, &backend, &["x", "y"]).await;
        assert!(done.is_empty());
        assert_eq!((out.dispatched, out.unsent), (0, vec![0, 1]));
        assert_eq!(backend.sent.load(Ordering::SeqCst), 3);
    }

    /// A server that is not running: the first request that cannot connect in any attempt
    /// stops the endpoint (the rest would each retry for as long, to the same end), unless a
    /// request to it was answered before (then it is a restart, waited for request by request).
    #[tokio::test]
    async fn an_endpoint_that_never_answered_and_cannot_be_reached_stops() {
        let backend = Arc::new(Counting::default());
        let f = FanOut::new(1);
        let (done, out) = fan(&f, &backend, &["refused", "a", "b"]).await;
        let Some(Halt::Endpoint(msg)) = &out.halted else {
            panic!("stopped by the endpoint: {:?}", out.halted)
        };
        assert!(
            msg.contains("Connection refused") && msg.contains("is its server running"),
            "{msg}"
        );
        assert_eq!((out.dispatched, out.unsent), (1, vec![1, 2]));
        assert_eq!(done.len(), 1);

        let backend = Arc::new(Counting::default());
        let f = FanOut::new(1);
        let (done, out) = fan(&f, &backend, &["a", "refused", "b"]).await;
        assert!(
            out.halted.is_none() && out.unsent.is_empty(),
            "{:?}",
            out.halted
        );
        assert_eq!(done[2], (2, Ok("answer to b".into())));
        assert!(f.stopped().is_none());
    }

    #[tokio::test]
    async fn a_task_that_sends_after_the_stop_is_told_so_and_admit_can_refuse() {
        let backend = Arc::new(Counting::default());
        let f = FanOut::new(4);
        // Job 0 is rejected with a 401; job 1 waits for it before sending (a second request of
        // a running task, as evolve's judge).
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut tx = Some(tx);
        let mut rx = Some(rx);
        let mut results = Vec::new();
        let out = f
            .run(
                0..2,
                |_| Ok::<(), Infallible>(()),
                |i, (), slot| {
                    let backend = backend.clone();
                    let (tx, rx) = if i == 0 {
                        (tx.take(), None)
                    } else {
                        (None, rx.take())
                    };
                    async move {
                        if i == 0 {
                            let r = slot.send(&*backend, &req("401")).await;
                            tx.unwrap().send(()).unwrap();
                            r.map(|_| ())
                        } else {
                            rx.unwrap().await.unwrap();
                            slot.send(&*backend, &req("late")).await.map(|_| ())
                        }
                    }
                },
                |r| results.push(r),
            )
            .await;
        assert_eq!(out.dispatched, 2);
        let stopped: Vec<&SendError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(stopped.len(), 2);
        let late = stopped
            .iter()
            .find(|e| matches!(e, SendError::Stopped(_)))
            .expect("the late send is refused");
        assert!(late.not_sent());
        assert!(
            late.to_string()
                .starts_with("not sent, the endpoint stopped: ")
        );
        assert_eq!(backend.sent.load(Ordering::SeqCst), 1);

        // `admit` refuses the third job: dispatch stops there, with its reason.
        let f = FanOut::new(1);
        let out = f
            .run(
                0..5,
                |&i| if i < 2 { Ok(i * 10) } else { Err("budget") },
                |_, a, _slot| async move { a },
                |_| {},
            )
            .await;
        assert_eq!(out.dispatched, 2);
        assert_eq!(out.unsent, vec![2, 3, 4]);
        assert_eq!(out.halted, Some(Halt::Refused("budget")));
        assert_eq!(f.stopped(), None);
    }

    #[test]
    fn keyed_requests_carry_the_seed_of_their_key() {
        let endpoint: Endpoint = toml::from_str(
            "name = \"t\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\n\
             temperatures = [0.2, 0.8]\nstop = [\"END\"]\n",
        )
        .unwrap();
        let answerer = Answerer::of(&endpoint).unwrap();
        let params = Params::for_stage(&endpoint);
        assert_eq!(
            (
                params.temperature,
                params.max_tokens,
                params.stop.clone(),
                params.seed
            ),
            (0.2, Some(endpoint.max_tokens), vec!["END".to_owned()], None)
        );
        let prompt = Prompt::Text("p".into());
        let k = keyed(&answerer, prompt.clone(), params.clone(), 1, 7);
        assert_eq!(k.key, request_key(&answerer, &prompt, &params, 1, 7));
        assert_eq!(k.request.params.seed, Some(request_seed(&k.key)));
        // A seed already set does not enter the key.
        let seeded = Params {
            seed: Some(99),
            ..params.clone()
        };
        assert_eq!(keyed(&answerer, prompt.clone(), seeded, 1, 7), k);
        assert_ne!(keyed(&answerer, prompt, params, 2, 7).key, k.key);
    }
}
