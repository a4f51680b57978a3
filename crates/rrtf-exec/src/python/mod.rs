//! The warm Python worker, Rust side: start `worker.py` in the sandbox once per pool slot, send
//! it jobs, read its verdicts, and kill it (with everything it started) if it stops answering.
//!
//! The worker (see `worker.py`) forks per sample; the wall-clock limit is enforced twice: by the
//! worker on its sample, and here on the worker (limit + grace), as a backstop.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Outcome;
use crate::error::ExecError;
use crate::job::ExecResult;
use crate::sandbox::cgroup::{CgroupLimits, WorkerCgroup};
use crate::sandbox::landlock::{self, Access, RulesetSpec};
use crate::sandbox::spawn::{Io, Sandboxed, SpawnSpec};
use crate::sandbox::{Limits, Protections};

/// The worker program: four files concatenated (the plain-value wire format, the judge, the
/// sandbox steps, the worker's main loop), run with `python3 -c`.
pub(crate) const WORKER_SRC: &str = concat!(
    include_str!("wire.py"),
    include_str!("judge.py"),
    include_str!("sandbox.py"),
    include_str!("worker.py")
);
/// The launcher's program (every Python candidate is a fork of it), which the worker executes
/// in a fresh interpreter at start-up: the wire format, the sandbox steps, the candidate
/// server, the launcher's loop. The worker receives it as its second argument.
pub(crate) const LAUNCHER_SRC: &str = concat!(
    include_str!("wire.py"),
    include_str!("sandbox.py"),
    include_str!("candidate.py"),
    include_str!("launcher.py")
);
/// Extra time the worker gets beyond a sample's limit before it is considered hung.
const GRACE: Duration = Duration::from_secs(5);
const MAX_FRAME: usize = 80 << 20;

/// Settings of one worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub python: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub sample_limits: Limits,
    pub output_limit_bytes: u64,
    pub scratch_mb: u32,
    /// Host directories the worker may read and execute from (the compile cache). Samples
    /// read none of it, but a judged run's candidate its own areas (`compiled::pair`).
    pub read_dirs: Vec<PathBuf>,
    /// With cgroup v2: the directory to create the worker's cgroup in, and its limits.
    pub cgroup: Option<(PathBuf, CgroupLimits)>,
    /// The CPU to pin to, as the pool slot's number (modulo the CPUs this process may use): the
    /// worker and every process it starts run there, so that each worker's chain of processes
    /// (worker, judge, candidate, launcher), which hand over to each other many times per
    /// sample, keeps one CPU busy instead of waking processes across CPUs. None: no pinning
    /// (`Slot` pins only a pool with a slot for every CPU: a smaller pool, such as one of
    /// several `rrtf exec` processes on one host, would otherwise put every process's slot 0
    /// on the same CPU).
    pub slot: Option<u32>,
}

/// One process of a program job, run as the sample uid.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub argv: Vec<String>,
    pub env: std::collections::BTreeMap<String, String>,
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    pub limits: Limits,
    /// A short line written to the step's stdin through a pipe (the per-run marker), instead
    /// of `/dev/null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// After a successful step, the worker reads the top-level scratch files named here (or,
    /// for entries starting with `.`, ending so) and returns them, for the compile cache.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// How a step ended; output is the head and tail of its stdout+stderr.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub output_head: String,
    pub output_tail: String,
    pub output_full: bool,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub peak_rss_kb: u64,
    /// Files asked for with [`Step::collect`], base64-encoded; `None` when not asked, absent
    /// or too large.
    #[serde(default, skip_serializing)]
    pub artifacts: Option<std::collections::BTreeMap<String, String>>,
}

impl StepResult {
    /// The whole output when it fit, else head and tail.
    pub fn output(&self) -> String {
        if self.output_tail.is_empty() {
            self.output_head.clone()
        } else {
            format!("{}\n...\n{}", self.output_head, self.output_tail)
        }
    }
}

