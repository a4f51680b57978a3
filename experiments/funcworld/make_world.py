#!/usr/bin/env python3
"""Writes funcworld: a world of small function-writing problems for rrtf's headline experiment
(issue 18). See README.md beside this file for what each output is and why.

    python3 experiments/funcworld/make_world.py                 # writes data/ beside this file
    python3 experiments/funcworld/make_world.py --seed 8 --out /tmp/w   # another world
    python3 experiments/funcworld/make_world.py --check         # regenerate, compare with data/
    python3 experiments/funcworld/make_world.py --exec-check target/debug/rrtf
                                     # also run everything through `rrtf exec run` and compare

Deterministic for a given --seed and options (string-seeded random.Random, no set or dict
order from hashing). Every check below is an assertion: the script writes nothing when one fails.
"""

import argparse
import copy
import filecmp
import hashlib
import json
import pathlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import families_lists  # noqa: E402
import families_lists2  # noqa: E402
import families_numbers  # noqa: E402
import families_text  # noqa: E402
import neardup  # noqa: E402
import runner  # noqa: E402

FAMILIES = (families_lists.FAMILIES + families_lists2.FAMILIES + families_text.FAMILIES
            + families_numbers.FAMILIES)
NAME = "funcworld"
CHAT_MARK = "Complete the following "  # the start of prompts/sample_chat_completion.txt

TEACHERS = {
    # name: (Beta(a, b) of a problem's chance of a right answer, preferred style weight,
    #        wrong-answer mix as (kind, weight))
    "careless": ((3.4, 1.6), 0.4, (("offbyone", 0.7), ("syntax", 0.3))),
    "misreader": ((2.4, 1.8), 0.8, (("misread", 0.55), ("prose", 0.25), ("wrong_name", 0.2))),
}
PROSE = (
    "You can solve this by going through {x} once and applying the rule from the docstring to each item.",
    "The idea is to loop over {x}, check the condition described above, and build the answer step by step.",
    "This is a simple task: iterate over the input, keep what the docstring asks for, and return it.",
)


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def rng_for(*parts):
    return random.Random("/".join(str(p) for p in parts))


def fn_source(name, args, body):
    return f"def {name}({', '.join(args)}):\n{body}"


def outputs(fn, inputs):
    return [runner.call(fn, copy.deepcopy(x)) for x in inputs]


def spec_outputs(fam, p, inputs):
    return [runner.call(lambda *a: fam.spec(p, *a), copy.deepcopy(x)) for x in inputs]


# ---------------------------------------------------------------- family self-check

def validate_family(fam, seed, n_inputs):
    """Every style of every parameter set (and of every perturbation) computes what the spec
    says, on random inputs. Returns the number of (parameters, style) pairs checked."""
    checked = 0
    combos = fam.combos()
    check(len({json.dumps(p, sort_keys=True) for p in combos}) == len(combos),
          f"{fam.key}: duplicate parameter sets")
    for ci, p in enumerate(combos):
        rng = rng_for(seed, "validate", fam.key, ci)
        inputs = [fam.gen(p, rng) for _ in range(n_inputs)]
        a = fam.arg_options(p)[0]
        for q in [p] + [q for _, q in fam.perturbs(p)]:
            want = spec_outputs(fam, q, inputs)
            for style in range(fam.styles):
                fn = runner.load(fn_source("f", a, fam.body(q, a, style)), "f")
                check(fn is not None, f"{fam.key} {q} style {style}: does not load")
                got = outputs(fn, inputs)
                for x, w, g in zip(inputs, want, got):
                    check(w == g, f"{fam.key} {q} style {style} on {x!r}: spec {w}, code {g}")
                checked += 1
            if q is p:
                check(all(w[0] == "ok" for w in want),
                      f"{fam.key} {p}: the spec fails on its own inputs {inputs!r}: {want}")
    return checked


# ---------------------------------------------------------------- splitting

