//! OpenAI's wire format: request bodies parsed and checked into a [`GenSpec`], answers and
//! stream chunks built, errors in OpenAI's shape (`{"error": {"message", "type", "param",
//! "code"}}`). Every 400 names the parameter and the bad value.
//!
//! Parameters that would change the answer but are not implemented (`logprobs`, `echo`,
//! penalties, `logit_bias`, tools, ...) are refused unless they hold their neutral value, so a
//! client never silently gets something else than it asked for. Unknown parameters are refused.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::template::{ChatTemplate, Role};

/// An error answered over HTTP, in OpenAI's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`, `server_error`, ...
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl ApiError {
    /// 400 for a bad parameter value.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some(param.into()),
            code: Some("invalid_value"),
        }
    }

    pub fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = Some(code);
        self
    }

    pub fn not_found(message: impl Into<String>, code: Option<&'static str>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code,
        }
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            kind: "authentication_error",
            param: None,
            code: Some("invalid_api_key"),
        }
    }

    pub fn overloaded(queue: usize) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!(
                "the server is busy: {queue} requests are already waiting for the model; retry later"
            ),
            kind: "server_error",
            param: None,
            code: Some("server_overloaded"),
        }
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: None,
        }
    }

    pub fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// One prompt of a request: text, or token ids (the completions endpoint accepts both).
#[derive(Clone, Debug, PartialEq)]
pub enum PromptInput {
    Text(String),
    Ids(Vec<u32>),
}

/// What a request asks the model for, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct GenSpec {
    /// Each prompt gets `n` choices; choice `i` of prompt `p` has index `p * n + i`.
    pub prompts: Vec<PromptInput>,
    /// Fill in the middle: the text after the gap (completions' `suffix`).
    pub suffix: Option<String>,
    /// `None`: up to the end of the model's context (chat's default).
    pub max_tokens: Option<usize>,
    pub temperature: f32,
    pub top_p: f32,
    /// An extension (as vLLM's); 0 is off.
    pub top_k: usize,
    pub n: usize,
    pub stop: Vec<String>,
    /// Choice `i` is sampled with seed `seed + i`; a random base when `None`.
    pub seed: Option<u64>,
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with `usage` before `[DONE]`.
    pub include_usage: bool,
}

/// OpenAI's default `max_tokens` for `/v1/completions`.
pub const COMPLETION_DEFAULT_MAX_TOKENS: usize = 16;
/// OpenAI's limit on stop sequences.
pub const MAX_STOPS: usize = 4;
pub const MAX_N: usize = 128;

const COMMON: &[&str] = &[
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "n",
    "stop",
    "seed",
    "stream",
    "stream_options",
    "user",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
];
const COMPLETION_ONLY: &[&str] = &["prompt", "suffix", "echo", "best_of"];
const CHAT_ONLY: &[&str] = &[
    "messages",
    "max_completion_tokens",
    "top_logprobs",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "store",
    "metadata",
    "service_tier",
];

/// The request body as a JSON object, with its non-null fields.
struct Body(Map<String, Value>);

