//! The Linux sandbox: which protections this machine offers ([`Protections`], with its
//! [`Mode`]), the resource limits ([`Limits`], and [`cgroup`] where cgroup v2 can be used), and
//! the launcher ([`spawn::Sandboxed`]).
//!
//! Layers, outermost first: pid/mount/net/ipc/uts/cgroup namespaces (as root, or inside an
//! unprivileged user namespace), a read-only root with a private tmpfs at `/tmp` and a fresh
//! `/proc`, rlimits, Landlock (filesystem, TCP, signal scoping), a non-root uid per worker (root
//! mode), an empty environment, seccomp. Whatever the kernel or the user lacks is left out and
//! named by [`Protections::missing`]; nothing here silently pretends, and without namespaces
//! the executor refuses to run unless told to accept it (`ExecConfig::insecure_sandbox`).
//!
//! Not here: the per-sample work, which is the workers' (see `python` and `compiled`).

mod child;
pub use child::KEPT_CAPS;
pub mod cgroup;
pub mod landlock;
pub mod seccomp;
pub mod spawn;

use serde::Serialize;

/// How samples are isolated here, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Root: namespaces, and each worker's samples under a uid of their own.
    Root,
    /// Not root: the same namespaces, entered through an unprivileged user namespace that maps
    /// one uid (yours). Samples share the worker's uid; a nested Landlock domain, a
    /// non-dumpable worker and per-namespace process counts keep them apart from it.
    UserNamespace,
    /// No namespaces (not root, and user namespaces refused): network and IPC namespaces, the
    /// private `/tmp`, the pid namespace and per-sample uids are missing. Used only when the
    /// user accepted it (`--insecure-sandbox`, `ExecConfig::insecure_sandbox`).
    Insecure,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Root => "root",
            Mode::UserNamespace => "user namespace",
            Mode::Insecure => "insecure (no namespaces)",
        }
    }
}

/// What the kernel and our privileges allow. Probed once per process with [`Protections::probe`].
#[derive(Debug, Clone, Serialize)]
pub struct Protections {
    /// Running as root: namespaces, mounts and per-worker uids are possible.
    pub root: bool,
    /// pid, mount, net, ipc, uts and cgroup namespaces, read-only root, tmpfs scratch.
    pub namespaces: bool,
    /// The namespaces are entered through an unprivileged user namespace (not root).
    pub user_namespace: bool,
    /// Why user namespaces could not be used, when they were tried and failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_namespace_error: Option<String>,
    /// Landlock ABI version in force, if any.
    pub landlock_abi: Option<u32>,
    pub seccomp: bool,
    /// Whole-worker memory and process limits with cgroup v2, or why they are not available.
    pub cgroup: cgroup::Support,
}

impl Protections {
    /// Ask the kernel. Namespaces are tested by really starting `/bin/true` in them: as root
    /// directly, otherwise inside a user namespace.
    pub fn probe() -> Protections {
        // SAFETY: a query.
        let root = unsafe { libc::geteuid() } == 0;
        let mut p = Protections {
            root,
            namespaces: true,
            user_namespace: !root,
            user_namespace_error: None,
            landlock_abi: landlock::abi_version(),
            seccomp: seccomp::available(),
            cgroup: cgroup::Support::probe(),
        };
        if let Err(e) = probe_spawn(&p) {
            if !root {
                p.user_namespace_error = Some(e);
            } else {
                tracing::warn!("namespaces unavailable: {e}");
            }
            p.namespaces = false;
            p.user_namespace = false;
        }
        p
    }

    pub fn mode(&self) -> Mode {
        match (self.namespaces, self.user_namespace) {
            (true, false) => Mode::Root,
            (true, true) => Mode::UserNamespace,
            (false, _) => Mode::Insecure,
        }
    }

    /// Whether RLIMIT_NPROC bounds a worker's samples alone: a uid per worker (root), or a
    /// user namespace per worker (the kernel counts processes per user namespace and uid).
    /// Otherwise it would count every process of the user, so it is not set.
    pub fn per_worker_process_limit(&self) -> bool {
        self.root || self.user_namespace
    }

    /// Names of the protections in force, for `rrtf exec doctor` and the start-up log.
    pub fn active(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.namespaces {
            v.push(if self.user_namespace {
                "namespaces (user, pid, mount, net, ipc, uts, cgroup)".into()
            } else {
                "namespaces (pid, mount, net, ipc, uts, cgroup)".into()
            });
            v.push("read-only root, private tmpfs /tmp (size-limited), fresh /proc".into());
            v.push("no network (empty net namespace)".into());
        }
        if self.root {
            v.push("non-root uid per worker (RLIMIT_NPROC enforced)".into());
            v.push(
                "worker capabilities cut to chown, dac_override, fowner, kill, setuid, setgid"
                    .into(),
            );
        } else if self.user_namespace {
            v.push("no capabilities; RLIMIT_NPROC counted per worker (its user namespace)".into());
        }
        v.push(if self.per_worker_process_limit() {
            "rlimits (address space, cpu, processes, file size, open files)".into()
        } else {
            "rlimits (address space, cpu, file size, open files)".into()
        });
        if let cgroup::Support::V2 { dir } = &self.cgroup {
            v.push(format!(
                "cgroup v2 per worker under {} (memory.max, pids.max: the whole process tree)",
                dir.display()
            ));
        }
        v.push("empty environment".into());
        v.push("non-dumpable worker (its /proc entries are closed to samples)".into());
        v.push(if self.namespaces {
            "wall-clock kill of the whole pid namespace".into()
        } else {
            "wall-clock kill of the process group and every descendant (subreaper)".into()
        });
        if let Some(abi) = self.landlock_abi {
            v.push(format!(
                "landlock ABI {abi} (filesystem{}; samples nested in a domain of their own: \
                 writes only to their work directory and output)",
                if abi >= 6 {
                    ", tcp, signal scoping"
                } else if abi >= 4 {
                    ", tcp"
                } else {
                    ""
                }
            ));
        }
        if self.seccomp {
            v.push(
                "seccomp (no ptrace, mount, namespaces, socket(), datagram socketpairs, \
                 System V IPC, POSIX message queues, ...)"
                    .into(),
            );
        }
        v
    }

