//! A scripted OpenAI-compatible server on 127.0.0.1, for tests, benchmarks and the replay
//! teacher ([`crate::replay`]). It speaks just enough HTTP/1.1 (keep-alive, `Content-Length` bodies) to
//! misbehave on purpose: statuses with `Retry-After`, slow answers, malformed JSON, bodies cut
//! short. It records every request body, so tests can count what was sent twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the script sees it.
#[derive(Clone, Debug)]
pub struct Request {
    /// 0 for the first request the server received, then 1, 2, ...
    pub n: u64,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with a well-formed answer of the path's shape, usage included.
    Ok { text: String, finish_reason: String },
    /// Any status with a body and an optional `Retry-After` header.
    Status {
        code: u16,
        body: String,
        retry_after: Option<String>,
    },
    /// 200 whose body is not JSON.
    Malformed,
    /// 200 announcing more bytes than it sends, then closing the connection.
    Truncated,
    /// Wait, then reply.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    pub fn ok(text: impl Into<String>) -> Reply {
        Reply::Ok {
            text: text.into(),
            finish_reason: "stop".into(),
        }
    }
    pub fn status(code: u16, body: &str) -> Reply {
        Reply::Status {
            code,
            body: body.into(),
            retry_after: None,
        }
    }
    pub fn after(self, d: Duration) -> Reply {
        Reply::Delay(d, Box::new(self))
    }
}

pub type Script = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running server; it stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Start on an ephemeral port of 127.0.0.1.
    pub async fn start(script: Script) -> TestServer {
        Self::start_with(script, true).await
    }

    /// Start on an ephemeral port of 127.0.0.1; `record` false keeps no request history (a
    /// long-running replay server must not grow without bound).
    pub async fn start_with(script: Script, record: bool) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
        let counter = Arc::new(AtomicU64::new(0));
        let s = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (script, counter) = (script.clone(), counter.clone());
                let seen = record.then(|| s.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, script, seen, counter).await;
                });
            }
        });
        TestServer { addr, seen, task }
    }

    /// The base URL to put in an endpoint (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("lock").clone()
    }

    /// How many times each distinct request body was received.
    pub fn body_counts(&self) -> HashMap<String, u32> {
        let mut counts = HashMap::new();
        for r in self.seen.lock().expect("lock").iter() {
            *counts.entry(r.body.to_string()).or_default() += 1;
        }
        counts
    }
}

/// A script answering every request with `text(request)` after `latency`.
pub fn echo(latency: Duration) -> Script {
    Arc::new(move |r: &Request| {
        let seed = r.body["seed"].as_u64().unwrap_or(0);
        Reply::ok(format!("    return {seed}\n")).after(latency)
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn serve(
    mut stream: TcpStream,
    script: Script,
    seen: Option<Arc<Mutex<Vec<Request>>>>,
    counter: Arc<AtomicU64>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(8192);
    loop {
        // Headers.
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .unwrap_or("")
            .split(' ')
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let mut len = 0usize;
        let mut authorization = None;
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "authorization" => authorization = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
        }
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
        buf.drain(..head_end + len);
        let req = Request {
            n: counter.fetch_add(1, Ordering::SeqCst),
            path,
            authorization,
            body,
        };
        if let Some(seen) = &seen {
            seen.lock().expect("lock").push(req.clone());
        }
        let mut reply = script(&req);
        while let Reply::Delay(d, next) = reply {
            tokio::time::sleep(d).await;
            reply = *next;
        }
        let (code, body, extra, cut) = match reply {
            Reply::Ok {
                text,
                finish_reason,
            } => (
                200,
                answer(&req, &text, &finish_reason),
                String::new(),
                false,
            ),
            Reply::Status {
                code,
                body,
                retry_after,
            } => (
                code,
                body,
                retry_after
                    .map(|v| format!("Retry-After: {v}\r\n"))
                    .unwrap_or_default(),
                false,
            ),
            Reply::Malformed => (
                200,
                "{\"choices\": [{\"text\": oops".into(),
                String::new(),
                false,
            ),
            Reply::Truncated => (
                200,
                answer(&req, "    return 1\n", "stop"),
                String::new(),
                true,
            ),
            Reply::Delay(..) => unreachable!("delays are unwrapped above"),
        };
        let announced = if cut { body.len() + 100 } else { body.len() };
        let head = format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n{extra}\r\n"
        );
        stream.write_all(head.as_bytes()).await?;
        if cut {
            stream.write_all(&body.as_bytes()[..body.len() / 2]).await?;
            stream.flush().await?;
            return Ok(()); // close mid-body
        }
        stream.write_all(body.as_bytes()).await?;
    }
}

/// An answer of the shape the path expects, with usage (prompt tokens = characters / 4).
fn answer(req: &Request, text: &str, finish_reason: &str) -> String {
    let prompt_chars = if req.path.ends_with("/chat/completions") {
        req.body["messages"].as_array().map_or(0, |m| {
            m.iter()
                .map(|m| m["content"].as_str().map_or(0, str::len))
                .sum()
        })
    } else {
        req.body["prompt"].as_str().map_or(0, str::len)
    };
    let usage = json!({
        "prompt_tokens": prompt_chars.div_ceil(4),
        "completion_tokens": text.len().div_ceil(4),
    });
    let choice = if req.path.ends_with("/chat/completions") {
        json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason})
    } else {
        json!({"index": 0, "text": text, "finish_reason": finish_reason})
    };
    json!({"id": format!("cmpl-{}", req.n), "object": "x", "model": req.body["model"], "choices": [choice], "usage": usage})
        .to_string()
}
