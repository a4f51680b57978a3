//! The HTTP layer: routes, the loopback `Host` check (DNS rebinding), bearer-token check,
//! request log, and the answer of a job as one JSON document or as server-sent events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::ApiKey;
use crate::api::{self, ApiError, Choice, Endpoint, GenSpec, Head};
use crate::template::ChatTemplate;
use crate::worker::{Event, Job, Worker};

pub struct AppState {
    pub model_name: String,
    pub api_key: Option<ApiKey>,
    pub template: ChatTemplate,
    pub worker: Worker,
    pub created: u64,
}

/// The routes. `loopback`: the listener's address is a loopback one, so requests must name a
/// loopback host ([`crate::host`]).
pub fn router(state: Arc<AppState>, loopback: bool) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .route("/v1/completions", post(completions))
        .route("/v1/engines/{engine}/completions", post(engine_completions))
        .route("/v1/chat/completions", post(chat))
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn(same_origin))
        .layer(middleware::from_fn_with_state(loopback, host_check))
        .layer(middleware::from_fn(log))
        .with_state(state)
}

/// The decoding counters in Prometheus' text format (as vLLM and TGI serve `/metrics`).
async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.worker.stats.prometheus(),
    )
        .into_response()
}

/// While bound to loopback, refuse requests whose `Host` is not a loopback name (421), before
/// the token check: a rebound name in a browser never reaches the model.
async fn host_check(State(loopback): State<bool>, req: Request, next: Next) -> Response {
    // HTTP/1.1's Host, or HTTP/2's :authority (in the URI).
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if !crate::host::host_allowed(loopback, host) {
        return ApiError {
            status: StatusCode::MISDIRECTED_REQUEST,
            message: format!(
                "Host {:?} is not a loopback name: this server listens on a loopback address \
                 and answers only requests to 127.0.0.1, [::1] or localhost",
                host.unwrap_or("")
            ),
            kind: "invalid_request_error",
            param: None,
            code: None,
        }
        .into_response();
    }
    next.run(req).await
}

/// Refuse what a web page makes a browser send (403): a request whose `Origin` is not this
/// server's own, or that the browser marks cross-site. Programs (OpenAI clients, curl) send
/// neither. Without it, any page the user opens could keep the model busy: a `text/plain` POST
/// needs no CORS preflight, and the body is read as JSON whatever its type says.
async fn same_origin(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text("host").unwrap_or("");
    if !crate::host::same_origin(text("origin"), text("sec-fetch-site"), None, host) {
        return ApiError {
            status: StatusCode::FORBIDDEN,
            message: format!(
                "cross-origin request refused (Origin {:?}): this API answers programs, not web \
                 pages of other sites",
                text("origin").unwrap_or("")
            ),
            kind: "invalid_request_error",
            param: None,
            code: None,
        }
        .into_response();
    }
    next.run(req).await
}

