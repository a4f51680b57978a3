//! The real client against a real HTTP server on 127.0.0.1 (the scripted `testserver`):
//! each case is a script of replies and what the client must make of it.

use std::sync::Arc;
use std::time::Duration;

use rrtf_config::{Endpoint, EndpointKind};
use rrtf_llm::testserver::{Reply, Request, TestServer};
use rrtf_llm::{Backend, GenRequest, HttpBackend, LlmError, Message, Params, Prompt, RetryPolicy};
use rrtf_types::UserError;

fn endpoint(url: &str, kind: EndpointKind, timeout_s: f64) -> Endpoint {
    let mut e: Endpoint = toml::from_str(&format!(
        "name = \"t\"\nbase_url = \"{url}\"\nmodel = \"m\"\n"
    ))
    .unwrap();
    e.kind = kind;
    e.timeout_s = timeout_s;
    e
}

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    }
}

fn request(kind: EndpointKind) -> GenRequest {
    GenRequest {
        prompt: match kind {
            EndpointKind::Chat => Prompt::Chat(vec![Message::new("user", "write f")]),
            EndpointKind::Completion => Prompt::Text("def f():\n".into()),
        },
        params: Params {
            temperature: 0.2,
            top_p: Some(0.95),
            max_tokens: Some(64),
            stop: vec!["\ndef ".into()],
            seed: Some(42),
        },
    }
}

/// Replies in order, the last one repeated.
fn sequence(replies: Vec<Reply>) -> rrtf_llm::testserver::Script {
    Arc::new(move |r: &Request| replies[(r.n as usize).min(replies.len() - 1)].clone())
}

struct Case {
    name: &'static str,
    replies: Vec<Reply>,
    max_attempts: u32,
    timeout_s: f64,
    /// Ok(attempts) or Err(substrings of the error).
    want: Result<u32, &'static [&'static str]>,
    requests: usize,
}

