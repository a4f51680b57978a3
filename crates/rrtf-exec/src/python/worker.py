# rrtf-exec's warm Python worker. Started once per pool slot with `python3 -S -I -B -c <this>
# <config json>`, already inside the sandbox (namespaces, read-only root, tmpfs /tmp, Landlock,
# seccomp, empty environment), as pid 1 of its own pid namespace. It reads jobs from stdin and
# writes results to stdout, both framed as a 4-byte little-endian length + JSON.
#
# Per sample it forks a child that drops to the slot's non-root uid (root mode), applies
# rlimits, enters a Landlock domain of its own (writes only to the work directory and the output
# file), points stdin at /dev/null and stdout/stderr at a size-limited file, runs the code and
# then each test
# statement separately (per-test counts), and reports one framed message on a pipe. The worker
# enforces the wall clock, then kills every other process of its namespace (kill(-1) as pid 1),
# so nothing a sample started survives it. A missing, duplicated or malformed report is
# `crashed`, never a pass. Without a pid namespace (insecure mode) it is a child subreaper
# instead and kills its descendants one by one. The worker is not dumpable, so a sample that
# shares its uid (user namespace, insecure mode) cannot open its /proc entries.
#
# Program jobs (`"kind": "exec"`, the other languages) write files into the scratch directory
# and run build/run steps the same way (forked, sandboxed, exec'd), returning raw exit statuses
# and output for the Rust profile to judge.
#
# Known limit: tests run in the sample's own process, as in every in-process harness; a sample
# that deliberately introspects the harness (frames, ctypes) can forge its own verdict. The
# measures here (builtins captured before the sample runs, a per-sample nonce, exactly one
# report, the parent's own test count) defeat the ordinary cheats.

import ast
import builtins
import ctypes
import gc
import json
import os
import resource
import select
import shutil
import signal
import stat
import struct
import sys
import time
import warnings

# Imported once here so that forked samples do not pay for them.
import bisect, collections, copy, dataclasses, decimal, fractions, functools, hashlib  # noqa
import heapq, itertools, math, operator, random, re, statistics, string, typing  # noqa

# `-S` skips site.py (slow); the system's packages (apt's python3-*) stay importable.
for _dir in (f"/usr/local/lib/python3.{sys.version_info[1]}/dist-packages",
             "/usr/lib/python3/dist-packages"):
    if os.path.isdir(_dir):
        sys.path.append(_dir)

# Compiling tests and samples must not print SyntaxWarnings on the executor's stderr.
warnings.simplefilter("ignore")
CFG = json.loads(sys.argv[1])
UID, GID = CFG["uid"], CFG["gid"]
WORK, OUTFILE = CFG["work"], CFG["out"]
OUTPUT_LIMIT = CFG["output_limit"]
PID1 = os.getpid() == 1
LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
MAGIC = b"RRTF"
RULESET = None  # the samples' Landlock ruleset (prepare_confine)


def rlimits(timeout):
    return step_limits(CFG["limits"], timeout)


def read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv():
    head = read_exact(0, 4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    body = read_exact(0, n)
    return None if body is None else json.loads(body)


def send(obj):
    data = json.dumps(obj).encode()
    data = struct.pack("<I", len(data)) + data
    while data:
        data = data[os.write(1, data):]


def contains_assert(node):
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def is_check_call(stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "check")


def parse_tests(src):
    """Split a test into a preamble and steps. HumanEval style (`def check(candidate)`): the
    module minus top-level `check(...)` calls is the preamble, each statement of check's body
    is a step. Otherwise (MBPP style) each top-level statement is a step. Steps containing an
    `assert` are tests; the others are setup, which must succeed too."""
    tree = ast.parse(src, "<test>")
    lines = src.splitlines()
    checks = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "check"]
    if checks:
        check = checks[-1]
        param = check.args.args[0].arg if check.args.args else None
        body = [s for s in tree.body if not is_check_call(s)]
        preamble = compile(ast.Module(body, []), "<test>", "exec")
        stmts = check.body
    else:
        param, preamble, stmts = None, None, tree.body
    steps = []
    for s in stmts:
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant):
            continue  # docstring
        text = lines[s.lineno - 1].strip() if s.lineno <= len(lines) else ""
        code = compile(ast.Module([s], []), "<test>", "exec")
        steps.append((contains_assert(s), code, s.lineno, text[:200]))
    if steps and not any(t for t, _, _, _ in steps):
        steps = [(True, compile(ast.Module(stmts, []), "<test>", "exec"), 0, "whole test")]
    return {"param": param, "preamble": preamble, "steps": steps,
            "total": sum(1 for t, _, _, _ in steps if t)}


