# rrtf-exec worker: the candidate server (part of the launcher's program, see wire.py), run in
# the sample's own process (the launcher's forked child, already sandboxed and running as the
# sample uid). Nothing here is trusted: the sample may rewrite any of it. It loads the sample's code, says whether that worked, then
# answers the judge's calls: decode the plain arguments, call the entry point (or the named
# function of the sample a test calls by name), send back the plain result or the exception
# (its first builtin class, message and errno). An iterator result of a builtin iterator type
# (a generator, `map(...)`, `zip(...)`, `iter(xs)`, itertools') is read here whole, up to
# MAX_ITEMS items or MAX_ITEM_BYTES, and sent as its items, how it ended and whether it was a
# generator; the judge replays it.

def _builtin_name(e):
    for cls in type(e).__mro__:
        if _EXCEPTIONS.get(cls.__name__) is cls:
            return cls.__name__
    return "Exception"


def _error(e):
    """[builtin class name, message, errno] of an exception."""
    if isinstance(e, OSError) and e.errno is not None:
        return [_builtin_name(e), str(e.strerror), e.errno]
    return [_builtin_name(e), describe(e).partition(": ")[2], None]


def _iterator_types():
    """The exact types of the builtin iterators (an object of the sample's own class with a
    `__next__` may answer `iter()` and `next()` differently, or go on after its end: it is no
    iterator here, and no plain value)."""
    import itertools
    made = [(lambda: (yield))(), map(len, ()), filter(None, ()), zip(), enumerate(()),
            reversed([]), reversed(()), reversed({}), reversed({}.values()),
            reversed({}.items()), iter([]), iter(()), iter(""), iter("\u20ac"), iter(range(0)),
            iter(range(1 << 64)), iter(set()), iter({}), iter({}.values()), iter({}.items()),
            iter(b""), iter(bytearray()), iter(lambda: 0, 0)]
    found = {type(x) for x in made}
    found |= {v for v in vars(itertools).values()
              if isinstance(v, type) and hasattr(v, "__next__")}
    return frozenset(found)


_ITERATORS = _iterator_types()
_GENERATOR = type((lambda: (yield))())


def _iterator_reply(call_id, it):
    """[call_id, "g", items, error or None, more, "gen" or "iter"]: the iterator's plain items,
    the exception it ended with, whether it had more than the judge takes, and whether it was a
    generator."""
    items, raw, error, more = [], [], None, False
    size = 0
    nxt = type(it).__next__

    def refuse(why):
        return _json.dumps([call_id, "e", "TypeError", why, None])
    while True:
        try:
            x = nxt(it)
        except StopIteration:
            break
        except BaseException as e:
            error = _error(e)
            break
        if len(items) == MAX_ITEMS or size > MAX_ITEM_BYTES:
            more = True
            break
        try:
            items.append(dump(_enc(x)))
        except NotPlain as e:
            return refuse(f"the candidate's iterator yielded {e}")
        size += len(items[-1])
        raw.append(x)
    # An item the iterator changed after yielding it (one list, updated and yielded again) is
    # seen changed by a test that reads the iterator whole and unchanged by one that checks
    # each item as it comes: no replay is both, so the iterator is refused.
    for i, x in enumerate(raw):
        if dump(_enc(x)) != items[i]:
            return refuse(f"the candidate's iterator changed its item {i} after yielding it "
                          "(yield a copy): the judge cannot replay it")
    kind = "gen" if type(it) is _GENERATOR else "iter"
    return (f'[{call_id},"g",[{",".join(items)}],{_json.dumps(error)},'
            f'{"true" if more else "false"},"{kind}"]')


def serve_candidate(code_src, entry, qfd, pfd):
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
        try:
            f = func if name is None else ns.get(name)
            if not callable(f):
                raise NameError(f"name '{name}' is not a function of the sample")
            result = f(*args, **kwargs)
        except BaseException as e:
            send(_json.dumps([call_id, "e"] + _error(e)))
            continue
        try:
            text = encode(result)
        except NotPlain as e:
            try:
                if type(result) in _ITERATORS:
                    send(_iterator_reply(call_id, result))
                else:
                    send(_json.dumps([call_id, "e", "TypeError", f"the candidate returned {e}",
                                      None]))
            except BaseException as e:
                send(_json.dumps([call_id, "e", "TypeError",
                                  f"the candidate's result cannot be sent: {describe(e)}",
                                  None]))
            continue
        except BaseException as e:
            send(_json.dumps([call_id, "e", "TypeError",
                              f"the candidate's result cannot be sent: {describe(e)}", None]))
            continue
        send(f'[{call_id},"r",{text}]')


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
        serve_candidate(job["code"], job.get("entry_point"), 3, 4)
    except BaseException:
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    os._exit(status)