def split_family(fam, seed, n_bench, n_pool):
    """(pool combos, benchmark combos): disjoint, and every parameter value of a benchmark
    problem occurs in some pool problem of the family."""
    combos = fam.combos()
    order = list(range(len(combos)))
    rng_for(seed, "split", fam.key).shuffle(order)
    axes = [set(fam.axes(combos[i])) for i in range(len(combos))]
    bench = []
    for i in order:
        if len(bench) == n_bench:
            break
        others = [axes[j] for j in order if j != i and j not in bench]
        if all(any(v in o for o in others) for v in axes[i]):
            bench.append(i)
    need = sorted({v for i in bench for v in axes[i]}, key=repr)
    pool = []
    for v in need:
        if not any(v in axes[j] for j in pool):
            pool.append(next(j for j in order if j not in bench and v in axes[j]))
    for j in order:
        if len(pool) >= n_pool:
            break
        if j not in bench and j not in pool:
            pool.append(j)
    check(len(pool) <= n_pool, f"{fam.key}: covering the benchmark needs {len(pool)} pool problems")
    check(len(bench) == min(n_bench, len(combos) - 1), f"{fam.key}: only {len(bench)} benchmark problems")
    check(not set(pool) & set(bench), f"{fam.key}: pool and benchmark share a parameter set")
    seen = {v for j in pool for v in axes[j]}
    check(all(v in seen for i in bench for v in axes[i]), f"{fam.key}: a benchmark value is unseen")
    pool.sort(key=order.index)
    return pool, bench


# ---------------------------------------------------------------- one problem

def render_prompt(name, args, doc, example_call, example_out):
    text = textwrap.fill(doc, width=88, initial_indent='    """', subsequent_indent="    ")
    return (f"def {name}({', '.join(args)}):\n{text}\n"
            f"    >>> {name}({example_call})\n    {example_out}\n" + '    """\n')


def call_text(args):
    return ", ".join(repr(x) for x in args)


def make_tests(fam, p, a, rng, opts):
    """Inputs that kill every perturbation they can (greedy), then random ones up to the
    minimum; returns (test source, [(kind, params)] of the perturbations the tests catch,
    number of perturbations no candidate input told apart)."""
    cands, seen = [], set()
    for _ in range(opts.candidates):
        x = fam.gen(p, rng)
        r = repr(x)
        if r not in seen:
            seen.add(r)
            cands.append(x)
    want = spec_outputs(fam, p, cands)
    cands = [c for c, w in zip(cands, want) if w[0] == "ok"]
    want = [w for w in want if w[0] == "ok"]
    canon = runner.load(fn_source("f", a, fam.body(p, a, 0)), "f")
    check(outputs(canon, cands) == want, f"{fam.key} {p}: canonical differs from spec")
    kills, caught, missed = [], [], 0
    for kind, q in fam.perturbs(p):
        fn = runner.load(fn_source("f", a, fam.body(q, a, 0)), "f")
        k = {i for i, (w, g) in enumerate(zip(want, outputs(fn, cands))) if w != g}
        if k:
            kills.append(k)
            caught.append((kind, q))
        else:
            missed += 1
    chosen, alive = [], list(range(len(kills)))
    while alive:
        best = max(range(len(cands)), key=lambda i: (sum(i in kills[j] for j in alive), -i))
        chosen.append(best)
        alive = [j for j in alive if best not in kills[j]]
    rest = [i for i in range(len(cands)) if i not in chosen]
    rng.shuffle(rest)
    while len(chosen) < opts.min_tests and rest:
        chosen.append(rest.pop())
    if len({repr(want[i]) for i in chosen}) < 2:
        other = [i for i in rest if repr(want[i]) != repr(want[chosen[0]])]
        check(other, f"{fam.key} {p}: every input gives {want[chosen[0]]}")
        chosen.append(other[0])
    check(len(chosen) <= opts.max_tests, f"{fam.key} {p}: needs {len(chosen)} tests")
    lines = ["def check(candidate):"]
    lines += [f"    assert candidate({call_text(cands[i])}) == {want[i][1]!r}" for i in chosen]
    return "\n".join(lines) + "\n", caught, missed


def make_problem(fam, ci, split, seed, attempt, opts):
    p = fam.combos()[ci]
    rng = rng_for(seed, split, fam.key, ci, attempt)
    name = rng.choice(fam.names)
    a = fam.arg_options(p)[0]  # one name per family: the others are the misreader's mistakes
    doc = fam.doc(p, a, rng)
    ex = fam.gen(p, rng, small=True)
    prompt = render_prompt(name, a, doc, call_text(ex), repr(fam.spec(p, *copy.deepcopy(ex))))
    test, caught, missed = make_tests(fam, p, a, rng_for(seed, "tests", split, fam.key, ci, attempt),
                                      opts)
    canonical = fam.body(p, a, 0)
    return {
        "task_id": None, "prompt": prompt, "entry_point": name,
        "canonical_solution": canonical, "test": test,
        "family": fam.key, "params": p,
        "_fam": fam, "_args": a, "_caught": caught, "_missed": missed, "_ci": ci,
    }


