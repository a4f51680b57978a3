//! Endpoints made reachable for a stage. A `base_url` endpoint is used as it is; a `replay`
//! endpoint is served from its recording on 127.0.0.1, and a `local_model` endpoint by a child
//! `rrtf serve` on 127.0.0.1, both for as long as the returned [`Live`] lives (the child is
//! stopped with SIGTERM, then SIGKILL after [`GRACE`]). Every stage then talks HTTP to every
//! endpoint the same way.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use rrtf_config::Endpoint;
use rrtf_llm::replay::{self, Recording};
use rrtf_llm::testserver::TestServer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::child::{GRACE, Supervised};
use crate::{PipelineError, Result};

/// An endpoint whose `base_url` answers; servers started for it stop on drop.
pub struct Live {
    pub endpoint: Endpoint,
    _guard: Guard,
}

enum Guard {
    Remote,
    Replay(#[allow(dead_code)] TestServer),
    Served(#[allow(dead_code)] Supervised),
}

/// What the store records as the endpoint of a model: the URL, `replay:PATH` or the model dir.
pub fn provenance(e: &Endpoint) -> String {
    if let Some(p) = &e.replay {
        format!("replay:{}", p.display())
    } else if let Some(p) = &e.local_model {
        format!("local:{}", p.display())
    } else {
        e.base_url.clone()
    }
}

/// Make `e` reachable (see the module docs); `exe` is the `rrtf` binary that serves a local
/// model.
pub async fn start(exe: &Path, e: &Endpoint) -> Result<Live> {
    let mut endpoint = e.clone();
    let guard = if let Some(path) = &e.replay {
        let recording =
            Recording::load(path).map_err(|err| PipelineError::Invalid(err.to_string()))?;
        let server = replay::serve(recording).await;
        endpoint.base_url = server.url();
        tracing::info!(endpoint = %e.name, url = %endpoint.base_url, "replaying {}", path.display());
        Guard::Replay(server)
    } else if let Some(dir) = &e.local_model {
        let (child, url) = serve_local(exe, e, dir).await?;
        endpoint.base_url = url;
        Guard::Served(child)
    } else {
        Guard::Remote
    };
    Ok(Live {
        endpoint,
        _guard: guard,
    })
}

/// The arguments of the child `rrtf serve` that serves `e` (a `local_model` endpoint) from
/// `dir`: on the endpoint's `device` when it names one.
pub fn serve_args(e: &Endpoint, dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = ["--json", "serve", "--port", "0", "--model-name"]
        .into_iter()
        .map(Into::into)
        .collect();
    args.push(e.model.clone().into());
    if let Some(d) = &e.device {
        args.push("--device".into());
        args.push(d.into());
    }
    args.push("--model".into());
    args.push(dir.into());
    args
}

/// `rrtf serve --model DIR --port 0 --json` as a child; its URL.
async fn serve_local(exe: &Path, e: &Endpoint, dir: &Path) -> Result<(Supervised, String)> {
    let name = &e.name;
    if !dir.join("config.json").is_file() {
        return Err(PipelineError::Invalid(format!(
            "local_model of `{name}`: {} is not a checkpoint directory (no config.json); \
             make one with `rrtf model init` or point it at a trained model (a round config's \
             relative paths are to the directory rrtf runs in)",
            std::path::absolute(dir)
                .unwrap_or_else(|_| dir.to_owned())
                .display()
        )));
    }
    let mut child = Command::new(exe)
        .args(serve_args(e, dir))
        .env(crate::child::PARENT_PID_VAR, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| PipelineError::io("starting `rrtf serve` for a local model", e))?;
    // Keep the server's last log lines to explain a failed start.
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let mut stderr = BufReader::new(child.stderr.take().expect("piped")).lines();
    let t = tail.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            tracing::debug!(target: "rrtf::serve", "{line}");
            let mut t = t.lock().expect("lock");
            if t.len() == 20 {
                t.pop_front();
            }
            t.push_back(line);
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
    let child = Supervised::new(child, GRACE);
    let line = stdout
        .next_line()
        .await
        .map_err(|e| PipelineError::io("reading `rrtf serve` output", e))?;
    let url = line
        .as_deref()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["url"].as_str().map(str::to_owned));
    let Some(url) = url else {
        // Give the log reader a moment to collect the reason.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let log: Vec<String> = tail.lock().expect("lock").iter().cloned().collect();
        return Err(PipelineError::Failed(format!(
            "`rrtf serve --model {}` (local_model of `{name}`) did not start:\n{}",
            dir.display(),
            log.join("\n")
        )));
    };
    let url = url.trim_end_matches('/').to_owned();
    let url = if url.ends_with("/v1") {
        url
    } else {
        format!("{url}/v1")
    };
    tracing::info!(endpoint = %name, %url, "serving {}", dir.display());
    Ok((child, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local model's `device` reaches its `rrtf serve` as `--device`; without it the child
    /// loads on the build's default device.
    #[test]
    fn a_local_model_is_served_on_its_device() {
        let dir = Path::new("models/student");
        let mut e = Endpoint::local_model("student", "rrtf-student", dir.to_owned());
        let args = |e: &Endpoint| -> Vec<String> {
            serve_args(e, dir)
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        assert!(!args(&e).contains(&"--device".to_owned()));
        e.device = Some("wgpu".into());
        let a = args(&e);
        let at = a
            .iter()
            .position(|x| x == "--device")
            .expect("--device passed");
        assert_eq!(a[at + 1], "wgpu");
        let at = a.iter().position(|x| x == "--model").unwrap();
        assert_eq!(a[at + 1], "models/student");
        let at = a.iter().position(|x| x == "--model-name").unwrap();
        assert_eq!(a[at + 1], "rrtf-student");
    }
}