impl Body {
    fn parse(bytes: &[u8], known: &[&[&str]]) -> Result<Body, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::invalid(
                "body",
                format!("the request body is not valid JSON ({e}): send a JSON object"),
            )
            .with_code("invalid_json")
        })?;
        let Value::Object(mut map) = value else {
            return Err(ApiError::invalid(
                "body",
                "the request body must be a JSON object",
            ));
        };
        map.retain(|_, v| !v.is_null());
        if let Some(k) = map
            .keys()
            .find(|k| !known.iter().any(|list| list.contains(&k.as_str())))
        {
            return Err(ApiError::invalid(
                k.clone(),
                format!("Unrecognized request argument supplied: {k}"),
            )
            .with_code("unknown_parameter"));
        }
        Ok(Body(map))
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    fn f64(&self, name: &str, lo: f64, hi: f64, default: f64) -> Result<f64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(x) if (lo..=hi).contains(&x) => Ok(x),
                _ => Err(ApiError::invalid(
                    name,
                    format!("{name} = {v}: must be a number from {lo} to {hi}"),
                )),
            },
        }
    }

    fn uint(&self, name: &str, lo: u64, hi: u64) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(x) if (lo..=hi).contains(&x) => Ok(Some(x)),
                _ => Err(ApiError::invalid(
                    name,
                    format!("{name} = {v}: must be an integer from {lo} to {hi}"),
                )),
            },
        }
    }

    fn bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(ApiError::invalid(
                name,
                format!("{name} = {v}: must be true or false"),
            )),
        }
    }

    /// A parameter that is accepted only at its neutral value (it is not implemented).
    fn neutral(
        &self,
        name: &str,
        ok: impl Fn(&Value) -> bool,
        neutral: &str,
    ) -> Result<(), ApiError> {
        match self.get(name) {
            Some(v) if !ok(v) => Err(ApiError::invalid(
                name,
                format!("{name} = {v}: not supported by this server (only {neutral})"),
            )),
            _ => Ok(()),
        }
    }
}

/// `model` must name the served model: 400 when missing, 404 when another.
fn check_model(body: &Body, served: &str) -> Result<(), ApiError> {
    match body.get("model") {
        None => Err(ApiError::invalid(
            "model",
            "you must provide a model parameter (GET /v1/models lists it)",
        )
        .with_code("missing_required_parameter")),
        Some(Value::String(m)) if m == served => Ok(()),
        Some(Value::String(m)) => Err(ApiError::not_found(
            format!("The model `{m}` does not exist: this server serves `{served}`"),
            Some("model_not_found"),
        )),
        Some(v) => Err(ApiError::invalid(
            "model",
            format!("model = {v}: must be a string"),
        )),
    }
}

/// The parameters both endpoints share.
fn common(body: &Body) -> Result<GenSpec, ApiError> {
    let temperature = body.f64("temperature", 0.0, 2.0, 1.0)? as f32;
    let top_p = body.f64("top_p", 0.0, 1.0, 1.0)? as f32;
    if top_p == 0.0 {
        return Err(ApiError::invalid(
            "top_p",
            "top_p = 0: must be greater than 0 (1 is off)",
        ));
    }
    let top_k = body.uint("top_k", 0, u32::MAX as u64)?.unwrap_or(0) as usize;
    let n = body.uint("n", 1, MAX_N as u64)?.unwrap_or(1) as usize;
    let max_tokens = body
        .uint("max_tokens", 1, u32::MAX as u64)?
        .map(|x| x as usize);
    let seed = match body.get("seed") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ApiError::invalid(
                "seed",
                format!("seed = {v}: must be a non-negative integer"),
            )
        })?),
    };
    let stop = match body.get("stop") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ApiError::invalid("stop", "stop must be a string or a list of strings")
            })?,
        Some(v) => {
            return Err(ApiError::invalid(
                "stop",
                format!("stop = {v}: must be a string or a list of strings"),
            ));
        }
    };
    if stop.len() > MAX_STOPS {
        return Err(ApiError::invalid(
            "stop",
            format!("{} stop sequences given: at most {MAX_STOPS}", stop.len()),
        ));
    }
    if stop.iter().any(String::is_empty) {
        return Err(ApiError::invalid(
            "stop",
            "stop = \"\": stop sequences must be non-empty",
        ));
    }
    let stream = body.bool("stream")?;
    let include_usage = match body.get("stream_options") {
        None => false,
        Some(_) if !stream => {
            return Err(ApiError::invalid(
                "stream_options",
                "stream_options is only allowed with stream: true",
            ));
        }
        Some(Value::Object(o)) if o.keys().all(|k| k == "include_usage") => {
            match o.get("include_usage") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => {
                    return Err(ApiError::invalid(
                        "stream_options",
                        format!("stream_options.include_usage = {v}: must be true or false"),
                    ));
                }
            }
        }
        Some(v) => {
            return Err(ApiError::invalid(
                "stream_options",
                format!("stream_options = {v}: only {{\"include_usage\": bool}} is supported"),
            ));
        }
    };
    let zero = |v: &Value| v.as_f64() == Some(0.0);
    body.neutral("presence_penalty", zero, "0")?;
    body.neutral("frequency_penalty", zero, "0")?;
    body.neutral(
        "logit_bias",
        |v| v.as_object().is_some_and(Map::is_empty),
        "{}",
    )?;
    if let Some(v) = body.get("user").filter(|v| !v.is_string()) {
        return Err(ApiError::invalid(
            "user",
            format!("user = {v}: must be a string"),
        ));
    }
    Ok(GenSpec {
        prompts: Vec::new(),
        suffix: None,
        max_tokens,
        temperature,
        top_p,
        top_k,
        n,
        stop,
        seed,
        stream,
        include_usage,
    })
}