    /// Protections that are missing here, each with its consequence.
    pub fn missing(&self) -> Vec<String> {
        let mut v = Vec::new();
        if !self.namespaces {
            let why = match (&self.user_namespace_error, self.root) {
                (Some(e), _) => format!("not root and no user namespace ({e})"),
                (None, true) => "namespaces failed even as root".to_string(),
                (None, false) => "not root".to_string(),
            };
            v.push(format!(
                "namespaces: {why}. Samples run in your own mount, pid, network and IPC \
                 namespaces: they see your processes in /proc (and read the files of those \
                 that are dumpable, e.g. /proc/PID/environ), share the host's abstract socket \
                 and IPC namespaces (seccomp and Landlock still deny sockets, System V IPC and \
                 message queues), write to a host scratch directory without a size limit \
                 (1 MiB per file), and, under your uid, reach every file Landlock leaves \
                 readable (the system directories)"
            ));
        } else if self.user_namespace {
            v.push(
                "per-sample uid: samples share the worker's uid inside the user namespace \
                 (Landlock and a non-dumpable worker separate them)"
                    .into(),
            );
        }
        if !self.per_worker_process_limit() {
            v.push(
                "process limit: RLIMIT_NPROC would count all of your processes, so it is not \
                 set (a fork bomb is stopped by the wall clock only)"
                    .into(),
            );
        }
        if self.landlock_abi.is_none() {
            v.push(
                "landlock unavailable: files readable by the sample uid are readable, and \
                 samples sharing the worker's uid can write its scratch directory"
                    .into(),
            );
        }
        if !self.seccomp {
            v.push("seccomp unavailable: no syscall filter".into());
        }
        v
    }

    /// Limits that hold less than they say here, with why (informational: common on hosts
    /// whose cgroups are v1, so not part of [`Protections::missing`]).
    pub fn limit_gaps(&self) -> Vec<String> {
        match &self.cgroup {
            cgroup::Support::V2 { .. } => Vec::new(),
            cgroup::Support::Unavailable { reason } => vec![format!(
                "no cgroup v2 limits ({reason}): memory is limited per process (RLIMIT_AS), so a \
                 sample's forked processes together can use several times the memory limit, \
                 and its tmpfs scratch files count against no limit"
            )],
        }
    }
}

/// Resource limits applied with setrlimit. `None` leaves the inherited limit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    pub address_space_mb: Option<u64>,
    /// Soft CPU seconds; the hard limit is one more, so SIGXCPU and SIGKILL tell causes apart.
    pub cpu_secs: Option<u64>,
    pub processes: Option<u64>,
    pub file_size_mb: Option<u64>,
    pub open_files: Option<u64>,
}

impl Limits {
    pub(crate) fn rlimits(&self) -> Vec<(libc::__rlimit_resource_t, libc::rlimit)> {
        let mut v = vec![(
            libc::RLIMIT_CORE,
            libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            },
        )];
        let mut push = |res, soft: Option<u64>, hard_extra: u64| {
            if let Some(s) = soft {
                v.push((
                    res,
                    libc::rlimit {
                        rlim_cur: s,
                        rlim_max: s + hard_extra,
                    },
                ));
            }
        };
        push(libc::RLIMIT_AS, self.address_space_mb.map(|m| m << 20), 0);
        push(libc::RLIMIT_CPU, self.cpu_secs, 1);
        push(libc::RLIMIT_NPROC, self.processes, 0);
        push(libc::RLIMIT_FSIZE, self.file_size_mb.map(|m| m << 20), 0);
        push(libc::RLIMIT_NOFILE, self.open_files, 0);
        v
    }
}

/// Start `/bin/true` under `p`: `Err` says which step failed.
fn probe_spawn(p: &Protections) -> Result<(), String> {
    let spec = spawn::SpawnSpec {
        argv: vec!["/bin/true".into()],
        env: Vec::new(),
        cwd: "/".into(),
        identity: None,
        limits: Limits {
            address_space_mb: None,
            cpu_secs: Some(5),
            processes: None,
            file_size_mb: None,
            open_files: None,
        },
        host_scratch: None,
        read_dirs: Vec::new(),
        scratch_mode: 0o755,
        scratch_mb: 1,
        init: false,
        cgroup: None,
        stdin: spawn::Io::Null,
        stdout: spawn::Io::Null,
        stderr: spawn::Io::Null,
    };
    let mut child = spawn::Sandboxed::spawn(spec, p, &[]).map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    match child.wait_until(Some(deadline)) {
        Ok(Some(exit)) if exit.code == Some(0) => Ok(()),
        Ok(Some(exit)) => Err(format!("the probe exited with {exit:?}")),
        Ok(None) => Err("the probe did not finish within 5 s".into()),
        Err(e) => Err(format!("waiting for the probe: {e}")),
    }
}