def public(prob):
    return {k: v for k, v in prob.items() if not k.startswith("_")}


def check_problem(prob):
    out = runner.run_tests(prob["prompt"] + prob["canonical_solution"], prob["test"],
                           prob["entry_point"])
    check(out[0] == runner.PASS, f"{prob['task_id']}: canonical solution gives {out}")
    stub = runner.run_tests(prob["prompt"] + "    return None\n", prob["test"], prob["entry_point"])
    check(stub[0] != runner.PASS, f"{prob['task_id']}: a stub passes the tests")
    for stop in ("\nclass", "\ndef", "\n#", "\nif", "\nprint"):
        check(stop not in prob["canonical_solution"],
              f"{prob['task_id']}: the solution contains rrtf eval's stop sequence {stop!r}")
    check(prob["prompt"].count('"""') == 2, f"{prob['task_id']}: odd docstring")
    return out[2]


# ---------------------------------------------------------------- the world

def interleave(per_family):
    out, i = [], 0
    while any(i < len(v) for v in per_family):
        out += [v[i] for v in per_family if i < len(v)]
        i += 1
    return out


def build_problems(opts, log):
    seed = opts.seed
    pools, benches, stats = [], [], {"rerolled": 0, "missed_perturbations": 0}
    pool_index = neardup.NgramIndex(opts.ngram)
    splits = {}
    for fam in FAMILIES:
        splits[fam.key] = split_family(fam, seed, opts.bench_per_family, opts.pool_per_family)
        probs = [make_problem(fam, ci, "pool", seed, 0, opts) for ci in splits[fam.key][0]]
        for j, pr in enumerate(probs):
            pr["task_id"] = f"{NAME}-pool/{fam.key}/{j}"
        pools.append(probs)
    pool = interleave(pools)
    check(len({p["prompt"] for p in pool}) == len(pool), "two pool problems share a prompt")
    for pr in pool:
        pool_index.add(pr["task_id"], pr["prompt"])
        pool_index.add(pr["task_id"], pr["test"])
    pool_shingles = [neardup.shingles(pr["prompt"]) for pr in pool]
    for fam in FAMILIES:
        probs = []
        for j, ci in enumerate(splits[fam.key][1]):
            for attempt in range(opts.max_rerolls):
                pr = make_problem(fam, ci, "bench", seed, attempt, opts)
                hit = pool_index.hit(pr["prompt"]) or pool_index.hit(pr["test"])
                sim = neardup.max_jaccard(pr["prompt"], pool_shingles)[0]
                if hit is None and sim < opts.max_jaccard:
                    break
                stats["rerolled"] += 1
                stats.setdefault("rerolled_by_family", {}).setdefault(fam.key, 0)
                stats["rerolled_by_family"][fam.key] += 1
            else:
                raise Failed(f"{fam.key} {pr['params']}: every rendering is a near-duplicate "
                             f"of the pool ({hit}, Jaccard {sim:.2f})")
            pr["task_id"] = f"{NAME}-bench/{fam.key}/{j}"
            probs.append(pr)
        benches.append(probs)
    bench = interleave(benches)
    for pr in pool + bench:
        stats["missed_perturbations"] += pr["_missed"]
    log(f"{len(pool)} pool and {len(bench)} benchmark problems "
        f"({stats['rerolled']} benchmark renderings redrawn as near-duplicates: "
        f"{stats.get('rerolled_by_family')})")
    return pool, bench, stats