/// A `/v1/completions` body.
pub fn parse_completion(bytes: &[u8], served: &str) -> Result<GenSpec, ApiError> {
    completion(Body::parse(bytes, &[COMMON, COMPLETION_ONLY])?, served)
}

/// A completions body already parsed (`/v1/completions`, or the engines route's once its
/// Copilot fields are taken out).
fn completion(body: Body, served: &str) -> Result<GenSpec, ApiError> {
    check_model(&body, served)?;
    let mut spec = common(&body)?;
    spec.max_tokens = Some(spec.max_tokens.unwrap_or(COMPLETION_DEFAULT_MAX_TOKENS));
    body.neutral("echo", |v| v == &Value::Bool(false), "false")?;
    body.neutral("logprobs", |v| v.as_u64() == Some(0), "null")?;
    let n = spec.n;
    body.neutral(
        "best_of",
        |v| v.as_u64() == Some(n as u64),
        "best_of equal to n",
    )?;
    let bad_prompt = || {
        ApiError::invalid(
            "prompt",
            "prompt must be a string, a list of strings, a list of token ids or a list of lists of token ids",
        )
    };
    let ids = |v: &Value| -> Option<Vec<u32>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_u64().and_then(|i| u32::try_from(i).ok()))
            .collect()
    };
    spec.prompts = match body.get("prompt") {
        None => {
            return Err(ApiError::invalid("prompt", "you must provide a prompt")
                .with_code("missing_required_parameter"));
        }
        Some(Value::String(s)) => vec![PromptInput::Text(s.clone())],
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(ApiError::invalid(
                "prompt",
                "prompt = []: give at least one prompt",
            ));
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .map(|s| PromptInput::Text(s.as_str().unwrap_or_default().to_owned()))
            .collect(),
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![PromptInput::Ids(
                ids(&Value::Array(items.clone())).ok_or_else(bad_prompt)?,
            )]
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| ids(v).map(PromptInput::Ids))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad_prompt)?,
        Some(_) => return Err(bad_prompt()),
    };
    if spec.prompts.len() * spec.n > MAX_N {
        return Err(ApiError::invalid(
            "n",
            format!(
                "{} prompts x n = {} asks for {} choices: at most {MAX_N} per request",
                spec.prompts.len(),
                spec.n,
                spec.prompts.len() * spec.n
            ),
        ));
    }
    spec.suffix = match body.get("suffix") {
        None => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(ApiError::invalid(
                "suffix",
                format!("suffix = {v}: must be a string"),
            ));
        }
    };
    Ok(spec)
}

/// Fields that Copilot-style clients send and the OpenAI API does not have (GitHub Copilot's
/// `extra`, its language and indentation hints, and `nwo`, the repository): ignored on the
/// engines route.
const COPILOT_EXTRA: &[&str] = &["extra", "nwo"];

