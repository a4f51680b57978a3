//! The OpenAI-compatible HTTP client: one [`HttpBackend`] per endpoint of the round config.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use rrtf_config::{Endpoint, EndpointKind};
use serde_json::{Value, json};

use crate::error::hint;
use crate::retry::jitter_unit;
use crate::{
    Backend, BoxFuture, GenRequest, Generation, LlmError, Prompt, RateLimiter, RetryPolicy,
};

/// An endpoint's client. The API key lives only in the default headers of the reqwest client
/// (marked sensitive) and never appears in `Debug`, errors or logs.
pub struct HttpBackend {
    name: String,
    model: String,
    kind: EndpointKind,
    url: String,
    http: reqwest::Client,
    policy: RetryPolicy,
    limiter: Arc<RateLimiter>,
}

impl std::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBackend")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
enum Attempt {
    Done(Generation),
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Fail(LlmError),
}

impl HttpBackend {
    /// A client for `endpoint`, its key read from the variable named by `api_key_env`.
    pub fn new(endpoint: &Endpoint, policy: RetryPolicy) -> Result<HttpBackend, LlmError> {
        let key = match &endpoint.api_key_env {
            None => None,
            Some(var) => Some(std::env::var(var).map_err(|_| LlmError::MissingKey {
                endpoint: endpoint.name.clone(),
                var: var.clone(),
            })?),
        };
        Self::with_key(endpoint, key, policy)
    }

    /// A client with an explicit key (tests; callers that hold the key already).
    pub fn with_key(
        endpoint: &Endpoint,
        key: Option<String>,
        policy: RetryPolicy,
    ) -> Result<HttpBackend, LlmError> {
        let base = endpoint.base_url.trim_end_matches('/');
        let path = match endpoint.kind {
            EndpointKind::Chat => "chat/completions",
            EndpointKind::Completion => "completions",
        };
        let url = format!("{base}/{path}");
        reqwest::Url::parse(&url).map_err(|e| LlmError::BadUrl {
            endpoint: endpoint.name.clone(),
            url: endpoint.base_url.clone(),
            message: e.to_string(),
        })?;
        let mut headers = HeaderMap::new();
        if let Some(key) = key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                LlmError::Client(format!(
                    "the API key of `{}` holds characters not allowed in a header",
                    endpoint.name
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let timeout = Duration::from_secs_f64(endpoint.timeout_s);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(endpoint.concurrency as usize)
            .tcp_nodelay(true)
            .user_agent(concat!("rrtf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Client(e.to_string()))?;
        Ok(HttpBackend {
            name: endpoint.name.clone(),
            model: endpoint.model.clone(),
            kind: endpoint.kind,
            url,
            http,
            policy,
            limiter: Arc::new(RateLimiter::new(
                endpoint.requests_per_minute,
                endpoint.tokens_per_minute,
            )),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The request body, OpenAI's field names.
    fn body(&self, req: &GenRequest) -> Value {
        let mut body = json!({ "model": self.model, "temperature": req.params.temperature });
        match &req.prompt {
            Prompt::Chat(messages) => body["messages"] = json!(messages),
            Prompt::Text(text) => body["prompt"] = json!(text),
        }
        let p = &req.params;
        if let Some(v) = p.top_p {
            body["top_p"] = json!(v);
        }
        if let Some(v) = p.max_tokens {
            body["max_tokens"] = json!(v);
        }
        if !p.stop.is_empty() {
            // OpenAI (and `rrtf serve`) take at most 4; the rest are applied here (`cut_at_stop`).
            body["stop"] = json!(p.stop[..p.stop.len().min(MAX_SENT_STOPS)]);
        }
        if let Some(v) = p.seed {
            body["seed"] = json!(v);
        }
        body
    }

    async fn attempt(
        &self,
        body: &Value,
        stop: &[String],
        started: Instant,
        attempts: u32,
    ) -> Attempt {
        let resp = match self.http.post(&self.url).json(body).send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    why: describe(&e),
                    after: None,
                };
            }
        };
        let status = resp.status();
        let after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::parse_retry_after);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry {
                    why: format!("HTTP {status}, body unreadable: {}", describe(&e)),
                    after,
                };
            }
        };
        if status.is_success() {
            return match parse(self.kind, &bytes) {
                Ok(mut g) => {
                    cut_at_stop(&mut g, stop);
                    g.latency_ms = started.elapsed().as_millis() as u64;
                    g.attempts = attempts;
                    Attempt::Done(g)
                }
                Err(why) => Attempt::Retry { why, after: None },
            };
        }
        let message = server_message(&bytes);
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            return Attempt::Retry {
                why: format!("HTTP {}: {message}", status.as_u16()),
                after,
            };
        }
        Attempt::Fail(LlmError::Rejected {
            endpoint: self.name.clone(),
            url: self.url.clone(),
            status: status.as_u16(),
            message,
            hint: hint(status.as_u16()),
        })
    }
}

