"""Near-duplicate tests between the training pool and the benchmark, with rrtf's own word
definition (crates/rrtf-evolve/src/minhash.rs: lower-cased runs of letters and digits):

- shared word 13-grams, as `rrtf evolve`'s decontamination finds them (`ngram = 13`);
- the Jaccard similarity of word 3-gram sets, which rrtf's MinHash-LSH dedup estimates
  (`dedup_threshold = 0.8`); computed exactly here, over every pool x benchmark pair.
"""

import re

WORD = re.compile(r"[^\W_]+")


def tokens(text):
    return [w.lower() for w in WORD.findall(text)]


def ngrams(text, n):
    t = tokens(text)
    return {tuple(t[i:i + n]) for i in range(len(t) - n + 1)}


def shingles(text):
    t = tokens(text)
    n = min(3, max(len(t), 1))
    return frozenset(tuple(t[i:i + n]) for i in range(len(t) - n + 1))


def jaccard(a, b):
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class NgramIndex:
    """Word n-grams of a set of texts, each remembered with the first text's name."""

    def __init__(self, n=13):
        self.n = n
        self.grams = {}

    def add(self, name, text):
        for g in ngrams(text, self.n):
            self.grams.setdefault(g, name)

    def hit(self, text):
        """(name, shared n-gram) of the first indexed text sharing an n-gram, or None."""
        for g in sorted(ngrams(text, self.n)):
            if g in self.grams:
                return self.grams[g], " ".join(g)
        return None


def max_jaccard(text, others):
    """(similarity, index) of the most similar of `others` (shingle sets) to `text`."""
    s = shingles(text)
    best, at = 0.0, -1
    for i, o in enumerate(others):
        # |A & B| / |A | B| <= min/max: skip pairs that cannot beat the best.
        if min(len(s), len(o)) / max(len(s), len(o), 1) <= best:
            continue
        j = jaccard(s, o)
        if j > best:
            best, at = j, i
    return best, at
