"""Tests of funcworld's generator: each check it relies on is shown to catch a planted fault.

    python3 -m unittest discover -s experiments/funcworld -p 'test_*.py'

A small world (6 pool and 2 benchmark problems per family) keeps the whole file under a minute.
"""

import json
import pathlib
import random
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import families_lists  # noqa: E402
import make_world as mw  # noqa: E402
import neardup  # noqa: E402
import runner  # noqa: E402

SMALL = ["--pool-per-family", "6", "--bench-per-family", "2", "--validate-inputs", "1",
         "--candidates", "30", "--quiet"]


class LooseSumCmp(families_lists.SumCmp):
    """A planted bug: the code writes `>=` where the parameters say `>`."""

    def body(self, p, a, style):
        text = super().body(p, a, style)
        return text.replace(" > ", " >= ") if p["op"] == "gt" else text


def small_world(*extra):
    d = tempfile.TemporaryDirectory(prefix="funcworld-test-")
    opts = mw.parse(SMALL + ["--out", d.name] + list(extra))
    try:
        pool, bench, tl, cl = mw.generate(opts, pathlib.Path(d.name), lambda m: None)
    except BaseException:
        d.cleanup()
        raise
    return d, opts, pool, bench, tl, cl


class Runner(unittest.TestCase):
    TEST = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 3\n"

    def verdict(self, body):
        return runner.run_tests("def f(n):\n" + body, self.TEST, "f")

    def test_outcomes_are_the_executors(self):
        self.assertEqual(self.verdict("    return n + 1\n"), ("pass", 2, 2))
        self.assertEqual(self.verdict("    return 2\n"), ("partial", 1, 2))
        self.assertEqual(self.verdict("    return n\n"), ("test_failure", 0, 2))
        self.assertEqual(self.verdict("    return m\n"), ("runtime_error", 0, 2))
        self.assertEqual(self.verdict("    return (n\n"), ("compile_error", 0, 2))
        self.assertEqual(self.verdict("    while True:\n        pass\n"), ("timeout", 0, 2))


class FamilyChecks(unittest.TestCase):
    def test_a_solution_that_disagrees_with_its_spec_is_caught(self):
        self.assertEqual(mw.validate_family(families_lists.SumCmp(), 0, 8) > 0, True)
        with self.assertRaisesRegex(mw.Failed, "spec"):
            mw.validate_family(LooseSumCmp(), 0, 8)

    def test_split_is_disjoint_and_covers_every_benchmark_value(self):
        for fam in mw.FAMILIES:
            pool, bench = mw.split_family(fam, 5, 8, 24)
            self.assertFalse(set(pool) & set(bench), fam.key)
            seen = {v for i in pool for v in fam.axes(fam.combos()[i])}
            for i in bench:
                for v in fam.axes(fam.combos()[i]):
                    self.assertIn(v, seen, fam.key)

    def test_tests_fail_every_wrong_reading_they_were_built_for(self):
        opts = mw.parse(SMALL)
        rng = random.Random(3)
        for fam in mw.FAMILIES:
            ci = rng.randrange(len(fam.combos()))
            prob = mw.make_problem(fam, ci, "pool", 3, 0, opts)
            prob["task_id"] = f"t/{fam.key}"
            self.assertEqual(mw.check_problem(prob), prob["test"].count("assert "))
            self.assertTrue(prob["_caught"], fam.key)
            for kind, q in prob["_caught"]:
                for style in range(fam.styles):
                    out = runner.run_tests(prob["prompt"] + fam.body(q, prob["_args"], style),
                                           prob["test"], prob["entry_point"])
                    self.assertNotEqual(out[0], "pass", (fam.key, kind, q, style))

    def test_a_wrong_canonical_solution_is_caught(self):
        opts = mw.parse(SMALL)
        prob = mw.make_problem(families_lists.SumCmp(), 3, "pool", 3, 0, opts)
        prob["task_id"] = "t"
        prob["canonical_solution"] = "    return 0\n"
        with self.assertRaisesRegex(mw.Failed, "canonical solution"):
            mw.check_problem(prob)


class NearDuplicates(unittest.TestCase):
    def test_tokens_are_rrtfs(self):
        self.assertEqual(neardup.tokens("def sum_selected(xs):\n  'Ab' >= 7"),
                         ["def", "sum", "selected", "xs", "ab", "7"])

    def test_a_copied_prompt_with_another_constant_is_caught(self):
        d, opts, pool, bench, _, _ = small_world()
        with d:
            mw.near_duplicate_report(pool, bench, opts)  # the world as generated passes
            bench[0] = dict(bench[0], prompt=pool[0]["prompt"].replace("1", "9"))
            with self.assertRaisesRegex(mw.Failed, "13-gram|Jaccard"):
                mw.near_duplicate_report(pool, bench, opts)


class World(unittest.TestCase):
    def test_same_seed_same_bytes_other_seed_other_world(self):
        a, _, _, _, _, _ = small_world("--seed", "4")
        b, _, _, _, _, _ = small_world("--seed", "4")
        c, _, _, _, _, _ = small_world("--seed", "5")
        with a, b, c:
            for name in ("pool.jsonl", "benchmark.jsonl", "corpus.jsonl", "teacher-careless.jsonl",
                         "manifest.json"):
                pa, pb, pc = (pathlib.Path(x.name) / name for x in (a, b, c))
                self.assertEqual(pa.read_bytes(), pb.read_bytes(), name)
                self.assertNotEqual(pa.read_bytes(), pc.read_bytes(), name)

    def test_shares_are_measured_and_the_teacher_cap_holds(self):
        d, _, pool, _, tl, cl = small_world("--wrong-share", "0.5")
        with d:
            m = json.loads((pathlib.Path(d.name) / "manifest.json").read_text())
            self.assertEqual(m["corpus"]["by_kind"].get("correct"), len(pool) - round(len(pool) / 2))
            self.assertEqual(sum(not lab["passed"] for lab in cl), round(len(pool) / 2))
            for t, labels in tl.items():
                self.assertLessEqual(m["teachers"][t]["pass_share"], 0.75)
                self.assertEqual(len(labels), len(pool) * 6)
            rows = [json.loads(line) for line in
                    (pathlib.Path(d.name) / "teacher-careless.jsonl").read_text().splitlines()]
            self.assertEqual({tuple(r) for r in rows}, {("match", "responses")})

    def test_a_teacher_that_is_nearly_an_oracle_is_refused(self):
        saved = mw.TEACHERS["careless"]
        mw.TEACHERS["careless"] = ((60.0, 1.0),) + saved[1:]
        try:
            with self.assertRaisesRegex(mw.Failed, "teacher careless passes"):
                small_world()
        finally:
            mw.TEACHERS["careless"] = saved


if __name__ == "__main__":
    unittest.main()
