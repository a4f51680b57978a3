//! The sampler with fake backends (no HTTP): exactly-once planning, the stored-before-release
//! bound on requests in flight, budget and fatal-rejection stops.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rrtf_config::Endpoint;
use rrtf_llm::render::TaskKind;
use rrtf_llm::sampler::{Answer, Failure, Lane, Sink, SinkError, Stopped, Task, plan, run};
use rrtf_llm::{Backend, BoxFuture, Budget, GenRequest, Generation, Ledger, LlmError};
use rrtf_types::UserError;

fn endpoint(name: &str, temps: &[f64], samples: u32) -> Endpoint {
    let mut e: Endpoint = toml::from_str(&format!(
        "name = \"{name}\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m-{name}\"\n"
    ))
    .unwrap();
    e.temperatures = temps.to_vec();
    e.samples = samples;
    e.max_tokens = 100;
    e
}

fn tasks(n: i64) -> Vec<Task> {
    (0..n)
        .map(|i| Task {
            prompt_id: i,
            kind: if i % 2 == 0 {
                TaskKind::Completion
            } else {
                TaskKind::Instruction
            },
            text: format!("def f{i}():\n"),
            language: "python".into(),
        })
        .collect()
}

/// Answers after `delay`, or fails with `fail(request number)`; counts what it was sent.
struct Fake {
    delay: Duration,
    fail: Box<dyn Fn(u64) -> Option<LlmError> + Send + Sync>,
    sent: AtomicU64,
    /// Shared by every fake and the sink: requests sent by all lanes, and settled (stored or
    /// failed).
    all: Arc<Counters>,
    max_unstored: AtomicU64,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    settled: AtomicU64,
}

impl Fake {
    fn new(delay_ms: u64, all: Arc<Counters>) -> Fake {
        Fake {
            delay: Duration::from_millis(delay_ms),
            fail: Box::new(|_| None),
            sent: AtomicU64::new(0),
            all,
            max_unstored: AtomicU64::new(0),
        }
    }
}

impl Backend for Fake {
    fn generate<'a>(&'a self, req: &'a GenRequest) -> BoxFuture<'a, Result<Generation, LlmError>> {
        Box::pin(async move {
            let n = self.sent.fetch_add(1, Ordering::SeqCst);
            let sent_all = self.all.sent.fetch_add(1, Ordering::SeqCst) + 1;
            let unstored = sent_all - self.all.settled.load(Ordering::SeqCst);
            self.max_unstored.fetch_max(unstored, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            if let Some(e) = (self.fail)(n) {
                self.all.settled.fetch_add(1, Ordering::SeqCst); // not in flight any more
                return Err(e);
            }
            Ok(Generation {
                text: format!("seed {}", req.params.seed.unwrap()),
                finish_reason: Some("stop".into()),
                prompt_tokens: Some(10),
                completion_tokens: Some(90),
                latency_ms: 1,
                attempts: 1,
            })
        })
    }
}

#[derive(Default)]
struct VecSink {
    rows: Arc<Mutex<Vec<Answer>>>,
    failures: Vec<Failure>,
    all: Arc<Counters>,
    batches: u64,
}

impl Sink for VecSink {
    fn store<'a>(
        &'a mut self,
        batch: &'a [Answer],
        failures: &'a [Failure],
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(2)).await; // a write takes time
            self.rows.lock().unwrap().extend_from_slice(batch);
            self.failures.extend_from_slice(failures);
            self.all
                .settled
                .fetch_add(batch.len() as u64, Ordering::SeqCst);
            self.batches += 1;
            Ok(())
        })
    }
}

fn lane(name: &str, backend: Arc<dyn Backend>, concurrency: usize, price: f64) -> Lane {
    Lane {
        name: name.into(),
        model: format!("{name}-model"),
        backend,
        concurrency,
        price_per_1k_input: price,
        price_per_1k_output: price,
    }
}

