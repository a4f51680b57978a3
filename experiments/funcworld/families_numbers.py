"""Families over one integer: its digits, sums over a range up to it, its multiples."""

from common import Family, holds, phrase, sym

NUM_ARGS = (("n",), ("num",), ("number",))


class Digits(Family):
    key = "digits"
    names = ("digit_total", "digit_stats", "scan_digits")
    styles = 2

    def arg_options(self, p):
        return NUM_ARGS

    def combos(self):
        sels = ([("even", 0), ("odd", 0)] + [("gt", k) for k in range(0, 8)]
                + [("lt", k) for k in range(2, 10)])
        return [{"agg": agg, "sel": sel, "k": k} for agg in ("sum", "count") for sel, k in sels]

    def doc(self, p, a, rng):
        x, sel, k = a[0], p["sel"], p["k"]
        if sel in ("even", "odd"):
            which = f"{sel} digits of {x}"
        else:
            which = f"digits of {x} {phrase(sel, rng)} {k}"
        if p["agg"] == "sum":
            return rng.choice([f"Sum the {which}.", f"Add up the {which}."])
        return rng.choice([f"Count the {which}.", f"How many {which} are there?"])

    def _ok(self, p, d):
        sel = p["sel"]
        if sel == "even":
            return d % 2 == 0
        if sel == "odd":
            return d % 2 == 1
        return holds(sel, d, p["k"])

    def spec(self, p, n):
        ds = [int(c) for c in str(n)]
        sel = [d for d in ds if self._ok(p, d)]
        return sum(sel) if p["agg"] == "sum" else len(sel)

    def body(self, p, a, style):
        x, sel, k = a[0], p["sel"], p["k"]
        cond = {"even": "d % 2 == 0", "odd": "d % 2 == 1"}.get(sel) or f"d {sym(sel)} {k}"
        term = "d" if p["agg"] == "sum" else "1"
        if style == 0:
            if p["agg"] == "sum":
                c = cond.replace("d", "int(d)")
                return f"    return sum(int(d) for d in str({x}) if {c})\n"
            return f"    return sum(1 for d in map(int, str({x})) if {cond})\n"
        return (f"    result = 0\n    for c in str({x}):\n        d = int(c)\n"
                f"        if {cond}:\n            result += {term}\n    return result\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        digits = [rng.choice((k - 1, k, k + 1)) % 10 if rng.random() < 0.4 else rng.randint(0, 9)
                  for _ in range(rng.randint(2, 3 if small else 7))]
        digits[0] = digits[0] or rng.randint(1, 9)
        return (int("".join(map(str, digits))),)

    def perturbs(self, p):
        sel = p["sel"]
        if sel in ("even", "odd"):
            return [("misread", {**p, "sel": "odd" if sel == "even" else "even"})]
        loose = {"gt": "ge", "lt": "le"}[sel]
        return [("offbyone", {**p, "sel": loose}), ("offbyone", {**p, "k": p["k"] + 1}),
                ("offbyone", {**p, "k": p["k"] - 1}),
                ("misread", {**p, "sel": "lt" if sel == "gt" else "gt"})]


