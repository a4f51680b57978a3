//! The sandbox's walls, each tried from inside by a sample that reports what it could do: the
//! kernel surface (sockets, System V IPC, message queues), the worker's `/proc` entries, its
//! scratch root, signals, resource limits. Root mode is tested as the suite runs (root here);
//! the two non-root modes by running a test of this binary again as another uid
//! ([`as_user`]): with user namespaces (the full sandbox), and with user namespaces refused
//! (the executor must refuse, and with `insecure_sandbox` still keep what it can).

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::*;
use rrtf_exec::sandbox::{Mode, Protections};
use rrtf_exec::{ExecConfig, ExecError, ExecResult, Executor, Outcome};
use rrtf_types::UserError;

/// A test of `f()`'s result (shown when it differs); the sample returns what it managed to do.
fn expect(value: &str) -> String {
    format!("def check(candidate):\n    assert (r := candidate()) == {value}, r\n")
}

fn run(exec: &Executor, code: &str, test: &str) -> ExecResult {
    run_one(exec, py_job(1, code, test, "f"))
}

fn assert_pass(r: &ExecResult, what: &str) {
    assert!(
        r.passed() && r.tests_total == 1,
        "{what}: the sample could do what it must not: {r:?}"
    );
}

/// An executor for `uid_base` without the compile cache (its directory may not be writable by
/// the uid a test runs as).
fn exec_for(uid_base: u32, config: ExecConfig) -> Executor {
    Executor::new(ExecConfig {
        workers: 1,
        uid_base,
        timeout: Duration::from_secs(20),
        cache_dir: None,
        ..config
    })
    .expect("executor")
}

const SOCKETS: &str = r#"
import socket
def f():
    out = []
    for family, kind in ((socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_DGRAM),
                         (socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM)):
        try:
            socket.socket(family, kind)
            out.append('created')
        except OSError:
            out.append('denied')
    a, b = socket.socketpair()
    a.sendall(b'x')
    out.append(b.recv(1).decode())
    try:
        socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        out.append('datagram pair')
    except OSError:
        out.append('denied')
    return out
"#;
const SOCKETS_DENIED: &str = "['denied', 'denied', 'denied', 'denied', 'x', 'denied']";

/// System V shared memory, semaphores, message queues and POSIX message queues, through libc:
/// each refused by seccomp (EPERM; Landlock alone answers EACCES to `mq_open`).
const IPC: &str = r#"
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def f():
    out = []
    for call in (lambda: libc.shmget(0x52525446, 4096, 0o1666),
                 lambda: libc.semget(0x52525446, 1, 0o1666),
                 lambda: libc.msgget(0x52525446, 0o1666),
                 lambda: libc.mq_open(b'/rrtf-test', os.O_CREAT | os.O_RDWR, 0o600, None)):
        out.append('created' if call() >= 0 else errno.errorcode[ctypes.get_errno()])
    return out
"#;
const IPC_DENIED: &str = "['EPERM', 'EPERM', 'EPERM', 'EPERM']";

#[test]
fn sockets_cannot_be_created_and_stream_socketpairs_still_work() {
    let exec = exec_for(64300, ExecConfig::default());
    let r = run(&exec, SOCKETS, &expect(SOCKETS_DENIED));
    assert_pass(&r, "sockets");
}

#[test]
fn a_sample_cannot_send_to_a_host_datagram_socket() {
    // A named datagram socket in a directory the sandbox shows (read-only) to samples.
    let path = format!("/var/tmp/rrtf-exec-sandbox-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&path);
    let host = UnixDatagram::bind(&path).unwrap();
    host.set_nonblocking(true).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let code = format!(
        "import socket\ndef f():\n    try:\n        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n        a.sendto(b'forged', {path:?})\n        return 'sent'\n    except OSError:\n        return 'denied'\n"
    );
    let exec = exec_for(64301, ExecConfig::default());
    let r = run(&exec, &code, &expect("'denied'"));
    let mut buf = [0u8; 16];
    let got = host.recv(&mut buf).ok();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        got, None,
        "the host socket received a datagram from a sample"
    );
    assert_pass(&r, "datagram socketpair");
}

#[test]
fn system_v_ipc_and_message_queues_are_denied() {
    let exec = exec_for(64302, ExecConfig::default());
    let r = run(&exec, IPC, &expect(IPC_DENIED));
    assert_pass(&r, "IPC");
}

