//! One pool slot: a thread, a sample uid, a warm worker. Python samples are pipelined: up to
//! [`DEPTH`] are queued in the worker, so the next one starts as soon as the previous ends,
//! without waiting for a round trip through this thread. Other languages' jobs run one at a
//! time, after the queue has drained.
//!
//! A worker failure (it died, or stopped answering and was killed, or its judge failed) is
//! ours, not the sample's: the queued samples are resubmitted to a fresh worker, and the sample
//! that was running when it failed gets one more try before it comes back
//! [`ExecResult::unjudged`] with the reason (no verdict: a correct sample must never be
//! recorded `crashed` because the executor failed under it). One exception is the sample's:
//! a worker the kernel killed for its cgroup's memory (the sample's processes together above
//! the limit) gives the sample `memory_limit`.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};

use crate::Outcome;
use crate::compiled;
use crate::error::ExecError;
use crate::job::{ExecResult, Job};
use crate::lang::Language;
use crate::pool::Shared;
use crate::python::{PythonWorker, WorkerConfig};
use crate::sandbox::cgroup::{CgroupLimits, Support};

/// Python samples queued in one worker at most.
pub const DEPTH: usize = 2;

/// Memory a worker needs besides its samples (the interpreter and its preloaded modules), MiB.
const WORKER_MB: u64 = 128;
/// The most processes a step of another language may have (`compiled::run` gives heavy builds,
/// Java's and Go's, 512).
const STEP_PROCESSES: u64 = 512;

struct Pending {
    job: Job,
    attempts: u32,
}

pub(crate) struct Slot {
    shared: Arc<Shared>,
    slot: u32,
    python: Option<PythonWorker>,
    /// Submitted to `python`, oldest first.
    queue: VecDeque<Pending>,
}

impl Slot {
    pub fn new(shared: Arc<Shared>, slot: u32) -> Slot {
        Slot {
            shared,
            slot,
            python: None,
            queue: VecDeque::new(),
        }
    }