class RangeSum(Family):
    key = "range_sum"
    names = ("range_total", "series", "span_sum")
    styles = 2

    def arg_options(self, p):
        return NUM_ARGS

    def combos(self):
        return [{"agg": agg, "start": s, "incl": incl, "filt": f}
                for agg in ("sum", "count") for s in range(5) for incl in (True, False)
                for f in ("all", "even", "odd")]

    def doc(self, p, a, rng):
        x, s = a[0], p["start"]
        kind = {"all": "integers", "even": "even integers", "odd": "odd integers"}[p["filt"]]
        end = "at most" if p["incl"] else "below"
        if p["agg"] == "sum":
            return rng.choice([f"Sum the {kind} at least {s} and {end} {x}.",
                               f"Add the {kind} at least {s} and {end} {x}."])
        return rng.choice([f"Count the {kind} at least {s} and {end} {x}.",
                           f"How many {kind} are at least {s} and {end} {x}?"])

    def spec(self, p, n):
        end = n + 1 if p["incl"] else n
        sel = [i for i in range(p["start"], end)
               if p["filt"] == "all" or (i % 2 == 0) == (p["filt"] == "even")]
        return sum(sel) if p["agg"] == "sum" else len(sel)

    def body(self, p, a, style):
        x, s = a[0], p["start"]
        end = f"{x} + 1" if p["incl"] else x
        cond = {"all": "", "even": " if i % 2 == 0", "odd": " if i % 2 == 1"}[p["filt"]]
        if style == 0:
            if p["filt"] == "all":
                return (f"    return sum(range({s}, {end}))\n" if p["agg"] == "sum"
                        else f"    return len(range({s}, {end}))\n")
            term = "i" if p["agg"] == "sum" else "1"
            return f"    return sum({term} for i in range({s}, {end}){cond})\n"
        term = "i" if p["agg"] == "sum" else "1"
        test = {"all": None, "even": "i % 2 == 0", "odd": "i % 2 == 1"}[p["filt"]]
        inner = (f"        total += {term}\n" if test is None
                 else f"        if {test}:\n            total += {term}\n")
        return f"    total = 0\n    for i in range({s}, {end}):\n{inner}    return total\n"

    def gen(self, p, rng, small=False):
        return (rng.randint(p["start"] + 1, p["start"] + (6 if small else 15)),)

    def perturbs(self, p):
        out = [("offbyone", {**p, "incl": not p["incl"]}),
               ("offbyone", {**p, "start": p["start"] + 1})]
        if p["start"] > 0:
            out.append(("offbyone", {**p, "start": p["start"] - 1}))
        if p["filt"] != "all":
            out.append(("misread", {**p, "filt": "odd" if p["filt"] == "even" else "even"}))
        else:
            out.append(("misread", {**p, "filt": "even"}))
        return out


class Multiples(Family):
    key = "multiples"
    names = ("multiples", "times_table", "table_row")
    styles = 2

    def arg_options(self, p):
        return NUM_ARGS

    def combos(self):
        return [{"k": k, "from": f, "order": o}
                for k in range(2, 10) for f in (0, 1) for o in ("up", "down")]

    def doc(self, p, a, rng):
        x, lo, hi = a[0], p["from"], p["from"] + p["k"] - 1
        if rng.random() < 0.5:
            order = "increasing" if p["order"] == "up" else "decreasing"
            return f"Return [{x}*{lo}, ..., {x}*{hi}] in {order} order."
        order = "Smallest" if p["order"] == "up" else "Largest"
        return f"{order} first: the multiples {x}*{lo} to {x}*{hi}."

    def spec(self, p, n):
        out = [n * (p["from"] + i) for i in range(p["k"])]
        return out if p["order"] == "up" else out[::-1]

    def body(self, p, a, style):
        x, k, f = a[0], p["k"], p["from"]
        lo, hi = f, f + k
        if style == 0:
            rng_txt = f"range({lo}, {hi})" if p["order"] == "up" else f"range({hi - 1}, {lo - 1}, -1)"
            return f"    return [{x} * i for i in {rng_txt}]\n"
        rev = "" if p["order"] == "up" else "\n    out.reverse()"
        return (f"    out = []\n    for i in range({lo}, {hi}):\n        out.append({x} * i){rev}\n"
                f"    return out\n")

    def gen(self, p, rng, small=False):
        return (rng.randint(1, 12),)

    def perturbs(self, p):
        return [("offbyone", {**p, "k": p["k"] + 1}), ("offbyone", {**p, "k": p["k"] - 1}),
                ("offbyone", {**p, "from": 1 - p["from"]}),
                ("misread", {**p, "order": "down" if p["order"] == "up" else "up"})]


FAMILIES = [Digits(), RangeSum(), Multiples()]