#[test]
fn shared_memory_is_no_channel_between_samples() {
    // One sample leaves a secret in a System V segment; the next one (same worker) looks for it.
    let write = r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
def f():
    sid = libc.shmget(0x52525447, 4096, 0o1666)
    if sid < 0:
        return 'denied'
    ctypes.memmove(libc.shmat(sid, None, 0), b'secret', 6)
    return 'left'
"#;
    let read = r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
def f():
    sid = libc.shmget(0x52525447, 0, 0)
    if sid < 0:
        return 'nothing'
    return ctypes.string_at(libc.shmat(sid, None, 0), 6).decode()
"#;
    let exec = exec_for(64303, ExecConfig::default());
    let results = exec.run_all(vec![
        py_job(1, write, &expect("'denied'"), "f"),
        py_job(2, read, &expect("'nothing'"), "f"),
    ]);
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_pass(r, "shared memory");
    }
}

#[test]
fn peak_rss_counts_the_processes_a_sample_started() {
    // The sample's child holds 200 MB and is still alive when the sample returns: the worker
    // kills and reaps it, and its peak belongs to the sample.
    let code = r#"
import os, time
def f():
    r, w = os.pipe()
    if os.fork() == 0:
        x = b'\x01' * (200 << 20)
        os.write(w, b'1')
        time.sleep(100)
        os._exit(0)
    os.read(r, 1)
    return 1
"#;
    let exec = exec_for(64304, ExecConfig::default());
    let r = run(&exec, code, &expect("1"));
    assert!(r.passed(), "{r:?}");
    assert!(
        r.peak_rss_kb >= 200 << 10,
        "peak {} KiB does not count the 200 MiB child",
        r.peak_rss_kb
    );
    assert_no_leftovers(64304..64305);
}

/// What every mode must hold, however the sample is isolated: the worker's `/proc` entries
/// are closed to it (no forged reply on the worker's stdout, no write to its stderr, no read of
/// its environment or memory), the scratch root is not the sample's, the worker cannot be
/// signalled, the Python judge can be neither signalled, traced nor read, no socket, no
/// System V IPC or message queue.
fn common_walls(exec: &Executor) {
    // A forged reply to the executor through the worker's descriptors (its channel to the
    // executor is not on fd 1 any more: every descriptor is tried): it claims 7 tests.
    let forge = r#"
import json, os, struct
def f():
    out = []
    body = json.dumps({"id": 1, "outcome": "pass", "tests_passed": 7, "tests_total": 7,
                       "detail": "forged"}).encode()
    paths = [f'fd/{n}' for n in range(64)] + ['environ', 'mem']
    for path in paths:
        try:
            fd = os.open(f'/proc/{os.getppid()}/{path}',
                         os.O_WRONLY if path.startswith('fd/') else os.O_RDONLY)
        except OSError:
            out.append('denied')
            continue
        if path.startswith('fd/'):
            try:
                os.write(fd, struct.pack('<I', len(body)) + body)
            except OSError:
                pass
        out.append(f'opened {path}')
    return sorted(set(out))
"#;
    let r = run(exec, forge, &expect("['denied']"));
    assert_ne!(r.detail, "forged", "a forged reply was taken: {r:?}");
    assert_pass(&r, "the worker's /proc entries");

    // The scratch root (the work directory's parent) belongs to the worker: the sample can
    // neither plant files there nor move, link or remove what is there (its own output file it
    // writes through its stdout anyway).
    let scratch = r#"
import os
def f():
    out = []
    for act in (lambda: open('../planted', 'w'), lambda: os.mkdir('../work.1'),
                lambda: os.rename('../out', '../out.1'), lambda: os.symlink('/etc', '../x'),
                lambda: os.unlink('../out')):
        try:
            act()
            out.append('done')
        except OSError:
            out.append('denied')
    open('mine.txt', 'w').write('the work directory is the sample\'s')
    return out
"#;
    let r = run(exec, scratch, &expect(&format!("{:?}", ["denied"; 5])));
    assert_pass(&r, "the scratch root");

    // What a sample leaves in its work directory, however locked, is gone for the next one.
    let lock = r#"
import os
def f():
    os.makedirs('a/b/c')
    open('a/b/c/x', 'w').write('1')
    os.symlink('/etc', 'a/link')
    os.chmod('a/b/c', 0)
    os.chmod('a/b', 0o500)
    os.chmod('a', 0)
    os.chmod('.', 0o500)
    return 1
"#;
    let look =
        "import os\ndef f():\n    open('y', 'w').write('y')\n    return sorted(os.listdir('.'))\n";
    let results = exec.run_all(vec![
        py_job(1, lock, &expect("1"), "f"),
        py_job(2, look, &expect("['y']"), "f"),
    ]);
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_pass(r, "the work directory's cleanup");
    }

    // The launcher, the sample's parent, cannot be signalled.
    let signal = r#"
