//! A minimal Chrome DevTools Protocol client for end-to-end tests: headless Chromium (Debian's
//! `chromium` package) started with `--remote-debugging-pipe`, which reads commands on fd 3 and
//! writes answers and events on fd 4, each a JSON message ended by a NUL byte. No crate, no
//! websocket, no port. One page (a flattened target session); the browser runs in its own
//! process group, killed with the client.
//!
//! A missing browser skips the test in the fast tier (`SKIPPED <test>: ...` naming the package
//! to install) and fails it in the full tier (`RRTF_FULL_TESTS=1`: scripts/check, CI):
//! [`available`].
// Test code that starts headless Chromium, the browser the web review is tested in: the clippy.toml
// rule against `Command::new` is for library code.
#![allow(clippy::disallowed_methods)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one command, or one page load, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

const MISSING: &str = "this test drives headless Chromium and none was found on PATH: install \
                       it with `apt-get install chromium` (Debian; .ci/run does), or set \
                       CHROMIUM=/path/to/chrome";

/// Whether the running test can drive a browser: without one, a skip in the fast tier and a
/// failure in the full one (`common::missing`).
pub fn available() -> bool {
    find_chromium().is_some() || super::missing(MISSING)
}

/// The browser: `$CHROMIUM`, else the first of the usual names on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
        0,
        "pipe2: {}",
        std::io::Error::last_os_error()
    );
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

pub struct Browser {
    child: Child,
    commands: File,
    messages: Receiver<Value>,
    next_id: u64,
    session: String,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Start headless Chromium (as root in CI: `--no-sandbox`) with a fresh profile and open
    /// one blank page.
    pub fn launch() -> Browser {
        let bin = find_chromium().expect(MISSING);
        let profile = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = pipe();
        let (msg_read, msg_write) = pipe();
        let (to_child, from_child) = (cmd_read.as_raw_fd(), msg_write.as_raw_fd());
        let log = File::create(profile.path().join("chromium.log")).unwrap();
        let mut cmd = Command::new(&bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--remote-debugging-pipe",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0);
        // SAFETY: only async-signal-safe calls (fcntl, dup2) on fds opened before the fork.
        unsafe {
            cmd.pre_exec(move || {
                // Move both ends above 3 and 4 first, so neither dup2 clobbers the other.
                let a = libc::fcntl(to_child, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(from_child, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        drop((cmd_read, msg_write));
        let (tx, messages) = channel();
        let reader = File::from(msg_read);
        std::thread::spawn(move || {
            let mut r = BufReader::new(reader);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                buf.pop_if(|b| *b == 0);
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            commands: File::from(cmd_write),
            messages,
            next_id: 0,
            session: String::new(),
            profile,
        };
        let target = b.send(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = b.send(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_owned();
        b.call("Page.enable", json!({}));
        b
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromium.log")).unwrap_or_default()
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        match self.send_or_error(session, method, params.clone()) {
            Ok(v) => v,
            Err(err) => panic!("{method} {params}: {err}"),
        }
    }

    /// [`Browser::send`], the protocol's error as `Err`.
    fn send_or_error(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        if let Err(e) = self.commands.write_all(&bytes) {
            panic!(
                "{method}: the browser is gone ({e}); its log:\n{}",
                self.log()
            );
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(v) if v["id"] == id => {
                    if let Some(err) = v.get("error") {
                        return Err(err.clone());
                    }
                    return Ok(v["result"].clone());
                }
                Ok(_) => {} // events and other answers
                Err(RecvTimeoutError::Timeout) => panic!("{method}: no answer in {TIMEOUT:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{method}: the browser closed its pipe; its log:\n{}",
                        self.log()
                    )
                }
            }
        }
    }

    /// A command on the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params)
    }

    /// Evaluate a JavaScript expression in the page; its value as JSON.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Run `act` (a navigation, a click that submits a form) and wait until a new document has
    /// loaded. Returns the new location.
    pub fn expect_new_page(&mut self, act: impl FnOnce(&mut Browser)) -> String {
        self.eval("window.__old_page = true");
        act(self);
        let deadline = Instant::now() + TIMEOUT;
        let session = self.session.clone();
        loop {
            let expr = "window.__old_page === undefined && document.readyState === 'complete' ? location.href : null";
            let r = self.send_or_error(
                Some(&session),
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            );
            match r {
                Ok(r) => {
                    if let Some(e) = r.get("exceptionDetails") {
                        panic!("{expr}: {e}");
                    }
                    if let Some(href) = r["result"]["value"].as_str() {
                        return href.to_owned();
                    }
                }
                // The poll raced the navigation it waits for: ask again.
                Err(e)
                    if e["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("navigated or closed")) => {}
                Err(e) => panic!("Runtime.evaluate {expr}: {e}"),
            }
            assert!(Instant::now() < deadline, "no new page within {TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn goto(&mut self, url: &str) -> String {
        self.expect_new_page(|b| {
            let r = b.call("Page.navigate", json!({"url": url}));
            assert!(r.get("errorText").is_none(), "{url}: {r}");
        })
    }

    /// Click the element `selector` matches with the mouse, at its centre, as a person would.
    pub fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
             e.scrollIntoView({{block: 'center', inline: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let (x, y) = match (at[0].as_f64(), at[1].as_f64()) {
            (Some(x), Some(y)) => (x, y),
            _ => panic!(
                "nothing matches {selector} on {}",
                self.eval("location.href")
            ),
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Click into a field and type `text` into it.
    pub fn type_into(&mut self, selector: &str, text: &str) {
        self.click(selector);
        self.call("Input.insertText", json!({"text": text}));
    }

    /// Save a screenshot of the page (PNG) to `path`; for looking at a failing page.
    pub fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = decode_base64(shot["data"].as_str().unwrap());
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group: the browser and its renderer and utility processes.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | val(c) as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
