//! The worker pool: one slot per core by default, each a thread with a sample uid and a warm
//! worker (see `slot`). Jobs come from any iterator; results stream back on a channel as they
//! finish, keyed by the caller's [`Job::key`], so a database-backed stage can feed it from a
//! query and store each result as it arrives.
//!
//! Invariant: every job yields exactly one result. An executor failure on a job becomes a
//! `crashed` result with the reason in `detail` (never a pass). Toolchains are checked up front
//! with [`Executor::check_toolchains`] (the CLI does, and refuses to start); a job whose
//! toolchain is missing anyway is `crashed` with the install hint in `detail`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::compiled;
use crate::error::ExecError;
use crate::job::{ExecResult, Job};
use crate::lang::Language;
use crate::sandbox::{Limits, Mode, Protections, seccomp};
use crate::slot::Slot;

/// Settings of a run. `Default` gives HumanEval's 3 s limit and one slot per core.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    pub workers: usize,
    /// Wall-clock limit per sample (run step); the CPU limit is derived from it.
    pub timeout: Duration,
    /// Wall-clock limit for a compile step.
    pub compile_timeout: Duration,
    pub memory_mb: u64,
    pub output_limit_kb: u64,
    pub processes: u64,
    /// Sample uids are `uid_base + slot` (gid likewise).
    pub uid_base: u32,
    pub python: PathBuf,
    /// The compile cache of C++, Java, Rust and Go builds (see [`compiled::cache`]); `None`
    /// turns it off. Default: [`compiled::cache::default_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Size of the cached builds beyond which the least recently used are removed.
    pub cache_max_mb: u64,
    /// Size of each worker's private tmpfs scratch (`/tmp`), MiB. Its files live in memory
    /// outside RLIMIT_AS (a cgroup v2 limit, where available, counts them).
    pub scratch_mb: u32,
    /// Run even without namespaces (not root, and no unprivileged user namespace): the weaker
    /// sandbox that `Protections::missing` describes. Off by default: [`Executor::new`] refuses.
    pub insecure_sandbox: bool,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: Duration::from_secs(3),
            compile_timeout: Duration::from_secs(60),
            memory_mb: 1024,
            output_limit_kb: 1024,
            processes: 64,
            uid_base: 61000,
            python: PathBuf::from("/usr/bin/python3"),
            cache_dir: compiled::cache::default_dir(),
            cache_max_mb: 4096,
            scratch_mb: 512,
            insecure_sandbox: false,
        }
    }
}

impl ExecConfig {
    /// Per-sample limits. RLIMIT_NPROC counts every process of the uid (in its user
    /// namespace), so it is only set when that count is the worker's alone.
    pub(crate) fn sample_limits(&self, protections: &Protections) -> Limits {
        Limits {
            address_space_mb: Some(self.memory_mb),
            cpu_secs: Some(self.timeout.as_secs() + 2),
            processes: protections
                .per_worker_process_limit()
                .then_some(self.processes),
            file_size_mb: Some(self.output_limit_kb.div_ceil(1024)),
            open_files: Some(64),
        }
    }
}

/// Shared, read-only state of a run.
pub(crate) struct Shared {
    pub config: ExecConfig,
    pub protections: Protections,
    pub filters: Vec<seccompiler::BpfProgram>,
    pub cache: Option<compiled::CompileCache>,
}

pub struct Executor {
    shared: Arc<Shared>,
}

impl Executor {
    /// Probe the protections and compile the seccomp filter. Without namespaces, refuses
    /// ([`ExecError::InsecureSandbox`]) unless `config.insecure_sandbox`; logs a warning naming
    /// every protection that is missing here.
    pub fn new(config: ExecConfig) -> Result<Executor, ExecError> {
        Executor::with_protections(config, Protections::probe())
    }