import os, signal
def f():
    try:
        os.kill(os.getppid(), signal.SIGTERM)
        return 'sent'
    except OSError:
        return 'denied'
"#;
    let r = run(exec, signal, &expect("'denied'"));
    assert_pass(&r, "signal to the worker");

    // The Python judge (the worker's child that is not the launcher) and the launcher (the
    // sample's parent, which forks every candidate) stay out of the sample's Landlock domain
    // and are not dumpable: no signal (signal 0 asks the kernel for the permission alone), no
    // ptrace, no /proc route to their memory, environment or descriptors, even where the
    // sample shares their uid (user namespace, insecure mode).
    let judge = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def ptrace_seize(p):
    if libc.ptrace(0x4206, p, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'ptrace')
def parent(p):
    with open(f'/proc/{p}/stat') as s:
        return int(s.read().rsplit(')', 1)[1].split()[1])
def f():
    me, launcher = os.getpid(), os.getppid()
    worker = parent(launcher)
    judges = []
    for p in os.listdir('/proc'):
        if not p.isdigit() or int(p) in (me, launcher):
            continue
        try:
            if parent(int(p)) == worker:
                judges.append(int(p))
        except (OSError, ValueError, IndexError):
            pass
    out = []
    for p in judges + [launcher]:
        for act in (lambda: os.kill(p, 0), lambda: open(f'/proc/{p}/mem', 'rb').read(1),
                    lambda: open(f'/proc/{p}/environ', 'rb').read(1),
                    lambda: os.listdir(f'/proc/{p}/fd'), lambda: ptrace_seize(p)):
            try:
                act()
                out.append('done')
            except OSError:
                out.append('denied')
    return len(judges), out
"#;
    let r = run(exec, judge, &expect(&format!("(1, {:?})", ["denied"; 10])));
    assert_pass(&r, "the judge and the launcher");

    assert_pass(&run(exec, SOCKETS, &expect(SOCKETS_DENIED)), "sockets");
    assert_pass(&run(exec, IPC, &expect(IPC_DENIED)), "IPC");
}

#[test]
fn root_mode_keeps_the_common_walls() {
    let exec = exec_for(64305, ExecConfig::default());
    // SAFETY: a query.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(exec.protections().mode(), Mode::Root);
    }
    common_walls(&exec);
}

/// Processes of our uid but ourselves (as a non-root user, the sandbox's processes are ours).
fn others_of_our_uid() -> Vec<String> {
    // SAFETY: queries.
    let (uid, me) = unsafe { (libc::geteuid(), libc::getpid()) };
    processes_of(uid..uid + 1)
        .into_iter()
        .filter(|p| !p.starts_with(&format!("pid {me}:")))
        .collect()
}