#[test]
fn plan_has_every_combination_once_with_distinct_keys() {
    let eps = [endpoint("a", &[0.2, 0.8], 3), endpoint("b", &[0.2], 2)];
    let jobs = plan(&tasks(5), &eps, 1).unwrap();
    assert_eq!(jobs.len(), 5 * (2 * 3 + 2));
    let combos: HashSet<_> = jobs
        .iter()
        .map(|j| {
            (
                j.prompt_id,
                j.endpoint,
                j.temperature.to_bits(),
                j.sample_index,
            )
        })
        .collect();
    assert_eq!(combos.len(), jobs.len());
    let keys: HashSet<_> = jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(keys.len(), jobs.len());
    // Planning again gives the same keys (the resume contract) and another seed other keys.
    let again: Vec<_> = plan(&tasks(5), &eps, 1)
        .unwrap()
        .into_iter()
        .map(|j| j.key)
        .collect();
    assert_eq!(
        again,
        jobs.iter().map(|j| j.key.clone()).collect::<Vec<_>>()
    );
    assert!(
        plan(&tasks(5), &eps, 2)
            .unwrap()
            .iter()
            .all(|j| !keys.contains(j.key.as_str()))
    );
}

#[tokio::test]
async fn every_job_is_stored_once_and_unstored_requests_never_exceed_concurrency() {
    let eps = [endpoint("a", &[0.2, 0.8], 2), endpoint("b", &[0.2], 3)];
    let jobs = plan(&tasks(20), &eps, 0).unwrap();
    let n = jobs.len();
    let mut sink = VecSink::default();
    let fa = Arc::new(Fake::new(3, sink.all.clone()));
    let fb = Arc::new(Fake::new(1, sink.all.clone()));
    let lanes = [lane("a", fa.clone(), 4, 0.0), lane("b", fb.clone(), 3, 0.0)];
    let ledger = Arc::new(Ledger::default());
    let done = AtomicU64::new(0);
    let reports = run(
        &lanes,
        jobs,
        Arc::new(Budget::new(None, 0.0)),
        ledger.clone(),
        Arc::new(AtomicBool::new(false)),
        &mut sink,
        &|k| {
            done.fetch_add(k, Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    let rows = sink.rows.lock().unwrap();
    assert_eq!(rows.len(), n);
    assert_eq!(rows.iter().map(|a| &a.key).collect::<HashSet<_>>().len(), n);
    assert_eq!(done.load(Ordering::Relaxed), n as u64);
    assert!(
        sink.batches > 1,
        "answers are stored as they arrive, not at the end"
    );
    assert_eq!(reports["a"].stored, 20 * 4);
    assert_eq!(reports["b"].stored, 20 * 3);
    // Both lanes share one writer: the bound is the sum of concurrencies.
    let worst = fa
        .max_unstored
        .load(Ordering::SeqCst)
        .max(fb.max_unstored.load(Ordering::SeqCst));
    assert!(
        worst <= 4 + 3,
        "{worst} requests were sent and not stored at once"
    );
    let stats = ledger.snapshot();
    assert_eq!((stats["a"].received, stats["a"].prompt_tokens), (80, 800));
}

#[tokio::test]
async fn budget_stops_cleanly_and_keeps_what_arrived() {
    // Worst case per request: (8/4 prompt + 100 max) tokens at $1/1k = $0.102; real: $0.1.
    let eps = [endpoint("a", &[0.2], 1)];
    let jobs = plan(&tasks(10), &eps, 0).unwrap();
    let mut sink = VecSink::default();
    let fake = Arc::new(Fake::new(1, sink.all.clone()));
    let budget = Arc::new(Budget::new(Some(0.5), 0.0));
    let reports = run(
        &[lane("a", fake, 1, 1.0)],
        jobs,
        budget.clone(),
        Arc::new(Ledger::default()),
        Arc::new(AtomicBool::new(false)),
        &mut sink,
        &|_| {},
    )
    .await
    .unwrap();
    let r = &reports["a"];
    assert_eq!(r.stopped, Some(Stopped::Budget));
    assert_eq!((r.stored, r.unsent), (4, 6), "{r:?}");
    assert!(budget.spent() <= 0.5 + 1e-9, "spent {}", budget.spent());
    assert_eq!(sink.rows.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn an_auth_rejection_stops_the_endpoint_and_other_failures_are_counted() {
    let eps = [endpoint("bad", &[0.2], 1), endpoint("flaky", &[0.2], 1)];
    let jobs = plan(&tasks(30), &eps, 0).unwrap();
    let mut sink = VecSink::default();
    let mut bad = Fake::new(1, sink.all.clone());
    bad.fail = Box::new(|_| {
        Some(LlmError::Rejected {
            endpoint: "bad".into(),
            url: "u".into(),
            status: 401,
            message: "invalid key".into(),
            hint: "",
        })
    });
    let mut flaky = Fake::new(1, sink.all.clone());
    flaky.fail = Box::new(|n| {
        (n % 3 == 0).then(|| LlmError::Exhausted {
            endpoint: "flaky".into(),
            attempts: 6,
            elapsed: Duration::ZERO,
            last: "HTTP 500".into(),
        })
    });
    let bad = Arc::new(bad);
    let reports = run(
        &[
            lane("bad", bad.clone(), 2, 0.0),
            lane("flaky", Arc::new(flaky), 2, 0.0),
        ],
        jobs,
        Arc::new(Budget::new(None, 0.0)),
        Arc::new(Ledger::default()),
        Arc::new(AtomicBool::new(false)),
        &mut sink,
        &|_| {},
    )
    .await
    .unwrap();
    let b = &reports["bad"];
    assert!(
        matches!(&b.stopped, Some(Stopped::Endpoint(m)) if m.contains("invalid key")),
        "{b:?}"
    );
    assert!(
        bad.sent.load(Ordering::SeqCst) <= 3,
        "stopped after the in-flight requests"
    );
    assert_eq!(b.unsent + b.sent, 30);
    let f = &reports["flaky"];
    assert_eq!((f.sent, f.failed, f.stored, f.unsent), (30, 10, 20, 0));
    assert!(f.first_error.as_deref().unwrap().contains("HTTP 500"));
    // Every failure reaches the sink (for the ledger) with its request's key and attempts.
    let flaky: Vec<_> = sink
        .failures
        .iter()
        .filter_map(|f| f.record.as_ref())
        .filter(|r| r.teacher == "flaky")
        .collect();
    assert_eq!(flaky.len(), 10);
    assert!(flaky.iter().all(|r| r.model == "flaky-model"
        && r.attempts == Some(6)
        && r.cost_usd == 0.0
        && r.error.as_deref().unwrap().starts_with("exhausted: ")
        && r.key.len() == 64));
    let bad_failures = sink
        .failures
        .iter()
        .filter(|f| f.record.as_ref().is_some_and(|r| r.teacher == "bad"))
        .count() as u64;
    assert_eq!(bad_failures, b.failed);
}

#[tokio::test]
async fn the_stop_flag_stops_dispatching_and_keeps_answers_in_flight() {
    let eps = [endpoint("a", &[0.2], 1)];
    let jobs = plan(&tasks(50), &eps, 0).unwrap();
    let mut sink = VecSink::default();
    let fake = Arc::new(Fake::new(2, sink.all.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let reports = run(
        &[lane("a", fake.clone(), 2, 0.0)],
        jobs,
        Arc::new(Budget::new(None, 0.0)),
        Arc::new(Ledger::default()),
        stop,
        &mut sink,
        &move |_| s.store(true, Ordering::Relaxed), // stop after the first batch
    )
    .await
    .unwrap();
    let r = &reports["a"];
    assert_eq!(r.stopped, Some(Stopped::Interrupted));
    assert!(r.unsent > 0);
    assert_eq!(r.stored, r.sent, "every request sent was stored");
    assert_eq!(
        sink.rows.lock().unwrap().len() as u64,
        fake.sent.load(Ordering::SeqCst)
    );
}

/// Issue 15 point 11: no request leaves `max_tokens` to the server's default (16 for OpenAI's
/// completions, vLLM and `rrtf serve`), and completion endpoints stop where Codex did.
#[test]
fn every_request_has_max_tokens_and_completion_endpoints_stop_like_codex() {
    let parse = |extra: &str| -> Endpoint {
        toml::from_str(&format!(
            "name = \"s\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\n{extra}"
        ))
        .unwrap()
    };
    let codex: Vec<String> = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
        .map(String::from)
        .to_vec();
    let student = parse("kind = \"completion\"\n");
    let chat = parse("kind = \"chat\"\n");
    let explicit = parse("kind = \"completion\"\nstop = [\"\\n\\n\"]\nmax_tokens = 300\n");
    for (ep, completion_stop, instruction_stop, max_tokens) in [
        (
            &student,
            codex.clone(),
            rrtf_config::INSTRUCTION_STOP
                .iter()
                .map(|s| s.to_string())
                .collect(),
            1024,
        ),
        (&chat, vec![], vec![], 1024),
        (&explicit, vec!["\n\n".into()], vec!["\n\n".into()], 300),
    ] {
        let jobs = plan(&tasks(2), std::slice::from_ref(ep), 0).unwrap();
        assert_eq!(jobs.len(), 2);
        for j in &jobs {
            assert_eq!(j.request.params.max_tokens, Some(max_tokens), "{}", ep.name);
        }
        // tasks(2): prompt 0 is completion-kind, prompt 1 an instruction.
        assert_eq!(jobs[0].request.params.stop, completion_stop);
        assert_eq!(jobs[1].request.params.stop, instruction_stop);
    }
}

/// Issue 15 point 12: the key names what answers: the URL of a server, the content of a
/// checkpoint served locally (new weights behind the same name are new requests).
#[test]
fn keys_follow_the_url_and_the_weights_behind_an_endpoint_name() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("student");
    std::fs::create_dir(&ck).unwrap();
    std::fs::write(ck.join("config.json"), "{\"n_positions\": 2048}").unwrap();
    std::fs::write(ck.join("model.safetensors"), "round 0 weights").unwrap();
    let local: Endpoint = toml::from_str(&format!(
        "name = \"student\"\nmodel = \"m\"\nkind = \"completion\"\nlocal_model = \"{}\"\n",
        ck.display()
    ))
    .unwrap();
    let keys = |ep: &Endpoint| -> Vec<String> {
        plan(&tasks(3), std::slice::from_ref(ep), 0)
            .unwrap()
            .into_iter()
            .map(|j| j.key)
            .collect()
    };
    let before = keys(&local);
    assert_eq!(keys(&local), before, "same weights, same requests");
    std::fs::write(ck.join("model.safetensors"), "round 1 weights, trained").unwrap();
    let after = keys(&local);
    assert!(
        after.iter().all(|k| !before.contains(k)),
        "new weights, new requests"
    );
    // Layout 1 is offered only for a server URL, never for a local checkpoint.
    assert!(
        plan(&tasks(3), std::slice::from_ref(&local), 0)
            .unwrap()
            .iter()
            .all(|j| j.legacy_key.is_none())
    );

    let a = endpoint("t", &[0.2], 1);
    let mut b = a.clone();
    b.base_url = "http://127.0.0.1:2/v1".into();
    let (ka, kb) = (keys(&a), keys(&b));
    assert!(
        ka.iter().all(|k| !kb.contains(k)),
        "another server, new requests"
    );
    let legacy: Vec<_> = plan(&tasks(3), std::slice::from_ref(&a), 0)
        .unwrap()
        .into_iter()
        .map(|j| j.legacy_key.expect("a base_url endpoint"))
        .collect();
    let legacy_b: Vec<_> = plan(&tasks(3), std::slice::from_ref(&b), 0)
        .unwrap()
        .into_iter()
        .map(|j| j.legacy_key.unwrap())
        .collect();
    assert_eq!(legacy, legacy_b, "layout 1 did not name the URL");

    // An unreadable checkpoint is an error naming it, before anything is planned.
    let mut gone = local.clone();
    gone.local_model = Some(dir.path().join("missing"));
    let err = plan(&tasks(1), std::slice::from_ref(&gone), 0).unwrap_err();
    assert!(
        err.to_string().contains("missing") && err.is_user_error(),
        "{err}"
    );
}
