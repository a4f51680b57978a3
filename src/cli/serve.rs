//! `rrtf serve`: an OpenAI-compatible server over a checkpoint. All logic lives in
//! `rrtf-serve`; this module parses arguments, prints where it listens and maps errors.

use std::path::PathBuf;

use clap::Args;
use rrtf_serve::{ApiKey, ChatTemplate, ServeOptions, Server};

use super::{BadInput, Ctx};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Checkpoint directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Address to bind; the default answers this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (printed, and in the --json line).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Name clients send as `model` (default: the checkpoint directory's name).
    #[arg(long)]
    pub model_name: Option<String>,
    /// Environment variable holding a bearer token clients must send (never the token itself).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// How chat messages become a prompt: plain (`User: ...` lines), docstring (the trainer's
    /// default prompt template) or raw (contents joined by newlines).
    #[arg(long, default_value = "plain")]
    pub chat_template: String,
    /// Requests waiting for the model at most; more are answered 503.
    #[arg(long, default_value_t = 64)]
    pub max_queue: usize,
    /// Sequences decoded together at most (continuous batching: every running choice of
    /// every request takes one step at a time; more wait in the queue). 1 answers one choice
    /// at a time.
    #[arg(long, default_value_t = rrtf_serve::DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// Device: cpu, cuda, cuda:N (a `cuda` build) or wgpu (a `wgpu` build); default: the
    /// build's.
    #[arg(long)]
    pub device: Option<String>,
    /// Weight precision: int8 quantizes the linear layers at load (per-channel symmetric int8,
    /// f32 activations; CPU only; accuracy: `rrtf model quantize`), none keeps the checkpoint's.
    /// A checkpoint saved by `rrtf model quantize` is int8 without this flag.
    #[arg(long, default_value = "none")]
    pub quantize: String,
}

pub async fn run(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<()> {
    let mut opts = ServeOptions::new(&a.model);
    opts.model_name = a.model_name;
    opts.chat_template = ChatTemplate::parse(&a.chat_template)?;
    opts.api_key = a.api_key_env.as_deref().map(ApiKey::from_env).transpose()?;
    if a.max_queue == 0 {
        return Err(BadInput("--max-queue 0: must be at least 1".into()).into());
    }
    opts.max_queue = a.max_queue;
    if a.max_batch == 0 {
        return Err(BadInput(
            "--max-batch 0: must be at least 1 (1 decodes one choice at a time)".into(),
        )
        .into());
    }
    opts.max_batch = a.max_batch;
    opts.device = a.device;
    opts.quantize = rrtf_model::Quantize::parse(&a.quantize)?;
    let auth = opts.api_key.is_some();
    let server = Server::load(opts).await?;
    let listener = rrtf_serve::bind(&a.host, a.port).await?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() && !auth {
        // vLLM's and llama.cpp's default too, so not refused; but said, since anyone who can
        // reach the port can then use the model.
        eprintln!(
            "warning: serving on {addr}, reachable from other machines, without an API key and \
             over plain HTTP: anyone who can reach the port can use the model. Give \
             `--api-key-env VAR` (clients send `Authorization: Bearer <key>`), or bind \
             `--host 127.0.0.1`."
        );
    }
    let url = format!("http://{addr}");
    let model = server.model_name().to_owned();
    ctx.emit(
        || {
            let int8 = if server.int8() { " (int8)" } else { "" };
            format!("serving {model}{int8} at {url}/v1 (Ctrl-C stops)")
        },
        || {
            serde_json::json!({
                "url": url, "base_url": format!("{url}/v1"), "model": model,
                "context_length": server.context_length(), "auth": auth,
                "chat_template": a.chat_template,
                "weights": if server.int8() { "int8" } else { "f32" },
            })
        },
    );
    tracing::info!(%addr, model = %server.model_name(), "listening");
    server
        .run(listener, rrtf_serve::shutdown_signal())
        .await
        .map_err(anyhow::Error::from)
}
