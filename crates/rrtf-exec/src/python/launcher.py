# rrtf-exec worker: the launcher's program (wire.py, sandbox.py, candidate.py and this file,
# concatenated), which the worker executes in a fresh interpreter at start-up (see worker.py's
# header). Every Python candidate is a fork of this process, so a candidate holds a copy of
# this small program and of the modules below, never the worker's memory (its test plans, the
# judge's code, the buffers of earlier jobs), nor an earlier candidate's code: the launcher
# itself never reads a job.

import gc

# Imported once here so that forked samples do not pay for them.
import bisect, collections, copy, dataclasses, decimal, fractions, functools, hashlib  # noqa
import heapq, itertools, math, operator, random, re, statistics, string, typing  # noqa


def candidate_main(sock):
    """A candidate, just forked and not yet given its job: read it (`{"id", "code",
    "entry_point", "timeout", "imports", "defines"}` with the candidate's two pipe ends) from the worker's socket,
    acknowledge it (`{"got": id}`) before running anything of the sample, then become the
    sample (`candidate_child`, which closes the socket). Never returns."""
    try:
        name_process("rrtf-sample")
        gc.enable()
        got = recv_msg(sock, 2)
        if got is None:
            os._exit(0)  # the worker closed its end
        msg, fds = got
        if len(fds) != 2:
            os._exit(71)
        write_all(sock.fileno(), pack_frame(json.dumps({"got": msg.get("id")}).encode()))
        sock.close()
        candidate_child(msg, fds[0], fds[1])
    finally:
        os._exit(70)


def launcher_server(sock):
    """The launcher's loop, which runs as little Python as it can: every fork write-protects its
    pages, and each page it then writes costs a fault (those it writes while a candidate lives
    cost a copy). It forks the next candidate ahead of its job (the candidate reads the job
    itself: `candidate_main`), waits for it to end (the worker kills it after the judge's
    verdict), forks the next one, and only then reports, unasked, how the candidate ended:
    `{"reaped": pid, "status", "cpu_ms", "rss_kb", "next": the next candidate's pid}`
    (its first message is `{"next": pid}`). The worker thus knows the waiting candidate's pid
    before it runs anything, and spares it when it kills what a sample left."""
    name_process("rrtf-launcher")
    fd = sock.fileno()
    fork, wait4, write = os.fork, os.wait4, os.write
    pid = fork()
    if pid == 0:
        candidate_main(sock)
    write_all(fd, pack_frame(b'{"next":%d}' % pid))
    while True:
        _, status, ru = wait4(pid, 0)
        nxt = fork()
        if nxt == 0:
            candidate_main(sock)
        body = b'{"reaped":%d,"status":%d,"cpu_ms":%d,"rss_kb":%d,"next":%d}' % (
            pid, status, (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss, nxt)
        try:
            write(fd, pack_frame(body))
        except OSError:
            return  # the worker is gone (the waiting candidate then reads the end of file)
        pid = nxt


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
    # The loop allocates almost nothing: no collection (it would walk, and so write, objects).
    gc.disable()
    launcher_server(sock)


launcher_main()
