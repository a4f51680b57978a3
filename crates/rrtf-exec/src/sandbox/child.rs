//! The child side of [`spawn`](super::spawn): everything between `clone` and `execve`.
//!
//! Runs in a fresh single-threaded copy of a possibly multithreaded parent, so it only makes
//! syscalls on memory the parent prepared ([`Prepared`]): no allocation, no locks, no panics.
//! A failed step is reported as `(step index, errno)` on a close-on-exec pipe, then `_exit(127)`.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;

use super::landlock::{self, Access};

pub(super) const STEPS: &[&str] = &[
    "dup2",
    "mount-private",
    "mount-readonly-root",
    "mount-tmpfs",
    "mount-proc",
    "mask-run",
    "setrlimit",
    "landlock",
    "setgroups",
    "setresgid",
    "setresuid",
    "seccomp",
    "chdir",
    "execve",
    "fork",
    "no-new-privs",
    "setgroups-deny",
    "uid_map",
    "gid_map",
];

pub(super) struct Prepared {
    pub(super) path: CString,
    pub(super) argv: Vec<CString>,
    pub(super) argv_ptrs: Vec<*const libc::c_char>,
    pub(super) env: Vec<CString>,
    pub(super) env_ptrs: Vec<*const libc::c_char>,
    pub(super) cwd: CString,
    pub(super) tmpfs_opts: CString,
    pub(super) rules: Vec<(&'static CStr, Access)>,
    pub(super) owned_rules: Vec<(CString, Access)>,
    pub(super) stdio: [RawFd; 3],
    pub(super) err_fd: RawFd,
    pub(super) rlimits: Vec<(libc::__rlimit_resource_t, libc::rlimit)>,
    pub(super) identity: Option<(u32, u32)>,
    /// In a fresh user namespace: the `uid_map` and `gid_map` lines to write first.
    pub(super) id_maps: Option<(CString, CString)>,
    pub(super) landlock_abi: Option<u32>,
    pub(super) filters: Vec<libc::sock_fprog>,
    pub(super) namespaces: bool,
    pub(super) init: bool,
}

/// Write `data` to the proc file `path` (open, one write, close). Async-signal-safe.
unsafe fn write_proc(path: &CStr, data: &CStr) -> bool {
    // SAFETY: NUL-terminated path; data lives across the write.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let bytes = data.to_bytes();
        let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        n == bytes.len() as isize
    }
}

/// Report `(step, errno)` to the parent and exit. Async-signal-safe.
unsafe fn fail(err_fd: RawFd, step: &str) -> ! {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let idx = STEPS.iter().position(|s| *s == step).unwrap_or(usize::MAX) as u32;
    let mut msg = [0u8; 8];
    msg[0..4].copy_from_slice(&idx.to_ne_bytes());
    msg[4..8].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: plain write and _exit.
    unsafe {
        libc::write(err_fd, msg.as_ptr().cast(), 8);
        libc::_exit(127)
    }
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const AT_RECURSIVE: libc::c_uint = 0x8000;

unsafe fn mount_setattr(path: &CStr, flags: libc::c_uint, attr: &MountAttr) -> libc::c_long {
    // SAFETY: path is NUL-terminated and attr lives across the call.
    unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    }
}

const PR_CAPBSET_DROP: libc::c_int = 24;
/// CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_KILL, CAP_SETGID, CAP_SETUID.
pub const KEPT_CAPS: u64 = 0b1110_1111;

