//! Client throughput against a local server that answers every request after 200 ms.
//!
//! `cargo bench -p rrtf-llm --bench throughput`: 1,000 requests at concurrency 32 through the
//! real client (reqwest over TCP on 127.0.0.1), twice: the bare client under a semaphore, and
//! the whole sampler (planning keys, dispatch, budget, ledger, a sink that discards).
//! Reference: the ideal rate, concurrency / latency = 160 requests/s; the target is >= 90% of
//! it. The client's own overhead per request is the mean observed latency minus the server's
//! 200 ms (it includes tokio's 1 ms timer granularity in the server's sleep).
//! Under `cargo test` it runs 64 requests with 20 ms latency as a smoke test, and checks nothing
//! about time.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rrtf_config::{Endpoint, EndpointKind};
use rrtf_llm::render::TaskKind;
use rrtf_llm::sampler::{self, Answer, Failure, Lane, Sink, SinkError, Task};
use rrtf_llm::testserver::{TestServer, echo};
use rrtf_llm::{Backend, BoxFuture, Budget, HttpBackend, Ledger, RetryPolicy};
use tokio::sync::Semaphore;

const TARGET: f64 = 0.90;

struct Discard;
impl Sink for Discard {
    fn store<'a>(
        &'a mut self,
        _: &'a [Answer],
        _: &'a [Failure],
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
}

fn endpoint(url: &str, concurrency: u32, samples: u32) -> Endpoint {
    let mut e: Endpoint = toml::from_str(&format!(
        "name = \"bench\"\nbase_url = \"{url}\"\nmodel = \"m\"\n"
    ))
    .unwrap();
    e.kind = EndpointKind::Completion;
    e.concurrency = concurrency;
    e.samples = samples;
    e.max_tokens = 128;
    e
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (n, latency) = if bench { (1_000u32, 200u64) } else { (64, 20) };
    let concurrency = 32u32;
    let server = TestServer::start(echo(Duration::from_millis(latency))).await;
    let ep = endpoint(&server.url(), concurrency, n / 8);
    let backend = Arc::new(HttpBackend::with_key(&ep, None, RetryPolicy::default()).unwrap());
    let ideal = f64::from(concurrency) / (latency as f64 / 1000.0);

    // Warm the connection pool (as a long run would be), then measure.
    let tasks: Vec<Task> = (0..8)
        .map(|i| Task {
            prompt_id: i,
            kind: TaskKind::Completion,
            text: format!("def f{i}(x):\n    \"\"\"Return x plus {i}.\"\"\"\n"),
            language: "python".into(),
        })
        .collect();
    let jobs = sampler::plan(&tasks, std::slice::from_ref(&ep), 0).unwrap();
    assert_eq!(jobs.len(), n as usize);
    let permits = Arc::new(Semaphore::new(concurrency as usize));
    let run_bare = |jobs: Vec<sampler::Job>| {
        let (backend, permits) = (backend.clone(), permits.clone());
        async move {
            let mut set = tokio::task::JoinSet::new();
            for job in jobs {
                let permit = permits.clone().acquire_owned().await.unwrap();
                let backend = backend.clone();
                set.spawn(async move {
                    let t = Instant::now();
                    backend.generate(&job.request).await.expect("answer");
                    drop(permit);
                    t.elapsed()
                });
            }
            let mut total = Duration::ZERO;
            while let Some(d) = set.join_next().await {
                total += d.unwrap();
            }
            total
        }
    };
    run_bare(jobs[..concurrency as usize].to_vec()).await;

    let t = Instant::now();
    let sum_latency = run_bare(jobs.clone()).await;
    let bare_secs = t.elapsed().as_secs_f64();
    let bare_rate = f64::from(n) / bare_secs;
    let overhead_us = (sum_latency.as_secs_f64() / f64::from(n) - latency as f64 / 1000.0) * 1e6;

    let lane = Lane {
        name: "bench".into(),
        model: "m".into(),
        backend: backend.clone() as Arc<dyn Backend>,
        concurrency: concurrency as usize,
        price_per_1k_input: 0.001,
        price_per_1k_output: 0.002,
    };
    let t = Instant::now();
    let reports = sampler::run(
        std::slice::from_ref(&lane),
        jobs,
        Arc::new(Budget::new(None, 0.0)),
        Arc::new(Ledger::default()),
        Arc::new(AtomicBool::new(false)),
        &mut Discard,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(reports["bench"].stored, u64::from(n));
    let sampler_rate = f64::from(n) / t.elapsed().as_secs_f64();

    println!(
        "client throughput: {n} requests, concurrency {concurrency}, server latency {latency} ms; \
         ideal {ideal:.1} req/s"
    );
    println!(
        "  bare client: {bare_rate:.1} req/s = {:.3} of ideal; client overhead {overhead_us:.0} us/request",
        bare_rate / ideal
    );
    println!(
        "  sampler:     {sampler_rate:.1} req/s = {:.3} of ideal",
        sampler_rate / ideal
    );
    if bench {
        let worst = bare_rate.min(sampler_rate) / ideal;
        println!(
            "  target >= {TARGET:.2} of ideal: {}",
            if worst >= TARGET { "met" } else { "MISSED" }
        );
        if worst < TARGET {
            std::process::exit(1);
        }
    }
}