def near_duplicate_report(pool, bench, opts):
    """The checks the README promises, run on the final sets; each is asserted."""
    # rrtf evolve's decontamination: every string field of the benchmark rows, against the
    # pool prompts (what an evolved pool prompt would be checked against).
    bench_idx = neardup.NgramIndex(opts.ngram)
    for b in bench:
        for f in ("task_id", "prompt", "entry_point", "canonical_solution", "test"):
            bench_idx.add(b["task_id"], b[f])
    hits = [(p["task_id"], bench_idx.hit(p["prompt"])) for p in pool]
    hits = [h for h in hits if h[1]]
    check(not hits, f"pool prompts share a {opts.ngram}-gram with the benchmark: {hits[:3]}")
    pool_idx = neardup.NgramIndex(opts.ngram)
    for p in pool:
        pool_idx.add(p["task_id"], p["prompt"])
        pool_idx.add(p["task_id"], p["test"])
    hits = [(b["task_id"], pool_idx.hit(b["prompt"]) or pool_idx.hit(b["test"])) for b in bench]
    hits = [h for h in hits if h[1]]
    check(not hits, f"benchmark prompts or tests share a {opts.ngram}-gram with the pool: {hits[:3]}")
    pool_sh = [neardup.shingles(p["prompt"]) for p in pool]
    sims = [neardup.max_jaccard(b["prompt"], pool_sh) for b in bench]
    worst = max(range(len(bench)), key=lambda i: sims[i][0])
    check(sims[worst][0] < opts.max_jaccard, f"Jaccard {sims[worst][0]} >= {opts.max_jaccard}")
    sol_idx = neardup.NgramIndex(opts.ngram)
    for p in pool:
        sol_idx.add(p["task_id"], p["canonical_solution"])
    shared_code = sum(1 for b in bench if sol_idx.hit(b["canonical_solution"]))
    check(not {(b["family"], json.dumps(b["params"], sort_keys=True)) for b in bench}
          & {(p["family"], json.dumps(p["params"], sort_keys=True)) for p in pool},
          "a (family, parameters) pair is in both the pool and the benchmark")
    return {
        "ngram": opts.ngram,
        "prompt_or_test_ngram_hits": 0,
        "jaccard_threshold": opts.max_jaccard,
        "max_prompt_jaccard": round(sims[worst][0], 4),
        "max_prompt_jaccard_pair": [bench[worst]["task_id"], pool[sims[worst][1]]["task_id"]],
        "mean_of_max_prompt_jaccard": round(sum(s for s, _ in sims) / len(sims), 4),
        "benchmark_solutions_sharing_a_13gram_with_a_pool_solution": shared_code,
        "shared_family_parameter_pairs": 0,
    }


# ---------------------------------------------------------------- wrong answers

def other_name(prob, rng):
    alts = [a[0] for a in prob["_fam"].arg_options(prob["params"]) if a[0] != prob["_args"][0]]
    return rng.choice(alts)


def rename(body, old, new):
    return re.sub(rf"(?<![\w'.]){re.escape(old)}(?![\w'])", new, body)


def break_syntax(body):
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip().endswith(":"):
            lines[i] = line.rstrip()[:-1]
            return "\n".join(lines)
    for closer in ")]":
        i = body.rfind(closer)
        if i >= 0:
            return body[:i] + body[i + 1:]
    return lines[0] + " +\n" + "\n".join(lines[1:])


def wrong_answer(prob, kind, rng, style):
    """(error kind, completion text, chat code or None, prose or None)."""
    fam, p, a = prob["_fam"], prob["params"], prob["_args"]
    choices = [q for k, q in prob["_caught"] if k == kind]
    if kind in ("offbyone", "misread"):
        q = rng.choice(choices)
        body = fam.body(q, a, style)
        return kind, body, body, None
    if kind == "syntax":
        body = break_syntax(fam.body(p, a, style))
        return kind, body, body, None
    if kind == "wrong_name":
        body = rename(fam.body(p, a, style), a[0], other_name(prob, rng))
        return kind, body, body, None
    prose = rng.choice(PROSE).format(x=a[0])
    return "prose", prose + "\n", None, prose


def fenced(prob, body, chatty):
    head = "Here is the function:\n\n" if chatty else ""
    return f"{head}```python\n{fn_source(prob['entry_point'], prob['_args'], body)}```\n"


def label(prob, program):
    out, passed, total = runner.run_tests(program, prob["test"], prob["entry_point"])
    return {"outcome": out, "tests_passed": passed, "tests_total": total,
            "passed": out == runner.PASS}


