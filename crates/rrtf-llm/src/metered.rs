//! [`Metered`]: a [`Backend`] wrapper that reserves each request's worst-case cost in a
//! [`Budget`] before sending it and reports every request sent as a [`RequestRecord`] when it
//! completes (answered or failed for good), for the caller to store in its ledger. The stages
//! that call a backend directly (evolve, synth-tests) go through it, so their spend counts
//! against the same round budget as sampling's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    Answerer, Backend, BoxFuture, Budget, GenRequest, Generation, LlmError, cost_usd, request_key,
};

/// One request sent, as it ended. Never holds an API key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestRecord {
    /// The endpoint's name in the round config.
    pub teacher: String,
    /// The model name sent to the server.
    pub model: String,
    /// The request's idempotency key.
    pub key: String,
    /// `None` when answered; the error (label: message) when it failed for good.
    pub error: Option<String>,
    pub attempts: Option<u32>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub cost_usd: f64,
    pub latency_ms: u64,
}

impl RequestRecord {
    /// The record of an answered request.
    pub fn answered(teacher: &str, model: &str, key: &str, g: &Generation, cost: f64) -> Self {
        RequestRecord {
            teacher: teacher.to_owned(),
            model: model.to_owned(),
            key: key.to_owned(),
            error: None,
            attempts: Some(g.attempts.max(1)),
            prompt_tokens: g.prompt_tokens,
            completion_tokens: g.completion_tokens,
            cost_usd: cost,
            latency_ms: g.latency_ms,
        }
    }

    /// The record of a request that failed for good (`None` when it was never sent).
    pub fn failed(
        teacher: &str,
        model: &str,
        key: &str,
        e: &LlmError,
        latency_ms: u64,
    ) -> Option<Self> {
        (!e.not_sent()).then(|| RequestRecord {
            teacher: teacher.to_owned(),
            model: model.to_owned(),
            key: key.to_owned(),
            error: Some(format!("{}: {e}", e.label())),
            attempts: e.attempts(),
            prompt_tokens: None,
            completion_tokens: None,
            cost_usd: 0.0,
            latency_ms,
        })
    }
}

/// The cost of an answer: the usage the server reported, or the estimates when it reported
/// none (prompt: the request's estimate; answer: 4 characters a token), so a cap still holds.
pub fn answer_cost(g: &Generation, est_prompt: u64, per_1k_in: f64, per_1k_out: f64) -> f64 {
    cost_usd(
        g.prompt_tokens.unwrap_or(est_prompt),
        g.completion_tokens
            .unwrap_or(g.text.len().div_ceil(4) as u64),
        per_1k_in,
        per_1k_out,
    )
}

/// A backend whose requests are budgeted and recorded.
pub struct Metered {
    inner: Arc<dyn Backend>,
    teacher: String,
    model: String,
    answerer: Answerer,
    prices: (f64, f64),
    budget: Arc<Budget>,
    records: UnboundedSender<RequestRecord>,
    refused: AtomicBool,
}

impl Metered {
    /// `records` receives one record per request sent, as it completes. Fails when what
    /// serves `endpoint` cannot be identified (see [`Answerer::of`]).
    pub fn new(
        inner: Arc<dyn Backend>,
        endpoint: &rrtf_config::Endpoint,
        budget: Arc<Budget>,
        records: UnboundedSender<RequestRecord>,
    ) -> Result<Metered, LlmError> {
        Ok(Metered {
            inner,
            answerer: Answerer::of(endpoint)?,
            teacher: endpoint.name.clone(),
            model: endpoint.model.clone(),
            prices: (endpoint.price_per_1k_input, endpoint.price_per_1k_output),
            budget,
            records,
            refused: AtomicBool::new(false),
        })
    }