impl Backend for HttpBackend {
    fn generate<'a>(&'a self, req: &'a GenRequest) -> BoxFuture<'a, Result<Generation, LlmError>> {
        Box::pin(async move {
            let body = self.body(req);
            let (est_in, est_out) = req.token_estimate();
            let started = Instant::now();
            let mut attempts = 0;
            loop {
                attempts += 1;
                self.limiter.acquire(est_in + est_out).await;
                let outcome = self
                    .attempt(&body, &req.params.stop, started, attempts)
                    .await;
                let used = match &outcome {
                    Attempt::Done(g) => {
                        g.prompt_tokens.unwrap_or(est_in) + g.completion_tokens.unwrap_or(est_out)
                    }
                    _ => 0,
                };
                self.limiter.settle_tokens(est_in + est_out, used);
                match outcome {
                    Attempt::Done(g) => return Ok(g),
                    Attempt::Fail(e) => return Err(e),
                    Attempt::Retry { why, after } => {
                        if attempts >= self.policy.max_attempts {
                            return Err(LlmError::Exhausted {
                                endpoint: self.name.clone(),
                                attempts,
                                elapsed: started.elapsed(),
                                last: why,
                            });
                        }
                        let wait = self.policy.delay(attempts, jitter_unit(), after);
                        tracing::info!(endpoint = %self.name, attempt = attempts, ?wait, "retrying: {why}");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        })
    }
}

/// A transport error in a few words (reqwest's Display names the URL, never headers).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body cut short"
    } else {
        "request failed"
    };
    let mut s = format!("{what}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(&format!(": {c}"));
        src = c.source();
    }
    s
}

/// The server's own words: OpenAI's `{"error": {"message"}}`, `{"error": "..."}`,
/// `{"message"}`, `{"detail"}`, or the body's first 300 characters.
fn server_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        for m in [
            &v["error"]["message"],
            &v["error"],
            &v["message"],
            &v["detail"],
        ] {
            if let Some(s) = m.as_str() {
                return s.to_owned();
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text.chars().take(300).collect()
    }
}

/// Stop sequences sent per request: OpenAI's limit, which `rrtf serve` shares (vLLM has none).
const MAX_SENT_STOPS: usize = 4;

/// Cut the answer before the first stop sequence in it, as the server does with those it was
/// sent: the ones past [`MAX_SENT_STOPS`] (and any a server ignored) end the answer too. A cut
/// answer ended by a stop, whatever the server said.
fn cut_at_stop(g: &mut Generation, stop: &[String]) {
    if let Some(at) = stop.iter().filter_map(|s| g.text.find(s.as_str())).min() {
        g.text.truncate(at);
        g.finish_reason = Some("stop".into());
    }
}

/// Parse a 2xx body; an error is a retryable reason.
fn parse(kind: EndpointKind, body: &[u8]) -> Result<Generation, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "malformed JSON in a 2xx answer ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        )
    })?;
    let choice = v["choices"]
        .get(0)
        .ok_or_else(|| format!("2xx answer without choices[0]: {}", server_message(body)))?;
    let text = match kind {
        EndpointKind::Chat => &choice["message"]["content"],
        EndpointKind::Completion => &choice["text"],
    };
    let text = match text {
        Value::String(s) => s.clone(),
        Value::Null if kind == EndpointKind::Chat => String::new(),
        other => return Err(format!("answer text is not a string: {other}")),
    };
    let count = |k: &str| v["usage"][k].as_u64();
    Ok(Generation {
        text,
        finish_reason: choice["finish_reason"].as_str().map(str::to_owned),
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
        latency_ms: 0,
        attempts: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_per_kind_and_bad_ones_say_why() {
        let chat = br#"{"choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        let g = parse(EndpointKind::Chat, chat).unwrap();
        assert_eq!(
            (g.text.as_str(), g.finish_reason.as_deref()),
            ("hi", Some("stop"))
        );
        assert_eq!((g.prompt_tokens, g.completion_tokens), (Some(3), Some(1)));
        let comp = br#"{"choices":[{"text":"  return 1\n","finish_reason":"length"}]}"#;
        let g = parse(EndpointKind::Completion, comp).unwrap();
        assert_eq!((g.text.as_str(), g.prompt_tokens), ("  return 1\n", None));

        let bad: &[(&[u8], &str)] = &[
            (b"{\"choices\": [", "malformed JSON"),
            (b"{\"choices\": []}", "without choices[0]"),
            (br#"{"choices":[{"text":5}]}"#, "not a string"),
        ];
        for (body, want) in bad {
            let err = parse(EndpointKind::Completion, body).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn at_most_four_stops_are_sent_and_every_stop_cuts_the_answer() {
        let e: Endpoint = toml::from_str(
            "name = \"s\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\nkind = \"completion\"\n",
        )
        .unwrap();
        let b = HttpBackend::with_key(&e, None, RetryPolicy::default()).unwrap();
        let stop: Vec<String> = rrtf_config::CODEX_STOP
            .iter()
            .map(|s| s.to_string())
            .collect();
        let req = GenRequest {
            prompt: Prompt::Text("def f():\n".into()),
            params: crate::Params {
                temperature: 0.0,
                top_p: None,
                max_tokens: Some(64),
                stop: stop.clone(),
                seed: None,
            },
        };
        let body = b.body(&req);
        assert_eq!(body["stop"], json!(stop[..4]));
        assert_eq!(body["max_tokens"], 64);
        // "\nprint" was not sent: the client cuts there, and earlier stops win.
        let answer = |text: &str, reason: &str| Generation {
            text: text.into(),
            finish_reason: Some(reason.into()),
            prompt_tokens: None,
            completion_tokens: None,
            latency_ms: 0,
            attempts: 1,
        };
        let mut g = answer("    return 1\nprint(f())\n", "length");
        cut_at_stop(&mut g, &stop);
        assert_eq!(
            (g.text.as_str(), g.finish_reason.as_deref()),
            ("    return 1", Some("stop"))
        );
        let mut g = answer("    x = 1\n#c\nprint(x)", "length");
        cut_at_stop(&mut g, &stop);
        assert_eq!(g.text, "    x = 1");
        let mut g = answer("    return 2\n", "length");
        cut_at_stop(&mut g, &stop);
        assert_eq!(
            (g.text.as_str(), g.finish_reason.as_deref()),
            ("    return 2\n", Some("length"))
        );
    }

    #[test]
    fn server_messages_are_found_in_the_usual_places() {
        let cases: &[(&[u8], &str)] = &[
            (
                br#"{"error":{"message":"model not found","type":"x"}}"#,
                "model not found",
            ),
            (br#"{"error":"bad stop"}"#, "bad stop"),
            (br#"{"detail":"Not Found"}"#, "Not Found"),
            (b"plain words", "plain words"),
            (b"", "(empty body)"),
        ];
        for (body, want) in cases {
            assert_eq!(server_message(body), *want);
        }
    }
}
