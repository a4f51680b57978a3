#!/usr/bin/env python3
"""Checks rrtf's HumanEval-X-format slice (python3 standard library only).

1. Shape: the five files hold the same 20 tasks in HumanEval-X's fields, and wrong.jsonl one
   completion for every row.
2. Execution: every row's canonical solution passes its `test` and its `example_test`, and
   its wrong completion fails its `test`. By default through rrtf's executor
   (`$RRTF --json exec run --input samples.jsonl --output results.jsonl`, the completion
   appended to the prompt as rrtf's completion mode does); with --direct, through the
   toolchains themselves (python3, g++ -std=c++17, javac/java, node, go test with testify),
   each program assembled as HumanEval-X's own harness does.

Prints one line per row and a count per language and check; exits 1 if any check is not as
expected (or a shape rule is broken).

    python3 tests/data/humaneval-x/check.py                 # rrtf from $RRTF, else `rrtf`
    python3 tests/data/humaneval-x/check.py --rrtf target/debug/rrtf
    python3 tests/data/humaneval-x/check.py --direct
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LANGS = [("python", "Python"), ("cpp", "CPP"), ("java", "Java"), ("js", "JavaScript"),
         ("go", "Go")]
N = 20
FIELDS = {
    "python": ["task_id", "prompt", "declaration", "canonical_solution", "test",
               "example_test", "entry_point"],
    "go": ["task_id", "prompt", "import", "docstring", "declaration", "canonical_solution",
           "test", "test_setup", "example_test"],
}
DEFAULT_FIELDS = ["task_id", "prompt", "declaration", "canonical_solution", "test",
                  "example_test"]
# (kind, which completion, which test, should it pass)
KINDS = [("canonical", "canonical_solution", "test", True),
         ("example", "canonical_solution", "example_test", True),
         ("wrong", "wrong", "test", False)]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load():
    rows = {lang: read_jsonl(os.path.join(HERE, f"humaneval_{lang}.jsonl")) for lang, _ in LANGS}
    wrong = read_jsonl(os.path.join(HERE, "wrong.jsonl"))
    return rows, wrong


def shape_errors(rows, wrong):
    errors = []
    wrong_ids = [w["task_id"] for w in wrong]
    if len(wrong_ids) != len(set(wrong_ids)):
        errors.append("wrong.jsonl: a task id appears twice")
    for w in wrong:
        if sorted(w) != ["completion", "task_id"]:
            errors.append(f"wrong.jsonl {w.get('task_id')}: fields {sorted(w)}")
    wrong_ids = set(wrong_ids)
    for lang, prefix in LANGS:
        rs = rows[lang]
        if len(rs) != N:
            errors.append(f"{lang}: {len(rs)} rows, not {N}")
        for i, r in enumerate(rs):
            tid = f"{prefix}/{i}"
            where = f"humaneval_{lang}.jsonl {tid}"
            if r.get("task_id") != tid:
                errors.append(f"{where}: task_id {r.get('task_id')!r}")
            want = FIELDS.get(lang, DEFAULT_FIELDS)
            if sorted(r) != sorted(want):
                errors.append(f"{where}: fields {sorted(r)}, want {sorted(want)}")
                continue
            if not all(isinstance(r[k], str) for k in want):
                errors.append(f"{where}: a field is not a string")
                continue
            if tid not in wrong_ids:
                errors.append(f"{where}: no wrong completion")
            p, sol = r["prompt"], r["canonical_solution"]
            if lang == "python":
                if not p.endswith('"""\n') or r["declaration"] not in p:
                    errors.append(f"{where}: prompt is not declaration + docstring")
                if f"def {r['entry_point']}(" not in p or f"check({r['entry_point']})" not in r["test"]:
                    errors.append(f"{where}: entry_point not defined or not checked")
                if not r["test"].lstrip().startswith("def check(candidate):"):
                    errors.append(f"{where}: test is not `def check(candidate):`")
                continue
            if not p.endswith("{\n") or not p.endswith(r["declaration"].lstrip("\n").split("\n")[-2] + "\n"):
                errors.append(f"{where}: prompt does not end with the declaration's signature")
            if not sol.endswith("}\n"):
                errors.append(f"{where}: canonical_solution does not close the function")
            if lang == "cpp":
                if not (p.startswith("/*\n") and "using namespace std;\n" in p
                        and r["test"].startswith("#undef NDEBUG\n#include<assert.h>\n")
                        and "int main(){" in r["test"]):
                    errors.append(f"{where}: not HumanEval-X's C++ shape")
            elif lang == "java":
                if not (p.startswith("import java.util.*;\nimport java.lang.*;\n\nclass Solution {\n")
                        and sol.endswith("    }\n}\n")
                        and r["test"].startswith("public class Main {")
                        and "List<Boolean> correct = Arrays.asList(" in r["test"]):
                    errors.append(f"{where}: not HumanEval-X's Java shape")
            elif lang == "js":
                if not (p.startswith("/* ") and "\nconst " in p and r["test"].startswith("const test")):
                    errors.append(f"{where}: not HumanEval-X's JavaScript shape")
            elif lang == "go":
                if not (p.startswith(r["import"]) and r["docstring"] in p
                        and r["test"].startswith("func Test")
                        and "assert := assert.New(t)" in r["test"]):
                    errors.append(f"{where}: not HumanEval-X's Go shape")
    all_ids = {r["task_id"] for rs in rows.values() for r in rs}
    for extra in sorted(wrong_ids - all_ids):
        errors.append(f"wrong.jsonl {extra}: no such row")
    return errors