    /// True once a request was refused for the budget.
    pub fn budget_reached(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    /// The key recorded for a request: [`request_key`] over the request as sent, with the seed
    /// sent (derived from the stage's own key) in the place of the round seed.
    pub fn key_of(&self, req: &GenRequest) -> String {
        let mut params = req.params.clone();
        let seed = params.seed.take().unwrap_or(0);
        request_key(&self.answerer, &req.prompt, &params, 0, seed)
    }
}

impl Backend for Metered {
    fn generate<'a>(&'a self, req: &'a GenRequest) -> BoxFuture<'a, Result<Generation, LlmError>> {
        Box::pin(async move {
            let (est_in, est_out) = req.token_estimate();
            let reserve = cost_usd(est_in, est_out, self.prices.0, self.prices.1);
            if !self.budget.try_reserve(reserve) {
                self.refused.store(true, Ordering::Relaxed);
                return Err(LlmError::Budget {
                    endpoint: self.teacher.clone(),
                    cap: self.budget.cap().unwrap_or(f64::INFINITY),
                    spent: self.budget.spent(),
                    needed: reserve,
                });
            }
            let key = self.key_of(req);
            let started = Instant::now();
            let result = self.inner.generate(req).await;
            let record = match &result {
                Ok(g) => {
                    let cost = answer_cost(g, est_in, self.prices.0, self.prices.1);
                    self.budget.settle(reserve, cost);
                    Some(RequestRecord::answered(
                        &self.teacher,
                        &self.model,
                        &key,
                        g,
                        cost,
                    ))
                }
                Err(e) => {
                    self.budget.settle(reserve, 0.0);
                    RequestRecord::failed(
                        &self.teacher,
                        &self.model,
                        &key,
                        e,
                        started.elapsed().as_millis() as u64,
                    )
                }
            };
            if let Some(r) = record {
                // The receiver is gone only when the stage is failing anyway.
                let _ = self.records.send(r);
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, Params, Prompt};

    struct Fixed(Result<Generation, u16>);

    impl Backend for Fixed {
        fn generate<'a>(
            &'a self,
            _req: &'a GenRequest,
        ) -> BoxFuture<'a, Result<Generation, LlmError>> {
            Box::pin(async move {
                match &self.0 {
                    Ok(g) => Ok(g.clone()),
                    Err(status) => Err(LlmError::Rejected {
                        endpoint: "t".into(),
                        url: "u".into(),
                        status: *status,
                        message: "no".into(),
                        hint: "",
                    }),
                }
            })
        }
    }

    fn endpoint() -> rrtf_config::Endpoint {
        let mut e: rrtf_config::Endpoint =
            toml::from_str("name = \"t\"\nbase_url = \"http://127.0.0.1/v1\"\nmodel = \"m\"\n")
                .unwrap();
        e.price_per_1k_input = 1.0;
        e.price_per_1k_output = 2.0;
        e
    }

    fn request() -> GenRequest {
        GenRequest {
            prompt: Prompt::Chat(vec![Message::new("user", "x".repeat(400))]),
            params: Params {
                temperature: 0.0,
                top_p: None,
                max_tokens: Some(100),
                stop: vec![],
                seed: Some(7),
            },
        }
    }

    fn answer(prompt_tokens: u64, completion_tokens: u64) -> Generation {
        Generation {
            text: "ok".into(),
            finish_reason: Some("stop".into()),
            prompt_tokens: Some(prompt_tokens),
            completion_tokens: Some(completion_tokens),
            latency_ms: 3,
            attempts: 2,
        }
    }

    #[tokio::test]
    async fn requests_are_recorded_settled_and_refused_past_the_cap() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Worst case of `request()`: ~100 prompt tokens + 100 out = $0.1 + $0.2 = $0.3.
        let budget = Arc::new(Budget::new(Some(0.5), 0.1));
        let m = Metered::new(
            Arc::new(Fixed(Ok(answer(100, 50)))),
            &endpoint(),
            budget.clone(),
            tx.clone(),
        )
        .unwrap();
        let g = m.generate(&request()).await.unwrap();
        assert_eq!(g.text, "ok");
        let r = rx.try_recv().unwrap();
        assert_eq!((r.teacher.as_str(), r.model.as_str()), ("t", "m"));
        assert_eq!(
            (r.attempts, r.prompt_tokens, r.error.as_ref()),
            (Some(2), Some(100), None)
        );
        assert!((r.cost_usd - 0.2).abs() < 1e-12, "{}", r.cost_usd);
        assert_eq!(r.key, m.key_of(&request()));
        assert!((budget.spent() - 0.3).abs() < 1e-12);
        // 0.3 spent + 0.3 worst case > 0.5: refused before sending, nothing recorded.
        let err = m.generate(&request()).await.unwrap_err();
        assert!(m.budget_reached());
        assert!(err.is_fatal_for_endpoint() && err.not_sent(), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("budget_usd = 0.5") && msg.contains("raise"),
            "{msg}"
        );
        assert!(rx.try_recv().is_err());

        // A failure is recorded with its error and costs nothing.
        let failing = Metered::new(
            Arc::new(Fixed(Err(400))),
            &endpoint(),
            Arc::new(Budget::new(None, 0.0)),
            tx,
        )
        .unwrap();
        failing.generate(&request()).await.unwrap_err();
        let r = rx.try_recv().unwrap();
        assert!(
            r.error.as_deref().unwrap().starts_with("rejected: "),
            "{r:?}"
        );
        assert_eq!(r.cost_usd, 0.0);
    }
}
