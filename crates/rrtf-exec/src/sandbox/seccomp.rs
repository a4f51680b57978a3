//! The seccomp policy, compiled to BPF with `seccompiler` in the parent and installed by the child
//! with one `seccomp(2)` call per program (no allocation after `clone`).
//!
//! A deny list on top of a default allow: the namespaces, Landlock and the non-root uid are the
//! walls; seccomp removes the kernel surface a test never needs (ptrace, mounts, namespaces,
//! keyrings, BPF, module loading, io_uring), every way to a socket of someone else, and the
//! kernel's shared IPC objects:
//! - `socket()` of any family, `AF_UNIX` included (a named socket on the host, or an abstract
//!   one, is a daemon's door); `socketpair()` stays, for `AF_UNIX` stream and seqpacket pairs
//!   only: a datagram pair could `sendto()` any named datagram socket it can resolve.
//! - System V shared memory, semaphores and message queues, and POSIX message queues: they
//!   outlive the sample that made them (a channel between samples, memory outside its limits).
//!   POSIX shared memory and semaphores are files in `/dev/shm`, which Landlock does not grant.
//!
//! `clone3` answers `ENOSYS`, so the C library falls back to `clone`, whose flags can be checked.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

use crate::error::ExecError;

/// Syscalls denied outright with `EPERM`.
const DENIED: &[i64] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_keyctl,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_fsconfig,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_adjtimex,
    libc::SYS_syslog,
    libc::SYS_quotactl,
    libc::SYS_lookup_dcookie,
    // System V IPC and POSIX message queues (see the module doc).
    libc::SYS_shmget,
    libc::SYS_shmat,
    libc::SYS_shmdt,
    libc::SYS_shmctl,
    libc::SYS_semget,
    libc::SYS_semop,
    libc::SYS_semtimedop,
    libc::SYS_semctl,
    libc::SYS_msgget,
    libc::SYS_msgsnd,
    libc::SYS_msgrcv,
    libc::SYS_msgctl,
    libc::SYS_mq_open,
    libc::SYS_mq_unlink,
    libc::SYS_mq_timedsend,
    libc::SYS_mq_timedreceive,
    libc::SYS_mq_notify,
    libc::SYS_mq_getsetattr,
];

/// `clone` flags that create namespaces: denied even though the sample is not root, because a
/// user namespace would give it capabilities inside.
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWCGROUP as u64,
];

fn arch() -> Result<seccompiler::TargetArch, ExecError> {
    std::env::consts::ARCH
        .try_into()
        .map_err(|e| ExecError::Seccomp(format!("unsupported architecture: {e}")))
}

fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32) -> Result<BpfProgram, ExecError> {
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch()?,
    )
    .map_err(|e| ExecError::Seccomp(e.to_string()))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| ExecError::Seccomp(e.to_string()))
}

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, ExecError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value)
        .map_err(|e| ExecError::Seccomp(e.to_string()))
}

/// The programs to install, in order. Each one allows everything it does not name.
pub fn programs() -> Result<Vec<BpfProgram>, ExecError> {
    let mut eperm: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let mut clone_rules = Vec::new();
    for &flag in NAMESPACE_FLAGS {
        let c = cond(0, SeccompCmpOp::MaskedEq(flag), flag)?;
        clone_rules.push(SeccompRule::new(vec![c]).map_err(|e| ExecError::Seccomp(e.to_string()))?);
    }
    eperm.insert(libc::SYS_clone, clone_rules);

    // socket(): every family (an empty rule list denies the call whatever its arguments).
    // socketpair(): only AF_UNIX, and not SOCK_DGRAM (its low type bits; flags such as
    // SOCK_CLOEXEC sit above them).
    let not_unix = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Ne,
        libc::AF_UNIX as u64,
    )
    .map_err(|e| ExecError::Seccomp(e.to_string()))?;
    let dgram = SeccompCondition::new(
        1,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::MaskedEq(0xf),
        libc::SOCK_DGRAM as u64,
    )
    .map_err(|e| ExecError::Seccomp(e.to_string()))?;
    let rule = |c| SeccompRule::new(vec![c]).map_err(|e| ExecError::Seccomp(e.to_string()));
    let eacces = BTreeMap::from([
        (libc::SYS_socket, Vec::new()),
        (libc::SYS_socketpair, vec![rule(not_unix)?, rule(dgram)?]),
    ]);
    let enosys = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    Ok(vec![
        compile(eperm, libc::EPERM)?,
        compile(eacces, libc::EACCES)?,
        compile(enosys, libc::ENOSYS)?,
    ])
}

/// Whether the kernel offers seccomp filters.
pub fn available() -> bool {
    // SAFETY: a query with no side effects.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    mode >= 0 && std::path::Path::new("/proc/sys/kernel/seccomp/actions_avail").exists()
}