/// A `POST /v1/engines/{engine}/completions` body: the route of OpenAI's engine-era API that
/// FauxPilot serves and that Copilot-style editor clients call. It is a completions body (the
/// same parameters, `suffix` for fill-in-the-middle, the same answer) except that, as
/// FauxPilot does: `model` may be absent or name anything (one model is served: the engine in
/// the path, e.g. `codegen`, reaches it); `logprobs` (Copilot asks for 2) is accepted and
/// answered `null`; `extra` and `nwo` are ignored. Every other parameter is checked as on
/// `/v1/completions`.
pub fn parse_engine_completion(bytes: &[u8], served: &str) -> Result<GenSpec, ApiError> {
    let mut body = Body::parse(bytes, &[COMMON, COMPLETION_ONLY, COPILOT_EXTRA])?;
    for key in COPILOT_EXTRA {
        body.0.remove(*key);
    }
    match body.0.remove("logprobs") {
        None => {}
        Some(v) if v.as_u64().is_some_and(|k| k <= 5) => {}
        Some(v) => {
            return Err(ApiError::invalid(
                "logprobs",
                format!("logprobs = {v}: must be an integer from 0 to 5 (answered null)"),
            ));
        }
    }
    body.0
        .insert("model".into(), Value::String(served.to_owned()));
    completion(body, served)
}

/// A `/v1/chat/completions` body; its messages rendered with `template`, whose stop strings
/// are added to the request's.
pub fn parse_chat(bytes: &[u8], served: &str, template: ChatTemplate) -> Result<GenSpec, ApiError> {
    let body = Body::parse(bytes, &[COMMON, CHAT_ONLY])?;
    check_model(&body, served)?;
    let mut spec = common(&body)?;
    if let Some(m) = body.uint("max_completion_tokens", 1, u32::MAX as u64)? {
        spec.max_tokens = Some(m as usize);
    }
    body.neutral("logprobs", |v| v == &Value::Bool(false), "false")?;
    body.neutral("top_logprobs", |v| v.as_u64() == Some(0), "0")?;
    body.neutral(
        "response_format",
        |v| v == &json!({"type": "text"}),
        "{\"type\": \"text\"}",
    )?;
    body.neutral("tools", |v| v.as_array().is_some_and(Vec::is_empty), "[]")?;
    body.neutral("tool_choice", |v| v == "none", "\"none\"")?;
    let Some(Value::Array(raw)) = body.get("messages") else {
        return Err(ApiError::invalid(
            "messages",
            "you must provide messages: a list of {\"role\", \"content\"}",
        )
        .with_code("missing_required_parameter"));
    };
    if raw.is_empty() {
        return Err(ApiError::invalid(
            "messages",
            "messages = []: give at least one message",
        ));
    }
    let mut messages = Vec::with_capacity(raw.len());
    for (i, m) in raw.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let role = Role::parse(role).ok_or_else(|| {
            ApiError::invalid(
                format!("messages[{i}].role"),
                format!(
                    "messages[{i}].role = {}: must be system, developer, user or assistant",
                    m.get("role").unwrap_or(&Value::Null)
                ),
            )
        })?;
        let content = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            // Content parts: only text parts are supported.
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|p| match (p.get("type"), p.get("text")) {
                    (Some(t), Some(Value::String(s))) if t == "text" => Some(s.as_str()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("messages[{i}].content"),
                        "only text content parts ({\"type\": \"text\", \"text\": ...}) are supported",
                    )
                })?
                .concat(),
            None | Some(Value::Null) if role == Role::Assistant => String::new(),
            other => {
                return Err(ApiError::invalid(
                    format!("messages[{i}].content"),
                    format!(
                        "messages[{i}].content = {}: must be a string or a list of text parts",
                        other.unwrap_or(&Value::Null)
                    ),
                ));
            }
        };
        messages.push((role, content));
    }
    spec.prompts = vec![PromptInput::Text(template.render(&messages))];
    for s in template.stops() {
        if !spec.stop.iter().any(|x| x == s) {
            spec.stop.push((*s).to_owned());
        }
    }
    Ok(spec)
}

/// One finished choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub text: String,
    pub finish_reason: &'static str,
}

/// Token counts of a request, summed over its choices (the prompt once per prompt).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
}

impl Usage {
    pub fn json(self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        })
    }
}

/// Which endpoint answers: decides the answer's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Completions,
    Chat,
}

/// The identity every answer and chunk of one request carries.
#[derive(Clone, Debug)]
pub struct Head {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub endpoint: Endpoint,
}

