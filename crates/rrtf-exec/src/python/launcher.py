# rrtf-exec worker: the launcher's program (wire.py, sandbox.py, candidate.py and this file,
# concatenated), which the worker executes in a fresh interpreter at start-up (see worker.py's
# header). Every Python candidate is a fork of this process, so a candidate holds a copy of
# this small program and of the modules below, never the worker's memory (its test plans, the
# judge's code, the buffers of earlier jobs).

import gc

# Imported once here so that forked samples do not pay for them.
import bisect, collections, copy, dataclasses, decimal, fractions, functools, hashlib  # noqa
import heapq, itertools, math, operator, random, re, statistics, string, typing  # noqa


def launcher_server(sock):
    """The launcher's loop. `{"code", "entry_point", "timeout"}` with the candidate's two pipe
    ends: fork the candidate, answer its pid. `{"reap": pid}` (the worker has killed it): wait
    for it, answer its wait status, CPU time and peak RSS."""
    name_process("rrtf-launcher")
    fd = sock.fileno()
    while True:
        try:
            got = recv_msg(sock, 2)
        except (OSError, ValueError):
            return
        if got is None:
            return
        msg, fds = got
        if "reap" in msg:
            try:
                _, status, ru = os.wait4(msg["reap"], 0)
                reply = {"status": status, "cpu_ms": int((ru.ru_utime + ru.ru_stime) * 1000),
                         "rss_kb": ru.ru_maxrss}
            except ChildProcessError as e:
                reply = {"error": describe(e)}
        elif len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                try:
                    sock.close()
                    candidate_child(msg, fds[0], fds[1])
                finally:
                    os._exit(70)
            reply = {"pid": pid}
        else:
            reply = {"error": "a candidate needs its two pipe ends"}
        for f in fds:
            os.close(f)
        write_all(fd, pack_frame(json.dumps(reply).encode()))


def launcher_main():
    """Not dumpable (execve made it dumpable again), then serve the worker on descriptor 3;
    the second argument is the samples' Landlock ruleset's descriptor (-1: none)."""
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    global RULESET
    fd = int(sys.argv[2])
    RULESET = fd if fd >= 0 else None
    import socket
    sock = socket.socket(fileno=3)
    gc.collect()
    gc.freeze()
    launcher_server(sock)


launcher_main()