    /// [`Executor::new`] with protections probed already.
    pub(crate) fn with_protections(
        config: ExecConfig,
        protections: Protections,
    ) -> Result<Executor, ExecError> {
        let missing = protections.missing();
        if protections.mode() == Mode::Insecure {
            if !config.insecure_sandbox {
                return Err(ExecError::InsecureSandbox {
                    missing: missing.join("; "),
                });
            }
            // Samples run under our uid and see our /proc entries: keep our memory and
            // environment (API keys) out of their reach.
            // SAFETY: a prctl on the calling process.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        }
        for gap in protections.limit_gaps() {
            tracing::info!("sandbox: {gap}");
        }
        if !missing.is_empty() {
            tracing::warn!(
                "sandbox: reduced isolation. Missing: {}. Active: {}.",
                missing.join("; "),
                protections.active().join("; ")
            );
        }
        if config.workers == 0 {
            return Err(ExecError::BadInput("workers must be at least 1".into()));
        }
        if config.memory_mb < crate::MIN_MEMORY_MB {
            return Err(ExecError::BadInput(format!(
                "memory_mb is {}: at least {} MiB (interpreters need it to start; below it good \
                 code is recorded as memory_limit)",
                config.memory_mb,
                crate::MIN_MEMORY_MB
            )));
        }
        let filters = if protections.seccomp {
            seccomp::programs()?
        } else {
            Vec::new()
        };
        let cache = match &config.cache_dir {
            None => None,
            Some(dir) => {
                match compiled::CompileCache::open(dir, protections.root, config.cache_max_mb) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::warn!("compile cache off: {e}");
                        None
                    }
                }
            }
        };
        Ok(Executor {
            shared: Arc::new(Shared {
                config,
                protections,
                filters,
                cache,
            }),
        })
    }

    pub fn protections(&self) -> &Protections {
        &self.shared.protections
    }

    /// The compile cache in use, if any (`None`: off, or its directory was unusable).
    pub fn compile_cache(&self) -> Option<&compiled::CompileCache> {
        self.shared.cache.as_ref()
    }

    /// A stable hex fingerprint of what decides verdicts: this crate's version, the worker's
    /// source, the limits and the protections in force. Stored with each execution (the
    /// store's `executor_hash`), it tells results of different executors apart.
    pub fn fingerprint(&self) -> String {
        let c = &self.shared.config;
        let p = &self.shared.protections;
        let text = format!(
            "{}|{}|{}|{}|{:?}|{}|{}|{}|{}|{}|{}|{:?}|{}|{:?}|{}|{}",
            env!("CARGO_PKG_VERSION"),
            compiled::cache::PROFILE_VERSION,
            crate::python::WORKER_SRC,
            crate::python::LAUNCHER_SRC,
            c.timeout,
            c.compile_timeout.as_millis(),
            c.memory_mb,
            c.output_limit_kb,
            c.processes,
            c.python.display(),
            p.namespaces,
            p.landlock_abi,
            p.seccomp,
            p.mode(),
            matches!(p.cgroup, crate::sandbox::cgroup::Support::V2 { .. }),
            c.scratch_mb,
        );
        // FNV-1a, 64 bits: stable across Rust versions, unlike std's hasher.
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        format!("{hash:016x}")
    }

    /// Check that every language in `languages` has its toolchain (and that Python works).
    pub fn check_toolchains(&self, languages: &HashSet<Language>) -> Result<(), ExecError> {
        for &l in languages {
            if l == Language::Python {
                let python = &self.shared.config.python;
                if !python.exists() {
                    // Another path than the default was asked for: that path is the problem.
                    if python != &ExecConfig::default().python {
                        return Err(ExecError::BadInput(format!(
                            "the Python interpreter {} (--python) does not exist: give a system \
                             python3's path, e.g. /usr/bin/python3",
                            python.display()
                        )));
                    }
                    return Err(ExecError::MissingToolchain {
                        language: "python",
                        tool: "python3",
                        install: "apt-get install -y python3",
                    });
                }
                if !crate::lang::is_system_path(python) {
                    return Err(ExecError::BadInput(format!(
                        "{} is outside the system directories the sandbox can read (a pyenv or \
                         home install); use a system python3 (apt-get install -y python3)",
                        python.display()
                    )));
                }
            } else {
                compiled::check(l)?;
            }
        }
        Ok(())
    }

    /// Run `jobs` on the pool; results arrive on the returned channel in completion order,
    /// and the channel closes after the last one.
    pub fn run<I>(&self, jobs: I) -> Receiver<ExecResult>
    where
        I: IntoIterator<Item = Job>,
        I::IntoIter: Send + 'static,
    {
        let slots = self.shared.config.workers;
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(slots * 2);
        let (res_tx, res_rx) = mpsc::channel();
        let jobs = jobs.into_iter();
        std::thread::spawn(move || feed(jobs, job_tx));
        let job_rx = Arc::new(Mutex::new(job_rx));
        for slot in 0..slots {
            let shared = Arc::clone(&self.shared);
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            std::thread::spawn(move || Slot::new(shared, slot as u32).serve(&job_rx, &res_tx));
        }
        res_rx
    }

    /// Run everything and return the results in the order of `jobs`' keys as given.
    pub fn run_all(&self, jobs: Vec<Job>) -> Vec<ExecResult> {
        let order: Vec<u64> = jobs.iter().map(|j| j.key).collect();
        let mut by_key: std::collections::HashMap<u64, ExecResult> =
            self.run(jobs).into_iter().map(|r| (r.key, r)).collect();
        order
            .into_iter()
            .filter_map(|k| by_key.remove(&k))
            .collect()
    }
}

fn feed(jobs: impl Iterator<Item = Job>, tx: SyncSender<Job>) {
    for job in jobs {
        if tx.send(job).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_follows_the_limits() {
        let a = Executor::new(ExecConfig::default()).unwrap();
        let b = Executor::new(ExecConfig::default()).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
        let config = ExecConfig {
            timeout: Duration::from_secs(7),
            ..ExecConfig::default()
        };
        let c = Executor::new(config).unwrap();
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