def teacher_answers(prob, teacher, opts):
    """The recording's rows for one problem, and the labels of every answer."""
    (ba, bb), style_bias, mix = TEACHERS[teacher]
    rng = rng_for(opts.seed, "teacher", teacher, prob["task_id"])
    p_right = rng.betavariate(ba, bb)
    have = {k for k, _ in prob["_caught"]}
    comp, chat, labels = [], [], []
    for i in range(opts.answers):
        fam = prob["_fam"]
        style = 0 if rng.random() < style_bias or fam.styles == 1 else rng.randrange(1, fam.styles)
        if rng.random() < p_right:
            kind, body, code, prose = "correct", fam.body(prob["params"], prob["_args"], style), None, None
            code = body
        else:
            kinds = [(k, w) for k, w in mix if k not in ("offbyone", "misread") or k in have]
            r, kind = rng.random() * sum(w for _, w in kinds), kinds[-1][0]
            for k, w in kinds:
                if r < w:
                    kind = k
                    break
                r -= w
            kind, body, code, prose = wrong_answer(prob, kind, rng, style)
        comp.append(body)
        chat.append(fenced(prob, code, teacher == "misreader") if code is not None else prose)
        lc = label(prob, prob["prompt"] + body)
        if code is None:  # prose only: the executor finds no code (compile_error)
            lh = {"outcome": runner.COMPILE_ERROR, "tests_passed": 0,
                  "tests_total": lc["tests_total"], "passed": False}
        else:
            lh = label(prob, fn_source(prob["entry_point"], prob["_args"], code))
        check(lc["outcome"] == lh["outcome"], f"{prob['task_id']}: shapes disagree {lc} {lh}")
        check(lc["passed"] == (kind == "correct"), f"{prob['task_id']} {teacher} {kind}: {lc}")
        labels.append({"teacher": teacher, "task_id": prob["task_id"], "index": i,
                       "kind": kind, "completion": prob["prompt"] + body,
                       "chat_code": fn_source(prob["entry_point"], prob["_args"], code) if code else None,
                       "chat_text": chat[-1], "completion_text": body, **lc})
    rows = [{"match": [prob["prompt"]], "responses": comp},
            {"match": [CHAT_MARK, prob["prompt"]], "responses": chat}]
    return rows, labels


# ---------------------------------------------------------------- the corpus

def corpus_lines(pool, opts):
    rng = rng_for(opts.seed, "corpus")
    n_wrong = round(opts.wrong_share * len(pool))
    wrong = set(rng.sample(range(len(pool)), n_wrong))
    lines, labels = [], []
    for i, prob in enumerate(pool):
        fam = prob["_fam"]
        r = rng_for(opts.seed, "corpus", prob["task_id"])
        style = 0 if r.random() < 0.75 or fam.styles == 1 else r.randrange(1, fam.styles)
        if i in wrong:
            kinds = sorted({k for k, _ in prob["_caught"]})
            check(kinds, f"{prob['task_id']}: no wrong reading is caught by the tests")
            kind = r.choice(kinds)
            _, body, _, _ = wrong_answer(prob, kind, r, style)
        else:
            kind, body = "correct", fam.body(prob["params"], prob["_args"], style)
        lab = label(prob, prob["prompt"] + body)
        check(lab["passed"] == (kind == "correct"), f"{prob['task_id']} corpus {kind}: {lab}")
        sc = runner.score(lab["outcome"], lab["tests_passed"], lab["tests_total"])
        lines.append({
            "task_id": prob["task_id"], "source": f"{NAME}-corpus", "kind": "completion",
            "language": "python", "prompt": prob["prompt"], "responses": [body], "scores": [sc],
            "pairs": [], "details": [{"code": body, "outcome": lab["outcome"],
                                      "tests_passed": lab["tests_passed"],
                                      "tests_total": lab["tests_total"], "error": kind,
                                      "style": style}],
        })
        labels.append({"task_id": prob["task_id"], "kind": kind, "completion": prob["prompt"] + body,
                       **lab})
    return lines, labels


# ---------------------------------------------------------------- main

def shares(labels, key="kind"):
    n = len(labels)
    out = {"n": n, "pass_share": round(sum(l["passed"] for l in labels) / n, 4)}
    for field in (key, "outcome"):
        counts = {}
        for l in labels:
            counts[l[field]] = counts.get(l[field], 0) + 1
        out[f"by_{field}"] = {k: counts[k] for k in sorted(counts)}
    return out


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=False) + "\n")


