//! What a reviewer's terminal and browser receive: stored text with escape sequences is shown
//! with its control characters made visible (while `--json` stays exact), and the web review
//! refuses to be framed by another page and to answer a non-loopback `Host`.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::{humaneval, ok_json, rrtf, rrtf_cmd, teacher_and_student};
use serde_json::Value;

/// A student answer carrying what a terminal would obey: clear the screen, retitle the window,
/// write the clipboard (OSC 52), hide a line behind a carriage return.
const HOSTILE: &str =
    "    return 1  # \x1b[2J\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07 ok\rFAIL hidden\n";

#[test]
fn stored_escape_sequences_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    teacher_and_student(d, &humaneval()[..1], HOSTILE);

    let out = rrtf(d, &["review", "show", "HumanEval/0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    for c in shown.chars() {
        assert!(
            c == '\n' || c == '\t' || !c.is_control(),
            "control character {c:?} in the human output:\n{shown}"
        );
    }
    assert!(
        shown.contains("␛[2J␛]0;owned␇␛]52;c;cm0gLXJmIH4=␇ ok␍FAIL hidden"),
        "the sequences are shown, visibly:\n{shown}"
    );

    // The JSON document keeps the stored text exactly.
    let v = ok_json(d, &["--json", "review", "show", "HumanEval/0"]);
    let texts: Vec<&str> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["raw_text"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains(HOSTILE.trim_end())), "{v}");
}

/// A raw HTTP/1.1 GET of `/` with this `Host`: the status and the headers (lower-cased names).
fn get(addr: &str, host: &str) -> (u16, Vec<(String, String)>) {
    request(addr, "GET / HTTP/1.1", &[("Host", host)], "")
}

/// A raw HTTP/1.1 request with these headers after the request line (and a form body): the
/// status and the answer's headers (lower-cased names).
fn request(
    addr: &str,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{request_line}\r\n{extra}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

/// `rrtf review serve --port 0 ARGS` in `d`: the child and the address it listens on.
fn serve_review(d: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    let mut all = vec!["--json", "review", "serve", "--port", "0"];
    all.extend_from_slice(args);
    let mut child = rrtf_cmd(d, &all).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url: Value = serde_json::from_str(&line).unwrap();
    let addr = url["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    (child, addr)
}

fn stop(mut child: std::process::Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
}

#[test]
fn the_web_review_cannot_be_framed_or_rebound() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let (child, addr) = serve_review(d, &["--reviewer", "ana"]);
    let answers = [get(&addr, &addr), get(&addr, "evil.example")];
    stop(child);
    let [(ok, headers), (refused, refused_headers)] = answers;
    assert_eq!((ok, refused), (200, 421));
    for h in [headers, refused_headers] {
        let value = |name: &str| h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(
            value("content-security-policy"),
            Some("frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"),
            "{h:?}"
        );
        assert_eq!(value("x-frame-options"), Some("DENY"), "{h:?}");
        assert_eq!(value("x-content-type-options"), Some("nosniff"), "{h:?}");
        assert_eq!(value("referrer-policy"), Some("same-origin"), "{h:?}");
        assert_eq!(value("cache-control"), Some("no-store"), "{h:?}");
        // Plain HTTP on loopback: no HSTS.
        assert_eq!(value("strict-transport-security"), None, "{h:?}");
    }
}

/// The status of [`request`]'s answer.
fn status_of(addr: &str, request_line: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    request(addr, request_line, headers, body).0
}

/// Behind a TLS-terminating proxy on the same machine the review listens on loopback and
/// the browser's host name arrives in `Host` (or `X-Forwarded-Host`, for a proxy that sets
/// `Host` to its upstream): the pages answer it and the login posts from its origin are not
/// refused; without `--auth` such a setup is refused at start (the proxy forwards the network).
#[test]
fn the_web_review_works_behind_a_proxy_on_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_json(d, &["--json", "init"]);
    let out = rrtf(
        d,
        &[
            "review",
            "serve",
            "--behind-https-proxy",
            "--reviewer",
            "ana",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--behind-https-proxy without --auth"));
    ok_json(
        d,
        &["--json", "review", "users", "add", "ana", "--by", "lead"],
    );
    let (child, addr) = serve_review(d, &["--auth", "--behind-https-proxy"]);
    let public = "review.example.org";
    let origin = "https://review.example.org";
    let statuses = [
        // The login page, asked for by the public name.
        status_of(&addr, "GET /login HTTP/1.1", &[("Host", public)], ""),
        // A login posted from the public origin: a wrong token is refused as a login (401),
        // not as a cross-origin post (403); with Host kept or in X-Forwarded-Host.
        status_of(
            &addr,
            "POST /login HTTP/1.1",
            &[("Host", public), ("Origin", origin)],
            "token=wrong",
        ),
        status_of(
            &addr,
            "POST /login HTTP/1.1",
            &[
                ("Host", &addr),
                ("X-Forwarded-Host", public),
                ("Origin", origin),
            ],
            "token=wrong",
        ),
        // Another site's page is still refused.
        status_of(
            &addr,
            "POST /login HTTP/1.1",
            &[("Host", public), ("Origin", "https://evil.example")],
            "token=wrong",
        ),
    ];
    stop(child);
    assert_eq!(statuses, [200, 401, 401, 403]);
}
