"""What every family of funcworld shares: the Family interface, comparison phrases, the word
vocabulary and input helpers.

A family is one kind of function-writing problem (e.g. "sum of the elements that pass a
comparison with a constant"). Its *parameters* (a dict; keys starting with `_` are hidden bug
switches that only perturbations set) decide what the function must do; they are stated only in
the docstring. Its *surface* (function name, argument names, which docstring template, which
synonym of a phrase, the example) varies the text without changing the task.

Each family gives, independently of each other:
- `spec(p, *args)`: the reference behaviour, plain Python written for the generator;
- `body(p, args, style)`: the text of a solution (the completion after the prompt);
so the generator can check one against the other for every parameter set it ships.
"""

OPS = {
    # op: (Python operator, docstring phrases, phrases after "differ by" / "letters")
    "gt": (">", ("greater than", "larger than"), "more than"),
    "lt": ("<", ("less than", "smaller than"), "less than"),
    "ge": (">=", ("at least",), "at least"),
    "le": ("<=", ("at most",), "at most"),
    "eq": ("==", ("equal to",), "exactly"),
    "ne": ("!=", ("not equal to",), "other than"),
}
STRICT_FLIP = {"gt": "ge", "ge": "gt", "lt": "le", "le": "lt"}
DIR_FLIP = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge", "eq": "ne", "ne": "eq"}


def holds(op, a, b):
    """The comparison `a op b`, written out so the spec never renders code."""
    if op == "gt":
        return a > b
    if op == "lt":
        return a < b
    if op == "ge":
        return a >= b
    if op == "le":
        return a <= b
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    raise ValueError(op)


def sym(op):
    return OPS[op][0]


def phrase(op, rng):
    return rng.choice(OPS[op][1])


def cmp_perturbs(p, op="op", k="k"):
    """Wrong readings of a comparison with a constant: off-by-ones (the bound moved by one, a
    strict comparison made loose or back) and misreadings (the direction flipped)."""
    out = []
    if p[op] in STRICT_FLIP:
        out.append(("offbyone", {**p, op: STRICT_FLIP[p[op]]}))
    out.append(("offbyone", {**p, k: p[k] + 1}))
    out.append(("offbyone", {**p, k: p[k] - 1}))
    out.append(("misread", {**p, op: DIR_FLIP[p[op]]}))
    return out


# Words of 1 to 8 letters, all lowercase: the text families draw from these.
WORDS = (
    "a an at go in it on up "
    "sun cat dog red sky box cup hat pen bus gas egg end sea "
    "tree bird moon lamp blue fish rain star sofa hill bell salt snow east cool "
    "apple stone river house green light table water radio piano glass wheel "
    "orange garden planet silver winter yellow pencil animal tomato banana "
    "morning kitchen station blossom "
    "elephant mountain notebook festival"
).split()
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ORDINALS = {1: "", 2: "second ", 3: "third ", 4: "fourth ", 5: "fifth "}


def plural(n, word):
    """'1 letter', '3 letters'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ints(rng, n_lo, n_hi, lo, hi, near=()):
    """A list of n_lo..n_hi ints in lo..hi; about a third of them within one of `near`."""
    n = rng.randint(n_lo, n_hi)
    out = []
    for _ in range(n):
        if near and rng.random() < 0.35:
            out.append(rng.choice(near) + rng.choice((-1, 0, 0, 1)))
        else:
            out.append(rng.randint(lo, hi))
    return out


def sentence(rng, n_lo, n_hi, lengths=None):
    """Space-separated words from WORDS; with `lengths`, about half have one of those lengths."""
    n = rng.randint(n_lo, n_hi)
    out = []
    for _ in range(n):
        pool = WORDS
        if lengths and rng.random() < 0.5:
            pool = [w for w in WORDS if len(w) in lengths] or WORDS
        out.append(rng.choice(pool))
    return " ".join(out)


def letters(rng, n_lo, n_hi, alphabet=LETTERS, extra=""):
    n = rng.randint(n_lo, n_hi)
    return "".join(rng.choice(alphabet + extra) for _ in range(n))


class Family:
    """One kind of problem. Subclasses set the class attributes and implement the methods."""

    key = ""
    names = ()  # function names, neutral about the parameters
    styles = 1  # number of solution styles `body` knows

    def arg_options(self, p):
        """Argument names, one tuple per alternative: problems use the first; the others are
        plausible wrong names (the misreader teacher's runtime errors)."""
        return (("xs",), ("nums",), ("values",))

    def combos(self):
        """Every parameter set of the family, in a fixed order."""
        raise NotImplementedError

    def axes(self, p):
        """The parameter values a benchmark problem needs the pool to have seen."""
        return [(k, v) for k, v in sorted(p.items()) if not k.startswith("_")]

    def doc(self, p, a, rng):
        """The docstring's text (one or two sentences) for parameters p and argument names a."""
        raise NotImplementedError

    def spec(self, p, *args):
        raise NotImplementedError

    def body(self, p, a, style):
        """A solution's text: indented lines that continue the prompt, ending in a newline."""
        raise NotImplementedError

    def gen(self, p, rng, small=False):
        """One random argument tuple; `small` for the docstring's example."""
        raise NotImplementedError

    def perturbs(self, p):
        """[(kind, p2)]: kind is "offbyone" or "misread"; p2 is a plausible wrong reading."""
        return []
