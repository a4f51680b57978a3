# rrtf-exec worker: what the worker and the launcher share (wire.py, judge.py, sandbox.py and
# worker.py make the worker's program; wire.py, sandbox.py, candidate.py and launcher.py the
# launcher's, see worker.py's header): the configuration the executor passes as the first
# argument, and the steps that put a forked child in the samples' sandbox.

import ctypes
import fcntl
import json
import os
import resource
import signal
import stat
import struct
import sys
import warnings

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
LIBC = ctypes.CDLL(None, use_errno=True)
RULESET = None  # the samples' Landlock ruleset (the worker's prepare_confine)

PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15


def name_process(name):
    """The process's name in ps, top and perf (`comm`): each role of the worker has its own."""
    LIBC.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0)


def rlimits(timeout):
    return step_limits(CFG["limits"], timeout)


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


def confine():
    """Put this forked sample (a candidate, or a program step) in its Landlock domain, nested
    in the worker's: the scratch root stays the worker's even where the sample shares its uid
    (user namespace, insecure mode), and the sample can neither signal nor ptrace out of the
    domain (ABI 6 scopes signals; every ABI limits ptrace), so the worker and the judge, which
    stay in the worker's domain, are out of its reach."""
    if RULESET is not None:
        restrict = CFG["landlock"]["syscalls"][2]
        L = ctypes.c_long
        if LIBC.syscall(L(restrict), L(RULESET), L(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")


def arrange_fds(fds, spare=None):
    """Move `fds` to 3, 4, ... in order and close every other descriptor above 2 but `spare`
    (a descriptor at 64 + len(fds) or above)."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64 + i) for i, fd in enumerate(fds)]
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i)
    if spare is None:
        os.closerange(3 + len(fds), 1 << 16)
    else:
        os.closerange(3 + len(fds), spare)
        os.closerange(spare + 1, 1 << 16)


def enter_sandbox(limits, stdin_fd, fds):
    """In a forked child: `fds` moved to 3, 4, ... (every other descriptor above 2 closed, the
    ruleset's once entered), a new process group, the samples' nested Landlock domain
    (`confine`), stdin (`/dev/null` or `stdin_fd`), stdout and stderr to the output file
    (emptied, never replaced), rlimits, the scratch directory, the slot's non-root uid (root
    mode). The descriptors first, so that a failure is reported on the caller's `fds`."""
    keep = list(fds) + ([stdin_fd] if stdin_fd is not None else [])
    arrange_fds(keep, spare=RULESET)
    # A new process group, not a new session: setsid() creates a scheduler autogroup, which
    # costs ~0.5 ms per sample.
    os.setpgid(0, 0)
    confine()
    null = 3 + len(fds) if stdin_fd is not None else os.open("/dev/null", os.O_RDONLY)
    out = os.open(OUTFILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.closerange(3 + len(fds), 1 << 16)
    for res, lim in limits:
        resource.setrlimit(res, lim)
    os.chdir(WORK)
    if os.getuid() == 0:
        os.setgroups([])
        os.setresgid(GID, GID, GID)
        os.setresuid(UID, UID, UID)
    os.umask(0o077)


def recv_msg(sock, nfds):
    """One framed JSON message and up to `nfds` descriptors sent with it; None at end of file."""
    import socket
    data, fds, _, _ = socket.recv_fds(sock, 1 << 16, nfds)
    if not data:
        for f in fds:
            os.close(f)
        return None
    (n,) = struct.unpack("<I", data[:4])
    body = data[4:]
    if len(body) < n:
        more = read_exact(sock.fileno(), n - len(body))
        if more is None:
            return None
        body += more
    return json.loads(body), fds