impl Head {
    pub fn new(endpoint: Endpoint, model: &str) -> Head {
        let prefix = match endpoint {
            Endpoint::Completions => "cmpl",
            Endpoint::Chat => "chatcmpl",
        };
        Head {
            id: format!("{prefix}-{:024x}", rand::random::<u128>() >> 32),
            created: unix_now(),
            model: model.to_owned(),
            endpoint,
        }
    }

    /// The whole answer of a non-streaming request.
    pub fn answer(&self, choices: &[Choice], usage: Usage) -> Value {
        let choices: Vec<Value> = choices
            .iter()
            .enumerate()
            .map(|(index, c)| match self.endpoint {
                Endpoint::Completions => json!({
                    "text": c.text, "index": index, "logprobs": null,
                    "finish_reason": c.finish_reason,
                }),
                Endpoint::Chat => json!({
                    "index": index,
                    "message": {"role": "assistant", "content": c.text},
                    "logprobs": null,
                    "finish_reason": c.finish_reason,
                }),
            })
            .collect();
        json!({
            "id": self.id,
            "object": self.object(false),
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": usage.json(),
        })
    }

    /// One stream chunk: new text of choice `index` (the first chat chunk of a choice also
    /// carries the role), or its `finish_reason`.
    pub fn chunk(
        &self,
        index: usize,
        text: Option<&str>,
        first: bool,
        finish: Option<&str>,
    ) -> Value {
        let choice = match self.endpoint {
            Endpoint::Completions => json!({
                "text": text.unwrap_or(""), "index": index, "logprobs": null,
                "finish_reason": finish,
            }),
            Endpoint::Chat => {
                let mut delta = Map::new();
                if first {
                    delta.insert("role".into(), "assistant".into());
                }
                if let Some(t) = text {
                    delta.insert("content".into(), t.into());
                }
                json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish})
            }
        };
        json!({
            "id": self.id, "object": self.object(true), "created": self.created,
            "model": self.model, "choices": [choice],
        })
    }

    /// The last chunk with `stream_options.include_usage`: no choices, the usage.
    pub fn usage_chunk(&self, usage: Usage) -> Value {
        json!({
            "id": self.id, "object": self.object(true), "created": self.created,
            "model": self.model, "choices": [], "usage": usage.json(),
        })
    }

    fn object(&self, chunk: bool) -> &'static str {
        match (self.endpoint, chunk) {
            (Endpoint::Completions, _) => "text_completion",
            (Endpoint::Chat, false) => "chat.completion",
            (Endpoint::Chat, true) => "chat.completion.chunk",
        }
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(body: Value) -> Result<GenSpec, ApiError> {
        parse_completion(body.to_string().as_bytes(), "m")
    }

    #[test]
    fn completion_defaults_and_shapes() {
        let s = completion(json!({"model": "m", "prompt": "x", "stop": "\n"})).unwrap();
        assert_eq!(s.max_tokens, Some(16));
        assert_eq!((s.temperature, s.top_p, s.n), (1.0, 1.0, 1));
        assert_eq!(s.stop, vec!["\n"]);
        let s = completion(json!({"model": "m", "prompt": [[1, 2], [3]], "n": 2})).unwrap();
        assert_eq!(
            s.prompts,
            vec![PromptInput::Ids(vec![1, 2]), PromptInput::Ids(vec![3])]
        );
        let s = completion(json!({"model": "m", "prompt": [5, 6], "logprobs": null})).unwrap();
        assert_eq!(s.prompts, vec![PromptInput::Ids(vec![5, 6])]);
    }

    #[test]
    fn the_engines_route_takes_a_copilot_style_body() {
        let engine = |body: Value| parse_engine_completion(body.to_string().as_bytes(), "m");
        // The body Copilot-style clients send (FauxPilot's README's example, plus Copilot's
        // own `extra` and `nwo`): no model, logprobs 2, an empty suffix at the end of a file.
        let copilot = json!({"prompt": "def hello_w", "suffix": "", "max_tokens": 500,
            "temperature": 0.4, "top_p": 1, "n": 10, "stop": ["\ndef ", "\nclass "],
            "logprobs": 2, "stream": true, "nwo": "me/repo",
            "extra": {"language": "python", "next_indent": 0, "trim_by_indentation": true}});
        let s = engine(copilot).unwrap();
        assert_eq!(s.prompts, vec![PromptInput::Text("def hello_w".into())]);
        assert_eq!((s.max_tokens, s.n, s.stream), (Some(500), 10, true));
        assert_eq!((s.suffix.as_deref(), s.stop.len()), (None, 2));
        let s = engine(json!({"model": "codegen", "prompt": "a", "suffix": "b"})).unwrap();
        assert_eq!(s.suffix.as_deref(), Some("b"));
        // Everything else is checked as on /v1/completions.
        for (body, param) in [
            (json!({"prompt": "a", "logprobs": 9}), "logprobs"),
            (json!({"prompt": "a", "temperature": 7}), "temperature"),
            (json!({"prompt": "a", "frobnicate": 1}), "frobnicate"),
            (json!({"prompt": "a", "echo": true}), "echo"),
            (json!({"max_tokens": 3}), "prompt"),
        ] {
            let e = engine(body.clone()).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{body}: {}", e.message);
        }
    }

    #[test]
    fn bad_parameters_name_the_parameter_and_value() {
        // (body, status, param, text in the message)
        let cases = [
            (json!({"prompt": "x"}), 400, "model", "provide a model"),
            (json!({"model": "other", "prompt": "x"}), 404, "", "`other`"),
            (json!({"model": "m"}), 400, "prompt", "provide a prompt"),
            (
                json!({"model": "m", "prompt": "x", "temperature": 3}),
                400,
                "temperature",
                "temperature = 3",
            ),
            (
                json!({"model": "m", "prompt": "x", "top_p": 0}),
                400,
                "top_p",
                "top_p = 0",
            ),
            (
                json!({"model": "m", "prompt": "x", "n": 0}),
                400,
                "n",
                "n = 0",
            ),
            (
                json!({"model": "m", "prompt": "x", "max_tokens": -1}),
                400,
                "max_tokens",
                "max_tokens = -1",
            ),
            (
                json!({"model": "m", "prompt": "x", "seed": "a"}),
                400,
                "seed",
                "seed = \"a\"",
            ),
            (
                json!({"model": "m", "prompt": "x", "stop": ["a", 1]}),
                400,
                "stop",
                "list of strings",
            ),
            (
                json!({"model": "m", "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}),
                400,
                "stop",
                "at most 4",
            ),
            (
                json!({"model": "m", "prompt": "x", "logprobs": 5}),
                400,
                "logprobs",
                "not supported",
            ),
            (
                json!({"model": "m", "prompt": "x", "frobnicate": 1}),
                400,
                "frobnicate",
                "Unrecognized",
            ),
            (
                json!({"model": "m", "prompt": {}}),
                400,
                "prompt",
                "prompt must be",
            ),
        ];
        for (body, status, param, needle) in cases {
            let e = completion(body.clone()).unwrap_err();
            assert_eq!(e.status.as_u16(), status, "{body}");
            assert_eq!(e.param.as_deref().unwrap_or(""), param, "{body}");
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
    }

    #[test]
    fn chat_renders_and_adds_template_stops() {
        let body = json!({"model": "m", "stop": ["x"], "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": [{"type": "text", "text": "U"}]},
        ]});
        let s = parse_chat(body.to_string().as_bytes(), "m", ChatTemplate::Plain).unwrap();
        assert_eq!(
            s.prompts,
            vec![PromptInput::Text("System: S\nUser: U\nAssistant:".into())]
        );
        assert_eq!(s.stop, vec!["x", "\nUser:", "\nSystem:"]);
        assert_eq!(s.max_tokens, None);
        let bad = json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]});
        let e = parse_chat(bad.to_string().as_bytes(), "m", ChatTemplate::Plain).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages[0].role"));
    }
}
