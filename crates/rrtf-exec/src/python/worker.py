# rrtf-exec's warm Python worker. Started once per pool slot with `python3 -S -I -B -c <this>
# <config json>`, already inside the sandbox (namespaces, read-only root, tmpfs /tmp, Landlock,
# seccomp, empty environment), as pid 1 of its own pid namespace. It reads jobs from stdin and
# writes results to stdout, both framed as a 4-byte little-endian length + JSON.
#
# Per sample it forks a child that drops to the slot's non-root uid, applies rlimits, points
# stdin at /dev/null and stdout/stderr at a size-limited file, runs the code and then each test
# statement separately (per-test counts), and reports one framed message on a pipe. The worker
# enforces the wall clock, then kills every other process of its namespace (kill(-1) as pid 1),
# so nothing a sample started survives it. A missing, duplicated or malformed report is
# `crashed`, never a pass. Without a pid namespace (not root) it is a child subreaper instead
# and kills its descendants one by one.
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
MAGIC = b"RRTF"


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


def child(job, tests, nonce, wfd, limits=None, argv=None, env=None, stdin_fd=None):
    """The forked sample: sandbox the process further, then run the Python sample (argv None)
    or exec a program (a compile or run step of another language)."""
    try:
        # A new process group, not a new session: setsid() creates a scheduler autogroup,
        # which costs ~0.5 ms per sample. The sample's uid differs from the worker's anyway.
        os.setpgid(0, 0)
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
    """Kill and reap every process the sample left. As pid 1 of the namespace, kill(-1) reaches
    exactly the other processes of the namespace. Without a namespace (not root), the worker is
    a child subreaper: orphans come to it, and it kills its children until none is left."""
    if not PID1:
        return kill_descendants(pid)
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def kill_descendants(pid):
    me = os.getpid()
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
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
                got, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if got == 0:
                break
            reaped = True
        if not kids and not reaped:
            time.sleep(0.001)


def clean_work():
    if os.listdir(WORK):
        shutil.rmtree(WORK, ignore_errors=True)
        if os.path.exists(WORK):
            os.rename(WORK, f"{WORK}.{time.monotonic_ns()}")
        make_work()


def make_work():
    os.mkdir(WORK, 0o700)
    if os.getuid() == 0:
        os.chown(WORK, UID, GID)


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
    kill_rest(pid)
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
            "peak_rss_kb": ru.ru_maxrss}


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


def read_output(keep=4000, path=None):
    """The head and the tail of the step's output file, and whether it hit the limit."""
    try:
        with open(path or OUTFILE, "rb") as f:
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
        kill_rest(pid)
        head, tail, full = read_output()
        steps.append({
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "timed_out": timed_out, "output_head": head, "output_tail": tail,
            "output_full": full, "wall_ms": wall_ms,
            "cpu_ms": int((ru.ru_utime + ru.ru_stime) * 1000), "peak_rss_kb": ru.ru_maxrss,
        })
        if timed_out or status != 0:
            break
        if st.get("collect"):
            # Right after a successful build, before anything the sample wrote runs (every
            # process of the step is dead: kill_rest), read what the compiler produced, for the
            # executor to cache. The worker never writes the cache itself.
            steps[-1]["artifacts"] = collect(st["collect"])
    return steps


def collect(suffixes, limit=48 << 20, base=None):
    """Regular files of the scratch directory (top level; `base` for another one) whose names
    end with one of `suffixes` (or equal one), base64-encoded; None when any is odd or they are
    too large."""
    import base64
    base = base or WORK
    out, total = {}, 0
    for name in sorted(os.listdir(base)):
        if not any(name == s or (s.startswith(".") and name.endswith(s)) for s in suffixes):
            continue
        path = os.path.join(base, name)
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


# ---------------------------------------------------------------------------------------------
# Judged program jobs (`"kind": "pair"`: JavaScript, C++, Java, Go, Rust). Two processes per
# run, wired by pipes: the *candidate* (the sample's code and a generated call server) and the
# *judge* (the test, compiled without the sample's code, calling the candidate through stubs).
# The judge writes its per-check report on a pipe only it holds (fd 3); the worker reads it.
# Isolation of the judge from the candidate: another uid in root mode (JUDGE_UID; its files are
# in JUDGE_DIR, mode 0700), and a nested Landlock domain on the candidate (its build and its
# run): it may read the system directories and what `cand_read` lists (its own cached build,
# warm-ups), write only its scratch directory, and (Landlock's own rule) cannot ptrace, open
# /proc/<pid>/{mem,fd} of, or (ABI >= 6) signal a process outside its domain: the judge and the
# worker. Descriptors: the candidate gets /dev/null, its output file, the request pipe (fd 3,
# read) and the reply pipe (fd 4, write); the judge gets the nonce on stdin, its own output
# file, the report pipe (fd 3), the request pipe (fd 4, write) and the reply pipe (fd 5, read).