def generate(opts, out, log):
    families = {f.key for f in FAMILIES}
    check(len(families) == len(FAMILIES), "duplicate family keys")
    checked = 0
    for fam in FAMILIES:
        checked += validate_family(fam, opts.seed, opts.validate_inputs)
    log(f"{len(FAMILIES)} families: {checked} (parameters, style) solutions agree with their spec")
    pool, bench, stats = build_problems(opts, log)
    tests = [check_problem(p) for p in pool + bench]
    nd = near_duplicate_report(pool, bench, opts)
    log(f"near-duplicates: none (max prompt Jaccard {nd['max_prompt_jaccard']})")
    teacher_rows, teacher_labels = {}, {}
    for t in TEACHERS:
        rows, labels = [], []
        for prob in pool:
            r, l = teacher_answers(prob, t, opts)
            rows += r
            labels += l
        teacher_rows[t], teacher_labels[t] = rows, labels
        s = shares(labels)
        check(s["pass_share"] <= 0.75, f"teacher {t} passes {s['pass_share']} > 0.75")
        log(f"teacher {t}: {s['pass_share']:.3f} of {s['n']} answers pass; {s['by_kind']}")
    corpus, corpus_labels = corpus_lines(pool, opts)
    cs = shares(corpus_labels)
    log(f"corpus: {len(corpus)} solutions, {1 - cs['pass_share']:.3f} wrong; {cs['by_kind']}")

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "pool.jsonl": [public(p) for p in pool],
        "benchmark.jsonl": [public(p) for p in bench],
        "corpus.jsonl": corpus,
        **{f"teacher-{t}.jsonl": rows for t, rows in teacher_rows.items()},
    }
    for name, rows in files.items():
        write_jsonl(out / name, rows)
    with open(out / "tokenizer.txt", "w") as f:
        for p in pool:
            f.write(p["prompt"] + p["canonical_solution"] + "\n")
    per_family = {f.key: {"parameter_sets": len(f.combos()),
                          "pool": sum(p["family"] == f.key for p in pool),
                          "benchmark": sum(p["family"] == f.key for p in bench)}
                  for f in FAMILIES}
    manifest = {
        "world": NAME, "seed": opts.seed,
        "options": {k: v for k, v in sorted(vars(opts).items())
                    if k not in ("out", "check", "exec_check", "seed", "quiet")},
        "families": len(FAMILIES), "per_family": per_family,
        "pool": len(pool), "benchmark": len(bench),
        "tests_per_problem": {"min": min(tests), "max": max(tests),
                              "mean": round(sum(tests) / len(tests), 3)},
        "solutions_checked_against_spec": checked,
        "perturbations_not_told_apart_by_any_candidate_input": stats["missed_perturbations"],
        "benchmark_renderings_redrawn": stats["rerolled"],
        "near_duplicates": nd,
        "teachers": {t: {"answers_per_problem": opts.answers, "beta": list(TEACHERS[t][0]),
                         **shares(teacher_labels[t])} for t in TEACHERS},
        "corpus": {"wrong_share_asked": opts.wrong_share,
                   "wrong_share": round(1 - cs["pass_share"], 4), **cs},
        "files": {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
                  for name in sorted(list(files) + ["tokenizer.txt"])},
    }
    text = json.dumps(manifest, indent=1)
    # One line per family keeps the table readable.
    text = re.sub(r'\{\n\s+"parameter_sets": (\d+),\n\s+"pool": (\d+),\n\s+"benchmark": (\d+)\n\s+\}',
                  r'{"parameter_sets": \1, "pool": \2, "benchmark": \3}', text)
    (out / "manifest.json").write_text(text + "\n")
    return pool, bench, teacher_labels, corpus_labels


