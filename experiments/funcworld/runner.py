"""Runs a program against a HumanEval-style `check(candidate)` in this process, counting asserts
the way rrtf's executor does (each statement of check() that contains an assert is one test),
with a time limit per call. Only for the generator's own, known code: this is no sandbox.
"""

import signal

# The executor's outcome names (README, "Executing responses").
PASS, PARTIAL, TEST_FAILURE, RUNTIME_ERROR, COMPILE_ERROR, TIMEOUT = (
    "pass", "partial", "test_failure", "runtime_error", "compile_error", "timeout")

# RLTF's scores, the ranker's defaults (README, "Ranking").
SCORES = {PASS: 1.0, TEST_FAILURE: -0.3, RUNTIME_ERROR: -0.6, COMPILE_ERROR: -1.0,
          TIMEOUT: -0.6}


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def call(fn, args, seconds=1.0):
    """("ok", value) or ("raise", exception type name), or ("raise", "Timeout")."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return ("ok", fn(*args))
    except _Timeout:
        return ("raise", "Timeout")
    except Exception as e:  # the candidate's own failure is a result, not an error here
        return ("raise", type(e).__name__)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def load(program, entry_point):
    """The function `entry_point` defined by `program`, or None if it does not compile or run."""
    try:
        code = compile(program, "<candidate>", "exec")
    except SyntaxError:
        return None
    env = {}
    if call(lambda: exec(code, env), ())[0] != "ok":
        return None
    return env.get(entry_point)


def run_tests(program, test, entry_point):
    """(outcome, tests_passed, tests_total) of `program` against `test` (a check(candidate))."""
    asserts = [line.strip() for line in test.splitlines() if line.strip().startswith("assert ")]
    total = len(asserts)
    try:
        compile(program, "<candidate>", "exec")
    except SyntaxError:
        return COMPILE_ERROR, 0, total
    fn = load(program, entry_point)
    if fn is None:
        return RUNTIME_ERROR, 0, total
    passed, errors, timeouts = 0, 0, 0
    for line in asserts:
        env = {"candidate": fn}
        r = call(lambda: exec(line, env), ())
        if r[0] == "ok":
            passed += 1
        elif r[1] == "Timeout":
            timeouts += 1
        elif r[1] != "AssertionError":
            errors += 1
    if passed == total:
        return PASS, passed, total
    if passed:
        return PARTIAL, passed, total
    if timeouts:
        return TIMEOUT, 0, total
    return (RUNTIME_ERROR if errors else TEST_FAILURE), 0, total


def score(outcome, passed, total):
    if outcome == PARTIAL:
        return round(-0.3 + 1.3 * passed / total, 6)
    return SCORES[outcome]