JUDGE_UID_OFFSET = 1000000
JUDGE_UID = CFG.get("judge_uid", UID + JUDGE_UID_OFFSET)
JUDGE_GID = CFG.get("judge_gid", GID + JUDGE_UID_OFFSET)
BASE = os.path.dirname(WORK)
JUDGE_DIR = os.path.join(BASE, "judge")
JUDGE_OUT = os.path.join(BASE, "judge.out")
REPORT_LIMIT = 4 << 20


def landlock_abi():
    try:
        v = LIBC.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except Exception:
        return 0
    return v if v > 0 else 0


LANDLOCK_ABI = landlock_abi()
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_TRUNCATE, LL_IOCTL_DEV = 1 << 14, 1 << 15
LL_SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc", "/proc", "/sys"]
LL_DEVICES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]


class _LLRuleset(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _LLBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]


def landlock_candidate(full, read):
    """Put the calling process in a nested Landlock domain: read+execute on the system
    directories and `read`, everything on `full`, read+write on a few devices, no TCP, and
    (ABI >= 6) no signals or abstract sockets out of the domain. Raises OSError on failure."""
    abi = LANDLOCK_ABI
    if abi <= 0:
        return
    handled = (1 << 13) - 1
    if abi >= 2:
        handled |= 1 << 13
    if abi >= 3:
        handled |= LL_TRUNCATE
    if abi >= 5:
        handled |= LL_IOCTL_DEV
    attr = _LLRuleset(handled, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi <= 3 else (16 if abi <= 5 else 24)
    rs = LIBC.syscall(ctypes.c_long(444), ctypes.byref(attr), ctypes.c_size_t(size),
                      ctypes.c_uint32(0))
    if rs < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    file_rights = (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV) & handled
    rules = ([(p, LL_EXECUTE | LL_READ_FILE | LL_READ_DIR) for p in LL_SYSTEM + list(read)]
             + [(p, LL_READ_FILE | LL_WRITE_FILE | LL_TRUNCATE | LL_IOCTL_DEV) for p in LL_DEVICES]
             + [(p, handled) for p in full])
    for path, want in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            is_dir = stat_is_dir(os.fstat(fd).st_mode)
            b = _LLBeneath((want & handled) if is_dir else (want & file_rights), fd)
            if LIBC.syscall(ctypes.c_long(445), ctypes.c_int(rs), ctypes.c_int(1),
                            ctypes.byref(b), ctypes.c_uint32(0)) < 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)
    if LIBC.prctl(38, 1, 0, 0, 0) < 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if LIBC.syscall(ctypes.c_long(446), ctypes.c_int(rs), ctypes.c_uint32(0)) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    os.close(rs)


def stat_is_dir(mode):
    import stat
    return stat.S_ISDIR(mode)


def subst(value, judge_dir):
    return value.replace("@WORK@", WORK).replace("@JUDGE@", judge_dir)


