//! `rrtf-serve`: an OpenAI-compatible HTTP server over a local GPTBigCode checkpoint
//! (`rrtf serve`, and the student endpoint that `rrtf round` starts in-process).
//!
//! Endpoints: `GET /v1/models`, `GET /v1/models/{id}`, `POST /v1/completions`,
//! `POST /v1/chat/completions` (both with `stream: true` as server-sent events), `GET /health`.
//! Answers have OpenAI's shapes with `usage` and `finish_reason` (`stop`: end-of-text or a stop
//! string; `length`: `max_tokens` reached); errors are `{"error": {"message", "type", "param",
//! "code"}}` with 400 for bad parameters, 401 for a missing or wrong bearer token, 404 for
//! unknown paths and models, 503 when the queue is full.
//!
//! Decoding is `rrtf_model::generate`'s, so temperature 0 answers exactly what
//! `rrtf model generate` prints; choice `i` of a request with `seed` is sampled with seed
//! `seed + i`. Concurrent requests decode together by continuous batching (`worker`), each
//! exactly as it would alone. Chat messages become one prompt through a [`ChatTemplate`].
//!
//! Code map: [`api`] (wire format, parameter checks) → [`worker`] (the model thread and its
//! queue, continuous batching, `/metrics`' counters) ← [`routes`] (axum routes, Host check,
//! auth, log, SSE) ; [`template`] (chat templates); [`host`] (the loopback-host guard, shared
//! with the web review).
//!
//! INT8: `ServeOptions::quantize` (or a checkpoint saved by `rrtf model quantize`) makes the
//! model's linear layers int8 (`rrtf_model::quant`), which the decoding steps then read.
//!
//! Not here: HTTP clients (`rrtf-llm`), logprobs, penalties, tools.

pub mod api;
pub mod conn;
mod error;
pub mod host;
mod routes;
pub mod template;
mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use error::ServeError;
pub use template::ChatTemplate;
pub use tokio::net::TcpListener;

/// A bearer token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// The token held by the environment variable `var` (`--api-key-env`).
    pub fn from_env(var: &str) -> Result<ApiKey, ServeError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(ApiKey(v.trim().to_owned())),
            _ => Err(ServeError::MissingKey {
                var: var.to_owned(),
            }),
        }
    }

    pub fn new(token: impl Into<String>) -> ApiKey {
        ApiKey(token.into())
    }

    /// Compare in time independent of where the first difference is.
    fn matches(&self, token: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// `ServeOptions::max_batch`'s default: past it a step costs about as much per sequence as
/// decoding alone (measured: README's Benchmarks).
pub const DEFAULT_MAX_BATCH: usize = 16;

/// What to serve and how.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Checkpoint directory (config.json, model.safetensors, tokenizer.json).
    pub model_dir: PathBuf,
    /// The name clients ask for; default: the directory's name.
    pub model_name: Option<String>,
    /// Require `Authorization: Bearer <token>` on every path but `/health`.
    pub api_key: Option<ApiKey>,
    pub chat_template: ChatTemplate,
    /// Requests waiting for the model at most; more are answered 503.
    pub max_queue: usize,
    /// Sequences decoded together at most (continuous batching, `worker.rs`).
    pub max_batch: usize,
    /// The device the model runs on (`cpu`, `cuda[:N]`, `wgpu`: `rrtf_model::parse_device`);
    /// `None` is the build's default.
    pub device: Option<String>,
    /// Weight precision of the linear layers (`--quantize`); a checkpoint saved quantized
    /// (`rrtf model quantize`) decodes in int8 whatever this says.
    pub quantize: rrtf_model::Quantize,
}

impl ServeOptions {
    pub fn new(model_dir: impl Into<PathBuf>) -> ServeOptions {
        ServeOptions {
            model_dir: model_dir.into(),
            model_name: None,
            api_key: None,
            chat_template: ChatTemplate::default(),
            max_queue: 64,
            max_batch: DEFAULT_MAX_BATCH,
            device: None,
            quantize: rrtf_model::Quantize::None,
        }
    }

    fn name(&self) -> Result<String, ServeError> {
        let name = match &self.model_name {
            Some(n) => n.clone(),
            None => std::fs::canonicalize(&self.model_dir)
                .unwrap_or_else(|_| self.model_dir.clone())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
        };
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            return Err(ServeError::BadModelName {
                name,
                message: "must be non-empty and without spaces",
            });
        }
        Ok(name)
    }
}

/// A loaded model, ready to answer on a listener.
pub struct Server {
    state: Arc<routes::AppState>,
}

impl Server {
    /// Load the checkpoint on the model thread and wait until it is ready.
    pub async fn load(opts: ServeOptions) -> Result<Server, ServeError> {
        let model_name = opts.name()?;
        let worker = worker::Worker::start(
            opts.model_dir.clone(),
            opts.max_queue,
            opts.max_batch,
            opts.device.clone(),
            opts.quantize,
        )
        .await?;
        Ok(Server {
            state: Arc::new(routes::AppState {
                model_name,
                api_key: opts.api_key,
                template: opts.chat_template,
                worker,
                created: api::unix_now(),
            }),
        })
    }

    pub fn model_name(&self) -> &str {
        &self.state.model_name
    }

    /// Whether the model decodes with int8 linear layers.
    pub fn int8(&self) -> bool {
        self.state.worker.info.int8
    }

    /// The model's context length in tokens (prompt + completion).
    pub fn context_length(&self) -> usize {
        self.state.worker.info.n_positions
    }

    /// Answer on `listener` until `shutdown` completes, then finish the requests in flight.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: "listener".into(),
            source,
        })?;
        let loopback = addr.ip().is_loopback();
        let router = routes::router(self.state, loopback);
        conn::serve(listener, router, |tcp| async move { Some(tcp) }, shutdown).await;
        Ok(())
    }
}

/// Bind `host:port` (port 0: a free port).
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, ServeError> {
    let addr = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let bad_host = |source| ServeError::BadHost {
        host: host.to_owned(),
        source,
    };
    let first = tokio::net::lookup_host(&addr)
        .await
        .map_err(bad_host)?
        .next()
        .ok_or_else(|| bad_host(std::io::ErrorKind::NotFound.into()))?;
    TcpListener::bind(first)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Load the model and answer on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(opts: ServeOptions, listener: TcpListener) -> Result<(), ServeError> {
    Server::load(opts)
        .await?
        .run(listener, shutdown_signal())
        .await
}

/// Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A server started in-process with [`start`]: its address, and a way to stop it.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    model_name: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/v1`: the base URL OpenAI clients and `rrtf-llm` endpoints take.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The name to send as `model`.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// Stop accepting, finish the requests in flight, and return how the server ended.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(());
        self.task
            .await
            .map_err(|e| ServeError::Worker(format!("the server task failed: {e}")))?
    }
}

/// Load the model and serve it on `addr` (e.g. `127.0.0.1:0`) in a task of the current tokio
/// runtime; returns once it is listening, with the bound address.
pub async fn start(opts: ServeOptions, addr: SocketAddr) -> Result<RunningServer, ServeError> {
    let server = Server::load(opts).await?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let model_name = server.model_name().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(listener, async {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        model_name,
        stop,
        task,
    })
}
