//! Launching one sandboxed process: raw `clone` into fresh pid, mount, net, ipc, uts and cgroup
//! namespaces (and a user namespace when not root), then, in the child, a read-only root, a
//! private tmpfs on `/tmp`, a fresh `/proc`, rlimits, Landlock, the non-root uid, seccomp, and
//! `execve`. With a cgroup, the parent moves the child into it right after `clone`, before the
//! child can have started anything.
//!
//! Everything the child needs is prepared in the parent ([`Prepared`]): between `clone` and
//! `execve` the child only makes syscalls (the parent may be multithreaded, so no allocation, no
//! locks). A failed step is reported as `(step, errno)` on a close-on-exec pipe.
//!
//! The child is pid 1 of its pid namespace: killing it kills every process it started, however
//! they daemonised. With `init`, pid 1 forks the program and only waits for it, so that the
//! program itself is an ordinary process (pid 1 ignores default-action signals such as SIGXCPU).

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::Instant;

use super::child::{Prepared, STEPS, child_main};
use super::landlock::{self, Access};
use super::{Limits, Protections};
use crate::error::ExecError;

/// Where the child's standard stream goes.
pub enum Io {
    /// `/dev/null`.
    Null,
    /// A pipe whose other end the parent keeps.
    Pipe,
    /// The parent's own stream.
    Inherit,
    /// This file descriptor (e.g. a size-limited output file).
    Fd(OwnedFd),
}

/// What to run and how tightly.
pub struct SpawnSpec {
    /// Absolute program path first.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
    /// Drop to this uid/gid before `execve` (only when running as root).
    pub identity: Option<(u32, u32)>,
    pub limits: Limits,
    /// Without namespaces only: the host directory that serves as scratch (the one place
    /// Landlock lets the process write). With namespaces the scratch is a private tmpfs.
    pub host_scratch: Option<PathBuf>,
    /// Extra host directories the process may read and execute from (the compile cache, which
    /// the read-only root already makes unwritable; Landlock grants it read and execute only).
    pub read_dirs: Vec<PathBuf>,
    /// Mode of the scratch tmpfs root: 0o755 keeps it the worker's; 0o1777 shares it.
    pub scratch_mode: u32,
    pub scratch_mb: u32,
    /// Fork once inside: pid 1 waits, the program runs as an ordinary process.
    pub init: bool,
    /// `cgroup.procs` of the cgroup to put the process in (see [`super::cgroup`]).
    pub cgroup: Option<OwnedFd>,
    pub stdin: Io,
    pub stdout: Io,
    pub stderr: Io,
}

/// How a sandboxed process ended, with its resource use.
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub cpu_ms: u64,
    pub peak_rss_kb: u64,
}

/// A running sandboxed process. Dropping it kills and reaps it (and, being pid 1 of its
/// namespace, everything it started).
pub struct Sandboxed {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    reaped: bool,
    namespaces: bool,
}