def jobs(rows, wrong):
    """(lang, task_id, kind, should_pass, prompt, completion, test, row) for every check."""
    wrong = {w["task_id"]: w["completion"] for w in wrong}
    out = []
    for lang, _ in LANGS:
        for r in rows[lang]:
            for kind, comp, test, should in KINDS:
                completion = wrong[r["task_id"]] if comp == "wrong" else r[comp]
                out.append((lang, r["task_id"], kind, should, r["prompt"], completion,
                            r[test], r))
    return out


# ---------------------------------------------------------------- through rrtf


def run_rrtf(all_jobs, rrtf, extra, keep):
    work = keep or tempfile.mkdtemp(prefix="hx-check-")
    os.makedirs(work, exist_ok=True)
    samples = os.path.join(work, "samples.jsonl")
    results = os.path.join(work, "results.jsonl")
    with open(samples, "w", encoding="utf-8") as f:
        for lang, tid, kind, _, prompt, completion, test, row in all_jobs:
            s = {"task_id": tid, "prompt": prompt, "completion": completion, "test": test}
            if "entry_point" in row:
                s["entry_point"] = row["entry_point"]
            f.write(json.dumps(s) + "\n")
    cmd = [rrtf, "--json", "exec", "run", "--input", samples, "--output", results] + extra
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    print(p.stdout.strip())
    if p.returncode != 0:
        sys.exit(f"rrtf exited {p.returncode}:\n{p.stderr[-4000:]}")
    res = read_jsonl(results)
    if len(res) != len(all_jobs):
        sys.exit(f"{len(res)} results for {len(all_jobs)} samples")
    out = []
    for job, r in zip(all_jobs, res):
        if r["task_id"] != job[1]:
            sys.exit(f"result order: {r['task_id']} where {job[1]} was expected")
        out.append((bool(r["passed"]), r["outcome"],
                    f"{r.get('tests_passed')}/{r.get('tests_total')} {r.get('detail') or ''}"))
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return out


# ---------------------------------------------------------------- through the toolchains

GO_ENV = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "",
          "GOPROXY": "off", "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
# console.assert only prints; HumanEval-X's harness counts a printed assertion as a failure.
JS_FAILED = "Assertion failed"


def sh(cmd, cwd, timeout, env=None):
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout, env=e)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    return p.returncode, (p.stdout + p.stderr)[-600:]


