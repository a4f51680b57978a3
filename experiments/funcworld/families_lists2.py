"""Families over lists of integers, part 2: neighbouring pairs, chunks, boolean flags, repeated
values, extremes under a condition, ranges, nearest values, powers and digit sums."""

from common import OPS, Family, cmp_perturbs, holds, ints, phrase, sym


class Adjacent(Family):
    key = "adjacent"
    names = ("count_pairs", "neighbour_pairs", "pair_tally")
    styles = 2

    def combos(self):
        # A difference is never below 0 and always at least 0: those two say nothing.
        return [{"measure": m, "op": op, "k": k}
                for m in ("sum", "gap") for op in ("gt", "lt", "ge", "le") for k in range(10)
                if not (m == "gap" and k == 0 and op in ("lt", "ge"))]

    def doc(self, p, a, rng):
        k, x = p["k"], a[0]
        if p["measure"] == "sum":
            ph = phrase(p["op"], rng)
            return rng.choice([f"Count pairs with sum {ph} {k} among neighbours in {x}.",
                               f"Neighbour pairs of {x} with sum {ph} {k}: count them."])
        ph = OPS[p["op"]][2]
        return rng.choice([f"Count pairs differing by {ph} {k} among neighbours in {x}.",
                           f"Count neighbour pairs in {x} differing by {ph} {k}."])

    def spec(self, p, xs):
        n = 0
        for i in range(len(xs) - 1):
            v = xs[i] + xs[i + 1] if p["measure"] == "sum" else abs(xs[i] - xs[i + 1])
            n += holds(p["op"], v, p["k"])
        return n

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        e = "a + b" if p["measure"] == "sum" else "abs(a - b)"
        if style == 0:
            return f"    return sum(1 for a, b in zip({x}, {x}[1:]) if {e} {s} {k})\n"
        if p["measure"] == "sum":
            e = f"{x}[i] + {x}[i + 1]"
        else:
            e = f"abs({x}[i] - {x}[i + 1])"
        return (f"    count = 0\n    for i in range(len({x}) - 1):\n        if {e} {s} {k}:\n"
                f"            count += 1\n    return count\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        near = (k // 2, k - k // 2) if p["measure"] == "sum" else (0, k)
        return (ints(rng, 3, 4 if small else 8, -1, 10, near=near),)

    def perturbs(self, p):
        return cmp_perturbs(p) + [
            ("misread", {**p, "measure": "gap" if p["measure"] == "sum" else "sum"})]


class Chunks(Family):
    key = "chunks"
    names = ("chunked", "group_up", "blocks")
    styles = 2

    def combos(self):
        return [{"agg": agg, "k": k} for agg in ("sum", "max", "min") for k in range(2, 10)]

    def doc(self, p, a, rng):
        k, x = p["k"], a[0]
        what = {"sum": "sum", "max": "largest element", "min": "smallest element"}[p["agg"]]
        return rng.choice([f"Return the {what} of each chunk of {k} items of {x}.",
                           f"{what.capitalize()} of each group of {k} consecutive items of {x}."])

    def spec(self, p, xs):
        f = {"sum": sum, "max": max, "min": min}[p["agg"]]
        out, cur = [], []
        for x in xs:
            cur.append(x)
            if len(cur) == p["k"]:
                out.append(f(cur))
                cur = []
        if cur:
            out.append(f(cur))
        return out

    def body(self, p, a, style):
        x, k, f = a[0], p["k"], p["agg"]
        if style == 0:
            return f"    return [{f}({x}[i:i + {k}]) for i in range(0, len({x}), {k})]\n"
        return (f"    out = []\n    for i in range(0, len({x}), {k}):\n"
                f"        out.append({f}({x}[i:i + {k}]))\n    return out\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        return (ints(rng, k + 1, k + (2 if small else 2 * k + 2), -3, 12),)

    def perturbs(self, p):
        other = {"sum": "max", "max": "min", "min": "max"}[p["agg"]]
        out = [("offbyone", {**p, "k": p["k"] + 1}), ("misread", {**p, "agg": other})]
        if p["k"] > 2:
            out.append(("offbyone", {**p, "k": p["k"] - 1}))
        return out


class Flags(Family):
    key = "flags"
    names = ("mark_each", "flags", "check_each")
    styles = 2

    def combos(self):
        return [{"op": op, "k": k} for op in ("gt", "lt", "ge", "le", "eq") for k in range(10)]

    def doc(self, p, a, rng):
        ph, k, x = phrase(p["op"], rng), p["k"], a[0]
        return rng.choice([f"Flag the elements {ph} {k} in {x} with True, the others with False.",
                           f"Which elements of {x} are {ph} {k}? Return a list of booleans."])

    def spec(self, p, xs):
        return [holds(p["op"], x, p["k"]) for x in xs]

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        if style == 0:
            return f"    return [x {s} {k} for x in {x}]\n"
        return (f"    out = []\n    for x in {x}:\n        out.append(x {s} {k})\n"
                f"    return out\n")

    def gen(self, p, rng, small=False):
        return (ints(rng, 3, 4 if small else 7, -2, 13, near=(p["k"],)),)

    def perturbs(self, p):
        return cmp_perturbs(p)


class Repeats(Family):
    key = "repeats"
    names = ("frequent", "repeated", "common_values")
    styles = 2

    def combos(self):
        return [{"op": op, "k": k, "order": o}
                for op in ("eq", "ge", "gt") for k in range(1, 5) for o in ("seen", "sorted")]

    def doc(self, p, a, rng):
        k, x = p["k"], a[0]
        how = OPS[p["op"]][2]
        times = "once" if k == 1 else f"{k} times"
        if rng.random() < 0.5:
            order = {"seen": "by first appearance", "sorted": "sorted"}[p["order"]]
            return f"Values occurring {how} {times} in {x}, {order}, each once."
        if p["order"] == "sorted":
            return f"Sorted list of the values seen {how} {times} in {x}."
        return f"The values seen {how} {times} in {x}, by first appearance."

    def spec(self, p, xs):
        seen = []
        for x in xs:
            if x not in seen and holds(p["op"], xs.count(x), p["k"]):
                seen.append(x)
        return seen if p["order"] == "seen" else sorted(seen)

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        if p["order"] == "sorted":
            if style == 0:
                return f"    return sorted(set(x for x in {x} if {x}.count(x) {s} {k}))\n"
            return (f"    keep = set()\n    for x in {x}:\n        if {x}.count(x) {s} {k}:\n"
                    f"            keep.add(x)\n    return sorted(keep)\n")
        if style == 0:
            return f"    return [x for x in dict.fromkeys({x}) if {x}.count(x) {s} {k}]\n"
        return (f"    out = []\n    for x in {x}:\n        if x not in out and {x}.count(x) {s} {k}:\n"
                f"            out.append(x)\n    return out\n")

    def gen(self, p, rng, small=False):
        xs = ints(rng, 2, 3 if small else 6, 0, 6)
        for _ in range(1 if small else 2):
            xs += [rng.randint(0, 6)] * rng.randint(max(1, p["k"] - 1), p["k"] + 1)
        rng.shuffle(xs)
        return (xs,)

    def perturbs(self, p):
        return cmp_perturbs(p) + [
            ("misread", {**p, "order": "sorted" if p["order"] == "seen" else "seen"})]


class MaxCmp(Family):
    key = "max_cmp"
    names = ("extreme_of", "best_below", "pick_extreme")
    styles = 2

    def combos(self):
        return [{"which": w, "op": op, "k": k}
                for w in ("largest", "smallest") for op in ("gt", "lt", "ge", "le") for k in range(10)]

    def doc(self, p, a, rng):
        w, ph, k, x = p["which"], phrase(p["op"], rng), p["k"], a[0]
        return rng.choice([f"Return the {w} element {ph} {k} in {x}, or None if there is none.",
                           f"The {w} number {ph} {k} in {x}, or None."])

    def spec(self, p, xs):
        sel = [x for x in xs if holds(p["op"], x, p["k"])]
        if not sel:
            return None
        return max(sel) if p["which"] == "largest" else min(sel)

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        f = "max" if p["which"] == "largest" else "min"
        if style == 0:
            return (f"    picked = [x for x in {x} if x {s} {k}]\n"
                    f"    return {f}(picked) if picked else None\n")
        better = ">" if f == "max" else "<"
        return (f"    best = None\n    for x in {x}:\n"
                f"        if x {s} {k} and (best is None or x {better} best):\n"
                f"            best = x\n    return best\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        if rng.random() < 0.3:  # the extreme sits at the bound: tells k from k - 1 or k + 1
            lo, hi = (k - 4, k + 1) if p["which"] == "largest" else (k - 1, k + 4)
            return (ints(rng, 3, 4 if small else 6, lo, hi, near=(k,)),)
        return (ints(rng, 3, 4 if small else 8, -2, 13, near=(k,)),)

    def perturbs(self, p):
        return cmp_perturbs(p) + [
            ("misread", {**p, "which": "smallest" if p["which"] == "largest" else "largest"})]


class Between(Family):
    key = "between"
    names = ("in_range", "within", "range_pick")
    styles = 2

    def combos(self):
        return [{"agg": agg, "lo": lo, "hi": lo + w, "incl": incl}
                for agg in ("count", "sum") for lo in range(6) for w in range(2, 7)
                for incl in (True, False)]

    def doc(self, p, a, rng):
        lo, hi, x = p["lo"], p["hi"], a[0]
        ends = rng.choice(["both included", "inclusive"] if p["incl"]
                          else ["both excluded", "exclusive"])
        if p["agg"] == "count":
            return rng.choice([f"Count the elements between {lo} and {hi} in {x}, {ends}.",
                               f"How many numbers between {lo} and {hi} ({ends}) are in {x}?"])
        return rng.choice([f"Sum the elements between {lo} and {hi} in {x}, {ends}.",
                           f"Total of the numbers between {lo} and {hi} ({ends}) in {x}."])

    def spec(self, p, xs):
        lo, hi = p["lo"], p["hi"]
        inside = [x for x in xs if (lo <= x <= hi if p["incl"] else lo < x < hi)]
        if p.get("_outside"):
            inside = [x for x in xs if x not in inside]
        return len(inside) if p["agg"] == "count" else sum(inside)

    def body(self, p, a, style):
        x, lo, hi = a[0], p["lo"], p["hi"]
        c = "<=" if p["incl"] else "<"
        cond = f"{lo} {c} x {c} {hi}"
        if p.get("_outside"):
            cond = f"not {cond}"
        term = "1" if p["agg"] == "count" else "x"
        if style == 0:
            return f"    return sum({term} for x in {x} if {cond})\n"
        return (f"    result = 0\n    for x in {x}:\n        if {cond}:\n"
                f"            result += {term}\n    return result\n")

    def gen(self, p, rng, small=False):
        return (ints(rng, 3, 4 if small else 9, -2, 13, near=(p["lo"], p["hi"])),)

    def perturbs(self, p):
        return [("offbyone", {**p, "incl": not p["incl"]}),
                ("offbyone", {**p, "lo": p["lo"] + 1}), ("offbyone", {**p, "hi": p["hi"] - 1}),
                ("misread", {**p, "_outside": True})]


class Nearest(Family):
    key = "nearest"
    names = ("closest", "nearest_to", "snap")
    styles = 2

    def combos(self):
        return [{"tie": t, "k": k} for t in ("smaller", "larger") for k in range(20)]

    def doc(self, p, a, rng):
        k, x, t = p["k"], a[0], p["tie"]
        return rng.choice([f"Return the value nearest {k} in {x} (the {t} one on ties).",
                           f"Element closest to {k} in {x}; the {t} one wins ties."])

    def spec(self, p, xs):
        k = p["k"]
        best = None
        for x in xs:
            if best is None or abs(x - k) < abs(best - k):
                best = x
            elif abs(x - k) == abs(best - k) and ((x < best) == (p["tie"] == "smaller")):
                best = x
        return best

    def body(self, p, a, style):
        x, k = a[0], p["k"]
        sign = "x" if p["tie"] == "smaller" else "-x"
        if style == 0:
            return f"    return min({x}, key=lambda x: (abs(x - {k}), {sign}))\n"
        cmp = "<" if p["tie"] == "smaller" else ">"
        return (f"    best = {x}[0]\n    for x in {x}[1:]:\n"
                f"        d, e = abs(x - {k}), abs(best - {k})\n"
                f"        if d < e or (d == e and x {cmp} best):\n            best = x\n"
                f"    return best\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        xs = ints(rng, 2, 3 if small else 6, -2, 24)
        d = rng.randint(1, 4)
        xs += [k - d, k + d] if rng.random() < 0.7 else [k + rng.choice((-1, 1)) * (d + 1)]
        rng.shuffle(xs)
        return (xs,)

    def perturbs(self, p):
        return [("offbyone", {**p, "k": p["k"] + 1}), ("offbyone", {**p, "k": p["k"] - 1}),
                ("misread", {**p, "tie": "larger" if p["tie"] == "smaller" else "smaller"})]


class SumPowers(Family):
    key = "sum_powers"
    names = ("power_sum", "powers", "energy")
    styles = 2

    def combos(self):
        return [{"pw": pw, "op": op, "k": k}
                for pw in (2, 3) for op in ("gt", "lt", "ge", "le") for k in range(10)]

    def doc(self, p, a, rng):
        what = "squares" if p["pw"] == 2 else "cubes"
        ph, k, x = phrase(p["op"], rng), p["k"], a[0]
        return rng.choice([f"Sum the {what} of the numbers {ph} {k} in {x}.",
                           f"Total of the {what} of elements {ph} {k} in {x}."])

    def spec(self, p, xs):
        return sum(x ** p["pw"] for x in xs if holds(p["op"], x, p["k"]))

    def body(self, p, a, style):
        x, s, k, pw = a[0], sym(p["op"]), p["k"], p["pw"]
        if style == 0:
            return f"    return sum(x ** {pw} for x in {x} if x {s} {k})\n"
        e = "x * x" if pw == 2 else "x * x * x"
        return (f"    total = 0\n    for x in {x}:\n        if x {s} {k}:\n"
                f"            total += {e}\n    return total\n")

    def gen(self, p, rng, small=False):
        return (ints(rng, 3, 4 if small else 7, -3, 12, near=(p["k"],)),)

    def perturbs(self, p):
        return cmp_perturbs(p) + [("misread", {**p, "pw": 5 - p["pw"]})]


class DigitSumFilter(Family):
    key = "digit_sum_filter"
    names = ("digit_filter", "digit_pick", "by_digits")
    styles = 2

    def combos(self):
        return [{"op": op, "k": k} for op in ("gt", "lt", "ge", "le") for k in range(2, 12)]

    def doc(self, p, a, rng):
        ph, k, x = phrase(p["op"], rng), p["k"], a[0]
        return rng.choice([f"Keep the numbers with digit sum {ph} {k} in {x}.",
                           f"Elements of {x} with digit sum {ph} {k}, in order."])

    def spec(self, p, xs):
        def ds(v):
            t = 0
            while v:
                t, v = t + v % 10, v // 10
            return t
        return [x for x in xs if holds(p["op"], ds(x), p["k"])]

    def body(self, p, a, style):
        x, s, k = a[0], sym(p["op"]), p["k"]
        if style == 0:
            return f"    return [x for x in {x} if sum(int(d) for d in str(x)) {s} {k}]\n"
        return (f"    out = []\n    for x in {x}:\n        total = sum(int(d) for d in str(x))\n"
                f"        if total {s} {k}:\n            out.append(x)\n    return out\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        xs = []
        for _ in range(rng.randint(3, 4 if small else 7)):
            if rng.random() < 0.4:
                t = max(0, min(18, k + rng.choice((-1, 0, 1))))
                a = rng.randint(max(0, t - 9), min(9, t))
                xs.append(10 * a + (t - a) if a else t - a)
            else:
                xs.append(rng.randint(0, 99))
        return (xs,)

    def perturbs(self, p):
        return cmp_perturbs(p)


FAMILIES = [Adjacent(), Chunks(), Flags(), Repeats(), MaxCmp(), Between(), Nearest(),
            SumPowers(), DigitSumFilter()]
