//! The worker's `pair` job (see `run_pair` in `python/worker.py`): build the judge and the
//! candidate, each in its own directory under its own uid, then run them together wired by
//! pipes. This module is the Rust side of that protocol: what is sent and what comes back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ExecError;
use crate::python::{PythonWorker, Step, StepResult};
use crate::sandbox::Limits;

/// How to start one process of the pair. `@WORK@` and `@JUDGE@` in `argv` and `env` stand for
/// the candidate's and the judge's directories.
#[derive(Debug, Clone, Serialize)]
pub(super) struct RunSpec {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub limits: Limits,
}

/// One side of the pair: files to write into its directory, an optional build step (with the
/// files to collect for the compile cache), and how to run it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct SideJob {
    pub files: BTreeMap<String, String>,
    pub build: Option<Step>,
    pub run: RunSpec,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct PairJob {
    pub judge: SideJob,
    pub cand: SideJob,
    /// Directories the candidate may read and execute from (its cached build, warm-ups).
    pub cand_read: Vec<String>,
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    /// The run's secret: given to the judge on stdin, carried by every report line.
    pub nonce: String,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// How one process of the run ended, with the head and tail of its output.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ProcResult {
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    /// Still running when the judge finished (then killed by the worker: not a failure).
    pub alive: bool,
    pub cpu_ms: u64,
    pub peak_rss_kb: u64,
    pub output_head: String,
    pub output_tail: String,
    #[serde(default)]
    pub output_full: bool,
}

impl ProcResult {
    pub fn output(&self) -> String {
        if self.output_tail.is_empty() {
            self.output_head.clone()
        } else {
            format!("{}\n...\n{}", self.output_head, self.output_tail)
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct RunResult {
    pub timed_out: bool,
    pub wall_ms: u64,
    pub cand: ProcResult,
    pub judge: ProcResult,
    /// The judge's report, base64.
    pub report: String,
    pub report_overflow: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct PairReply {
    pub judge_build: Option<StepResult>,
    pub cand_build: Option<StepResult>,
    pub run: Option<RunResult>,
}

/// Send `job` to the worker and wait for its reply (builds and run included).
pub(super) fn run(worker: &mut PythonWorker, job: &PairJob) -> Result<PairReply, ExecError> {
    let mut limit = job.timeout;
    for side in [&job.judge, &job.cand] {
        if let Some(b) = &side.build {
            limit += b.timeout;
        }
    }
    let msg = serde_json::to_value(job)
        .map_err(|e| ExecError::Worker(format!("cannot encode a pair job: {e}")))?;
    let reply = worker.request("pair", msg, limit)?;
    serde_json::from_value(reply)
        .map_err(|e| ExecError::Worker(format!("malformed pair reply: {e}")))
}