def describe(e, limit=300):
    try:
        msg = str(e)
    except BaseException:
        msg = "<unprintable>"
    name = type(e).__name__
    return (f"{name}: {msg}" if msg else name)[:limit]


def kind_of(e):
    if isinstance(e, MemoryError):
        return "memory"
    if isinstance(e, OSError) and e.errno == 27:
        return "output"
    if isinstance(e, AssertionError):
        return "assert"
    return "error"


def run_sample(code_src, tests, entry):
    """In the child, as the sample uid: returns (stage, passed, kinds, marks, detail), marks
    being one "1" (passed) or "0" (failed) per test in order. Every name used
    after the sample's code starts is a local bound before it, so rebinding builtins or this
    module's globals cannot change which tests ran or how many passed."""
    _exec, _compile, _describe, _kind_of = exec, compile, describe, kind_of
    _base = BaseException
    steps, param, preamble = list(tests["steps"]), tests["param"], tests["preamble"]
    try:
        code = _compile(code_src, "<solution>", "exec")
    except _base as e:
        return "compile", 0, [], "", _describe(e)
    ns = {}
    stage = "code"
    try:
        _exec(code, ns)
        stage = "setup"
        if preamble is not None:
            _exec(preamble, ns)
    except _base as e:
        return stage, 0, [_kind_of(e)], "", _describe(e)
    if param is not None:
        if entry not in ns:
            return "entry", 0, [], "", f"entry point `{entry}` is not defined"
        ns[param] = ns[entry]
    passed, kinds, marks, detail = 0, [], [], ""
    for is_test, step, line, text in steps:
        try:
            _exec(step, ns)
            if is_test:
                passed += 1
                marks.append("1")
        except _base as e:
            kinds.append(_kind_of(e) if is_test else "setup")
            if is_test:
                marks.append("0")
            if not detail:
                detail = f"{_describe(e)} (test line {line}: {text})"
    return "done", passed, kinds, "".join(marks), detail


def frame(nonce, stage, passed, kinds, detail, marks="", _len=len):
    """MAGIC, nonce, 10-digit length, then unit-separated fields. Built from f-strings and
    methods of built-in types, which a sample cannot rebind."""
    body = f"{stage}\x1f{passed}\x1f{','.join(kinds)}\x1f{marks}\x1f{detail}".encode(
        "utf-8", "replace")
    return MAGIC + nonce + f"{_len(body):010d}".encode() + body