/// The child between `clone` and `execve`.
///
/// # Safety
/// Runs in a fresh single-threaded copy of a possibly multithreaded process: only syscalls on
/// memory prepared by the parent. Never returns.
pub(super) unsafe fn child_main(p: &Prepared) -> ! {
    let e = p.err_fd;
    // SAFETY: every call below is a syscall wrapper on prepared, NUL-terminated data.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if let Some((uid_map, gid_map)) = &p.id_maps {
            // An unprivileged process may map only its own ids, and its gid only once
            // setgroups is denied. Until then the child has every capability in its namespace
            // (for the mounts below); execve as a non-root uid drops them all.
            if !write_proc(c"/proc/self/setgroups", c"deny") {
                fail(e, "setgroups-deny");
            }
            if !write_proc(c"/proc/self/uid_map", uid_map) {
                fail(e, "uid_map");
            }
            if !write_proc(c"/proc/self/gid_map", gid_map) {
                fail(e, "gid_map");
            }
        }
        for (target, &src) in p.stdio.iter().enumerate() {
            if src >= 0 && libc::dup2(src, target as i32) < 0 {
                fail(e, "dup2");
            }
        }
        // Its own process group: without a pid namespace that is what the parent kills, and
        // either way a terminal's Ctrl-C (sent to the foreground process group) reaches only
        // `rrtf`, which stops cleanly after the batch in flight, not the workers running it.
        libc::setpgid(0, 0);
        // Everything else closes at execve (the error pipe is close-on-exec already).
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if p.namespaces {
            let none = std::ptr::null::<libc::c_char>();
            let flags = (libc::MS_REC | libc::MS_PRIVATE) as libc::c_ulong;
            if libc::mount(none, c"/".as_ptr(), none, flags, std::ptr::null()) < 0 {
                fail(e, "mount-private");
            }
            let ro = MountAttr {
                attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
                attr_clr: 0,
                propagation: 0,
                userns_fd: 0,
            };
            if mount_setattr(c"/", AT_RECURSIVE, &ro) < 0 {
                fail(e, "mount-readonly-root");
            }
            let tmpfs_flags = (libc::MS_NOSUID | libc::MS_NODEV) as libc::c_ulong;
            if libc::mount(
                c"tmpfs".as_ptr(),
                c"/tmp".as_ptr(),
                c"tmpfs".as_ptr(),
                tmpfs_flags,
                p.tmpfs_opts.as_ptr().cast(),
            ) < 0
            {
                fail(e, "mount-tmpfs");
            }
            // Hide the host's /run: its unix sockets (daemons, agents) are reachable by path
            // even where Landlock forbids reading the directory.
            let masked = (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC)
                as libc::c_ulong;
            if libc::mount(
                c"tmpfs".as_ptr(),
                c"/run".as_ptr(),
                c"tmpfs".as_ptr(),
                masked,
                c"size=4k,mode=755".as_ptr().cast(),
            ) < 0
            {
                fail(e, "mask-run");
            }
            let proc_flags = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as libc::c_ulong;
            let proc = c"proc".as_ptr();
            if libc::mount(proc, c"/proc".as_ptr(), proc, proc_flags, std::ptr::null()) < 0 {
                fail(e, "mount-proc");
            }
        }
        for (res, lim) in &p.rlimits {
            if libc::setrlimit(*res, lim) < 0 {
                fail(e, "setrlimit");
            }
        }
        if p.identity.is_none() && libc::geteuid() == 0 {
            // A root process (the worker) keeps only what it needs after execve: changing uids,
            // killing its samples, cleaning their files. No CAP_SYS_ADMIN, NET_ADMIN, ...
            for cap in 0..64 {
                if KEPT_CAPS & (1 << cap) == 0 {
                    libc::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); // EINVAL past the last cap
                }
            }
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 {
            fail(e, "no-new-privs");
        }
        if let Some(abi) = p.landlock_abi {
            let mut all: [(&CStr, Access); 32] = [(c"/", Access::ReadExec); 32];
            let mut n = 0;
            for r in p.rules.iter().take(24) {
                all[n] = *r;
                n += 1;
            }
            for (path, access) in p.owned_rules.iter().take(32 - n) {
                // Without namespaces, the host scratch directory (the one writable place); the
                // compile cache (read and execute only).
                all[n] = (path.as_c_str(), *access);
                n += 1;
            }
            if landlock::enforce(abi, &all[..n]).is_err() {
                fail(e, "landlock");
            }
        }
        if let Some((uid, gid)) = p.identity {
            if libc::setgroups(0, std::ptr::null()) < 0 {
                fail(e, "setgroups");
            }
            if libc::setresgid(gid, gid, gid) < 0 {
                fail(e, "setresgid");
            }
            if libc::setresuid(uid, uid, uid) < 0 {
                fail(e, "setresuid");
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        }
        for prog in &p.filters {
            let r = libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0u32,
                prog as *const libc::sock_fprog,
            );
            if r < 0 {
                fail(e, "seccomp");
            }
        }
        if libc::chdir(p.cwd.as_ptr()) < 0 {
            fail(e, "chdir");
        }
        if p.init {
            let pid = libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0);
            if pid < 0 {
                fail(e, "fork");
            }
            if pid > 0 {
                init_wait(pid as libc::pid_t);
            }
        }
        libc::execve(p.path.as_ptr(), p.argv_ptrs.as_ptr(), p.env_ptrs.as_ptr());
        fail(e, "execve");
    }
}

/// pid 1 with `init`: drop every descriptor, reap until the program ends, exit with its status
/// (128 + signal when killed). Its exit takes the whole namespace down.
unsafe fn init_wait(program: libc::pid_t) -> ! {
    // SAFETY: syscalls only.
    unsafe {
        libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0);
        loop {
            let mut status = 0;
            let r = libc::waitpid(-1, &mut status, 0);
            if r == program {
                if libc::WIFEXITED(status) {
                    libc::_exit(libc::WEXITSTATUS(status));
                }
                libc::_exit(128 + libc::WTERMSIG(status));
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(125);
            }
        }
    }
}