def exec_check(rrtf, pool, bench, teacher_labels, corpus_labels, log):
    """Run every canonical solution, corpus solution and recorded answer (both shapes) through
    `rrtf exec run` and compare its verdicts with the generator's."""
    rows, want = [], []
    for p in pool + bench:
        rows.append({"task_id": p["task_id"], "prompt": p["prompt"],
                     "completion": p["canonical_solution"], "test": p["test"],
                     "entry_point": p["entry_point"]})
        want.append(("canonical", runner.PASS, None))
    tests = {p["task_id"]: p for p in pool}
    for l in corpus_labels:
        p = tests[l["task_id"]]
        rows.append({"task_id": l["task_id"], "prompt": p["prompt"],
                     "completion": l["completion"][len(p["prompt"]):], "test": p["test"],
                     "entry_point": p["entry_point"]})
        want.append(("corpus", l["outcome"], l["tests_passed"]))
    for t, labels in teacher_labels.items():
        for l in labels:
            p = tests[l["task_id"]]
            rows.append({"task_id": l["task_id"], "prompt": p["prompt"],
                         "completion": l["completion_text"], "test": p["test"],
                         "entry_point": p["entry_point"]})
            want.append((f"{t}/completion", l["outcome"], l["tests_passed"]))
            rows.append({"task_id": l["task_id"], "prompt": p["prompt"], "code": l["chat_text"],
                         "test": p["test"], "entry_point": p["entry_point"]})
            want.append((f"{t}/chat", l["outcome"], l["tests_passed"]))
    with tempfile.TemporaryDirectory(prefix="funcworld-") as d:
        src, dst = pathlib.Path(d) / "in.jsonl", pathlib.Path(d) / "out.jsonl"
        write_jsonl(src, rows)
        log(f"rrtf exec run: {len(rows)} samples ...")
        subprocess.run([rrtf, "exec", "run", "--input", str(src), "--output", str(dst)],
                       check=True, stdin=subprocess.DEVNULL)
        got = [json.loads(line) for line in dst.read_text().splitlines()]
    check(len(got) == len(rows), f"rrtf exec run returned {len(got)} rows for {len(rows)}")
    summary, bad = {}, []
    for (what, outcome, passed), g in zip(want, got):
        s = summary.setdefault(what, {"samples": 0, "agree": 0, "pass": 0})
        s["samples"] += 1
        s["pass"] += g["outcome"] == runner.PASS
        same = g["outcome"] == outcome and (passed is None or g["tests_passed"] == passed)
        s["agree"] += same
        if not same:
            bad.append((what, g["task_id"], outcome, passed, g["outcome"], g["tests_passed"], g["detail"]))
    for what in sorted(summary):
        log(f"  {what}: {summary[what]}")
    check(not bad, f"{len(bad)} verdicts differ from rrtf exec run's, e.g. {bad[:5]}")
    log("rrtf exec run agrees with every verdict")
    return summary


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=18, help="the world's seed (default 18)")
    ap.add_argument("--out", type=pathlib.Path, default=HERE / "data")
    ap.add_argument("--pool-per-family", type=int, default=48)
    ap.add_argument("--bench-per-family", type=int, default=8)
    ap.add_argument("--answers", type=int, default=6, help="recorded answers per problem and teacher")
    ap.add_argument("--wrong-share", type=float, default=0.3, help="share of wrong corpus solutions")
    ap.add_argument("--min-tests", type=int, default=5)
    ap.add_argument("--max-tests", type=int, default=8)
    ap.add_argument("--candidates", type=int, default=60, help="random test inputs tried per problem")
    ap.add_argument("--validate-inputs", type=int, default=12,
                    help="random inputs per parameter set in the family self-check")
    ap.add_argument("--ngram", type=int, default=13)
    ap.add_argument("--max-jaccard", type=float, default=0.6)
    ap.add_argument("--max-rerolls", type=int, default=40)
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with --out")
    ap.add_argument("--exec-check", metavar="RRTF", help="also run everything through RRTF exec run")
    ap.add_argument("--quiet", action="store_true")
    return ap.parse_args(argv)


def main(argv=None):
    opts = parse(argv)
    log = (lambda m: None) if opts.quiet else (lambda m: print(m, file=sys.stderr))
    try:
        if opts.check:
            with tempfile.TemporaryDirectory(prefix="funcworld-") as d:
                generate(opts, pathlib.Path(d), log)
                names = sorted(p.name for p in pathlib.Path(d).iterdir())
                same, diff, missing = filecmp.cmpfiles(d, opts.out, names, shallow=False)
                check(not diff and not missing, f"{opts.out} differs from a fresh run: {diff + missing}")
                log(f"{opts.out}: all {len(same)} files are what this generator writes")
            return 0
        with tempfile.TemporaryDirectory(prefix="funcworld-") as d:
            pool, bench, tl, cl = generate(opts, pathlib.Path(d), log)
            if opts.exec_check:
                exec_check(opts.exec_check, pool, bench, tl, cl, log)
            opts.out.mkdir(parents=True, exist_ok=True)
            for f in sorted(pathlib.Path(d).iterdir()):
                shutil.copyfile(f, opts.out / f.name)
        log(f"wrote {opts.out}")
        return 0
    except Failed as e:
        print(f"make_world: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
