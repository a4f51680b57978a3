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

/// A raw HTTP/1.1 POST of `body` to `path`, naming the server's own address as `Host`, with
/// `headers`: the status.
fn post(addr: std::net::SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"))
}

/// A web page the user opens can make the browser POST to the model (a `text/plain` body
/// needs no CORS preflight, and the server reads it as JSON): what carries another site's
/// `Origin`, or a cross-site `Sec-Fetch-Site`, is refused; programs send neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_a_web_page_of_another_site_makes_are_refused() {
    let opts = ServeOptions::new(rrtf_model::fixtures_dir().join("mha"));
    let server = rrtf_serve::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.addr();
    let statuses = tokio::task::spawn_blocking(move || {
        let body = r#"{"model":"mha","prompt":"def f","max_tokens":1}"#;
        let own = format!("http://{addr}");
        let text = ("Content-Type", "text/plain");
        [
            post(addr, "/v1/completions", &[text], body),
            post(addr, "/v1/completions", &[text, ("Origin", &own)], body),
            post(
                addr,
                "/v1/completions",
                &[text, ("Origin", "https://evil.example")],
                body,
            ),
            post(addr, "/v1/completions", &[text, ("Origin", "null")], body),
            post(
                addr,
                "/v1/completions",
                &[text, ("Sec-Fetch-Site", "cross-site")],
                body,
            ),
        ]
    })
    .await
    .unwrap();
    server.shutdown().await.unwrap();
    assert_eq!(statuses, [200, 200, 403, 403, 403]);
}

/// A client that connects and then sends nothing, or half a request, is closed after
/// `conn::HEADER_TIMEOUT`; one address holds at most `conn::PER_CLIENT` connections (a
/// thousand idle sockets used to exhaust the server's descriptors), and requests still get
/// answers meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_cannot_hold_the_server() {
    use rrtf_serve::conn::{HEADER_TIMEOUT, PER_CLIENT};
    let opts = ServeOptions::new(rrtf_model::fixtures_dir().join("mha"));
    let server = rrtf_serve::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.addr();
    tokio::task::spawn_blocking(move || {
        let closed = |s: &mut TcpStream, within: Duration| {
            s.set_read_timeout(Some(within)).unwrap();
            let mut buf = [0u8; 64];
            matches!(s.read(&mut buf), Ok(0))
        };
        // Half a request line, then nothing: closed once the header time is up.
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /v1/models HTT").unwrap();
        // The per-client limit: the first PER_CLIENT - 1 more stay open, the next is closed.
        let mut idle: Vec<TcpStream> = (1..PER_CLIENT)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut over = TcpStream::connect(addr).unwrap();
        assert!(
            closed(&mut over, Duration::from_secs(5)),
            "connection {} of one client was kept",
            PER_CLIENT + 1
        );
        idle.truncate(PER_CLIENT - 2);
        std::thread::sleep(Duration::from_millis(300));
        let own = addr.to_string();
        assert_eq!(get(addr, "/v1/models", Some(&own)).0, 200);
        assert!(
            closed(&mut slow, HEADER_TIMEOUT + Duration::from_secs(10)),
            "a connection that never finished its request line was kept past {HEADER_TIMEOUT:?}"
        );
        // And one that never sent a byte.
        assert!(
            closed(&mut idle[0], Duration::from_secs(10)),
            "a connection that sent nothing was kept past {HEADER_TIMEOUT:?}"
        );
    })
    .await
    .unwrap();
    server.shutdown().await.unwrap();
}
