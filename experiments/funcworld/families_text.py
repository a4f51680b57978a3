"""Families over strings: words by length or letter, character classes, replacement, shifting
letters, padding, alphabet order, slices, prefixes and suffixes."""

from common import (LETTERS, OPS, WORDS, Family, cmp_perturbs, holds, letters, plural,
                    sentence, sym)

TEXT_ARGS = (("s",), ("text",), ("line",))


class WordLen(Family):
    key = "word_len"
    names = ("size_filter", "word_lengths", "long_short")
    styles = 2

    def arg_options(self, p):
        return TEXT_ARGS

    def combos(self):
        return [{"agg": agg, "op": op, "k": k}
                for agg in ("count", "list") for op in ("gt", "lt", "eq") for k in range(1, 8)
                if (op, k) != ("lt", 1)]

    def doc(self, p, a, rng):
        how, k, x = OPS[p["op"]][2], p["k"], a[0]
        if p["agg"] == "count":
            return rng.choice([f"Count the words with {how} {plural(k, 'letter')} in {x}.",
                               f"How many words of {x} have {how} {plural(k, 'letter')}?"])
        return rng.choice([f"List the words with {how} {plural(k, 'letter')} in {x}.",
                           f"Return the words with {how} {plural(k, 'letter')} from {x}, in order."])

    def spec(self, p, s):
        sel = [w for w in s.split(" ") if w and holds(p["op"], len(w), p["k"])]
        return len(sel) if p["agg"] == "count" else sel

    def body(self, p, a, style):
        x, c, k = a[0], sym(p["op"]), p["k"]
        if style == 0:
            if p["agg"] == "count":
                return f"    return sum(1 for w in {x}.split() if len(w) {c} {k})\n"
            return f"    return [w for w in {x}.split() if len(w) {c} {k}]\n"
        if p["agg"] == "count":
            return (f"    count = 0\n    for w in {x}.split():\n        if len(w) {c} {k}:\n"
                    f"            count += 1\n    return count\n")
        return (f"    out = []\n    for w in {x}.split():\n        if len(w) {c} {k}:\n"
                f"            out.append(w)\n    return out\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        return (sentence(rng, 2, 3 if small else 7, lengths=(k - 1, k, k + 1)),)

    def perturbs(self, p):
        return cmp_perturbs(p)


class WordLetter(Family):
    key = "word_letter"
    names = ("words_with", "letter_words", "pick_words")
    styles = 2

    def arg_options(self, p):
        return TEXT_ARGS

    def combos(self):
        return [{"agg": agg, "where": wh, "c": c}
                for agg in ("count", "list") for wh in ("start", "end", "has")
                for c in "aeostnrl"]

    def doc(self, p, a, rng):
        c, x = p["c"], a[0]
        cond = {"start": f"start with '{c}'", "end": f"end with '{c}'",
                "has": f"contain the letter '{c}'"}[p["where"]]
        if p["agg"] == "count":
            return rng.choice([f"Count the words that {cond} in {x}.",
                               f"How many words of {x} {cond}?"])
        return rng.choice([f"Return the words that {cond} in {x}, in order.",
                           f"List the words that {cond} from {x}."])

    def spec(self, p, s):
        c, off = p["c"], p.get("_off", 0)

        def ok(w):
            if p["where"] == "start":
                return len(w) > off and w[off] == c
            if p["where"] == "end":
                return len(w) > off and w[-1 - off] == c
            return c in w[off:]
        sel = [w for w in s.split(" ") if w and ok(w)]
        return len(sel) if p["agg"] == "count" else sel

    def body(self, p, a, style):
        x, c, off = a[0], p["c"], p.get("_off", 0)
        if off:
            cond = {"start": f"w[1:2] == '{c}'", "end": f"w[-2:-1] == '{c}'",
                    "has": f"'{c}' in w[1:]"}[p["where"]]
        elif style == 0:
            cond = {"start": f"w.startswith('{c}')", "end": f"w.endswith('{c}')",
                    "has": f"'{c}' in w"}[p["where"]]
        else:
            cond = {"start": f"w[0] == '{c}'", "end": f"w[-1] == '{c}'",
                    "has": f"w.count('{c}') > 0"}[p["where"]]
        if p["agg"] == "count":
            return f"    return sum(1 for w in {x}.split() if {cond})\n"
        return f"    return [w for w in {x}.split() if {cond}]\n"

    def gen(self, p, rng, small=False):
        c = p["c"]
        near = [w for w in WORDS if c in w]
        words = [rng.choice(near) if rng.random() < 0.6 else rng.choice(WORDS)
                 for _ in range(rng.randint(2, 3 if small else 7))]
        return (" ".join(words),)

    def perturbs(self, p):
        flip = {"start": "end", "end": "start", "has": "start"}[p["where"]]
        return [("offbyone", {**p, "_off": 1}), ("misread", {**p, "where": flip})]


class CharFilter(Family):
    key = "char_filter"
    names = ("char_pass", "filter_chars", "sift")
    styles = 2
    SETS = {"vowels": "aeiou", "digits": "0123456789"}

    def arg_options(self, p):
        return TEXT_ARGS

    def combos(self):
        return [{"act": act, "what": w}
                for act in ("count", "remove", "keep")
                for w in ("vowels", "digits", "upper", "a", "e", "o", "s", "t", "n")]

    def _name(self, w):
        return {"vowels": "vowels", "digits": "digits", "upper": "uppercase letters"}.get(
            w, f"letters '{w}'")

    def doc(self, p, a, rng):
        what, x = self._name(p["what"]), a[0]
        if p["act"] == "count":
            return rng.choice([f"Count the {what} in {x}.", f"How many {what} does {x} contain?"])
        if p["act"] == "remove":
            return rng.choice([f"Return {x} with all {what} removed.",
                               f"Delete every one of the {what} from {x} and return the rest."])
        return rng.choice([f"Return only the {what} of {x}, in order, as a string.",
                           f"Keep just the {what} in {x} and return them as one string."])

    def _in(self, p, ch):
        w = p["what"]
        if w == "upper":
            return ch.isupper() if not p.get("_flip") else ch.islower()
        chars = p.get("_set") or self.SETS.get(w, w)
        return ch in chars

    def spec(self, p, s):
        sel = [ch for ch in s if self._in(p, ch)]
        if p["act"] == "count":
            return len(sel)
        if p["act"] == "keep":
            return "".join(sel)
        return "".join(ch for ch in s if not self._in(p, ch))

    def body(self, p, a, style):
        x, w = a[0], p["what"]
        if w == "upper":
            t = "c.islower()" if p.get("_flip") else "c.isupper()"
        elif style == 1 and w == "digits" and not p.get("_set"):
            t = "c.isdigit()"
        else:
            chars = p.get("_set") or self.SETS.get(w, w)
            t = f"c == '{chars}'" if len(chars) == 1 else f"c in '{chars}'"
        if p["act"] == "count":
            return f"    return sum(1 for c in {x} if {t})\n"
        if p["act"] == "keep":
            return f"    return ''.join(c for c in {x} if {t})\n"
        if style == 0:
            return f"    return ''.join(c for c in {x} if not {t})\n"
        return (f"    out = ''\n    for c in {x}:\n        if not {t}:\n            out += c\n"
                f"    return out\n")

    def gen(self, p, rng, small=False):
        w = p["what"]
        extra = {"vowels": "aeiou", "digits": "0123456789", "upper": "ABCDEFGHIJ"}.get(w, w * 4)
        alphabet = "abcdefghijklmnopqrstuvwxyz" if w != "digits" else "abcdefghijk"
        return (letters(rng, 3, 6 if small else 12, alphabet + (" " if w != "upper" else ""), extra),)

    def perturbs(self, p):
        w = p["what"]
        other = {"count": "keep", "remove": "keep", "keep": "remove"}[p["act"]]
        out = [("misread", {**p, "act": other})]
        if w == "vowels":
            out.append(("offbyone", {**p, "_set": "aeio"}))
        elif w == "digits":
            out.append(("offbyone", {**p, "_set": "123456789"}))
        elif w == "upper":
            out.append(("misread", {**p, "_flip": True}))
        else:
            out.append(("offbyone", {**p, "_set": LETTERS[LETTERS.index(w) + 1]}))
        return out


class ReplaceChar(Family):
    key = "replace_char"
    names = ("swap_letter", "substitute", "replace_letter")
    styles = 2

    def arg_options(self, p):
        return TEXT_ARGS

    def combos(self):
        return [{"mode": m, "c1": c1, "c2": c2}
                for m in ("all", "first") for c1 in "aeost" for c2 in "aeiost" if c1 != c2]

    def doc(self, p, a, rng):
        c1, c2, x = p["c1"], p["c2"], a[0]
        if p["mode"] == "all":
            return rng.choice([f"Replace every '{c1}' in {x} with '{c2}'.",
                               f"Return {x} with each '{c1}' changed into '{c2}'."])
        return rng.choice([f"Replace only the first '{c1}' in {x} with '{c2}'.",
                           f"Return {x} with its first '{c1}' changed into '{c2}'."])

    def spec(self, p, s):
        out, done = [], False
        for ch in s:
            if ch == p["c1"] and not (done and p["mode"] == "first"):
                out.append(p["c2"])
                done = True
            else:
                out.append(ch)
        return "".join(out)

    def body(self, p, a, style):
        x, c1, c2 = a[0], p["c1"], p["c2"]
        if style == 0:
            n = ", 1" if p["mode"] == "first" else ""
            return f"    return {x}.replace('{c1}', '{c2}'{n})\n"
        if p["mode"] == "all":
            return f"    return ''.join('{c2}' if c == '{c1}' else c for c in {x})\n"
        return (f"    i = {x}.find('{c1}')\n    if i < 0:\n        return {x}\n"
                f"    return {x}[:i] + '{c2}' + {x}[i + 1:]\n")

    def gen(self, p, rng, small=False):
        return (letters(rng, 3, 6 if small else 12, "abcdeilmnorst ", p["c1"] * 3 + p["c2"]),)

    def perturbs(self, p):
        return [("misread", {**p, "c1": p["c2"], "c2": p["c1"]}),
                ("misread", {**p, "mode": "first" if p["mode"] == "all" else "all"})]


class Caesar(Family):
    key = "caesar"
    names = ("shift_letters", "rotate_letters", "encode")
    styles = 2

    def arg_options(self, p):
        return TEXT_ARGS

    def combos(self):
        return [{"dir": d, "k": k} for d in ("forward", "back") for k in range(1, 14)]

    def doc(self, p, a, rng):
        k, x = p["k"], a[0]
        wrap = "z wraps to a" if p["dir"] == "forward" else "a wraps to z"
        return rng.choice([
            f"Shift each lowercase letter of {x} {plural(k, 'place')} {p['dir']}, wrapping around.",
            f"Move every letter in {x} {p['dir']} by {k} ({wrap}); spaces stay.",
        ])

    def spec(self, p, s):
        k = p["k"] if p["dir"] == "forward" else -p["k"]
        return "".join(LETTERS[(LETTERS.index(c) + k) % 26] if c in LETTERS else c for c in s)

    def body(self, p, a, style):
        x = a[0]
        sign = "+" if p["dir"] == "forward" else "-"
        k = p["k"]
        if style == 0:
            return (f"    return ''.join(chr((ord(c) - 97 {sign} {k}) % 26 + 97) if c.islower() else c"
                    f" for c in {x})\n")
        return (f"    abc = 'abcdefghijklmnopqrstuvwxyz'\n    out = ''\n    for c in {x}:\n"
                f"        if c in abc:\n            out += abc[(abc.index(c) {sign} {k}) % 26]\n"
                f"        else:\n            out += c\n    return out\n")

    def gen(self, p, rng, small=False):
        return (letters(rng, 3, 5 if small else 10, LETTERS + " ", "xyzab"),)

    def perturbs(self, p):
        out = [("offbyone", {**p, "k": p["k"] + 1}),
               ("misread", {**p, "dir": "back" if p["dir"] == "forward" else "forward"})]
        if p["k"] > 1:
            out.append(("offbyone", {**p, "k": p["k"] - 1}))
        return out


class Pad(Family):
    key = "pad"
    names = ("pad", "fill_to", "widen")
    styles = 2

    def arg_options(self, p):
        return (("s",), ("word",), ("label",))

    def combos(self):
        return [{"side": sd, "ch": ch, "w": w}
                for sd in ("left", "right") for ch in "0xzo" for w in range(5, 11)]

    def doc(self, p, a, rng):
        x, ch, w, sd = a[0], p["ch"], p["w"], p["side"]
        return rng.choice([f"Pad {x} on the {sd} with '{ch}' to length {w}.",
                           f"Pad {x} to {w} with '{ch}' on the {sd}."])

    def spec(self, p, s):
        fill = p["ch"] * max(0, p["w"] - len(s))
        return fill + s if p["side"] == "left" else s + fill

    def body(self, p, a, style):
        x, ch, w = a[0], p["ch"], p["w"]
        if style == 0:
            f = "rjust" if p["side"] == "left" else "ljust"
            return f"    return {x}.{f}({w}, '{ch}')\n"
        if p["side"] == "left":
            return f"    return '{ch}' * ({w} - len({x})) + {x}\n"
        return f"    return {x} + '{ch}' * ({w} - len({x}))\n"

    def gen(self, p, rng, small=False):
        return (letters(rng, 1, p["w"] - 1),)

    def perturbs(self, p):
        return [("offbyone", {**p, "w": p["w"] + 1}), ("offbyone", {**p, "w": p["w"] - 1}),
                ("misread", {**p, "side": "right" if p["side"] == "left" else "left"})]


class BeforeAfter(Family):
    key = "before_after"
    names = ("alpha_filter", "by_alphabet", "letter_side")
    styles = 2

    def arg_options(self, p):
        return (("s",), ("word",), ("chars",))

    def combos(self):
        return [{"act": act, "rel": rel, "c": c}
                for act in ("count", "keep") for rel in ("before", "after") for c in "dfhkmprt"]

    def doc(self, p, a, rng):
        x, c, rel = a[0], p["c"], p["rel"]
        if p["act"] == "count":
            return rng.choice([f"Count the letters of {x} that come {rel} '{c}' in the alphabet.",
                               f"How many characters of {x} are {rel} '{c}' in alphabetical order?"])
        return rng.choice([f"Return the letters of {x} that come {rel} '{c}' in the alphabet, as a string.",
                           f"Keep the characters of {x} that are {rel} '{c}' in alphabetical order."])

    def spec(self, p, s):
        i = LETTERS.index(p["c"])
        if p["rel"] == "before":
            sel = [ch for ch in s if LETTERS.index(ch) < i or (p.get("_loose") and ch == p["c"])]
        else:
            sel = [ch for ch in s if LETTERS.index(ch) > i or (p.get("_loose") and ch == p["c"])]
        return len(sel) if p["act"] == "count" else "".join(sel)

    def body(self, p, a, style):
        x, c = a[0], p["c"]
        op = "<" if p["rel"] == "before" else ">"
        if p.get("_loose"):
            op += "="
        if p["act"] == "count":
            if style == 0:
                return f"    return sum(1 for ch in {x} if ch {op} '{c}')\n"
            return f"    return len([ch for ch in {x} if ch {op} '{c}'])\n"
        if style == 0:
            return f"    return ''.join(ch for ch in {x} if ch {op} '{c}')\n"
        return (f"    out = ''\n    for ch in {x}:\n        if ch {op} '{c}':\n"
                f"            out += ch\n    return out\n")

    def gen(self, p, rng, small=False):
        c = p["c"]
        i = LETTERS.index(c)
        return (letters(rng, 3, 5 if small else 11, LETTERS, LETTERS[i - 1:i + 2] * 2),)

    def perturbs(self, p):
        return [("offbyone", {**p, "_loose": True}),
                ("misread", {**p, "rel": "after" if p["rel"] == "before" else "before"})]


class Slice(Family):
    key = "slice"
    names = ("cut_out", "substring", "middle_part")
    styles = 2

    def arg_options(self, p):
        return TEXT_ARGS

    def combos(self):
        return [{"i": i, "j": i + d, "incl": incl}
                for i in range(5) for d in range(1, 6) for incl in (True, False)]

    def doc(self, p, a, rng):
        i, j, x = p["i"], p["j"], a[0]
        ends = "end included" if p["incl"] else "end excluded"
        return rng.choice([f"From index {i} to index {j} ({ends}), return the characters of {x}.",
                           f"Characters {i} to {j} of {x}, {ends}: return them as a string."])

    def spec(self, p, s):
        if p.get("_len"):
            return s[p["i"]:p["i"] + p["j"]]
        end = p["j"] + 1 if p["incl"] else p["j"]
        return "".join(s[t] for t in range(p["i"], min(end, len(s))))

    def body(self, p, a, style):
        x, i = a[0], p["i"]
        if p.get("_len"):
            return f"    return {x}[{i}:{i} + {p['j']}]\n"
        j = f"{p['j']} + 1" if p["incl"] else f"{p['j']}"
        if style == 0:
            return f"    return {x}[{i}:{j}]\n"
        return f"    return ''.join({x}[t] for t in range({i}, {j}))\n"

    def gen(self, p, rng, small=False):
        return (letters(rng, p["j"] + 2, p["j"] + (3 if small else 6)),)

    def perturbs(self, p):
        out = [("offbyone", {**p, "incl": not p["incl"]}), ("offbyone", {**p, "i": p["i"] + 1})]
        if p["i"] > 0:
            out.append(("misread", {**p, "_len": True}))
        return out


class EndsBool(Family):
    key = "ends_bool"
    names = ("edge_letter", "has_edge", "check_end")
    styles = 2

    def arg_options(self, p):
        return (("s",), ("word",), ("name",))

    def combos(self):
        return [{"side": sd, "c": c, "case": cs}
                for sd in ("start", "end") for c in "abelmrst" for cs in ("any", "exact")]

    def doc(self, p, a, rng):
        x, c, sd = a[0], p["c"], p["side"]
        verb = {"start": "starts with", "end": "ends with"}[sd]
        if p["case"] == "any":
            return rng.choice([f"Return True if {x} {verb} '{c}' or '{c.upper()}', else False.",
                               f"Does {x} {verb.replace('s ', ' ')} '{c}', ignoring case? Return a bool."])
        return rng.choice([f"Return True if {x} {verb} a lowercase '{c}', else False.",
                           f"Does {x} {verb.replace('s ', ' ')} '{c}' exactly ('{c.upper()}' does not count)?"])

    def spec(self, p, s):
        off = p.get("_off", 0)
        if len(s) <= off:
            return False
        ch = s[off] if p["side"] == "start" else s[-1 - off]
        return ch == p["c"] or (p["case"] == "any" and ch == p["c"].upper())

    def body(self, p, a, style):
        x, c = a[0], p["c"]
        src = f"{x}.lower()" if p["case"] == "any" else x
        if p.get("_off"):
            idx = "1:2" if p["side"] == "start" else "-2:-1"
            return f"    return {src}[{idx}] == '{c}'\n"
        if style == 0:
            f = "startswith" if p["side"] == "start" else "endswith"
            return f"    return {src}.{f}('{c}')\n"
        idx = "0" if p["side"] == "start" else "-1"
        return f"    return len({x}) > 0 and {src}[{idx}] == '{c}'\n"

    def gen(self, p, rng, small=False):
        c = p["c"]
        s = letters(rng, 2, 4 if small else 7)
        r = rng.random()
        if r < 0.3:
            s = rng.choice([c, c.upper()]) + s
        elif r < 0.6:
            s = s + rng.choice([c, c.upper()])
        elif r < 0.8:
            s = rng.choice([c, c.upper()]) + s + rng.choice([c, c.upper()])
        return (s,)

    def perturbs(self, p):
        return [("offbyone", {**p, "_off": 1}),
                ("misread", {**p, "side": "end" if p["side"] == "start" else "start"}),
                ("misread", {**p, "case": "exact" if p["case"] == "any" else "any"})]


class WordPick(Family):
    key = "word_pick"
    names = ("find_word", "pick_word", "word_search")
    styles = 2

    def arg_options(self, p):
        return TEXT_ARGS

    def combos(self):
        return [{"which": w, "op": op, "k": k}
                for w in ("first", "last") for op in ("gt", "lt", "eq") for k in range(1, 7)
                if (op, k) not in (("lt", 1), ("lt", 2), ("eq", 1))]  # "a" is the only short word

    def doc(self, p, a, rng):
        w, how, k, x = p["which"], OPS[p["op"]][2], p["k"], a[0]
        return rng.choice([f"The {w} word with {how} {plural(k, 'letter')} in {x}, or ''.",
                           f"{w.capitalize()} word of {x} with {how} {plural(k, 'letter')}, else ''."])

    def spec(self, p, s):
        sel = [w for w in s.split(" ") if w and holds(p["op"], len(w), p["k"])]
        if not sel:
            return ""
        return sel[0] if p["which"] == "first" else sel[-1]

    def body(self, p, a, style):
        x, c, k = a[0], sym(p["op"]), p["k"]
        if style == 0:
            src = f"{x}.split()" if p["which"] == "first" else f"reversed({x}.split())"
            return (f"    for w in {src}:\n        if len(w) {c} {k}:\n            return w\n"
                    f"    return ''\n")
        i = "0" if p["which"] == "first" else "-1"
        return (f"    found = [w for w in {x}.split() if len(w) {c} {k}]\n"
                f"    return found[{i}] if found else ''\n")

    def gen(self, p, rng, small=False):
        k = p["k"]
        return (sentence(rng, 2, 3 if small else 7, lengths=(k - 1, k, k + 1)),)

    def perturbs(self, p):
        return cmp_perturbs(p) + [
            ("misread", {**p, "which": "last" if p["which"] == "first" else "first"})]


FAMILIES = [WordLen(), WordLetter(), CharFilter(), ReplaceChar(), Caesar(), Pad(), BeforeAfter(),
            Slice(), EndsBool(), WordPick()]