/// Every path but `/health` needs `Authorization: Bearer <token>` when the server has a key.
async fn auth(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(key) = &s.api_key
        && req.uri().path() != "/health"
    {
        match bearer(req.headers()) {
            None => {
                return ApiError::unauthorized(
                    "You didn't provide an API key: send it as `Authorization: Bearer <token>`.",
                )
                .into_response();
            }
            Some(token) if !key.matches(token) => {
                return ApiError::unauthorized("Incorrect API key provided.").into_response();
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// One line per request on stderr (never the body or the token).
async fn log(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        %method,
        %path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    resp
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(
        format!(
            "Invalid URL ({method} {}): this server answers GET /v1/models, POST /v1/completions, POST /v1/chat/completions and POST /v1/engines/{{engine}}/completions",
            uri.path()
        ),
        None,
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!("Method {method} is not allowed for {}", uri.path()),
        kind: "invalid_request_error",
        param: None,
        code: None,
    }
}

fn model_card(s: &AppState) -> Value {
    json!({"id": s.model_name, "object": "model", "created": s.created, "owned_by": "rrtf"})
}

async fn models(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(json!({"object": "list", "data": [model_card(&s)]})).into_response()
}

async fn model(State(s): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    if id != s.model_name {
        return ApiError::not_found(
            format!(
                "The model `{id}` does not exist: this server serves `{}`",
                s.model_name
            ),
            Some("model_not_found"),
        )
        .into_response();
    }
    axum::Json(model_card(&s)).into_response()
}

async fn completions(State(s): State<Arc<AppState>>, body: Bytes) -> Response {
    match api::parse_completion(&body, &s.model_name) {
        Ok(spec) => answer(&s, Endpoint::Completions, spec).await,
        Err(e) => e.into_response(),
    }
}

/// FauxPilot's route for Copilot-style clients: any engine name reaches the served model
/// (`api::parse_engine_completion`).
async fn engine_completions(
    State(s): State<Arc<AppState>>,
    Path(engine): Path<String>,
    body: Bytes,
) -> Response {
    tracing::debug!(%engine, "engine-route completion");
    match api::parse_engine_completion(&body, &s.model_name) {
        Ok(spec) => answer(&s, Endpoint::Completions, spec).await,
        Err(e) => e.into_response(),
    }
}

async fn chat(State(s): State<Arc<AppState>>, body: Bytes) -> Response {
    match api::parse_chat(&body, &s.model_name, s.template) {
        Ok(spec) => answer(&s, Endpoint::Chat, spec).await,
        Err(e) => e.into_response(),
    }
}

/// Queue the job; answer its errors before any output with their status, then stream or
/// collect the choices.
async fn answer(s: &AppState, endpoint: Endpoint, spec: GenSpec) -> Response {
    let (stream, include_usage) = (spec.stream, spec.include_usage);
    let choices = spec.prompts.len() * spec.n;
    let (tx, mut rx) = mpsc::unbounded_channel();
    if let Err(e) = s.worker.submit(Job { spec, events: tx }) {
        return e.into_response();
    }
    match rx.recv().await {
        Some(Event::Started) => {}
        Some(Event::Failed(e)) => return e.into_response(),
        _ => return ApiError::internal("the model worker stopped").into_response(),
    }
    let head = Head::new(endpoint, &s.model_name);
    if stream {
        return sse(head, rx, choices, include_usage).into_response();
    }
    let mut done: Vec<Option<Choice>> = vec![None; choices];
    let mut usage = None;
    while let Some(event) = rx.recv().await {
        match event {
            Event::Finished {
                index,
                text,
                reason,
            } => {
                done[index] = Some(Choice {
                    text,
                    finish_reason: finish_reason(reason),
                })
            }
            Event::Done(u) => usage = Some(u),
            Event::Failed(e) => return e.into_response(),
            Event::Started | Event::Delta { .. } => {}
        }
    }
    let (Some(usage), Some(choices)) = (usage, done.into_iter().collect::<Option<Vec<_>>>()) else {
        return ApiError::internal("the model worker stopped before the answer was complete")
            .into_response();
    };
    tracing::info!(
        model = %head.model,
        choices = choices.len(),
        prompt_tokens = usage.prompt_tokens,
        completion_tokens = usage.completion_tokens,
        "generated"
    );
    axum::Json(head.answer(&choices, usage)).into_response()
}

fn sse(
    head: Head,
    rx: mpsc::UnboundedReceiver<Event>,
    choices: usize,
    include_usage: bool,
) -> Sse<impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>>> {
    let mut started = vec![false; choices];
    let data = |v: Value| Some(Ok(SseEvent::default().data(v.to_string())));
    let events = UnboundedReceiverStream::new(rx).filter_map(move |event| match event {
        Event::Delta { index, text } => {
            let first = !std::mem::replace(&mut started[index], true);
            data(head.chunk(index, Some(&text), first, None))
        }
        Event::Finished { index, reason, .. } => {
            let first = !std::mem::replace(&mut started[index], true);
            data(head.chunk(index, None, first, Some(finish_reason(reason))))
        }
        Event::Done(usage) if include_usage => data(head.usage_chunk(usage)),
        Event::Failed(e) => data(e.body()),
        Event::Done(_) | Event::Started => None,
    });
    let done = tokio_stream::once(Ok(SseEvent::default().data("[DONE]")));
    Sse::new(events.chain(done)).keep_alive(KeepAlive::default())
}

fn finish_reason(reason: rrtf_model::StopReason) -> &'static str {
    use rrtf_model::StopReason::*;
    match reason {
        MaxNewTokens => "length",
        EndOfText | StopString | Cancelled => "stop",
    }
}
