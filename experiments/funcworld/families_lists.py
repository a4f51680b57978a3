"""Families over lists of integers, part 1: selections and sums by a comparison, divisibility,
strides, rotations, prefixes and suffixes, element-wise arithmetic, clamping, searches."""

from common import ORDINALS, Family, cmp_perturbs, holds, ints, phrase, plural, sym


class SumCmp(Family):
    key = "sum_cmp"
    names = ("sum_selected", "picked_total", "masked_sum")
    styles = 2

    def combos(self):
        return [{"op": op, "k": k} for op in ("gt", "lt", "ge", "le") for k in range(10)]

    def doc(self, p, a, rng):
        ph, k, x = phrase(p["op"], rng), p["k"], a[0]
        return rng.choice([
            f"Return the sum of the numbers {ph} {k} in {x}.",
            f"Add up the elements {ph} {k} in {x}.",
            f"Total of the values {ph} {k} in {x} (0 if none).",
        ])

    def spec(self, p, xs):
        return sum(x for x in xs if holds(p["op"], x, p["k"]))

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        if style == 0:
            return f"    return sum(x for x in {x} if x {s} {k})\n"
        return (f"    total = 0\n    for x in {x}:\n        if x {s} {k}:\n"
                f"            total += x\n    return total\n")

    def gen(self, p, rng, small=False):
        return (ints(rng, 3, 4 if small else 8, -2, 14, near=(p["k"],)),)

    def perturbs(self, p):
        return cmp_perturbs(p)


class CountCmp(Family):
    key = "count_cmp"
    names = ("count_matching", "how_many", "tally")
    styles = 3

    def combos(self):
        return [{"op": op, "k": k} for op in ("gt", "lt", "ge", "le", "eq") for k in range(10)]

    def doc(self, p, a, rng):
        ph, k, x = phrase(p["op"], rng), p["k"], a[0]
        return rng.choice([
            f"Count the elements {ph} {k} in {x}.",
            f"Return how many numbers {ph} {k} there are in {x}.",
            f"How many values {ph} {k} does {x} contain?",
        ])

    def spec(self, p, xs):
        return len([x for x in xs if holds(p["op"], x, p["k"])])

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        if style == 0:
            return f"    return sum(1 for x in {x} if x {s} {k})\n"
        if style == 1:
            return f"    return len([x for x in {x} if x {s} {k}])\n"
        return (f"    count = 0\n    for x in {x}:\n        if x {s} {k}:\n"
                f"            count += 1\n    return count\n")

    def gen(self, p, rng, small=False):
        return (ints(rng, 3, 4 if small else 9, -2, 14, near=(p["k"],)),)

    def perturbs(self, p):
        return cmp_perturbs(p)