def spawn_role(role, argv, env, limits, timeout, fds, out_path):
    """Fork one process of a pair job: `fds` maps the child's descriptor numbers to ours (0 to
    /dev/null when absent; 1 and 2 to `out_path`). Returns the pid."""
    cwd = WORK if role == "cand" else JUDGE_DIR
    argv = [subst(a, JUDGE_DIR) for a in argv]
    env = {k: subst(v, JUDGE_DIR) for k, v in env.items()}
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        try:
            os.setpgid(0, 0)
            out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            wanted = dict(fds)
            wanted.setdefault(0, os.open("/dev/null", os.O_RDONLY))
            wanted[1] = out
            wanted[2] = out
            # Copy every source above the targets first, so that no dup2 clobbers a source.
            high = {t: fcntl_dupfd(src, 100) for t, src in wanted.items()}
            for t, src in high.items():
                os.dup2(src, t, inheritable=True)
            os.closerange(max(high) + 1, 1 << 16)
            for res, lim in step_limits(limits, timeout):
                resource.setrlimit(res, lim)
            os.chdir(cwd)
            if os.getuid() == 0:
                uid, gid = (UID, GID) if role == "cand" else (JUDGE_UID, JUDGE_GID)
                os.setgroups([])
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
            os.umask(0o077)
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
            # Python ignores SIGXFSZ; a program past the output limit is stopped, as it would be.
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            if role == "cand":
                landlock_candidate([WORK], CAND_READ)
        except BaseException as e:
            os.write(2, f"rrtf: cannot start the {role}: {describe(e)}".encode())
            os._exit(126)
        try:
            os.execve(argv[0], argv, env)
        except BaseException as e:
            os.write(2, f"cannot execute {argv[0]}: {describe(e)}".encode())
        os._exit(127)
    finally:
        os._exit(70)


def fcntl_dupfd(fd, low):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD, low)


CAND_READ = []


def make_judge_dir():
    shutil.rmtree(JUDGE_DIR, ignore_errors=True)
    os.mkdir(JUDGE_DIR, 0o700)
    if os.getuid() == 0:
        os.chown(JUDGE_DIR, JUDGE_UID, JUDGE_GID)


def write_files(files, where, role):
    for name, content in files.items():
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad file name {name!r}")
        path = os.path.join(where, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        if os.getuid() == 0:
            uid, gid = (UID, GID) if role == "cand" else (JUDGE_UID, JUDGE_GID)
            os.chown(path, uid, gid)


def run_build(role, st):
    """One build step of a pair job (as the role's uid, in its directory); returns its result,
    with the artifacts it was asked to collect when it succeeded."""
    out_path = OUTFILE if role == "cand" else JUDGE_OUT
    if os.path.exists(out_path):
        os.unlink(out_path)
    timeout = float(st["timeout"])
    t0 = time.monotonic()
    pid = spawn_role(role, st["argv"], st.get("env", {}), st["limits"], timeout, {}, out_path)
    pidfd = os.pidfd_open(pid)
    ready, _, _ = select.select([pidfd], [], [], timeout)
    timed_out = not ready
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status, ru = os.wait4(pid, 0)
    os.close(pidfd)
    kill_rest(pid)
    head, tail, full = read_output(path=out_path)
    res = {
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out, "output_head": head, "output_tail": tail,
        "output_full": full, "wall_ms": int((time.monotonic() - t0) * 1000),
        "cpu_ms": int((ru.ru_utime + ru.ru_stime) * 1000), "peak_rss_kb": ru.ru_maxrss,
    }
    if not timed_out and status == 0 and st.get("collect"):
        # Read right after the compiler exited (kill_rest: nothing else runs), for the cache.
        res["artifacts"] = collect(st["collect"], base=WORK if role == "cand" else JUDGE_DIR)
    return res


def status_of(status, ru, alive):
    return {
        "exit": os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None,
        "signal": (os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status)
                   else None),
        "alive": alive,
        "cpu_ms": int((ru.ru_utime + ru.ru_stime) * 1000) if ru is not None else 0,
        "peak_rss_kb": ru.ru_maxrss if ru is not None else 0,
    }


def run_pair(job):
    """Build the judge and the candidate (each when asked), then run them together. Raw
    results for the Rust side to judge: build step results, how each process ended, their
    output, and the judge's report (base64)."""
    global CAND_READ
    CAND_READ = [p for p in job.get("cand_read", []) if isinstance(p, str)]
    try:
        make_judge_dir()
        res = {"judge_build": None, "cand_build": None, "run": None}
        judge, cand = job["judge"], job["cand"]
        write_files(judge.get("files", {}), JUDGE_DIR, "judge")
        if judge.get("build"):
            res["judge_build"] = run_build("judge", judge["build"])
            if res["judge_build"]["exit"] != 0:
                return res
        write_files(cand.get("files", {}), WORK, "cand")
        if cand.get("build"):
            res["cand_build"] = run_build("cand", cand["build"])
            if res["cand_build"]["exit"] != 0:
                return res
        res["run"] = run_both(job, judge["run"], cand["run"])
        return res
    finally:
        clean_work()
        shutil.rmtree(JUDGE_DIR, ignore_errors=True)
        for path in (JUDGE_OUT, OUTFILE):
            try:
                os.unlink(path)
            except OSError:
                pass


