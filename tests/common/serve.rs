#![allow(dead_code)] // tests/wgpu.rs uses part of it
//! A running `rrtf serve --port 0 --json`, for tests/serve.rs (through `common`) and
//! tests/wgpu.rs (its own binary, by `#[path]`): started from a prepared command, waited for
//! until it prints its ready line, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct Serve {
    pub child: Child,
    /// The ready line (`url`, `base_url`, `model`, ...).
    pub line: Value,
    _dir: tempfile::TempDir,
    stderr: PathBuf,
}

impl Serve {
    /// Spawn `cmd` (an `rrtf --json serve ... --port 0` in `dir`), its stderr to a file in
    /// `dir`, and wait up to `wait` for the JSON line that says it listens; panics with its
    /// stderr if none comes.
    pub fn spawn(mut cmd: Command, dir: tempfile::TempDir, wait: Duration) -> Serve {
        let stderr = dir.path().join("stderr.log");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start rrtf serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(wait).unwrap_or_default();
        let line: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            let _ = child.kill();
            panic!(
                "rrtf serve printed no JSON line ({e}): {line:?}\nstderr: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            )
        });
        Serve {
            child,
            line,
            _dir: dir,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.line["url"].as_str().unwrap())
    }

    pub fn base_url(&self) -> &str {
        self.line["base_url"].as_str().unwrap()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