class Divisible(Family):
    key = "divisible"
    names = ("sum_some", "count_some", "divisor_filter")
    styles = 2

    def combos(self):
        return [{"agg": agg, "k": k, "neg": neg}
                for agg in ("sum", "count") for k in range(2, 11) for neg in (False, True)]

    def doc(self, p, a, rng):
        k, x = p["k"], a[0]
        what = rng.choice(["not divisible by", "not multiples of"] if p["neg"]
                          else ["divisible by", "multiples of"])
        if p["agg"] == "sum":
            return rng.choice([f"Sum the numbers {what} {k} in {x}.",
                               f"Add the elements {what} {k} in {x}."])
        return rng.choice([f"Count the numbers {what} {k} in {x}.",
                           f"How many numbers {what} {k} are in {x}?"])

    def spec(self, p, xs):
        sel = [x for x in xs if (x % p["k"] != 0) == p["neg"]]
        return sum(sel) if p["agg"] == "sum" else len(sel)

    def body(self, p, a, style):
        x, k = a[0], p["k"]
        cond = f"x % {k} != 0" if p["neg"] else f"x % {k} == 0"
        term = "x" if p["agg"] == "sum" else "1"
        if style == 0:
            return f"    return sum({term} for x in {x} if {cond})\n"
        acc = "x" if p["agg"] == "sum" else "1"
        return (f"    result = 0\n    for x in {x}:\n        if {cond}:\n"
                f"            result += {acc}\n    return result\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        return (ints(rng, 3, 4 if small else 9, 0, 30, near=(k, 2 * k, 3 * k)),)

    def perturbs(self, p):
        out = [("offbyone", {**p, "k": p["k"] + 1}), ("offbyone", {**p, "k": p["k"] - 1}),
               ("misread", {**p, "neg": not p["neg"]}),
               ("misread", {**p, "agg": "count" if p["agg"] == "sum" else "sum"})]
        return out


class Stride(Family):
    key = "stride"
    names = ("every_other", "sampled", "stepped")
    styles = 2

    def combos(self):
        return [{"agg": agg, "step": k, "start": s}
                for agg in ("list", "sum") for k in range(2, 7) for s in range(k)]

    def doc(self, p, a, rng):
        s, k, x = p["start"], p["step"], a[0]
        if p["agg"] == "list":
            return rng.choice([f"Return the items at indices {s}, {s + k}, {s + 2 * k}, ... of {x}.",
                               f"Return [{x}[{s}], {x}[{s + k}], {x}[{s + 2 * k}], ...]."])
        return rng.choice([f"Sum the items at indices {s}, {s + k}, {s + 2 * k}, ... of {x}.",
                           f"Return {x}[{s}] + {x}[{s + k}] + {x}[{s + 2 * k}] + ..."])

    def spec(self, p, xs):
        sel = [xs[i] for i in range(len(xs)) if i >= p["start"] and (i - p["start"]) % p["step"] == 0]
        return sel if p["agg"] == "list" else sum(sel)

    def body(self, p, a, style):
        x, s, k = a[0], p["start"], p["step"]
        if style == 0:
            expr = f"{x}[{s}::{k}]"
        else:
            expr = f"[{x}[i] for i in range({s}, len({x}), {k})]"
        return f"    return {expr}\n" if p["agg"] == "list" else f"    return sum({expr})\n"

    def gen(self, p, rng, small=False):
        lo = p["start"] + 1 + (p["step"] if small else 2 * p["step"])
        return (ints(rng, lo, lo + (1 if small else 5), 0, 9),)

    def perturbs(self, p):
        out = [("offbyone", {**p, "start": p["start"] + 1}),
               ("offbyone", {**p, "step": p["step"] + 1}),
               ("offbyone", {**p, "step": p["step"] - 1})]
        if p["start"] > 0:
            out.append(("offbyone", {**p, "start": p["start"] - 1}))
            if p["start"] != p["step"]:
                out.append(("misread", {**p, "start": p["step"], "step": p["start"]}))
        return out


class Rotate(Family):
    key = "rotate"
    names = ("rotate", "rotated", "shift_around")
    styles = 2

    def arg_options(self, p):
        if p["kind"] == "list":
            return (("xs",), ("items",), ("values",))
        return (("s",), ("text",), ("word",))

    def combos(self):
        return [{"kind": t, "dir": d, "k": k}
                for t in ("list", "str") for d in ("left", "right") for k in range(1, 9)]

    def doc(self, p, a, rng):
        k, x, d = p["k"], a[0], p["dir"]
        unit = plural(k, "place" if p["kind"] == "list" else "character")
        return rng.choice([f"Rotate {x} {unit} to the {d}.",
                           f"Return {x} rotated {d} by {k}."])

    def spec(self, p, xs):
        k = p["k"] % len(xs) if xs else 0
        if p["dir"] == "left":
            return xs[k:] + xs[:k]
        return xs[len(xs) - k:] + xs[:len(xs) - k]

    def body(self, p, a, style):
        x, k = a[0], p["k"]
        if p["dir"] == "left":
            if style == 0:
                return f"    return {x}[{k}:] + {x}[:{k}]\n"
            return f"    head = {x}[:{k}]\n    return {x}[{k}:] + head\n"
        if style == 0:
            return f"    return {x}[-{k}:] + {x}[:-{k}]\n"
        return f"    n = len({x})\n    return {x}[n - {k}:] + {x}[:n - {k}]\n"

    def gen(self, p, rng, small=False):
        k = max(p["k"], 1)
        n = rng.randint(k + 1, k + (2 if small else 6))
        if p["kind"] == "list":
            return (rng.sample(range(1, 40), n),)
        return ("".join(rng.sample("abcdefghijklmnopqrstuvwxyz", n)),)

    def perturbs(self, p):
        out = [("offbyone", {**p, "k": p["k"] + 1}),
               ("misread", {**p, "dir": "right" if p["dir"] == "left" else "left"})]
        if p["k"] > 1:
            out.append(("offbyone", {**p, "k": p["k"] - 1}))
        return out


class TakeDrop(Family):
    key = "take_drop"
    names = ("trim", "cut", "part_of")
    styles = 2

    def combos(self):
        return [{"end": e, "mode": m, "k": k}
                for e in ("first", "last") for m in ("keep", "drop") for k in range(1, 10)]

    def doc(self, p, a, rng):
        e, k, x = p["end"], p["k"], a[0]
        if p["mode"] == "keep":
            return rng.choice([f"Return the {e} {plural(k, 'element')} of {x}.",
                               f"Keep only the {e} {plural(k, 'item')} of {x} and return them."])
        return rng.choice([f"Return {x} without its {e} {plural(k, 'element')}.",
                           f"Drop the {e} {plural(k, 'item')} of {x} and return what is left."])

    def spec(self, p, xs):
        k, n = p["k"], len(xs)
        first, last = xs[:k], xs[n - k:]
        if p["mode"] == "keep":
            return first if p["end"] == "first" else last
        return xs[k:] if p["end"] == "first" else xs[:n - k]

    def body(self, p, a, style):
        x, k = a[0], p["k"]
        if style == 0:
            expr = {("first", "keep"): f"{x}[:{k}]", ("last", "keep"): f"{x}[-{k}:]",
                    ("first", "drop"): f"{x}[{k}:]", ("last", "drop"): f"{x}[:-{k}]"}
        else:
            expr = {("first", "keep"): f"{x}[0:{k}]",
                    ("last", "keep"): f"{x}[len({x}) - {k}:]",
                    ("first", "drop"): f"{x}[{k}:len({x})]",
                    ("last", "drop"): f"{x}[:len({x}) - {k}]"}
        return f"    return {expr[(p['end'], p['mode'])]}\n"

    def gen(self, p, rng, small=False):
        n = rng.randint(p["k"] + 1, p["k"] + (2 if small else 6))
        return (rng.sample(range(0, 50), n),)

    def perturbs(self, p):
        other = "last" if p["end"] == "first" else "first"
        out = [("offbyone", {**p, "k": p["k"] + 1}),
               ("misread", {**p, "end": other}),
               ("misread", {**p, "mode": "drop" if p["mode"] == "keep" else "keep"})]
        if p["k"] > 1:
            out.append(("offbyone", {**p, "k": p["k"] - 1}))
        return out


class MapArith(Family):
    key = "map_arith"
    names = ("adjust_all", "transform", "apply_each")
    styles = 2

    def combos(self):
        return [{"op": op, "k": k, "out": out}
                for op in ("add", "sub", "mul") for k in range(2, 10) for out in ("list", "sum")]

    def doc(self, p, a, rng):
        k, x, op = p["k"], a[0], p["op"]
        if rng.random() < 0.5:
            head = {"add": f"Add {k} to each of {x}",
                    "sub": f"Subtract {k} from each of {x}",
                    "mul": f"Multiply each of {x} by {k}"}[op]
            return f"{head}; return the {p['out']}."
        change = {"add": f"plus {k}", "sub": f"minus {k}", "mul": f"times {k}"}[op]
        verb = "List" if p["out"] == "list" else "Sum"
        return f"{verb} each element of {x} {change}."

    def spec(self, p, xs):
        k = p["k"]
        ys = [x + k if p["op"] == "add" else x - k if p["op"] == "sub" else x * k for x in xs]
        return ys if p["out"] == "list" else sum(ys)

    def body(self, p, a, style):
        x, k = a[0], p["k"]
        e = {"add": f"x + {k}", "sub": f"x - {k}", "mul": f"x * {k}"}[p["op"]]
        if style == 0:
            if p["out"] == "list":
                return f"    return [{e} for x in {x}]\n"
            return f"    return sum({e} for x in {x})\n"
        if p["out"] == "list":
            return (f"    result = []\n    for x in {x}:\n        result.append({e})\n"
                    f"    return result\n")
        return f"    total = 0\n    for x in {x}:\n        total += {e}\n    return total\n"

    def gen(self, p, rng, small=False):
        return (ints(rng, 2, 3 if small else 6, -5, 12),)

    def perturbs(self, p):
        wrong = {"add": "sub", "sub": "add", "mul": "add"}[p["op"]]
        return [("offbyone", {**p, "k": p["k"] + 1}), ("offbyone", {**p, "k": p["k"] - 1}),
                ("misread", {**p, "op": wrong})]


class Clamp(Family):
    key = "clamp"
    names = ("clamp", "bounded", "limit_all")
    styles = 2

    def combos(self):
        return [{"lo": lo, "hi": lo + w} for lo in range(6) for w in range(2, 7)]

    def doc(self, p, a, rng):
        lo, hi, x = p["lo"], p["hi"], a[0]
        return rng.choice([f"Clamp each element of {x} between {lo} and {hi}.",
                           f"Clip {x} to the interval from {lo} to {hi}."])

    def spec(self, p, xs):
        if p.get("_filter"):
            return [x for x in xs if p["lo"] <= x <= p["hi"]]
        return [p["lo"] if x < p["lo"] else p["hi"] if x > p["hi"] else x for x in xs]

    def body(self, p, a, style):
        x, lo, hi = a[0], p["lo"], p["hi"]
        if p.get("_filter"):
            return f"    return [x for x in {x} if {lo} <= x <= {hi}]\n"
        if style == 0:
            return f"    return [min(max(x, {lo}), {hi}) for x in {x}]\n"
        return (f"    out = []\n    for x in {x}:\n        if x < {lo}:\n            x = {lo}\n"
                f"        elif x > {hi}:\n            x = {hi}\n        out.append(x)\n"
                f"    return out\n")

    def gen(self, p, rng, small=False):
        return (ints(rng, 3, 4 if small else 8, -3, 13, near=(p["lo"], p["hi"])),)

    def perturbs(self, p):
        return [("offbyone", {**p, "lo": p["lo"] + 1}), ("offbyone", {**p, "lo": p["lo"] - 1}),
                ("offbyone", {**p, "hi": p["hi"] + 1}), ("offbyone", {**p, "hi": p["hi"] - 1}),
                ("misread", {**p, "_filter": True})]


class IndexFind(Family):
    key = "index_find"
    names = ("find_index", "locate", "position_of")
    styles = 2

    def combos(self):
        return [{"which": w, "op": op, "k": k}
                for w in ("first", "last") for op in ("gt", "lt", "ge", "le", "eq")
                for k in range(10)]

    def doc(self, p, a, rng):
        w, ph, k, x = p["which"], phrase(p["op"], rng), p["k"], a[0]
        return rng.choice([f"Index of the {w} element {ph} {k} in {x}, or -1 if none.",
                           f"Find the {w} value {ph} {k} in {x}; return its index, or -1."])

    def spec(self, p, xs):
        hits = [i for i, x in enumerate(xs) if holds(p["op"], x, p["k"])]
        if not hits:
            return -1
        return hits[0] if p["which"] == "first" else hits[-1]

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        if p["which"] == "first":
            if style == 0:
                return (f"    for i, x in enumerate({x}):\n        if x {s} {k}:\n"
                        f"            return i\n    return -1\n")
            return f"    return next((i for i, x in enumerate({x}) if x {s} {k}), -1)\n"
        if style == 0:
            return (f"    for i in range(len({x}) - 1, -1, -1):\n        if {x}[i] {s} {k}:\n"
                    f"            return i\n    return -1\n")
        return (f"    hits = [i for i, x in enumerate({x}) if x {s} {k}]\n"
                f"    return hits[-1] if hits else -1\n")

    def gen(self, p, rng, small=False):
        return (ints(rng, 3, 5 if small else 8, -2, 13, near=(p["k"],)),)

    def perturbs(self, p):
        return cmp_perturbs(p) + [
            ("misread", {**p, "which": "last" if p["which"] == "first" else "first"})]


class Kth(Family):
    key = "kth"
    names = ("pick_ranked", "ranked", "order_stat")
    styles = 2

    def combos(self):
        return [{"which": w, "k": k, "distinct": d}
                for w in ("largest", "smallest") for k in range(1, 6) for d in (False, True)]

    def doc(self, p, a, rng):
        what = f"{ORDINALS[p['k']]}{p['which']}"
        x = a[0]
        if p["distinct"]:
            return rng.choice([f"Return the {what} distinct value in {x}.",
                               f"Return the {what} of the distinct values of {x}."])
        return rng.choice([f"Return the {what} element of {x}, counting repeats.",
                           f"Sort {x} and return its {what} element, repeats included."])

    def spec(self, p, xs):
        vals = sorted(set(xs)) if p["distinct"] else sorted(xs)
        if p["which"] == "largest":
            vals = vals[::-1]
        return vals[p["k"] - 1 + p.get("_off", 0)]

    def body(self, p, a, style):
        x = a[0]
        i = p["k"] - 1 + p.get("_off", 0)
        src = f"set({x})" if p["distinct"] else x
        rev = ", reverse=True" if p["which"] == "largest" else ""
        if style == 0:
            return f"    return sorted({src}{rev})[{i}]\n"
        return f"    ordered = sorted({src}{rev})\n    return ordered[{i}]\n"

    def gen(self, p, rng, small=False):
        k = p["k"]
        while True:
            xs = ints(rng, k + 2, k + (3 if small else 7), 0, 9)
            if len(set(xs)) > k + 1 and len(set(xs)) < len(xs):
                return (xs,)

    def perturbs(self, p):
        return [("offbyone", {**p, "_off": 1}),
                ("misread", {**p, "which": "smallest" if p["which"] == "largest" else "largest"}),
                ("misread", {**p, "distinct": not p["distinct"]})]


FAMILIES = [SumCmp(), CountCmp(), Divisible(), Stride(), Rotate(), TakeDrop(), MapArith(),
            Clamp(), IndexFind(), Kth()]