def run_both(job, jrun, crun):
    import base64
    timeout = float(job["timeout"])
    for path in (JUDGE_OUT, OUTFILE):
        try:
            os.unlink(path)
        except OSError:
            pass
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    report_r, report_w = os.pipe()
    nonce_r, nonce_w = os.pipe()
    os.write(nonce_w, (job["nonce"] + "\n").encode()[:4096])
    os.close(nonce_w)
    t0 = time.monotonic()
    jpid = spawn_role("judge", jrun["argv"], jrun.get("env", {}), jrun["limits"], timeout,
                      {0: nonce_r, 3: report_w, 4: req_w, 5: rep_r}, JUDGE_OUT)
    cpid = spawn_role("cand", crun["argv"], crun.get("env", {}), crun["limits"], timeout,
                      {3: req_r, 4: rep_w}, OUTFILE)
    for fd in (req_r, req_w, rep_r, rep_w, report_w, nonce_r):
        os.close(fd)
    jfd, cfd = os.pidfd_open(jpid), os.pidfd_open(cpid)
    report, overflow, report_open = bytearray(), False, True
    jst = cst = jru = cru = None
    deadline = t0 + timeout
    timed_out = False
    while jst is None or report_open:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        watch = [fd for fd, on in ((report_r, report_open), (jfd, jst is None),
                                   (cfd, cst is None)) if on]
        ready, _, _ = select.select(watch, [], [], left)
        if report_r in ready:
            chunk = os.read(report_r, 1 << 16)
            if not chunk:
                report_open = False
            elif len(report) + len(chunk) > REPORT_LIMIT:
                overflow = True
            else:
                report += chunk
        if jfd in ready:
            _, jst, jru = os.wait4(jpid, 0)
            if report_open:
                # Whatever the judge wrote is in the pipe now; a descendant holding it open
                # must not keep us waiting.
                os.set_blocking(report_r, False)
                while True:
                    try:
                        chunk = os.read(report_r, 1 << 16)
                    except BlockingIOError:
                        break
                    if not chunk:
                        break
                    if len(report) + len(chunk) > REPORT_LIMIT:
                        overflow = True
                    else:
                        report += chunk
                report_open = False
        if cfd in ready and cst is None:
            _, cst, cru = os.wait4(cpid, 0)
    wall_ms = int((time.monotonic() - t0) * 1000)
    if cst is None and not timed_out:
        # The judge is done: a candidate that died during a call may not be reaped yet, and a
        # healthy one exits when its request pipe closes. Either way it ends within moments.
        ready, _, _ = select.select([cfd], [], [], 0.2)
        if ready:
            _, cst, cru = os.wait4(cpid, 0)
    cand_alive = cst is None
    for pid, st in ((jpid, jst), (cpid, cst)):
        if st is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if jst is None:
        _, jst, jru = os.wait4(jpid, 0)
    if cst is None:
        _, cst, cru = os.wait4(cpid, 0)
    os.close(jfd)
    os.close(cfd)
    os.close(report_r)
    try:
        os.killpg(jpid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    kill_rest(cpid)
    chead, ctail, cfull = read_output()
    jhead, jtail, _ = read_output(path=JUDGE_OUT)
    cand = status_of(cst, cru, cand_alive)
    cand.update({"output_head": chead, "output_tail": ctail, "output_full": cfull})
    judge = status_of(jst, jru, False)
    judge.update({"output_head": jhead, "output_tail": jtail})
    return {"timed_out": timed_out, "wall_ms": wall_ms, "cand": cand, "judge": judge,
            "report": base64.b64encode(bytes(report)).decode(), "report_overflow": overflow}


def main():
    if not PID1:
        LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    make_work()
    cache = {}
    gc.collect()
    gc.freeze()
    send({"ready": True, "pid1": PID1, "python": sys.version.split()[0]})
    while True:
        job = recv()
        if job is None:
            return
        try:
            kind = job.get("kind")
            if kind == "exec":
                res = run_exec(job)
            elif kind == "pair":
                res = run_pair(job)
            else:
                res = run_job(job, cache)
        except BaseException as e:
            res = {"error": describe(e, 2000)}
        res["id"] = job.get("id")
        send(res)


main()