def prepare_confine():
    """The samples' Landlock ruleset (rules prepared by the executor: `RulesetSpec`), built
    once: each sample then enters it with one syscall (`confine`). It reads the system
    directories and the compile cache, and writes only WORK and OUTFILE, whose inodes the rules
    hold: both are created once and emptied, never replaced. Returns its descriptor (kept high,
    out of the way of the children's dup2s) or None without Landlock."""
    spec = CFG.get("landlock")
    if not spec:
        return None
    L = ctypes.c_long
    create, add, _ = spec["syscalls"]
    attr = struct.pack("<QQQ", *spec["attr"])[:spec["attr_size"]]
    ruleset = LIBC.syscall(L(create), ctypes.c_char_p(attr), L(len(attr)), L(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        for path, dir_rights, file_rights in spec["rules"]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # e.g. no /lib32 here
            try:
                rights = dir_rights if stat.S_ISDIR(os.fstat(fd).st_mode) else file_rights
                rule = struct.pack("<Qi", rights, fd)  # packed landlock_path_beneath_attr
                if LIBC.syscall(L(add), L(ruleset), L(1), ctypes.c_char_p(rule), L(0)) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        import fcntl
        return fcntl.fcntl(ruleset, fcntl.F_DUPFD_CLOEXEC, 200)
    finally:
        os.close(ruleset)


def confine():
    """Put this forked sample in its Landlock domain, nested in the worker's: the scratch root
    stays the worker's even where the sample shares its uid (user namespace, insecure mode),
    and the sample can neither signal nor ptrace out of the domain, so the worker is out of
    its reach."""
    if RULESET is not None:
        restrict = CFG["landlock"]["syscalls"][2]
        L = ctypes.c_long
        if LIBC.syscall(L(restrict), L(RULESET), L(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")


def child(job, tests, nonce, wfd, limits=None, argv=None, env=None, stdin_fd=None):
    """The forked sample: sandbox the process further, then run the Python sample (argv None)
    or exec a program (a compile or run step of another language)."""
    try:
        # A new process group, not a new session: setsid() creates a scheduler autogroup,
        # which costs ~0.5 ms per sample. The sample's uid differs from the worker's anyway.
        os.setpgid(0, 0)
        confine()
        null = stdin_fd if stdin_fd is not None else os.open("/dev/null", os.O_RDONLY)
        out = os.open(OUTFILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        if wfd != 3:
            os.dup2(wfd, 3)
        os.closerange(4, 1 << 16)
        for res, lim in (limits or rlimits(job["timeout"])):
            resource.setrlimit(res, lim)
        os.chdir(WORK)
        if os.getuid() == 0:
            os.setgroups([])
            os.setresgid(GID, GID, GID)
            os.setresuid(UID, UID, UID)
        os.umask(0o077)
    except BaseException as e:
        os.write(3, frame(nonce, "sandbox", 0, [], describe(e)))
        os._exit(1)
    if argv is not None:
        os.close(3)
        try:
            os.execve(argv[0], argv, env)
        except BaseException as e:
            os.write(2, f"cannot execute {argv[0]}: {describe(e)}".encode())
            os._exit(127)
    _write, _frame, _exit, _nonce, _base = os.write, frame, os._exit, nonce, BaseException
    stage, passed, kinds, marks, detail = run_sample(job["code"], tests, job.get("entry_point"))
    try:
        sys.stdout.flush()
    except _base:
        pass
    _write(3, _frame(_nonce, stage, passed, kinds, detail, marks))
    _exit(0)


def parse_frames(data, nonce):
    """Exactly one well-formed frame with our nonce, as a dict, or None."""
    head = len(MAGIC) + len(nonce) + 10
    if len(data) < head or data[:4] != MAGIC or data[4:4 + len(nonce)] != nonce:
        return None
    digits = data[head - 10:head]
    if not digits.isdigit() or len(data) != head + int(digits):
        return None
    parts = data[head:].decode("utf-8", "replace").split("\x1f", 4)
    if len(parts) != 5 or not parts[1].isdigit() or parts[3].strip("01"):
        return None
    return {"stage": parts[0], "passed": int(parts[1]),
            "kinds": [k for k in parts[2].split(",") if k], "marks": parts[3],
            "detail": parts[4]}


def kill_rest(pid):
    """Kill and reap every process the sample left; returns the sum of their peak RSS (KiB), so
    that a sample's peak counts the processes it started. As pid 1 of the namespace, kill(-1)
    reaches exactly the other processes of the namespace. Without a namespace (not root), the
    worker is a child subreaper: orphans come to it, and it kills its children until none is
    left."""
    if not PID1:
        return kill_descendants(pid)
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    rss = 0
    while True:
        try:
            rss += os.wait4(-1, 0)[2].ru_maxrss
        except ChildProcessError:
            return rss
        except InterruptedError:
            continue


def kill_descendants(pid):
    me = os.getpid()
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    rss = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{me}/task/{me}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reaped = False
        while True:
            try:
                got, _, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return rss
            if got == 0:
                break
            rss += ru.ru_maxrss
            reaped = True
        if not kids and not reaped:
            time.sleep(0.001)
    return rss


def clean_work():
    """Empty WORK for the next sample, keeping the directory (the samples' Landlock rule holds
    its inode): whatever the sample made unreadable is made readable again and removed. A
    failure is the worker's (it is replaced)."""
    st = os.stat(WORK)
    if stat.S_IMODE(st.st_mode) != 0o700 or (os.getuid() == 0 and st.st_uid != UID):
        make_work()
    for name in os.listdir(WORK):
        path = os.path.join(WORK, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, onerror=_force_remove)
        else:
            os.unlink(path)


def _force_remove(func, path, _exc):
    """rmtree's retry for what a sample chmod'ed away: open its directory (and it) to us."""
    if not os.path.lexists(path):
        return  # removed by an earlier retry
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        shutil.rmtree(path, onerror=_force_remove)
    else:
        func(path)


def make_work():
    """WORK (the sample's uid owns it as root) and OUTFILE, made once and then only emptied."""
    os.makedirs(WORK, 0o700, exist_ok=True)
    os.chmod(WORK, 0o700)
    if os.getuid() == 0:
        os.chown(WORK, UID, GID)
    os.close(os.open(OUTFILE, os.O_WRONLY | os.O_CREAT, 0o600))


def verdict(rep, total, timed_out, status, cpu_ms, timeout, out_full):
    """(outcome, tests_passed, detail) from what the child reported and how it ended."""
    if timed_out:
        return "timeout", 0, f"wall-clock limit of {timeout:g}s exceeded"
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_ms >= timeout * 1000):
        return "timeout", 0, "cpu time limit exceeded"
    if rep is None:
        how = (f"killed by {signal.Signals(sig).name}" if sig else
               f"exited with status {os.WEXITSTATUS(status)}")
        return "crashed", 0, f"no result: the program {how} before the tests finished"
    stage, detail = rep.get("stage"), str(rep.get("detail", ""))[:1000]
    kinds = rep.get("kinds", [])
    if not isinstance(kinds, list):
        return "crashed", 0, "malformed result"
    if stage == "compile":
        return "compile_error", 0, detail
    if stage in ("code", "setup", "entry", "sandbox"):
        if "memory" in kinds:
            return "memory_limit", 0, detail
        if "output" in kinds or out_full:
            return "output_limit", 0, detail or "output limit exceeded"
        return ("crashed" if stage == "sandbox" else "runtime_error"), 0, detail
    passed = rep.get("passed")
    if stage != "done" or not isinstance(passed, int) or not 0 <= passed <= total:
        return "crashed", 0, "malformed result"
    if passed == total and not kinds and total > 0:
        return "pass", passed, ""
    if "memory" in kinds:
        return "memory_limit", passed, detail
    if "output" in kinds or out_full:
        return "output_limit", passed, detail or "output limit exceeded"
    if 0 < passed < total:
        return "partial", passed, detail
    if "error" in kinds or "setup" in kinds:
        return "runtime_error", passed, detail
    return "test_failure", 0, detail


def run_job(job, cache):
    key = job["test"]
    tests = cache.get(key)
    if tests is None:
        try:
            tests = parse_tests(key)
        except (SyntaxError, ValueError) as e:
            return {"outcome": "compile_error", "tests_passed": 0, "tests_total": 0,
                    "detail": f"the test itself does not compile: {describe(e)}",
                    "wall_ms": 0, "cpu_ms": 0, "peak_rss_kb": 0}
        if len(cache) > 512:
            cache.clear()
        cache[key] = tests
    timeout = float(job["timeout"])
    nonce = os.urandom(16)
    r, w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            child(job, tests, nonce, w)
        finally:
            os._exit(70)
    os.close(w)
    pidfd = os.pidfd_open(pid)
    ready, _, _ = select.select([pidfd], [], [], timeout)
    timed_out = not ready
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status, ru = os.wait4(pid, 0)
    wall_ms = int((time.monotonic() - t0) * 1000)
    os.close(pidfd)
    rest_rss = kill_rest(pid)
    chunks = []
    while True:
        c = os.read(r, 1 << 16)
        if not c:
            break
        chunks.append(c)
    os.close(r)
    try:
        out_full = os.stat(OUTFILE).st_size >= OUTPUT_LIMIT
    except OSError:
        out_full = False
    clean_work()
    cpu_ms = int((ru.ru_utime + ru.ru_stime) * 1000)
    rep = parse_frames(b"".join(chunks), nonce)
    outcome, passed, detail = verdict(rep, tests["total"], timed_out, status, cpu_ms, timeout,
                                      out_full)
    # Per-test marks only when they agree with the verdict's count of a finished run.
    marks = rep.get("marks", "") if rep is not None and rep.get("stage") == "done" else ""
    if len(marks) != tests["total"] or marks.count("1") != passed or outcome in (
            "timeout", "crashed"):
        marks = ""
    return {"outcome": outcome, "tests_passed": passed, "tests_total": tests["total"],
            "detail": detail, "test_results": marks, "wall_ms": wall_ms, "cpu_ms": cpu_ms,
            "peak_rss_kb": ru.ru_maxrss + rest_rss}


def step_limits(lim, timeout):
    cpu = int(timeout) + 2
    out = [(resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_CORE, (0, 0))]
    for key, res, scale in (
        ("address_space_mb", resource.RLIMIT_AS, 1 << 20),
        ("processes", resource.RLIMIT_NPROC, 1),
        ("file_size_mb", resource.RLIMIT_FSIZE, 1 << 20),
        ("open_files", resource.RLIMIT_NOFILE, 1),
    ):
        if lim.get(key) is not None:
            v = lim[key] * scale
            out.append((res, (v, v)))
    return out


def read_output(keep=4000):
    """The head and the tail of the step's output file, and whether it hit the limit."""
    try:
        with open(OUTFILE, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(keep)
            tail = b""
            if size > keep:
                f.seek(max(keep, size - keep))
                tail = f.read(keep)
    except OSError:
        return "", "", False
    return (head.decode("utf-8", "replace"), tail.decode("utf-8", "replace"),
            size >= OUTPUT_LIMIT)


def run_exec(job):
    """Write the job's files into the scratch directory, then run its steps in order (each a
    forked, sandboxed process that execs), stopping at the first that fails. Raw results only:
    the Rust profile of the language interprets them."""
    try:
        return {"steps": run_steps(job)}
    finally:
        clean_work()


def run_steps(job):
    for name, content in job["files"].items():
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad file name {name!r}")
        path = os.path.join(WORK, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        if os.getuid() == 0:
            os.chown(path, UID, GID)
    steps = []
    for st in job["steps"]:
        timeout = float(st["timeout"])
        env = dict(st.get("env", {}))
        stdin_fd = None
        if st.get("stdin") is not None:
            # A short secret line (the per-run marker) on a pipe: never in a file or argv.
            data = st["stdin"].encode()
            stdin_fd, sw = os.pipe()
            os.write(sw, data[:4096])
            os.close(sw)
        r, w = os.pipe()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                child(job, None, b"", w, step_limits(st["limits"], timeout), st["argv"], env,
                      stdin_fd)
            finally:
                os._exit(70)
        os.close(w)
        os.close(r)
        if stdin_fd is not None:
            os.close(stdin_fd)
        pidfd = os.pidfd_open(pid)
        ready, _, _ = select.select([pidfd], [], [], timeout)
        timed_out = not ready
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status, ru = os.wait4(pid, 0)
        wall_ms = int((time.monotonic() - t0) * 1000)
        os.close(pidfd)
        rest_rss = kill_rest(pid)
        head, tail, full = read_output()
        steps.append({
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "timed_out": timed_out, "output_head": head, "output_tail": tail,
            "output_full": full, "wall_ms": wall_ms,
            "cpu_ms": int((ru.ru_utime + ru.ru_stime) * 1000),
            "peak_rss_kb": ru.ru_maxrss + rest_rss,
        })
        if timed_out or status != 0:
            break
        if st.get("collect"):
            # Right after a successful build, before anything the sample wrote runs (every
            # process of the step is dead: kill_rest), read what the compiler produced, for the
            # executor to cache. The worker never writes the cache itself.
            steps[-1]["artifacts"] = collect(st["collect"])
    return steps


def collect(suffixes, limit=48 << 20):
    """Regular files of the scratch directory (top level) whose names end with one of
    `suffixes` (or equal one), base64-encoded; None when any is odd or they are too large."""
    import base64
    out, total = {}, 0
    for name in sorted(os.listdir(WORK)):
        if not any(name == s or (s.startswith(".") and name.endswith(s)) for s in suffixes):
            continue
        path = os.path.join(WORK, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            total += st.st_size
            if not stat_is_reg(st.st_mode) or total > limit:
                return None
            chunks = []
            while True:
                c = os.read(fd, 1 << 20)
                if not c:
                    break
                chunks.append(c)
        finally:
            os.close(fd)
        out[name] = base64.b64encode(b"".join(chunks)).decode()
    return out or None


def stat_is_reg(mode):
    import stat
    return stat.S_ISREG(mode)


def main():
    # Non-dumpable: a process without CAP_SYS_PTRACE (every sample) cannot open the worker's
    # /proc entries (fd/1 is the executor's reply pipe, fd/2 its terminal), even under our uid.
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if not PID1:
        LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    make_work()
    global RULESET
    RULESET = prepare_confine()
    cache = {}
    gc.collect()
    gc.freeze()
    send({"ready": True, "pid1": PID1, "python": sys.version.split()[0]})
    while True:
        job = recv()
        if job is None:
            return
        try:
            res = run_exec(job) if job.get("kind") == "exec" else run_job(job, cache)
        except BaseException as e:
            res = {"error": describe(e, 2000)}
        res["id"] = job.get("id")
        send(res)


main()