fn cstr(s: &str) -> Result<CString, ExecError> {
    CString::new(s).map_err(|_| ExecError::BadInput(format!("NUL byte in {s:?}")))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ExecError> {
    let mut fds = [0; 2];
    // SAFETY: fds is a two-element array as pipe2 requires.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(ExecError::io("pipe2", io::Error::last_os_error()));
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Duplicate to a descriptor >= 10, close-on-exec, so that dup2 onto 0..2 never clobbers it.
fn high(fd: &OwnedFd) -> Result<OwnedFd, ExecError> {
    // SAFETY: F_DUPFD_CLOEXEC on a valid descriptor.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if new < 0 {
        return Err(ExecError::io(
            "fcntl(F_DUPFD_CLOEXEC)",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: freshly duplicated.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

impl Sandboxed {
    /// Start `spec` under the protections available. `filters` are the seccomp programs.
    pub fn spawn(
        spec: SpawnSpec,
        protections: &Protections,
        filters: &[seccompiler::BpfProgram],
    ) -> Result<Sandboxed, ExecError> {
        let null = File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| ExecError::io("open /dev/null", e))?;
        let null: OwnedFd = null.into();
        let mut keep: Vec<OwnedFd> = Vec::new(); // child-side descriptors, closed after clone
        let mut parent_stdin = None;
        let mut parent_stdout = None;
        let mut stdio = [-1; 3];
        for (i, io) in [spec.stdin, spec.stdout, spec.stderr]
            .into_iter()
            .enumerate()
        {
            let child_end = match io {
                Io::Null => high(&null)?,
                Io::Inherit => continue,
                Io::Fd(fd) => high(&fd)?,
                Io::Pipe => {
                    let (r, w) = pipe()?;
                    if i == 0 {
                        parent_stdin = Some(File::from(w));
                        high(&r)?
                    } else {
                        parent_stdout = Some(File::from(r));
                        high(&w)?
                    }
                }
            };
            stdio[i] = child_end.as_raw_fd();
            keep.push(child_end);
        }
        let (err_r, err_w) = pipe()?;

        let path = resolve(&spec.argv[0])?;
        let argv: Vec<CString> = spec
            .argv
            .iter()
            .map(|a| cstr(a))
            .collect::<Result<_, _>>()?;
        let env: Vec<CString> = spec
            .env
            .iter()
            .map(|(k, v)| cstr(&format!("{k}={v}")))
            .collect::<Result<_, _>>()?;
        let mut rules: Vec<(&'static CStr, Access)> = landlock::SYSTEM_RULES.to_vec();
        let mut owned_rules = Vec::new();
        if protections.namespaces {
            rules.push((c"/tmp", Access::Full));
        } else if let Some(scratch) = &spec.host_scratch {
            owned_rules.push((cstr(&scratch.to_string_lossy())?, Access::Full));
        }
        for dir in &spec.read_dirs {
            owned_rules.push((cstr(&dir.to_string_lossy())?, Access::ReadExec));
        }
        let mut prepared = Prepared {
            path,
            argv_ptrs: Vec::new(),
            argv,
            env_ptrs: Vec::new(),
            env,
            cwd: cstr(&spec.cwd)?,
            tmpfs_opts: cstr(&format!(
                "size={}m,mode={:o}",
                spec.scratch_mb, spec.scratch_mode
            ))?,
            rules,
            owned_rules,
            stdio,
            err_fd: err_w.as_raw_fd(),
            rlimits: spec.limits.rlimits(),
            identity: if protections.root {
                spec.identity
            } else {
                None
            },
            id_maps: if protections.user_namespace {
                Some(user_namespace_maps()?)
            } else {
                None
            },
            landlock_abi: protections.landlock_abi,
            filters: Vec::new(),
            namespaces: protections.namespaces,
            init: spec.init,
        };
        prepared.argv_ptrs = prepared.argv.iter().map(|a| a.as_ptr()).collect();
        prepared.argv_ptrs.push(std::ptr::null());
        prepared.env_ptrs = prepared.env.iter().map(|a| a.as_ptr()).collect();
        prepared.env_ptrs.push(std::ptr::null());
        if protections.seccomp {
            prepared.filters = filters
                .iter()
                .map(|p| libc::sock_fprog {
                    len: p.len() as u16,
                    filter: p.as_ptr() as *mut libc::sock_filter,
                })
                .collect();
        }

        let mut flags = libc::SIGCHLD as libc::c_ulong;
        if protections.user_namespace {
            flags |= libc::CLONE_NEWUSER as libc::c_ulong;
        }
        if protections.namespaces {
            flags |= (libc::CLONE_NEWPID
                | libc::CLONE_NEWNS
                | libc::CLONE_NEWNET
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWUTS
                | libc::CLONE_NEWCGROUP) as libc::c_ulong;
        }
        // SAFETY: a fork-like clone (no CLONE_VM); the child only runs `child_main`, which makes
        // syscalls on memory prepared above and ends in execve or _exit.
        let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
        if pid < 0 {
            return Err(ExecError::Sandbox {
                step: "clone",
                source: io::Error::last_os_error(),
            });
        }
        if pid == 0 {
            // SAFETY: we are the child; see child_main's contract.
            unsafe { child_main(&prepared) }
        }
        let pid = pid as libc::pid_t;
        drop(keep);
        drop(err_w);
        if let Some(procs) = &spec.cgroup
            && let Err(e) = join_cgroup(procs, pid)
        {
            kill_and_reap(pid);
            return Err(ExecError::Sandbox {
                step: "cgroup",
                source: e,
            });
        }
        // SAFETY: pidfd_open on our own child.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd_res = if pidfd < 0 {
            Err(io::Error::last_os_error())
        } else {
            // SAFETY: a fresh descriptor.
            Ok(unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) })
        };
        let mut report = Vec::new();
        let _ = File::from(err_r).read_to_end(&mut report);
        let pidfd = match pidfd_res {
            Ok(fd) => fd,
            Err(e) => {
                kill_and_reap(pid);
                return Err(ExecError::Sandbox {
                    step: "pidfd_open",
                    source: e,
                });
            }
        };
        let mut child = Sandboxed {
            pid,
            pidfd,
            stdin: parent_stdin,
            stdout: parent_stdout,
            reaped: false,
            namespaces: protections.namespaces,
        };
        if report.len() >= 8 {
            let step = u32::from_ne_bytes(report[0..4].try_into().unwrap_or_default()) as usize;
            let errno = i32::from_ne_bytes(report[4..8].try_into().unwrap_or_default());
            child.kill();
            return Err(ExecError::Sandbox {
                step: STEPS.get(step).copied().unwrap_or("unknown"),
                source: io::Error::from_raw_os_error(errno),
            });
        }
        Ok(child)
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Kill the process (and with namespaces, its whole pid namespace) and reap it.
    pub fn kill(&mut self) {
        if self.reaped {
            return;
        }
        // SAFETY: signalling our own unreaped child (the pid cannot have been recycled).
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                libc::SIGKILL,
                0,
                0,
            );
            if !self.namespaces {
                libc::kill(-self.pid, libc::SIGKILL);
            }
        }
        let _ = self.wait_until(None);
    }

    /// Wait for the process to end, up to `deadline`. `Ok(None)` means still running.
    pub fn wait_until(&mut self, deadline: Option<Instant>) -> io::Result<Option<Exit>> {
        if self.reaped {
            return Err(io::Error::other("already reaped"));
        }
        loop {
            let timeout_ms = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    left.as_millis().min(i32::MAX as u128) as i32
                }
            };
            let mut pfd = libc::pollfd {
                fd: self.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Ok(None);
            }
            return self.reap().map(Some);
        }
    }

    fn reap(&mut self) -> io::Result<Exit> {
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: wait4 on our own child with valid out-pointers.
            let r = unsafe { libc::wait4(self.pid, &mut status, 0, &mut usage) };
            if r == self.pid {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        self.reaped = true;
        let tv_ms = |tv: libc::timeval| tv.tv_sec as u64 * 1000 + tv.tv_usec as u64 / 1000;
        let (code, signal) = if libc::WIFEXITED(status) {
            (Some(libc::WEXITSTATUS(status)), None)
        } else {
            (None, Some(libc::WTERMSIG(status)))
        };
        Ok(Exit {
            code,
            signal,
            cpu_ms: tv_ms(usage.ru_utime) + tv_ms(usage.ru_stime),
            peak_rss_kb: usage.ru_maxrss.max(0) as u64,
        })
    }
}