    /// Take jobs until the channel closes; send exactly one result per job.
    pub fn serve(mut self, jobs: &Mutex<Receiver<Job>>, results: &Sender<ExecResult>) {
        let emit = |r: ExecResult| results.send(r).is_ok();
        loop {
            let mut closed = false;
            while self.queue.len() < DEPTH {
                // Block for a job only when idle; with work queued, never wait on the lock
                // (another idle slot may hold it), so finished results go out promptly.
                let next = if self.queue.is_empty() {
                    match jobs.lock() {
                        Ok(rx) => rx.recv().map_err(|_| TryRecvError::Disconnected),
                        Err(_) => Err(TryRecvError::Disconnected),
                    }
                } else {
                    match jobs.try_lock() {
                        Ok(rx) => rx.try_recv(),
                        Err(std::sync::TryLockError::WouldBlock) => Err(TryRecvError::Empty),
                        Err(std::sync::TryLockError::Poisoned(_)) => {
                            Err(TryRecvError::Disconnected)
                        }
                    }
                };
                match next {
                    Ok(job) => {
                        for r in self.accept(job) {
                            if !emit(r) {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        closed = e == TryRecvError::Disconnected;
                        break;
                    }
                }
            }
            if self.queue.is_empty() {
                if closed {
                    return;
                }
                continue;
            }
            for r in self.receive_one() {
                if !emit(r) {
                    return;
                }
            }
        }
    }

    fn uid(&self) -> u32 {
        self.shared.config.uid_base + self.slot
    }

    /// Whether this slot's worker pins itself to a CPU: only when the pool has a slot for every
    /// CPU this process may use, so that the slots cover the CPUs evenly. Several smaller pools
    /// on one host (`rrtf exec --workers 1` processes sharing a database) would otherwise pin
    /// every process's slot 0 to the same CPU and run one at a time; unpinned, the kernel
    /// spreads them.
    fn pins_cpu(&self) -> bool {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.shared.config.workers >= cpus
    }

    /// Queue a Python job, or run any other job now; returns the results that became ready.
    fn accept(&mut self, job: Job) -> Vec<ExecResult> {
        if job.code.is_none() {
            let r = ExecResult::without_run(
                job.key,
                Outcome::CompileError,
                "no code found in the response",
            );
            return vec![r];
        }
        if job.language == Language::Python {
            return self.submit(vec![Pending { job, attempts: 0 }]);
        }
        let mut out = Vec::new();
        while !self.queue.is_empty() {
            out.extend(self.receive_one());
        }
        out.push(self.run_program(&job));
        out
    }

    /// Where this slot's worker cgroups go and their limits, when cgroup v2 is usable: the
    /// memory limit plus the worker's own share and its scratch files, the largest process
    /// count a step may have plus the worker's own.
    fn cgroup_limits(&self) -> Option<(std::path::PathBuf, CgroupLimits)> {
        let cfg = &self.shared.config;
        match &self.shared.protections.cgroup {
            Support::V2 { dir } => Some((
                dir.clone(),
                CgroupLimits {
                    memory_bytes: (cfg.memory_mb + u64::from(cfg.scratch_mb) + WORKER_MB) << 20,
                    pids: cfg.processes.max(STEP_PROCESSES) + 16,
                },
            )),
            Support::Unavailable { .. } => None,
        }
    }

    fn worker(&mut self) -> Result<&mut PythonWorker, ExecError> {
        if self.python.is_none() {
            let cfg = &self.shared.config;
            let wc = WorkerConfig {
                python: cfg.python.clone(),
                uid: self.uid(),
                gid: self.uid(),
                sample_limits: cfg.sample_limits(&self.shared.protections),
                output_limit_bytes: cfg.output_limit_kb * 1024,
                scratch_mb: cfg.scratch_mb,
                cgroup: self.cgroup_limits(),
                read_dirs: self
                    .shared
                    .cache
                    .iter()
                    .map(|c| c.root().to_path_buf())
                    .collect(),
                slot: self.pins_cpu().then_some(self.slot),
            };
            let w = PythonWorker::start(&wc, &self.shared.protections, &self.shared.filters)?;
            self.python = Some(w);
        }
        self.python
            .as_mut()
            .ok_or_else(|| ExecError::Worker("no worker".into()))
    }

    /// Submit `pending` in order. A worker that cannot be started or written to is replaced
    /// and the job tried once more; a job that fails twice comes back unjudged.
    fn submit(&mut self, pending: Vec<Pending>) -> Vec<ExecResult> {
        let timeout = self.shared.config.timeout;
        let mut failed = Vec::new();
        for mut p in pending {
            loop {
                let code = p.job.code.as_deref().unwrap_or_default();
                let sent = self.worker().and_then(|w| {
                    w.submit(
                        code,
                        &p.job.test,
                        p.job.entry_point.as_deref(),
                        p.job.prompt.as_deref(),
                        timeout,
                    )
                });
                match sent {
                    Ok(_) => {
                        self.queue.push_back(p);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!("python worker failed (attempt {}): {e}", p.attempts + 1);
                        self.python = None;
                        p.attempts += 1;
                        if p.attempts >= 2 {
                            failed.push(ExecResult::unjudged(p.job.key, e.to_string()));
                            break;
                        }
                    }
                }
            }
        }
        failed
    }

    /// The result of the oldest queued job (plus any that failed along the way).
    fn receive_one(&mut self) -> Vec<ExecResult> {
        let received = match self.python.as_mut() {
            Some(w) => w.receive(),
            None => Err(ExecError::Worker("worker gone".into())),
        };
        let Some(mut front) = self.queue.pop_front() else {
            return Vec::new();
        };
        match received {
            Ok((_, mut r)) => {
                r.key = front.job.key;
                // A sample killed by the kernel for its cgroup's memory (the processes of a
                // sample together above the limit) ran out of memory; it did not crash. The
                // count is read after every result, so a kill in this sample's tree that it
                // survived (a child's) is charged to it, not to a later sample's crash.
                let oom = self.worker_oom_killed();
                if r.outcome == Outcome::Crashed && oom {
                    r.outcome = Outcome::MemoryLimit;
                    r.detail = format!(
                        "the sample's processes together exceeded the memory limit (killed in \
                         the worker's cgroup): {}",
                        r.detail
                    );
                }
                vec![r]
            }
            Err(e) => {
                tracing::warn!("python worker failed (attempt {}): {e}", front.attempts + 1);
                let oom = self.worker_oom_killed();
                self.python = None;
                front.attempts += 1;
                let mut retry: Vec<Pending> = Vec::new();
                let mut out = Vec::new();
                if oom {
                    out.push(memory_limit(front.job.key, &e));
                } else if front.attempts >= 2 {
                    out.push(ExecResult::unjudged(front.job.key, e.to_string()));
                } else {
                    retry.push(front);
                }
                retry.extend(self.queue.drain(..));
                out.extend(self.submit(retry));
                out
            }
        }
    }

    /// A job of another language, on an idle worker, with the same one-retry rule.
    fn run_program(&mut self, job: &Job) -> ExecResult {
        let shared = Arc::clone(&self.shared);
        let mut last = None;
        for attempt in 0..2 {
            let res = self
                .worker()
                .and_then(|w| compiled::run(w, &shared.config, shared.cache.as_ref(), job));
            match res {
                Ok(r) => return r,
                Err(e @ (ExecError::MissingToolchain { .. } | ExecError::Unsupported(_))) => {
                    last = Some(e);
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        "worker failed on a program job (attempt {}): {e}",
                        attempt + 1
                    );
                    if self.worker_oom_killed() {
                        self.python = None;
                        return memory_limit(job.key, &e);
                    }
                    self.python = None;
                    last = Some(e);
                }
            }
        }
        let why = last.map_or_else(|| "no attempt ran".to_owned(), |e| e.to_string());
        ExecResult::unjudged(job.key, why)
    }

    /// True if the kernel killed a process of the current worker's cgroup for its memory since
    /// the last look: the worker that just failed died of its sample's memory.
    fn worker_oom_killed(&mut self) -> bool {
        self.python.as_mut().is_some_and(PythonWorker::new_oom_kill)
    }
}

/// The verdict on a sample whose processes took the worker down with them by exceeding the
/// cgroup's memory limit together.
fn memory_limit(key: u64, e: &ExecError) -> ExecResult {
    ExecResult::without_run(
        key,
        Outcome::MemoryLimit,
        format!(
            "the sample's processes together exceeded the memory limit (the kernel killed the \
             worker in their cgroup): {e}"
        ),
    )
}