pub struct PythonWorker {
    child: Sandboxed,
    /// The host scratch directory when running without namespaces; removed on drop.
    scratch: Option<PathBuf>,
    protections: Protections,
    /// `None` once closed (drop: the worker then stops its judge and exits by itself).
    stdin: Option<std::fs::File>,
    stdout: std::fs::File,
    next_id: u64,
    /// Submitted Python samples, oldest first, with their limits.
    in_flight: VecDeque<(u64, Duration)>,
    /// When the oldest in-flight sample could have started (its deadline counts from here).
    busy_since: Instant,
    /// The worker's cgroup (cgroup v2), removed after the worker; the OOM kills seen so far.
    cgroup: Option<WorkerCgroup>,
    oom_kills: u64,
}

#[derive(Deserialize)]
struct Reply {
    id: Option<u64>,
    error: Option<String>,
    outcome: Option<Outcome>,
    tests_passed: Option<u32>,
    tests_total: Option<u32>,
    detail: Option<String>,
    test_results: Option<String>,
    wall_ms: Option<u64>,
    cpu_ms: Option<u64>,
    peak_rss_kb: Option<u64>,
}

impl PythonWorker {
    pub fn start(
        cfg: &WorkerConfig,
        protections: &Protections,
        filters: &[seccompiler::BpfProgram],
    ) -> Result<PythonWorker, ExecError> {
        // With namespaces the scratch is a private tmpfs at /tmp. Without (not root), it is a
        // fresh host directory, the only place Landlock lets the worker and samples write.
        let scratch = if protections.namespaces {
            None
        } else {
            Some(host_scratch()?)
        };
        let base = scratch
            .as_ref()
            .map_or("/tmp".to_string(), |d| d.to_string_lossy().into_owned());
        let (work, out) = (format!("{base}/work"), format!("{base}/out"));
        let l = &cfg.sample_limits;
        // Each sample's own Landlock domain, nested in the worker's: read the system, write
        // only its work directory and output file. Not the compile cache: it holds the judges'
        // builds (the tests); a judged run's candidate gets its own areas of it on top of these
        // rules (`pair_ruleset` in worker.py, with `read_masks`).
        let sample_landlock = protections.landlock_abi.map(|abi| {
            let mut rules: Vec<(String, Access)> = landlock::SYSTEM_RULES
                .iter()
                .map(|(p, a)| (p.to_string_lossy().into_owned(), *a))
                .collect();
            rules.push((work.clone(), Access::Full));
            rules.push((out.clone(), Access::Device));
            RulesetSpec::new(abi, &rules)
        });
        let read_masks = protections.landlock_abi.map(|abi| {
            let r = RulesetSpec::new(abi, &[(String::new(), Access::ReadExec)]);
            [r.rules[0].1, r.rules[0].2]
        });
        let cgroup = match &cfg.cgroup {
            Some((parent, limits)) => {
                static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let name = format!("rrtf-exec-{}-{n}", std::process::id());
                Some(WorkerCgroup::create(parent, &name, *limits)?)
            }
            None => None,
        };
        let config = json!({
            "uid": cfg.uid, "gid": cfg.gid, "work": work, "out": out,
            "landlock": sample_landlock, "read_masks": read_masks,
            "output_limit": cfg.output_limit_bytes, "slot": cfg.slot,
            "limits": {
                "address_space_mb": l.address_space_mb, "processes": l.processes,
                "file_size_mb": l.file_size_mb, "open_files": l.open_files,
            },
        });
        let spec = SpawnSpec {
            argv: vec![
                cfg.python.to_string_lossy().into_owned(),
                "-S".into(),
                "-I".into(),
                "-B".into(),
                "-c".into(),
                WORKER_SRC.into(),
                config.to_string(),
                LAUNCHER_SRC.into(),
            ],
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("LANG".into(), "C.UTF-8".into()),
            ],
            cwd: base.clone(),
            identity: None,
            limits: Limits {
                address_space_mb: None,
                cpu_secs: None,
                processes: None,
                file_size_mb: None,
                open_files: Some(256),
            },
            host_scratch: scratch.clone(),
            read_dirs: cfg.read_dirs.clone(),
            scratch_mode: 0o755,
            scratch_mb: cfg.scratch_mb,
            init: false,
            cgroup: cgroup.as_ref().map(|c| c.procs()).transpose()?,
            stdin: Io::Pipe,
            stdout: Io::Pipe,
            stderr: Io::Inherit,
        };
        let mut child = Sandboxed::spawn(spec, protections, filters)?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| ExecError::Worker("no stdin".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ExecError::Worker("no stdout".into()))?;
        let mut w = PythonWorker {
            child,
            scratch,
            protections: protections.clone(),
            stdin: Some(stdin),
            stdout,
            next_id: 0,
            in_flight: VecDeque::new(),
            busy_since: Instant::now(),
            cgroup,
            oom_kills: 0,
        };
        let hello = w.read_frame(Instant::now() + Duration::from_secs(30))?;
        if hello.get("ready") != Some(&serde_json::Value::Bool(true)) {
            return Err(ExecError::Worker(format!("unexpected greeting: {hello}")));
        }
        Ok(w)
    }

    /// Queue one Python sample; the worker runs queued samples in order. `prompt` is the
    /// trusted prompt text, if any: when it is Python, the judge runs it (never the sample's
    /// copy) so that the test can use its imports and helper functions. Pipelining a second
    /// sample while the first runs hides the round trip. Returns the worker's job id.
    pub fn submit(
        &mut self,
        code: &str,
        test: &str,
        entry_point: Option<&str>,
        prompt: Option<&str>,
        timeout: Duration,
    ) -> Result<u64, ExecError> {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({
            "id": id, "code": code, "test": test, "entry_point": entry_point,
            "prompt": prompt, "timeout": timeout.as_secs_f64(),
        });
        self.send(&msg)?;
        if self.in_flight.is_empty() {
            self.busy_since = Instant::now();
        }
        self.in_flight.push_back((id, timeout));
        Ok(id)
    }

    /// Number of submitted samples whose result has not been received.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The result of the oldest submitted sample, as `(id, result)` with `key` 0 (the caller
    /// keys it). An `Err` means the worker failed (or hung and was killed) and must be replaced.
    pub fn receive(&mut self) -> Result<(u64, ExecResult), ExecError> {
        let &(id, timeout) = self
            .in_flight
            .front()
            .ok_or_else(|| ExecError::Worker("nothing submitted".into()))?;
        let reply = self.read_frame(self.busy_since + timeout + GRACE)?;
        self.in_flight.pop_front();
        self.busy_since = Instant::now();
        let reply: Reply = serde_json::from_value(reply)
            .map_err(|e| ExecError::Worker(format!("malformed reply: {e}")))?;
        if reply.id != Some(id) {
            return Err(ExecError::Worker(format!(
                "reply for {:?}, expected {id}",
                reply.id
            )));
        }
        if let Some(err) = reply.error {
            return Err(ExecError::Worker(err));
        }
        let outcome = reply
            .outcome
            .ok_or_else(|| ExecError::Worker("reply without outcome".into()))?;
        let result = ExecResult {
            key: 0,
            outcome,
            tests_passed: reply.tests_passed.unwrap_or(0),
            tests_total: reply.tests_total.unwrap_or(0),
            detail: reply.detail.unwrap_or_default(),
            test_results: reply.test_results.unwrap_or_default(),
            wall_ms: reply.wall_ms.unwrap_or(0),
            cpu_ms: reply.cpu_ms.unwrap_or(0),
            peak_rss_kb: reply.peak_rss_kb.unwrap_or(0),
            unjudged: None,
        };
        Ok((id, result))
    }

    /// Run a program job: write `files` into the scratch directory, then run `steps` in order
    /// (stopping at the first failure). Used by the other languages' profiles.
    pub fn run_steps(
        &mut self,
        files: &[(String, String)],
        steps: &[Step],
    ) -> Result<Vec<StepResult>, ExecError> {
        if !self.in_flight.is_empty() {
            return Err(ExecError::Worker(
                "program job while samples are in flight".into(),
            ));
        }
        self.next_id += 1;
        let id = self.next_id;
        let files: serde_json::Map<String, serde_json::Value> =
            files.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let total: Duration = steps.iter().map(|s| s.timeout).sum();
        let msg = json!({"id": id, "kind": "exec", "files": files, "steps": steps});
        self.send(&msg)?;
        let reply = self.read_frame(Instant::now() + total + GRACE)?;
        if reply.get("id").and_then(|v| v.as_u64()) != Some(id) {
            return Err(ExecError::Worker(format!("reply for another job: {reply}")));
        }
        if let Some(err) = reply.get("error") {
            return Err(ExecError::Worker(err.to_string()));
        }
        serde_json::from_value(reply["steps"].clone())
            .map_err(|e| ExecError::Worker(format!("malformed step results: {e}")))
    }

    /// Run a job of another kind on an idle worker (`"pair"`: the compiled languages' judged
    /// runs, see `compiled::pair`): `msg` (a JSON object) gets `id` and `kind` here; the reply
    /// must come within `limit` (plus the grace period).
    pub fn request(
        &mut self,
        kind: &str,
        mut msg: serde_json::Value,
        limit: Duration,
    ) -> Result<serde_json::Value, ExecError> {
        if !self.in_flight.is_empty() {
            return Err(ExecError::Worker(format!(
                "{kind} job while samples are in flight"
            )));
        }
        self.next_id += 1;
        let id = self.next_id;
        msg["id"] = json!(id);
        msg["kind"] = json!(kind);
        self.send(&msg)?;
        let reply = self.read_frame(Instant::now() + limit + GRACE)?;
        if reply.get("id").and_then(|v| v.as_u64()) != Some(id) {
            return Err(ExecError::Worker(format!("reply for another job: {reply}")));
        }
        if let Some(err) = reply.get("error") {
            return Err(ExecError::Worker(err.to_string()));
        }
        Ok(reply)
    }

    fn send(&mut self, msg: &serde_json::Value) -> Result<(), ExecError> {
        let body = msg.to_string().into_bytes();
        let mut data = (body.len() as u32).to_le_bytes().to_vec();
        data.extend_from_slice(&body);
        self.stdin
            .as_mut()
            .ok_or_else(|| ExecError::Worker("the worker's input is closed".into()))?
            .write_all(&data)
            .map_err(|e| ExecError::io("write to the worker", e))
    }

    fn read_exact_until(&mut self, buf: &mut [u8], deadline: Instant) -> Result<(), ExecError> {
        let mut got = 0;
        while got < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: self.stdout.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n =
                unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(ExecError::io("poll the worker", e));
            }
            if n == 0 {
                self.child.kill();
                return Err(ExecError::Worker(
                    "no answer before the deadline; killed".into(),
                ));
            }
            match self.stdout.read(&mut buf[got..]) {
                Ok(0) => return Err(ExecError::Worker("the worker exited".into())),
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ExecError::io("read from the worker", e)),
            }
        }
        Ok(())
    }

    fn read_frame(&mut self, deadline: Instant) -> Result<serde_json::Value, ExecError> {
        let mut head = [0u8; 4];
        self.read_exact_until(&mut head, deadline)?;
        let n = u32::from_le_bytes(head) as usize;
        if n > MAX_FRAME {
            return Err(ExecError::Worker(format!("oversized frame ({n} bytes)")));
        }
        let mut body = vec![0u8; n];
        self.read_exact_until(&mut body, deadline)?;
        serde_json::from_slice(&body).map_err(|e| ExecError::Worker(format!("bad frame: {e}")))
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.pid()
    }

    /// The protections this worker runs under.
    pub fn protections(&self) -> &Protections {
        &self.protections
    }

    /// Whether the kernel's OOM killer has killed a process in the worker's cgroup since the
    /// last call (always false without a cgroup).
    pub fn new_oom_kill(&mut self) -> bool {
        let Some(cg) = &self.cgroup else {
            return false;
        };
        let n = cg.oom_kills();
        let new = n > self.oom_kills;
        self.oom_kills = n;
        new
    }
}

impl Drop for PythonWorker {
    fn drop(&mut self) {
        // An idle worker reads the end of its input, kills and reaps its judge, and exits;
        // without a pid namespace nothing else would reap the judge. Then (or if it is busy)
        // the kill.
        self.stdin.take();
        if self.in_flight.is_empty() {
            let _ = self
                .child
                .wait_until(Some(Instant::now() + Duration::from_millis(500)));
        }
        self.child.kill();
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh private directory for a worker that runs without a mount namespace.
fn host_scratch() -> Result<PathBuf, ExecError> {
    use std::os::unix::fs::DirBuilderExt;
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rrtf-exec-{}-{n}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| ExecError::io(format!("create {}", dir.display()), e))?;
    Ok(dir)
}