def run_one(job, timeout):
    lang, tid, kind, _, prompt, completion, test, row = job
    with tempfile.TemporaryDirectory(prefix="hx-direct-") as d:
        if lang == "python":
            open(os.path.join(d, "t.py"), "w").write(prompt + completion + "\n" + test + "\n")
            rc, out = sh([sys.executable, "t.py"], d, timeout)
        elif lang == "cpp":
            open(os.path.join(d, "t.cpp"), "w").write(prompt + completion + "\n" + test)
            rc, out = sh(["g++", "-std=c++17", "-o", "t", "t.cpp"], d, 120)
            if rc != 0:
                return False, "compile_error", out
            rc, out = sh(["./t"], d, timeout)
        elif lang == "java":
            open(os.path.join(d, "Main.java"), "w").write(prompt + completion + "\n" + test)
            rc, out = sh(["javac", "Main.java"], d, 120)
            if rc != 0:
                return False, "compile_error", out
            rc, out = sh(["java", "-cp", ".", "Main"], d, timeout + 5)
        elif lang == "js":
            open(os.path.join(d, "t.js"), "w").write(prompt + completion + "\n" + test)
            rc, out = sh(["node", "t.js"], d, timeout)
            if rc == 0 and JS_FAILED in out:
                rc = 1
        elif lang == "go":
            src = row["test_setup"] + "\n" + prompt + completion + "\n" + test
            open(os.path.join(d, "main_test.go"), "w").write(src)
            env = dict(GO_ENV, GOCACHE=os.path.join(d, ".gocache"), HOME=d)
            cache = os.environ.get("GOCACHE_DIR")
            if cache:
                env["GOCACHE"] = cache
            rc, out = sh(["go", "test", "-count=1", "."], d, 300, env)
            if rc != 0 and ("build failed" in out or "[setup failed]" in out):
                return False, "compile_error", out
        else:
            raise ValueError(lang)
    if rc is None:
        return False, "timeout", out
    return rc == 0, "pass" if rc == 0 else "fail", "" if rc == 0 else out.strip()


def run_direct(all_jobs, workers, timeout):
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(lambda j: run_one(j, timeout), all_jobs))


# ---------------------------------------------------------------- report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rrtf", default=os.environ.get("RRTF", "rrtf"),
                    help="rrtf binary (default: $RRTF, else `rrtf` on PATH)")
    ap.add_argument("--direct", action="store_true",
                    help="run the toolchains directly instead of rrtf's executor")
    ap.add_argument("--only", choices=[l for l, _ in LANGS], action="append",
                    help="check these languages only (repeatable)")
    ap.add_argument("--workers", type=int, default=2, help="--direct: parallel runs")
    ap.add_argument("--timeout", type=float, default=20, help="--direct: seconds per run")
    ap.add_argument("--keep", help="rrtf: keep samples.jsonl and results.jsonl in this directory")
    ap.add_argument("rrtf_args", nargs="*", help="after --: more `rrtf exec run` arguments")
    a = ap.parse_args()

    rows, wrong = load()
    errors = shape_errors(rows, wrong)
    for e in errors:
        print("shape:", e)
    print(f"shape: {'ok' if not errors else f'{len(errors)} problems'} "
          f"({sum(len(r) for r in rows.values())} rows, {len(wrong)} wrong completions)")
    all_jobs = jobs(rows, wrong)
    if a.only:
        all_jobs = [j for j in all_jobs if j[0] in a.only]
    if a.direct:
        print(f"running {len(all_jobs)} programs with the toolchains directly", flush=True)
        results = run_direct(all_jobs, a.workers, a.timeout)
    else:
        results = run_rrtf(all_jobs, a.rrtf, a.rrtf_args, a.keep)

    by_row = {}
    counts = {}
    bad = []
    for job, (passed, outcome, detail) in zip(all_jobs, results):
        lang, tid, kind, should = job[:4]
        ok = passed == should
        by_row.setdefault(tid, {})[kind] = (passed, outcome, ok)
        c = counts.setdefault((lang, kind), [0, 0])
        c[0 if passed else 1] += 1
        if not ok:
            bad.append((tid, kind, outcome, detail))
    for lang, _ in LANGS:
        for r in rows[lang]:
            tid = r["task_id"]
            if tid not in by_row:
                continue
            cells = []
            for kind, _, _, should in KINDS:
                passed, outcome, ok = by_row[tid][kind]
                cells.append(f"{kind}={'pass' if passed else 'FAIL'}"
                             f"{'' if passed else '(' + outcome + ')'}{'' if ok else ' !!'}")
            name = rows["python"][int(tid.split("/")[1])]["entry_point"]
            print(f"{tid:14} {'  '.join(cells):60} {name}")
    print()
    print(f"{'language':11} {'canonical test':>16} {'canonical example':>18} {'wrong test':>14}")
    for lang, _ in LANGS:
        if (lang, "canonical") not in counts:
            continue
        cells = []
        for kind, _, _, _ in KINDS:
            p, f = counts[(lang, kind)]
            cells.append(f"{p} pass {f} fail")
        print(f"{lang:11} {cells[0]:>16} {cells[1]:>18} {cells[2]:>14}")
    for tid, kind, outcome, detail in bad:
        print(f"NOT AS EXPECTED: {tid} {kind}: {outcome} {detail[:400]}")
    print("result:", "ok" if not bad and not errors else "FAILED")
    sys.exit(1 if bad or errors else 0)


if __name__ == "__main__":
    main()
