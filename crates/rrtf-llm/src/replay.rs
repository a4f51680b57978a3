//! The replay teacher: recorded answers served over real HTTP on 127.0.0.1.
//!
//! A recording is a JSONL file; each row is
//! `{"match": ["substring", ...], "responses": ["text", ...]}` (a single string is accepted for
//! `match`). A request's *last message* (the last chat message's content, or the completion
//! prompt) is matched against every row: a row matches when all of its substrings occur in it;
//! of the matching rows the one with the most matched characters wins, earlier rows breaking
//! ties. The answer is `responses[seed % len]`, `seed` being the request's `seed` (0 without
//! one), so a replayed round is as deterministic as its plan. A request that no row matches gets
//! HTTP 404 with a message quoting the start of the message: the client fails it at once, with
//! that message, as it would a real server's refusal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::testserver::{Reply, Request, Script, TestServer};

/// Why a recording cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The path shown absolute: a round config's relative paths are to the directory rrtf
    /// runs in, which the message then names.
    #[error(
        "cannot read the replay file {}: {source}",
        std::path::absolute(path).unwrap_or_else(|_| path.clone()).display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Row {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("the replay file {path} has no rows: record at least one answer")]
    Empty { path: PathBuf },
}

/// A recording is a file the user named in the config: every way it cannot be used is theirs
/// to fix.
impl rrtf_types::UserError for ReplayError {
    fn is_user_error(&self) -> bool {
        true
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    #[serde(rename = "match")]
    matches: OneOrMany,
    responses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone, Debug)]
struct Row {
    matches: Vec<String>,
    responses: Vec<String>,
    weight: usize,
}

/// Recorded answers, ready to serve.
#[derive(Clone, Debug)]
pub struct Recording {
    rows: Vec<Row>,
}

impl Recording {
    /// Read a recording; every malformed row is an error naming its line.
    pub fn load(path: &Path) -> Result<Recording, ReplayError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Recording, ReplayError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: String| ReplayError::Row {
                path: path.to_owned(),
                line: i + 1,
                message,
            };
            let raw: RawRow = serde_json::from_str(line).map_err(|e| {
                bad(format!(
                    "{e} (rows are {{\"match\": [substrings], \"responses\": [texts]}})"
                ))
            })?;
            let matches = match raw.matches {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            if matches.is_empty() || matches.iter().any(String::is_empty) {
                return Err(bad("`match` needs at least one non-empty substring".into()));
            }
            if raw.responses.is_empty() {
                return Err(bad(
                    "`responses` is empty: record at least one answer".into()
                ));
            }
            let weight = matches.iter().map(String::len).sum();
            rows.push(Row {
                matches,
                responses: raw.responses,
                weight,
            });
        }
        if rows.is_empty() {
            return Err(ReplayError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(Recording { rows })
    }

    /// The recorded answer for a request's last message and seed, if any row matches.
    pub fn answer(&self, message: &str, seed: u64) -> Option<&str> {
        let mut best: Option<&Row> = None;
        for row in &self.rows {
            if row.matches.iter().all(|m| message.contains(m.as_str()))
                && best.is_none_or(|b| row.weight > b.weight)
            {
                best = Some(row);
            }
        }
        best.map(|r| r.responses[(seed % r.responses.len() as u64) as usize].as_str())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The text a request is matched on: the last chat message, or the completion prompt.
fn last_message(body: &Value) -> &str {
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .or_else(|| body["prompt"].as_str())
        .unwrap_or("")
}

/// Serve a recording on an ephemeral port of 127.0.0.1 until the server is dropped.
pub async fn serve(recording: Recording) -> TestServer {
    let recording = Arc::new(recording);
    let script: Script = Arc::new(move |r: &Request| {
        let message = last_message(&r.body);
        let seed = r.body["seed"].as_u64().unwrap_or(0);
        match recording.answer(message, seed) {
            Some(text) => Reply::ok(text),
            None => {
                let start: String = message.chars().take(120).collect();
                let body = serde_json::json!({"error": {
                    "message": format!("replay: no recorded answer matches the request {start:?}; \
                                        add a row whose `match` substrings occur in it"),
                    "type": "not_found",
                }});
                Reply::status(404, &body.to_string())
            }
        }
    });
    TestServer::start_with(script, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str) -> Result<Recording, ReplayError> {
        Recording::parse(text, Path::new("r.jsonl"))
    }

    #[test]
    fn most_specific_row_wins_and_seed_picks_the_answer() {
        let r = rec(concat!(
            "{\"match\": \"add two numbers\", \"responses\": [\"a\", \"b\"]}\n",
            "\n",
            "{\"match\": [\"add two numbers\", \"#Rewritten\"], \"responses\": [\"evolved\"]}\n",
        ))
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.answer("Write code to add two numbers.", 0), Some("a"));
        assert_eq!(r.answer("Write code to add two numbers.", 3), Some("b"));
        assert_eq!(
            r.answer("#Rewritten Prompt# for: add two numbers", 7),
            Some("evolved")
        );
        assert_eq!(r.answer("sort a list", 0), None);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = rec("{\"match\": \"x\", \"responses\": [\"a\"]}\n{\"match\": \"x\"}\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.jsonl:2:"), "{e}");
        let e = rec("{\"match\": [], \"responses\": [\"a\"]}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.jsonl:1:") && e.contains("non-empty"), "{e}");
        let e = rec("{\"match\": \"x\", \"responses\": []}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("responses") && e.contains("empty"), "{e}");
        assert!(matches!(rec("\n\n"), Err(ReplayError::Empty { .. })));
    }

    #[tokio::test]
    async fn serves_over_http_and_refuses_unmatched_requests() {
        let r = rec("{\"match\": \"hello\", \"responses\": [\"zero\", \"one\"]}\n").unwrap();
        let server = serve(r).await;
        let client = reqwest::Client::new();
        let post = |body: Value| {
            client
                .post(format!("{}/chat/completions", server.url()))
                .json(&body)
                .send()
        };
        let ok = post(serde_json::json!({"model": "m", "seed": 1,
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "say hello"}]}))
        .await
        .unwrap();
        assert_eq!(ok.status(), 200);
        let v: Value = ok.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "one");
        let miss = post(serde_json::json!({"model": "m",
            "messages": [{"role": "user", "content": "goodbye"}]}))
        .await
        .unwrap();
        assert_eq!(miss.status(), 404);
        let text = miss.text().await.unwrap();
        assert!(
            text.contains("no recorded answer") && text.contains("goodbye"),
            "{text}"
        );
        assert!(
            server.requests().is_empty(),
            "a replay server keeps no history"
        );
    }
}