#[tokio::test]
async fn scripted_replies_are_retried_or_failed_as_documented() {
    let retry_after_1s = Reply::Status {
        code: 429,
        body: r#"{"error":{"message":"slow down"}}"#.into(),
        retry_after: Some("1".into()),
    };
    let cases = vec![
        Case {
            name: "200",
            replies: vec![Reply::ok("x")],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Ok(1),
            requests: 1,
        },
        Case {
            name: "429 then 200",
            replies: vec![Reply::status(429, "busy"), Reply::ok("x")],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Ok(2),
            requests: 2,
        },
        Case {
            name: "500, 503 then 200",
            replies: vec![
                Reply::status(500, "oops"),
                Reply::status(503, "down"),
                Reply::ok("x"),
            ],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Ok(3),
            requests: 3,
        },
        Case {
            name: "malformed JSON then 200",
            replies: vec![Reply::Malformed, Reply::ok("x")],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Ok(2),
            requests: 2,
        },
        Case {
            name: "truncated body then 200",
            replies: vec![Reply::Truncated, Reply::ok("x")],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Ok(2),
            requests: 2,
        },
        Case {
            name: "slow answer times out, then 200",
            replies: vec![Reply::ok("x").after(Duration::from_secs(3)), Reply::ok("x")],
            max_attempts: 3,
            timeout_s: 0.5,
            want: Ok(2),
            requests: 2,
        },
        Case {
            name: "408 is retried",
            replies: vec![Reply::status(408, "late"), Reply::ok("x")],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Ok(2),
            requests: 2,
        },
        Case {
            name: "500 forever gives up with the last message",
            replies: vec![Reply::status(500, r#"{"error":{"message":"GPU on fire"}}"#)],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Err(&["gave up after 3 attempts", "HTTP 500: GPU on fire"]),
            requests: 3,
        },
        Case {
            name: "malformed forever gives up",
            replies: vec![Reply::Malformed],
            max_attempts: 2,
            timeout_s: 5.0,
            want: Err(&["gave up after 2 attempts", "malformed JSON"]),
            requests: 2,
        },
        Case {
            name: "400 fails at once with the server's message",
            replies: vec![Reply::status(
                400,
                r#"{"error":{"message":"max_tokens is too large"}}"#,
            )],
            max_attempts: 5,
            timeout_s: 5.0,
            want: Err(&["HTTP 400", "max_tokens is too large", "check max_tokens"]),
            requests: 1,
        },
        Case {
            name: "401 fails at once and says where the key comes from",
            replies: vec![Reply::status(401, r#"{"error":"invalid api key"}"#)],
            max_attempts: 5,
            timeout_s: 5.0,
            want: Err(&["HTTP 401", "invalid api key", "api_key_env"]),
            requests: 1,
        },
        Case {
            name: "404 names base_url",
            replies: vec![Reply::status(404, "no such route")],
            max_attempts: 5,
            timeout_s: 5.0,
            want: Err(&["HTTP 404", "no such route", "base_url"]),
            requests: 1,
        },
        Case {
            name: "Retry-After is honoured",
            replies: vec![retry_after_1s, Reply::ok("x")],
            max_attempts: 3,
            timeout_s: 5.0,
            want: Ok(2),
            requests: 2,
        },
    ];
    for kind in [EndpointKind::Chat, EndpointKind::Completion] {
        for case in &cases {
            let server = TestServer::start(sequence(case.replies.clone())).await;
            let client = HttpBackend::with_key(
                &endpoint(&server.url(), kind, case.timeout_s),
                Some("sk-test-secret".into()),
                fast_retries(case.max_attempts),
            )
            .unwrap();
            let got = client.generate(&request(kind)).await;
            let name = format!("{} ({kind:?})", case.name);
            match (&case.want, got) {
                (Ok(attempts), Ok(g)) => {
                    assert_eq!(g.attempts, *attempts, "{name}");
                    assert_eq!(g.text, "x", "{name}");
                    assert!(
                        g.prompt_tokens.is_some() && g.completion_tokens.is_some(),
                        "{name}"
                    );
                }
                (Err(parts), Err(e)) => {
                    let msg = e.to_string();
                    for p in *parts {
                        assert!(msg.contains(p), "{name}: `{p}` not in: {msg}");
                    }
                    assert!(!msg.contains("sk-test-secret"), "{name}: key leaked: {msg}");
                }
                (want, got) => panic!("{name}: wanted {want:?}, got {got:?}"),
            }
            assert_eq!(
                server.requests().len(),
                case.requests,
                "{name}: requests received"
            );
        }
    }
}

#[tokio::test]
async fn retry_after_delays_the_retry() {
    let server = TestServer::start(sequence(vec![
        Reply::Status {
            code: 429,
            body: "busy".into(),
            retry_after: Some("1".into()),
        },
        Reply::ok("x"),
    ]))
    .await;
    let client = HttpBackend::with_key(
        &endpoint(&server.url(), EndpointKind::Chat, 5.0),
        None,
        fast_retries(3),
    )
    .unwrap();
    let g = client.generate(&request(EndpointKind::Chat)).await.unwrap();
    // Not a timing measurement: the backoff alone is capped at 20 ms, so only an obeyed
    // Retry-After makes the answer take a second or more.
    assert!(
        g.latency_ms >= 1_000,
        "retried after {} ms, before Retry-After",
        g.latency_ms
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_delays_the_retry() {
    // The date is written when the 429 is sent: three seconds ahead, whole seconds (so at
    // least two seconds ahead once truncated), cut to `max_retry_after` (2 s) by the policy.
    let server = TestServer::start(Arc::new(|r: &Request| {
        if r.n == 0 {
            Reply::Status {
                code: 429,
                body: "busy".into(),
                retry_after: Some(httpdate::fmt_http_date(
                    std::time::SystemTime::now() + Duration::from_secs(3),
                )),
            }
        } else {
            Reply::ok("x")
        }
    }))
    .await;
    let client = HttpBackend::with_key(
        &endpoint(&server.url(), EndpointKind::Chat, 5.0),
        None,
        fast_retries(3),
    )
    .unwrap();
    let g = client.generate(&request(EndpointKind::Chat)).await.unwrap();
    assert_eq!(g.attempts, 2);
    // The backoff alone is capped at 20 ms: only an obeyed date makes this take ~2 s.
    assert!(
        (1_500..5_000).contains(&g.latency_ms),
        "retried after {} ms, not at the Retry-After date",
        g.latency_ms
    );

    // A date already past: retry at once (the backoff), not never.
    let past = TestServer::start(sequence(vec![
        Reply::Status {
            code: 503,
            body: "later".into(),
            retry_after: Some("Sun, 06 Nov 1994 08:49:37 GMT".into()),
        },
        Reply::ok("y"),
    ]))
    .await;
    let client = HttpBackend::with_key(
        &endpoint(&past.url(), EndpointKind::Chat, 5.0),
        None,
        fast_retries(3),
    )
    .unwrap();
    let g = client.generate(&request(EndpointKind::Chat)).await.unwrap();
    assert_eq!((g.text.as_str(), g.attempts), ("y", 2));
    assert!(g.latency_ms < 1_000, "{} ms", g.latency_ms);
}

#[tokio::test]
async fn requests_carry_the_openai_fields_and_the_key_only_in_the_header() {
    let server = TestServer::start(sequence(vec![Reply::ok("x")])).await;
    for kind in [EndpointKind::Chat, EndpointKind::Completion] {
        let client = HttpBackend::with_key(
            &endpoint(&server.url(), kind, 5.0),
            Some("sk-test-secret".into()),
            fast_retries(1),
        )
        .unwrap();
        client.generate(&request(kind)).await.unwrap();
        assert!(
            !format!("{client:?}").contains("sk-test"),
            "Debug shows the key"
        );
    }
    let seen = server.requests();
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[1].path, "/v1/completions");
    for r in &seen {
        assert_eq!(r.authorization.as_deref(), Some("Bearer sk-test-secret"));
        assert!(!r.body.to_string().contains("sk-test"));
        assert_eq!(r.body["model"], "m");
        assert_eq!(r.body["temperature"], 0.2);
        assert_eq!(r.body["top_p"], 0.95);
        assert_eq!(r.body["max_tokens"], 64);
        assert_eq!(r.body["stop"], serde_json::json!(["\ndef "]));
        assert_eq!(r.body["seed"], 42);
    }
    assert_eq!(seen[0].body["messages"][0]["content"], "write f");
    assert_eq!(seen[1].body["prompt"], "def f():\n");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // A port with nothing listening: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = HttpBackend::with_key(
        &endpoint(
            &format!("http://127.0.0.1:{port}/v1"),
            EndpointKind::Chat,
            2.0,
        ),
        None,
        fast_retries(3),
    )
    .unwrap();
    let err = client
        .generate(&request(EndpointKind::Chat))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Exhausted { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("connection failed"), "{err}");
}

#[test]
fn a_missing_key_variable_is_named() {
    let mut e = endpoint("http://127.0.0.1:1/v1", EndpointKind::Chat, 5.0);
    e.api_key_env = Some("RRTF_TEST_SURELY_UNSET_KEY".into());
    let err = HttpBackend::new(&e, RetryPolicy::default()).unwrap_err();
    assert!(err.is_user_error());
    assert!(
        err.to_string().contains("`RRTF_TEST_SURELY_UNSET_KEY`"),
        "{err}"
    );
}
