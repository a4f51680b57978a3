//! Listening on loopback, the server answers only requests that name a loopback host: a web
//! page that rebinds its own name to 127.0.0.1 reaches the port, but not the model.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rrtf_serve::ServeOptions;

/// A raw HTTP/1.1 GET of `path` with this `Host` header (none when `None`): status and body.
fn get(addr: std::net::SocketAddr, path: &str, host: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let host = host.map_or(String::new(), |h| format!("Host: {h}\r\n"));
    write!(s, "GET {path} HTTP/1.1\r\n{host}Connection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_server_refuses_other_host_names() {
    let opts = ServeOptions::new(rrtf_model::fixtures_dir().join("mha"));
    let server = rrtf_serve::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.addr();
    let answers = tokio::task::spawn_blocking(move || {
        let own = addr.to_string();
        [
            get(addr, "/v1/models", Some(&own)),
            get(addr, "/v1/models", Some("localhost")),
            get(addr, "/v1/models", Some("evil.example")),
            get(
                addr,
                "/v1/models",
                Some(&format!("evil.example:{}", addr.port())),
            ),
            get(addr, "/health", Some("evil.example")),
        ]
    })
    .await
    .unwrap();
    server.shutdown().await.unwrap();
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 421, 421, 421], "{answers:?}");
    let refused: serde_json::Value = serde_json::from_str(&answers[2].1).unwrap();
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("evil.example"), "{message}");
}