#[test]
fn an_unprivileged_user_gets_namespaces_through_a_user_namespace() {
    if as_user(
        65201,
        concat!(
            module_path!(),
            "::an_unprivileged_user_gets_namespaces_through_a_user_namespace"
        ),
    ) {
        return;
    }
    let p = Protections::probe();
    assert_eq!(
        p.mode(),
        Mode::UserNamespace,
        "unprivileged user namespaces are allowed on this kernel (user.max_user_namespaces = \
         {}), yet: {:?}",
        std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap_or_default(),
        p.user_namespace_error
    );
    let exec = exec_for(
        61000,
        ExecConfig {
            scratch_mb: 16,
            ..ExecConfig::default()
        },
    );
    assert_eq!(exec.protections().mode(), Mode::UserNamespace);
    common_walls(&exec);

    // Namespaces: only the sandbox's processes, no network, a private /tmp.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let marker = tempfile::NamedTempFile::new_in("/tmp").unwrap();
    let ns = format!(
        r#"
import os, socket
def f():
    pids = [p for p in os.listdir('/proc') if p.isdigit()]
    try:
        socket.create_connection(('127.0.0.1', {port}), timeout=1)
        net = 'connected'
    except OSError:
        net = 'unreachable'
    try:
        os.stat({marker:?})
        tmp = 'the host /tmp'
    except FileNotFoundError:
        tmp = 'private'
    return len(pids) <= 4, net, tmp, os.getcwd()  # worker, judge, launcher, sample
"#,
        marker = marker.path().display()
    );
    let r = run(
        &exec,
        &ns,
        &expect("(True, 'unreachable', 'private', '/tmp/work')"),
    );
    assert_pass(&r, "namespaces");
    assert!(listener.accept().is_err(), "the sample reached the host");

    // RLIMIT_NPROC holds: it is counted in the worker's own user namespace.
    let forks = r#"
import os, time
def f():
    n = 0
    while n < 200:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
    return n
"#;
    let r = run(
        &exec,
        forks,
        "def check(candidate):\n    assert 0 < (n := candidate()) < 64, n\n",
    );
    assert_pass(&r, "the process limit");

    // The scratch tmpfs has its size limit (16 MiB here).
    let fill = r#"
def f():
    try:
        for i in range(40):
            with open(f'f{i}', 'wb') as out:
                out.write(b'x' * (512 << 10))
    except OSError as e:
        return e.errno
    return 'written'
"#;
    let r = run(&exec, fill, &expect("28"));
    assert_pass(&r, "the scratch size limit (ENOSPC)");
    drop(exec);
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !others_of_our_uid().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(others_of_our_uid(), Vec::<String>::new(), "leftovers");
}

/// Make this process (every thread, every child) unable to create user namespaces, as a
/// kernel with them disabled or a container's seccomp profile would.
fn refuse_user_namespaces() {
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    };
    let newuser = libc::CLONE_NEWUSER as u64;
    let rule = || {
        SeccompRule::new(vec![
            SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(newuser),
                newuser,
            )
            .unwrap(),
        ])
        .unwrap()
    };
    let arch = || std::env::consts::ARCH.try_into().unwrap();
    let deny = SeccompFilter::new(
        [
            (libc::SYS_clone, vec![rule()]),
            (libc::SYS_unshare, vec![rule()]),
        ]
        .into_iter()
        .collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch(),
    )
    .unwrap();
    // clone3's flags are in memory, out of a filter's sight: ENOSYS sends libc to clone.
    let clone3 = SeccompFilter::new(
        [(libc::SYS_clone3, vec![])].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch(),
    )
    .unwrap();
    for f in [deny, clone3] {
        let prog: seccompiler::BpfProgram = f.try_into().unwrap();
        seccompiler::apply_filter_all_threads(&prog).unwrap();
    }
}

#[test]
fn without_user_namespaces_the_executor_refuses_unless_told() {
    if as_user(
        65202,
        concat!(
            module_path!(),
            "::without_user_namespaces_the_executor_refuses_unless_told"
        ),
    ) {
        return;
    }
    refuse_user_namespaces();
    let p = Protections::probe();
    assert_eq!(p.mode(), Mode::Insecure, "{p:?}");
    let err = Executor::new(ExecConfig {
        cache_dir: None,
        ..ExecConfig::default()
    })
    .err()
    .expect("the executor must refuse a sandbox without namespaces");
    assert!(matches!(err, ExecError::InsecureSandbox { .. }), "{err}");
    assert!(err.is_user_error());
    let msg = err.to_string();
    for needle in [
        "--insecure-sandbox",
        "insecure_sandbox = true",
        "user namespace",
        "/proc",
    ] {
        assert!(msg.contains(needle), "`{needle}` not in: {msg}");
    }
    // Accepted explicitly, it runs, and keeps every wall that needs no namespace.
    let exec = exec_for(
        61000,
        ExecConfig {
            insecure_sandbox: true,
            ..ExecConfig::default()
        },
    );
    assert_eq!(exec.protections().mode(), Mode::Insecure);
    common_walls(&exec);
    let ok = run(&exec, "def f():\n    return 1\n", &expect("1"));
    assert_eq!(ok.outcome, Outcome::Pass, "{ok:?}");
}
