//! `rrtf review serve` in headless Chromium: a small ranked project (three HumanEval problems,
//! canonical solutions as a teacher's responses, a broken body carrying a `<script>` as a
//! student's), the server started as a child with `--port 0 --json`, pages checked in the
//! rendered DOM, a pin and a note made with the mouse and keyboard, then read back through the
//! CLI and an export.

use crate::common;
use crate::common::chromium;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use chromium::Browser;
use common::{fixture_executions, humaneval, ok_json, read_jsonl, rrtf_cmd, teacher_and_student};
use serde_json::{Value, json};

/// The student's answer: model output that tries to close the page's `<pre>` and run a script.
const HOSTILE: &str = "    return None  # </pre><script>document.title = 'pwned'</script>\n";

/// The review server as a child process, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path, reviewer: &str) -> Server {
        let server = Server::start_with(dir, &["--reviewer", reviewer]);
        assert!(
            server.url.starts_with("http://127.0.0.1:"),
            "{}",
            server.url
        );
        server
    }

    /// `rrtf --json review serve --port 0 ARGS`.
    fn start_with(dir: &Path, args: &[&str]) -> Server {
        let mut all = vec!["--json", "review", "serve", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = rrtf_cmd(dir, &all)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start rrtf review serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON line with the URL ({e}): {line:?}"));
        let url = v["url"]
            .as_str()
            .expect("url")
            .trim_end_matches('/')
            .to_owned();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 request (for what a browser would not send); the status code.
fn http_status(url: &str, request: &str) -> u16 {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"))
}

/// With `RRTF_SCREENSHOTS=DIR`, save what the page looks like as `DIR/NAME.png`.
fn snap(b: &mut Browser, name: &str) {
    if let Some(dir) = std::env::var_os("RRTF_SCREENSHOTS") {
        b.screenshot(&Path::new(&dir).join(format!("{name}.png")));
    }
}

fn text(b: &mut Browser, selector: &str) -> String {
    let sel = serde_json::to_string(selector).unwrap();
    b.eval(&format!(
        "(() => {{ const e = document.querySelector({sel}); return e ? e.textContent : null; }})()"
    ))
    .as_str()
    .unwrap_or_else(|| panic!("nothing matches {selector}"))
    .to_owned()
}

fn count(b: &mut Browser, selector: &str) -> u64 {
    let sel = serde_json::to_string(selector).unwrap();
    b.eval(&format!("document.querySelectorAll({sel}).length"))
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_review_in_headless_chromium() {
    // A skip that names the package when there is no browser (a failure in the full tier).
    if !chromium::available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let problems: Vec<Value> = humaneval().into_iter().take(3).collect();
    teacher_and_student(d, &problems, HOSTILE);
    fixture_executions(&common::database(d), 3).await;
    let ranked = ok_json(d, &["--json", "rank"]);
    assert_eq!(ranked["kept"], 3);

    let server = Server::start(d, "web-ana");
    let mut b = Browser::launch();

    // The index: rounds, counts, the models and the report's plots.
    b.goto(&format!("{}/", server.url));
    assert_eq!(text(&mut b, "h1"), "rrtf review");
    assert_eq!(text(&mut b, "#reviewer"), "web-ana");
    assert_eq!(count(&mut b, "table.rounds tr"), 2, "a header and round 0");
    let models = text(&mut b, "#models");
    assert!(
        models.contains("canonical") && models.contains("broken"),
        "{models}"
    );
    assert!(count(&mut b, "svg") >= 4, "the report's four plots");
    assert!(text(&mut b, "#pairs").contains("Pairs per round"));
    snap(&mut b, "index");

    // The prompt list, its filters and text search.
    b.expect_new_page(|b| b.click("nav a[href='/prompts']"));
    assert_eq!(count(&mut b, "tr.prompt-row"), 3);
    snap(&mut b, "prompts");
    b.goto(&format!(
        "{}/prompts?outcome=pass&status=kept&round=0",
        server.url
    ));
    assert_eq!(count(&mut b, "tr.prompt-row"), 3);
    b.goto(&format!("{}/prompts?round=7", server.url));
    assert_eq!(count(&mut b, "tr.prompt-row"), 0);
    b.goto(&format!("{}/prompts", server.url));
    b.type_into("#f-q", "separate_paren");
    b.expect_new_page(|b| b.click("#f-apply"));
    assert_eq!(count(&mut b, "tr.prompt-row"), 1);
    assert!(text(&mut b, "#prompts").contains("HumanEval/1"));
    b.goto(&format!("{}/prompts?reviewed=no", server.url));
    assert_eq!(count(&mut b, "tr.prompt-row"), 3);

    // A prompt page: the prompt, its test, responses side by side in rank order.
    let href = b.expect_new_page(|b| b.click("tr.prompt-row[data-prompt='1'] a"));
    assert!(href.ends_with("/prompts/1"), "{href}");
    assert_eq!(text(&mut b, "#source-id"), "HumanEval/0");
    assert!(text(&mut b, "#prompt-text").contains("def has_close_elements"));
    assert_eq!(count(&mut b, "pre.test"), 1);
    let cards = b.eval(
        "[...document.querySelectorAll('article.response')].map(a => ({
            id: Number(a.dataset.response),
            model: a.querySelector('.model').textContent,
            outcome: a.querySelector('.outcome').textContent,
            tests: a.querySelector('.tests').textContent,
            score: Number(a.querySelector('.score').textContent),
            components: [...a.querySelectorAll('table.components tr')].slice(1)
                .map(tr => [tr.cells[0].textContent, Number(tr.cells[1].textContent)]),
            code: a.querySelector('pre.code').textContent,
            failure: a.querySelector('pre.failure')?.textContent ?? null,
        }))",
    );
    let cards = cards.as_array().unwrap();
    assert_eq!(cards.len(), 2);
    let (teacher, student) = (&cards[0], &cards[1]);
    assert_eq!(
        (teacher["id"].as_i64(), teacher["model"].as_str()),
        (Some(1), Some("canonical (teacher)"))
    );
    assert_eq!(
        (teacher["outcome"].as_str(), teacher["tests"].as_str()),
        (Some("pass"), Some("3/3"))
    );
    assert_eq!(teacher["code"], problems[0]["canonical_solution"]);
    assert_eq!(
        (
            student["id"].as_i64(),
            student["outcome"].as_str(),
            student["tests"].as_str()
        ),
        (Some(4), Some("test_failure"), Some("0/3"))
    );
    assert_eq!(
        student["failure"],
        "AssertionError: assert candidate(1) == 2"
    );
    for card in cards {
        // The score breakdown explains the score: the components add up to it.
        let comps = card["components"].as_array().unwrap();
        assert!(comps.iter().any(|c| c[0] == "outcome"), "{card}");
        let sum: f64 = comps.iter().map(|c| c[1].as_f64().unwrap()).sum();
        assert!(
            (sum - card["score"].as_f64().unwrap()).abs() < 1e-3,
            "{card}"
        );
    }
    assert!(teacher["score"].as_f64() > student["score"].as_f64());

    // Untrusted output is shown as text: no script element, the title untouched.
    assert_eq!(student["code"], HOSTILE);
    assert_eq!(
        count(&mut b, "script:not(#review-keys)"),
        0,
        "only the page's own script"
    );
    assert_eq!(count(&mut b, "script#review-keys"), 1);
    assert!(!b.eval("document.title").as_str().unwrap().contains("pwned"));
    assert_eq!(text(&mut b, "#no-reviews"), "No reviews yet.");

    // Pin the student's answer as chosen, with the mouse, giving a reason.
    b.type_into("#pin-4-reason", "clearer <i>code</i>");
    let href = b.expect_new_page(|b| b.click("#pin-4"));
    assert!(href.contains("/prompts/1"), "{href}");
    assert!(b.eval("document.querySelector('#r4').classList.contains('pinned')") == json!(true));
    assert_eq!(text(&mut b, "#r4 .effective"), "#1");
    assert_eq!(
        count(&mut b, "#unpin-4"),
        1,
        "a pinned response offers unpin"
    );
    assert_eq!(
        text(&mut b, "tr.review[data-action='pin'] .author"),
        "web-ana"
    );
    assert_eq!(
        text(&mut b, "tr.review[data-action='pin'] .reason"),
        "clearer <i>code</i>",
        "the reason is recorded, as text"
    );

    // Exclude the teacher's answer, then include it back.
    b.expect_new_page(|b| b.click("#exclude-1"));
    let excluded = "document.querySelector('#r1').classList.contains('excluded')";
    assert_eq!(b.eval(excluded), json!(true));
    assert_eq!(
        text(&mut b, "#r1 .effective"),
        "—",
        "out of the effective order"
    );
    b.expect_new_page(|b| b.click("#include-1"));
    assert_eq!(b.eval(excluded), json!(false));
    assert_eq!(text(&mut b, "#r1 .effective"), "#2");

    // Add a note by typing it.
    let note = "tests look weak <b>check the edge cases</b>";
    b.type_into("#note-text", note);
    b.expect_new_page(|b| b.click("#note-submit"));
    assert_eq!(count(&mut b, "tr.review"), 4);
    assert_eq!(text(&mut b, "tr.review[data-action='note'] .reason"), note);
    assert_eq!(
        count(&mut b, "tr.review b"),
        0,
        "the note is text, not markup"
    );
    snap(&mut b, "prompt");

    // Reorder by dragging: the student's answer dropped on the teacher's goes first.
    b.expect_new_page(|b| b.click("#unpin-4"));
    assert_eq!(text(&mut b, "#r1 .effective"), "#1");
    b.expect_new_page(|b| {
        b.eval(
            "(() => { const s = document.querySelector('#r4'), t = document.querySelector('#r1'); \
             const dt = new DataTransfer(); \
             s.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt})); \
             t.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt})); \
             t.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt})); })()",
        );
    });
    assert_eq!(
        (
            text(&mut b, "#r4 .effective"),
            text(&mut b, "#r1 .effective")
        ),
        ("#1".to_owned(), "#2".to_owned())
    );
    assert_eq!(count(&mut b, "tr.review[data-action='reorder']"), 1);
    assert_eq!(
        text(&mut b, "tr.review[data-action='reorder'] .author"),
        "web-ana"
    );

    // The keyboard: j selects the first response, x excludes it, and on the next page includes
    // it back; then j j [ moves the second one up (another reorder).
    let key = |b: &mut Browser, k: &str| {
        for t in ["keyDown", "keyUp"] {
            b.call(
                "Input.dispatchKeyEvent",
                json!({"type": t, "key": k, "text": k}),
            );
        }
    };
    key(&mut b, "j");
    assert_eq!(
        b.eval("document.querySelector('#r1').classList.contains('selected')"),
        json!(true)
    );
    b.expect_new_page(|b| key(b, "x"));
    assert_eq!(b.eval(excluded), json!(true));
    key(&mut b, "j");
    b.expect_new_page(|b| key(b, "x"));
    assert_eq!(b.eval(excluded), json!(false));
    key(&mut b, "j");
    key(&mut b, "j");
    assert_eq!(
        b.eval("document.querySelector('#r4').classList.contains('selected')"),
        json!(true)
    );
    b.expect_new_page(|b| key(b, "["));
    assert_eq!(count(&mut b, "tr.review[data-action='reorder']"), 2);

    // An unknown prompt is a 404 page.
    b.goto(&format!("{}/prompts/999", server.url));
    assert!(text(&mut b, "#error").contains("999"));

    // What a browser on another site, or a rebound host name, would send is refused.
    let post = |host: &str, origin: &str| {
        let body = "action=exclude&response=&text=";
        format!(
            "POST /prompts/2/review HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let host = server.url.trim_start_matches("http://");
    assert_eq!(
        http_status(&server.url, &post(host, "http://evil.example")),
        403
    );
    assert_eq!(
        http_status(&server.url, &post("evil.example", "http://evil.example")),
        421
    );
    drop(b);
    drop(server);

    // The CLI sees every action, authored by the reviewer; exports honour the pin.
    let show = ok_json(d, &["--json", "review", "show", "HumanEval/0"]);
    let reviews = show["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 9, "{reviews:?}");
    let actions: Vec<(&str, &str)> = reviews
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["author"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            "pin", "exclude", "include", "note", "unpin", "reorder", "exclude", "include",
            "reorder"
        ]
        .map(|a| (a, "web-ana"))
    );
    assert_eq!(
        (
            &reviews[0]["action"],
            &reviews[0]["response_id"],
            &reviews[0]["author"]
        ),
        (&json!("pin"), &json!(4), &json!("web-ana"))
    );
    assert_eq!(
        (
            &reviews[3]["action"],
            &reviews[3]["reason"],
            &reviews[3]["author"]
        ),
        (&json!("note"), &json!(note), &json!("web-ana"))
    );
    assert_eq!(reviews[8]["payload"], json!({"order": [4, 1]}));
    assert_eq!(show["effective_order"], json!([4, 1]));
    assert_eq!(
        ok_json(d, &["--json", "review", "show", "HumanEval/1"])["reviews"],
        json!([]),
        "the refused POSTs recorded nothing"
    );
    ok_json(
        d,
        &[
            "--json",
            "export",
            "--format",
            "trl",
            "--out",
            "pairs.jsonl",
        ],
    );
    let pairs = read_jsonl(&d.join("pairs.jsonl"));
    assert_eq!(pairs[0]["chosen"], HOSTILE, "the reorder decides the pair");

    // A review policy requiring a reason to exclude (issue 19 item 7): the page asks for it,
    // and the server refuses an exclusion without one (as a browser without validation, or a
    // script, would send it).
    ok_json(
        d,
        &[
            "--json",
            "review",
            "policy",
            "--require-reason",
            "exclude",
            "--author",
            "lead",
        ],
    );
    let server = Server::start(d, "web-ana");
    let mut b = Browser::launch();
    b.goto(&format!("{}/prompts/2", server.url));
    assert_eq!(
        text(&mut b, "#policy"),
        "The review policy requires a reason to exclude."
    );
    let required =
        |b: &mut Browser, sel: &str| b.eval(&format!("document.querySelector('{sel}').required"));
    assert_eq!(required(&mut b, "#exclude-prompt-reason"), json!(true));
    assert_eq!(
        required(&mut b, "input[id^=pin-][id$=-reason]"),
        json!(false),
        "pin stays optional"
    );
    // The browser does not send the form with the reason empty: the page stays as it is.
    b.click("#exclude-prompt");
    assert_eq!(
        b.eval("document.getElementById('exclude-prompt-reason').validity.valueMissing"),
        json!(true)
    );
    let host = server.url.trim_start_matches("http://");
    let post = |text: &str| {
        let body = format!("action=exclude&response=&text={text}");
        format!(
            "POST /prompts/2/review HTTP/1.1\r\nHost: {host}\r\nOrigin: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            server.url,
            body.len()
        )
    };
    assert_eq!(http_status(&server.url, &post("")), 400);
    assert_eq!(
        http_status(&server.url, &post("+++")),
        400,
        "a blank reason"
    );
    assert_eq!(http_status(&server.url, &post("off+topic")), 303);
    drop(b);
    drop(server);
    let reviews = ok_json(d, &["--json", "review", "show", "HumanEval/1"])["reviews"].clone();
    assert_eq!(reviews.as_array().unwrap().len(), 1, "{reviews}");
    assert_eq!(reviews[0]["reason"], "off topic");
}

/// A form's fields as `reqwest` takes them.
fn as_pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A reviewer's token from `rrtf review users add|reset NAME --json`.
fn token(d: &Path, cmd: &str, name: &str) -> String {
    ok_json(d, &["--json", "review", "users", cmd, name])["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The stderr of a command that must exit 2 (bad input).
fn refused(d: &Path, args: &[&str]) -> String {
    let out = common::rrtf(d, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    err
}

/// A session of one reviewer, over HTTPS, with the cookie kept by hand (what a browser does).
struct Session {
    http: reqwest::Client,
    url: String,
    cookie: Option<String>,
}

impl Session {
    fn new(url: &str) -> Session {
        let ca =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem"))
                .unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Session {
            http,
            url: url.replace("127.0.0.1", "localhost"),
            cookie: None,
        }
    }

    fn with_cookie(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => r.header("cookie", format!("__Host-rrtf_review={c}")),
            None => r,
        }
    }

    /// GET: the status, the `Location` and the body.
    async fn get(&self, path: &str) -> (u16, String, String) {
        let r = self
            .with_cookie(self.http.get(format!("{}{path}", self.url)))
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map_or(String::new(), |l| l.to_str().unwrap().to_owned());
        (r.status().as_u16(), location, r.text().await.unwrap())
    }

    /// POST a form: the status and the `Set-Cookie`.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        self.post_from(&self.url, path, form).await
    }

    /// POST as a browser showing a page of `origin` would (its `Origin` header).
    async fn post_from(&self, origin: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .with_cookie(self.http.post(format!("{}{path}", self.url)))
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .unwrap();
        let set = r
            .headers()
            .get("set-cookie")
            .map_or(String::new(), |c| c.to_str().unwrap().to_owned());
        (r.status().as_u16(), set)
    }

    /// Log in with `token`; the session cookie's attributes.
    async fn login(&mut self, token: &str) -> String {
        let (status, set) = self.post("/login", &[("token", token)]).await;
        assert_eq!(status, 303, "{set}");
        let value = set
            .strip_prefix("__Host-rrtf_review=")
            .and_then(|s| s.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie: {set:?}"));
        self.cookie = Some(value.to_owned());
        set
    }

    /// The CSRF token of a page's forms.
    async fn csrf(&self, path: &str) -> String {
        let (status, _, body) = self.get(path).await;
        assert_eq!(status, 200, "{body}");
        let at = body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF field on {path}: {body}"));
        body[at + 19..at + 19 + 64].to_owned()
    }
}

/// Issue 22 item 4: the review for a team. Beyond loopback the server refuses to run without
/// logins and HTTPS; reviewers log in with their own tokens (`rrtf review users add`), act as
/// themselves whatever a form says, need their session's CSRF token, see each other's actions
/// in the audit trail, and lose access when removed or logged out.
#[tokio::test(flavor = "multi_thread")]
async fn a_team_reviews_over_https_each_as_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let problems: Vec<Value> = humaneval().into_iter().take(2).collect();
    teacher_and_student(d, &problems, HOSTILE);
    fixture_executions(&common::database(d), 2).await;
    ok_json(d, &["--json", "rank"]);
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let (cert, key) = (
        tls.join("cert.pem").display().to_string(),
        tls.join("key.pem").display().to_string(),
    );
    fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&["review", "serve", "--port", "0"][..], extra].concat()
    }

    // What would expose the review is refused, naming the fix.
    let err = refused(d, &with(&["--host", "0.0.0.0"]));
    assert!(err.contains("pass --auth"), "{err}");
    let err = refused(d, &with(&["--host", "0.0.0.0", "--auth"]));
    assert!(
        err.contains("clear text") && err.contains("--tls-cert"),
        "{err}"
    );
    let tls_args = ["--auth", "--tls-cert", &cert, "--tls-key", &key];
    let err = refused(d, &with(&tls_args));
    assert!(err.contains("rrtf review users add NAME"), "{err}");
    let err = refused(
        d,
        &with(&["--auth", "--tls-cert", &cert, "--tls-key", &cert]),
    );
    assert!(err.contains("not a PEM private key"), "{err}");
    let err = refused(d, &["review", "users", "add", "ana b"]);
    assert!(err.contains("bad reviewer name"), "{err}");

    let ana = token(d, "add", "ana");
    let bo = token(d, "add", "bo");
    let err = refused(d, &["review", "users", "add", "ana"]);
    assert!(err.contains("users reset ana"), "{err}");
    let server = Server::start_with(d, &tls_args);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // Nothing without a login: pages go to the login page, actions are refused.
    let mut a = Session::new(&server.url);
    assert_eq!(a.get("/prompts/1").await.0, 303);
    assert_eq!(a.get("/prompts/1").await.1, "/login");
    let (status, _, page) = a.get("/login").await;
    assert!(status == 200 && page.contains("id=\"token\""), "{page}");
    let pin = [("action", "pin"), ("response", "1"), ("text", "")];
    assert_eq!(a.post("/prompts/1/review", &pin).await.0, 401);
    // A wrong token, or what the database keeps of a right one, logs no one in.
    assert_eq!(a.post("/login", &[("token", "rrtf_rv_00")]).await.0, 401);
    let hash = rrtf_store::sha256_hex(&ana);
    assert_eq!(a.post("/login", &[("token", &hash)]).await.0, 401);
    // Refused logins are answered one at a time, one a second, however many come at once.
    let started = std::time::Instant::now();
    let (x, y) = tokio::join!(
        a.post("/login", &[("token", "rrtf_rv_01")]),
        a.post("/login", &[("token", "rrtf_rv_02")])
    );
    assert_eq!((x.0, y.0), (401, 401));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Ana logs in: a Secure, HttpOnly, SameSite=Strict cookie for this host only.
    let set = a.login(&ana).await;
    for attribute in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let (_, _, index) = a.get("/").await;
    assert!(index.contains("<b id=\"reviewer\">ana</b>"), "{index}");
    // A stale cookie of the same name first (another path's, an earlier server's): the live
    // session still counts.
    let live = a.cookie.clone().unwrap();
    a.cookie = Some(format!("00ff; __Host-rrtf_review={live}"));
    let (_, _, index) = a.get("/").await;
    assert!(index.contains("<b id=\"reviewer\">ana</b>"), "{index}");
    a.cookie = Some(live);
    let csrf = a.csrf("/prompts/1").await;
    // Without the session's CSRF token, or with another's, an action is refused.
    assert_eq!(a.post("/prompts/1/review", &pin).await.0, 403);
    let mut b = Session::new(&server.url);
    b.login(&bo).await;
    let bo_csrf = b.csrf("/prompts/1").await;
    assert_ne!(csrf, bo_csrf);
    let with_csrf = |form: &[(&'static str, &'static str)], t: &str| {
        let mut f: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        f.push(("csrf".into(), t.to_owned()));
        f
    };
    let f = with_csrf(&pin, &bo_csrf);
    assert_eq!(a.post("/prompts/1/review", &as_pairs(&f)).await.0, 403);
    // From another site's page, even with the token: refused.
    let f = with_csrf(&pin, &csrf);
    assert_eq!(
        a.post_from("https://evil.example", "/prompts/1/review", &as_pairs(&f))
            .await
            .0,
        403
    );
    // With it, the pin is Ana's: a form naming another author changes nothing.
    let mut f = with_csrf(&pin, &csrf);
    f.push(("author".into(), "mallory".into()));
    f.push(("reviewer".into(), "mallory".into()));
    assert_eq!(a.post("/prompts/1/review", &as_pairs(&f)).await.0, 303);
    // Bo, on the same prompt, excludes the response Ana pinned; each sees the other's action.
    let exclude = [("action", "exclude"), ("response", "1"), ("text", "wrong")];
    let f = with_csrf(&exclude, &bo_csrf);
    assert_eq!(b.post("/prompts/1/review", &as_pairs(&f)).await.0, 303);
    for s in [&a, &b] {
        let (_, _, page) = s.get("/prompts/1").await;
        let authors: Vec<&str> = page
            .split("<td class=\"author\">")
            .skip(1)
            .map(|t| t.split('<').next().unwrap())
            .collect();
        assert_eq!(authors, ["ana", "bo"], "{page}");
    }

    // Removing Bo ends his session at once; Ana's goes on.
    ok_json(d, &["--json", "review", "users", "remove", "bo"]);
    assert_eq!(b.get("/prompts/1").await.1, "/login");
    assert_eq!(b.post("/prompts/1/review", &as_pairs(&f)).await.0, 401);
    assert_eq!(b.post("/login", &[("token", &bo)]).await.0, 401);
    assert_eq!(a.get("/prompts/1").await.0, 200);
    let users = ok_json(d, &["--json", "review", "users", "list"]);
    let listed: Vec<(String, bool, i64)> = users["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["revoked_at"].is_null(),
                r["sessions"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("ana".to_owned(), true, 1), ("bo".to_owned(), false, 0)]
    );
    // Logging out needs the CSRF token too, then the cookie no longer works.
    assert_eq!(a.post("/logout", &[]).await.0, 403);
    let (status, set) = a.post("/logout", &[("csrf", &csrf)]).await;
    assert!(status == 303 && set.contains("Max-Age=0"), "{set}");
    assert_eq!(a.get("/").await.1, "/login");
    drop(server);

    // The audit trail, through the CLI: each action under the name its reviewer logged in with.
    let show = ok_json(d, &["--json", "review", "show", "HumanEval/0"]);
    let actions: Vec<(&str, &str)> = show["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["author"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("pin", "ana"), ("exclude", "bo")]);
}

/// The login and the CSRF tokens in a real browser (plain HTTP on loopback, where `--auth` is
/// allowed without TLS): logging in through the form, a pin with the mouse, a drag reorder
/// (submitted by the page's script), logging out.
#[tokio::test(flavor = "multi_thread")]
async fn a_reviewer_logs_in_and_reviews_in_headless_chromium() {
    if !chromium::available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let problems: Vec<Value> = humaneval().into_iter().take(1).collect();
    teacher_and_student(d, &problems, HOSTILE);
    fixture_executions(&common::database(d), 1).await;
    ok_json(d, &["--json", "rank"]);
    let cy = token(d, "add", "cy");
    let server = Server::start_with(d, &["--auth", "--reviewer", "someone-else"]);
    let mut b = Browser::launch();
    b.goto(&format!("{}/prompts/1", server.url));
    assert!(text(&mut b, "h1").contains("Log in"));
    b.type_into("#token", "rrtf_rv_not-a-token");
    b.expect_new_page(|b| b.click("#login"));
    assert!(text(&mut b, "#error").contains("Unknown or removed token"));
    b.type_into("#token", &cy);
    b.expect_new_page(|b| b.click("#login"));
    assert_eq!(text(&mut b, "#reviewer"), "cy");
    b.goto(&format!("{}/prompts/1", server.url));
    b.expect_new_page(|b| b.click("#pin-2"));
    assert_eq!(text(&mut b, "tr.review[data-action='pin'] .author"), "cy");
    b.expect_new_page(|b| b.click("#unpin-2"));
    b.expect_new_page(|b| {
        b.eval(
            "(() => { const s = document.querySelector('#r2'), t = document.querySelector('#r1'); \
             const dt = new DataTransfer(); \
             s.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt})); \
             t.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt})); \
             t.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt})); })()",
        );
    });
    assert_eq!(
        text(&mut b, "tr.review[data-action='reorder'] .author"),
        "cy"
    );
    // Someone else acts on this prompt (here through the CLI): the open page says so.
    let stale = "document.getElementById('stale').hidden";
    assert_eq!(b.eval(stale), json!(true));
    ok_json(
        d,
        &[
            "--json",
            "review",
            "note",
            "HumanEval/0",
            "seen elsewhere",
            "--author",
            "dee",
        ],
    );
    let t0 = std::time::Instant::now();
    while b.eval(stale) != json!(false) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the page never said another reviewer acted"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    b.expect_new_page(|b| b.click("#logout"));
    assert!(text(&mut b, "h1").contains("Log in"));
    b.goto(&format!("{}/", server.url));
    assert!(text(&mut b, "h1").contains("Log in"), "logged out");
    drop(b);
    drop(server);
    let show = ok_json(d, &["--json", "review", "show", "HumanEval/0"]);
    let authors: Vec<&str> = show["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["cy", "cy", "cy", "dee"]);
}