impl Drop for Sandboxed {
    fn drop(&mut self) {
        self.stdin.take();
        self.kill();
    }
}

/// Move `pid` into the cgroup whose `cgroup.procs` is open as `procs`.
fn join_cgroup(procs: &OwnedFd, pid: libc::pid_t) -> io::Result<()> {
    use std::io::Write;
    let mut f = File::from(procs.try_clone()?);
    f.write_all(pid.to_string().as_bytes())
}

/// `/proc/self/uid_map` and `gid_map` lines for a user namespace that maps our own uid and gid
/// (the only mapping an unprivileged process may write), to the same numbers inside.
fn user_namespace_maps() -> Result<(CString, CString), ExecError> {
    // SAFETY: queries.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    Ok((
        cstr(&format!("{uid} {uid} 1\n"))?,
        cstr(&format!("{gid} {gid} 1\n"))?,
    ))
}

fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: our own child, not yet reaped.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// An absolute path for `program`: as given when it contains a slash, else searched in the
/// standard system directories (never the caller's PATH, which may point into home dirs).
fn resolve(program: &str) -> Result<CString, ExecError> {
    if program.contains('/') {
        return cstr(program);
    }
    for dir in ["/usr/local/bin", "/usr/bin", "/bin"] {
        let p = format!("{dir}/{program}");
        if std::path::Path::new(&p).exists() {
            return cstr(&p);
        }
    }
    Err(ExecError::io(
        format!("find `{program}`"),
        io::ErrorKind::NotFound.into(),
    ))
}
