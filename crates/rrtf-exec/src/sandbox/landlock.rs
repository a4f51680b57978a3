//! Landlock through raw syscalls, so that the whole ruleset can be built in the child between
//! `clone` and `execve`, where only async-signal-safe calls are allowed (no allocation): the
//! `landlock` crate allocates. Rules attach to inodes, so the ruleset must be built after the
//! child has mounted its scratch tmpfs.
//!
//! Policy: read and execute beneath a list of system directories, full access beneath the
//! scratch directory, read and write on a few device files, no TCP bind or connect (ABI >= 4),
//! no signals or abstract unix sockets out of the domain (ABI >= 6). Everything else is denied.

use std::ffi::CStr;

const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;

pub const EXECUTE: u64 = 1 << 0;
pub const WRITE_FILE: u64 = 1 << 1;
pub const READ_FILE: u64 = 1 << 2;
pub const READ_DIR: u64 = 1 << 3;
const TRUNCATE: u64 = 1 << 14;
const IOCTL_DEV: u64 = 1 << 15;
const NET_BIND_TCP: u64 = 1;
const NET_CONNECT_TCP: u64 = 2;
const SCOPE_ABSTRACT_UNIX: u64 = 1;
const SCOPE_SIGNAL: u64 = 2;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The Landlock ABI version of the running kernel, or `None` when Landlock is unavailable.
pub fn abi_version() -> Option<u32> {
    // SAFETY: the documented way to query the ABI: a null attribute with size 0 and the flag.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    (v > 0).then_some(v as u32)
}

/// Every filesystem access right the given ABI knows.
fn fs_rights(abi: u32) -> u64 {
    let mut rights = (1u64 << 13) - 1; // ABI 1: EXECUTE ..= MAKE_SYM
    if abi >= 2 {
        rights |= 1 << 13; // REFER
    }
    if abi >= 3 {
        rights |= TRUNCATE;
    }
    if abi >= 5 {
        rights |= IOCTL_DEV;
    }
    rights
}

/// What a rule allows; turned into ABI-specific bits at enforcement time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read files, list directories, execute.
    ReadExec,
    /// Everything (the scratch directory).
    Full,
    /// Read and write one device file such as `/dev/null`.
    Device,
}

/// Why enforcement failed: the step and the errno. Returned rather than formatted, because the
/// caller runs between `clone` and `execve`.
pub struct Failed(pub i32);

/// Enforce the ruleset on the calling thread. Async-signal-safe: syscalls and stack values only.
/// Paths that do not exist are skipped.
///
/// # Safety
/// Must be called in a single-threaded child; it changes the process's security domain.
pub unsafe fn enforce(abi: u32, rules: &[(&CStr, Access)]) -> Result<(), Failed> {
    let attr = ruleset_attr(abi);
    let size = attr_size(abi);
    // SAFETY: attr outlives the call and size never exceeds its length.
    let ruleset = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            size,
            0u32,
        )
    };
    if ruleset < 0 {
        return Err(Failed(errno()));
    }
    let ruleset = ruleset as libc::c_int;
    for &(path, access) in rules {
        // SAFETY: path is NUL-terminated; O_PATH opens without reading.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        if fd < 0 {
            continue; // missing directories (e.g. /lib32) are simply not granted
        }
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fd is valid and st is a writable stat buffer.
        let is_dir = unsafe { libc::fstat(fd, &mut st) } == 0
            && (st.st_mode & libc::S_IFMT) == libc::S_IFDIR;
        let (dir_mask, file_mask) = access.masks(abi);
        let allowed = if is_dir { dir_mask } else { file_mask };
        let beneath = PathBeneathAttr {
            allowed_access: allowed,
            parent_fd: fd,
        };
        // SAFETY: beneath is a valid packed attribute; ruleset is our fd.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset,
                RULE_PATH_BENEATH,
                &beneath as *const PathBeneathAttr,
                0u32,
            )
        };
        unsafe { libc::close(fd) };
        if rc < 0 {
            return Err(Failed(errno()));
        }
    }
    // SAFETY: plain prctl and syscall on our own fd.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 {
            return Err(Failed(errno()));
        }
        if libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) < 0 {
            return Err(Failed(errno()));
        }
        libc::close(ruleset);
    }
    Ok(())
}

fn ruleset_attr(abi: u32) -> RulesetAttr {
    RulesetAttr {
        handled_access_fs: fs_rights(abi),
        handled_access_net: NET_BIND_TCP | NET_CONNECT_TCP,
        scoped: SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL,
    }
}

/// The part of [`RulesetAttr`] the given ABI knows (older kernels refuse a longer one).
fn attr_size(abi: u32) -> usize {
    match abi {
        1..=3 => 8usize,
        4 | 5 => 16,
        _ => std::mem::size_of::<RulesetAttr>(),
    }
}

impl Access {
    /// The rights this access grants on a directory and on a file, under `abi`.
    fn masks(self, abi: u32) -> (u64, u64) {
        let handled = fs_rights(abi);
        let file_rights = (EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV) & handled;
        let wanted = match self {
            Access::ReadExec => EXECUTE | READ_FILE | READ_DIR,
            Access::Full => handled,
            Access::Device => READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV,
        };
        (wanted & handled, wanted & file_rights)
    }
}

/// A ruleset in plain numbers, for a process that builds it itself: the warm worker puts each
/// sample into a domain nested in its own (see `worker.py`'s `confine`), so that a sample can
/// write only its work directory and its output file (never the scratch root, which it would
/// otherwise own where it shares the worker's uid) and cannot signal the worker.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RulesetSpec {
    /// `landlock_create_ruleset`, `landlock_add_rule`, `landlock_restrict_self`.
    pub syscalls: [i64; 3],
    /// `handled_access_fs`, `handled_access_net`, `scoped`, and how many bytes of them to pass.
    pub attr: [u64; 3],
    pub attr_size: usize,
    /// `(path, rights if it is a directory, rights if it is a file)`; missing paths are skipped.
    pub rules: Vec<(String, u64, u64)>,
}

impl RulesetSpec {
    pub fn new(abi: u32, rules: &[(String, Access)]) -> RulesetSpec {
        let a = ruleset_attr(abi);
        RulesetSpec {
            syscalls: [
                libc::SYS_landlock_create_ruleset,
                libc::SYS_landlock_add_rule,
                libc::SYS_landlock_restrict_self,
            ],
            attr: [a.handled_access_fs, a.handled_access_net, a.scoped],
            attr_size: attr_size(abi),
            rules: rules
                .iter()
                .map(|(path, access)| {
                    let (d, f) = access.masks(abi);
                    (path.clone(), d, f)
                })
                .collect(),
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The system directories every profile may read and execute from.
pub const SYSTEM_RULES: &[(&CStr, Access)] = &[
    (c"/usr", Access::ReadExec),
    (c"/bin", Access::ReadExec),
    (c"/sbin", Access::ReadExec),
    (c"/lib", Access::ReadExec),
    (c"/lib64", Access::ReadExec),
    (c"/lib32", Access::ReadExec),
    (c"/etc", Access::ReadExec),
    (c"/proc", Access::ReadExec),
    (c"/sys", Access::ReadExec),
    (c"/dev/null", Access::Device),
    (c"/dev/zero", Access::Device),
    (c"/dev/urandom", Access::Device),
    (c"/dev/random", Access::Device),
];
