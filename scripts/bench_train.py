#!/usr/bin/env python3
"""Benchmark our trainer against transformers + torch.optim.AdamW on the same config, in one run.

Both sides run the same training step on synthetic ranked groups of one shape (G groups of K
responses, each sequence prompt P + response R tokens, end-of-text counted in R; no padding):

    forward -> RRTF loss (PanGu-Coder2's: per-response mean log-prob p_i; hinge
               sum_{r_i > r_j} max(0, p_j - p_i) over every ordered pair, no score-gap factor,
               plus the token-sum cross-entropy of the best response; mean over groups)
               -> backward -> global-norm clipping (1.0)
               -> AdamW (lr 1e-5, betas 0.9/0.999, eps 1e-8, weight decay 0.01)

Ours is `rrtf train bench` (the real `Trainer`, crates/rrtf-train/src/bench.rs). Theirs is
`GPTBigCodeForCausalLM` (dropout off: our model has none) with the loss written as in
scripts/make_train_fixtures.py but batched, `clip_grad_norm_` and `torch.optim.AdamW`.
Throughput counts every token of the batch (G x K x (P + R)) over the timed steps, after the
warm-up steps. transformers computes logits at every position, as its `forward` does; with
--torch-response-logits it computes them at response positions only, as ours does (a stronger
reference than a plain transformers loop).

MFU = model FLOPs/s / measured matmul FLOP/s, model FLOPs per token = 6 N + 12 L T E (N: the
parameters that multiply activations, tied LM head included, embeddings lookups not; attention
without the causal discount), matmul FLOP/s = the best of three 2048^3 f32 products measured in
the same run by each side on its own library (burn flex/gemm for ours, torch/MKL for theirs).
Each side runs with 2 threads and with 1 thread (RAYON_NUM_THREADS / torch.set_num_threads; on a
busy 2-core machine torch's spinning OpenMP threads and rayon's barriers can both collapse) and
each side's faster run counts (--threads).

Without torch it says so and prints ours only.

The checkpoint is made here unless --model is given: a 4096-token tokenizer trained on the
HumanEval corpus with `rrtf tokenizer train`, then `rrtf model init --preset medium --vocab-size
49152` (n_embd 768, 6 layers, 12 heads, MQA, StarCoder's vocabulary size: 74.6M parameters).

Latest measurement (2026-11-22, quiet 2-core Xeon with AVX-512, release build, defaults, two
rounds): ours 472.1 / 439.4 tokens/s, PyTorch 353.4 / 396.8: 1.34x / 1.11x by round, 1.19x best
against best; per CPU second 250.8 vs 228.1 (1.10x); MFU 0.62 vs 0.50. PyTorch's figure moves
between runs on this shared machine (its best ranged 323-438 tokens/s over the day); README.md,
Benchmarks, has the history and where the time goes.

Usage: cargo build --release && /work/venv-torch/bin/python scripts/bench_train.py [--rrtf PATH]
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LR, BETAS, EPS, WD, CLIP = 1e-5, (0.9, 0.999), 1e-8, 0.01, 1.0


def ours(args, model_dir):
    best = None
    for threads in args.threads:
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
        out = subprocess.run(
            [args.rrtf, "--json", "train", "bench", "--model", str(model_dir), "--groups", str(args.groups),
             "--group-size", str(args.group_size), "--prompt-len", str(args.prompt_len),
             "--response-len", str(args.response_len), "--steps", str(args.steps), "--warmup", str(args.warmup),
             "--learning-rate", str(LR)],
            check=True, capture_output=True, text=True, env=env,
        )
        r = json.loads(out.stdout)
        r["threads"] = threads
        best = merge(best, reported("ours", r))
    return best


def scores(k):
    return [1.0 - 2.0 * i / max(k, 2) for i in range(k)]


def rrtf_loss(torch, model, ids, response_logits, G, K, P):
    """Mean over groups of L_rank + L_ft; ids [G*K, P+R], every row's response starts at P."""
    n, t = ids.shape
    mask = torch.zeros(n, t - 1)
    mask[:, P - 1:] = 1.0  # position j predicts token j + 1: the response tokens
    targets = ids[:, 1:]
    if response_logits:
        hidden = model.transformer(ids).last_hidden_state[:, P - 1:-1]  # [n, R, E]
        logits = model.lm_head(hidden)
        lp = torch.log_softmax(logits, -1).gather(-1, targets[:, P - 1:, None])[..., 0]
        seq = lp.sum(1)
    else:
        logits = model(ids).logits[:, :-1]
        lp = torch.log_softmax(logits, -1).gather(-1, targets[..., None])[..., 0] * mask
        seq = lp.sum(1)
    lens = mask.sum(1)
    p = (seq / lens).view(G, K)
    s = torch.tensor(scores(K)).expand(G, K)
    gap = s[:, :, None] - s[:, None, :]  # [g, i, j] = r_i - r_j
    hinge = torch.relu(p[:, None, :] - p[:, :, None])  # p_j - p_i
    rank = torch.where(gap > 0, hinge, torch.zeros(())).sum((1, 2))  # the paper: no gap factor
    best = torch.argmax(s, dim=1)  # first of the highest scores
    sft = -seq.view(G, K).gather(1, best[:, None])[:, 0]
    return (rank + sft).mean()


def time_torch(args, torch, GPTBigCodeForCausalLM, model_dir, threads, response_logits):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPTBigCodeForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, attn_pdrop=0.0, resid_pdrop=0.0, embd_pdrop=0.0).train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WD)
    G, K, P, R = args.groups, args.group_size, args.prompt_len, args.response_len
    vocab, eos = model.config.vocab_size, model.config.eos_token_id or 0
    ids = torch.randint(1, vocab, (G * K, P + R))
    ids[:, :P] = ids[::K, :P].repeat_interleave(K, 0)  # a group shares its prompt
    ids[:, -1] = eos
    times = []
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            cpu = time.process_time()
        start = time.perf_counter()
        loss = rrtf_loss(torch, model, ids, response_logits, G, K, P)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        opt.zero_grad(set_to_none=True)
        float(loss.detach())
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    a = torch.randn(2048, 2048)  # after the loop: process_time above is the steps' only
    b = torch.randn(2048, 2048)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(3))
    cpu = time.process_time() - cpu
    tokens = G * K * (P + R)
    return {"tokens_per_s": tokens * len(times) / sum(times), "step_seconds": times,
            "tokens_per_cpu_s": tokens * len(times) / cpu,
            "matmul_gflops": 2 * 2048 ** 3 / best / 1e9, "threads": threads}


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def theirs(args, model_dir):
    try:
        import torch
        from transformers import GPTBigCodeForCausalLM
    except ImportError as e:
        print(f"torch/transformers not available ({e}): printing ours only", file=sys.stderr)
        return None
    best = None
    for threads in args.threads:
        r = time_torch(args, torch, GPTBigCodeForCausalLM, model_dir, threads, args.torch_response_logits)
        best = merge(best, reported("torch", r))
    return best


def reported(side, r):
    """Print one run of a side (stderr) and seed its best-per-CPU-second figure for `merge`."""
    print(f"{side}, {r['threads']} thread(s): {r['tokens_per_s']:.1f} tokens/s, {r.get('tokens_per_cpu_s') or 0:.1f} per CPU-s "
          f"(steps {', '.join(f'{s:.2f}' for s in r['step_seconds'])} s), matmul {r['matmul_gflops']:.0f} GFLOP/s",
          file=sys.stderr)
    r["best_per_cpu_s"] = r.get("tokens_per_cpu_s") or 0.0
    return r


def merge(best, r):
    """The faster of two results by tokens/s, keeping the best per-CPU-second figure of both."""
    if best is None or r is None:
        return best or r
    cpu = max(best["best_per_cpu_s"], r["best_per_cpu_s"])
    out = dict(r if r["tokens_per_s"] > best["tokens_per_s"] else best)
    out["best_per_cpu_s"] = cpu
    return out


def make_model(args, tmp):
    corpus = tmp / "humaneval.py"
    with gzip.open(ROOT / "tests" / "data" / "HumanEval.jsonl.gz", "rt") as f:
        corpus.write_text("\n".join(json.loads(l)["prompt"] + json.loads(l)["canonical_solution"] for l in f))
    tok = tmp / "tokenizer.json"
    subprocess.run([args.rrtf, "tokenizer", "train", "--files", str(corpus), "--vocab-size", "4096", "--out", str(tok)],
                   check=True, capture_output=True)
    model_dir = tmp / "model"
    subprocess.run([args.rrtf, "model", "init", "--preset", args.preset, "--tokenizer", str(tok), "--out", str(model_dir),
                    "--seed", "1", "--vocab-size", str(args.vocab_size)], check=True, capture_output=True)
    return model_dir


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rrtf", default=str(ROOT / "target" / "release" / "rrtf"))
    ap.add_argument("--model", help="checkpoint directory (default: make one)")
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--vocab-size", type=int, default=49152)
    ap.add_argument("--groups", type=int, default=2)
    ap.add_argument("--group-size", type=int, default=4)
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--response-len", type=int, default=192)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", default="2,1", help="thread counts each side is run with; the best counts")
    ap.add_argument("--torch-response-logits", action="store_true",
                    help="torch computes logits at response positions only, as ours does")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of ours and theirs; each side's best counts")
    args = ap.parse_args()
    args.threads = [int(x) for x in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(args.model) if args.model else make_model(args, Path(tmp))
        c = json.loads((model_dir / "config.json").read_text())
        print(f"checkpoint: n_embd {c['n_embd']}, n_layer {c['n_layer']}, n_head {c['n_head']}, "
              f"multi_query {c.get('multi_query', True)}, vocab {c['vocab_size']}; a step: {args.groups} groups x "
              f"{args.group_size} responses x ({args.prompt_len} + {args.response_len}) tokens; "
              f"{args.steps} timed steps after {args.warmup} warm-up")
        a, b = None, None
        for r in range(args.rounds):
            # Alternate the sides so that a change of machine load hits both; each side's best counts.
            x = None if args.skip_ours else ours(args, model_dir)
            y = theirs(args, model_dir)
            a, b = merge(a, x), merge(b, y)
            if x is not None and y is not None:
                print(f"round {r + 1}/{args.rounds}: {x['tokens_per_s'] / y['tokens_per_s']:.2f}x tokens/s, "
                      f"{x['best_per_cpu_s'] / y['best_per_cpu_s']:.2f}x per CPU-s", file=sys.stderr)
    flops = None
    if a is not None:
        flops = a["model_flops_per_token"]
        print(f"ours: {a['parameters']} parameters, {flops / 1e6:.1f} MFLOP a token; steps "
              f"{', '.join(f'{s:.2f}' for s in a['step_seconds'])} s")
    label = "torch" + (" (response logits)" if args.torch_response_logits else "")
    print(f"{'':10} {'ours':>12} {label:>14} {'ours/theirs':>12}")
    if a is None:
        print(f"{'tokens/s':10} {'(skipped)':>12} {b['tokens_per_s']:>14.1f}")
        return
    if b is None:
        print(f"{'tokens/s':10} {a['tokens_per_s']:>12.1f} {'(no torch)':>14}")
        print(f"{'matmul':10} {a['matmul_gflops']:>12.1f} {'(no torch)':>14}   GFLOP/s")
        print(f"{'MFU':10} {a['mfu']:>12.3f} {'(no torch)':>14}")
        return
    mfu_b = flops * b["tokens_per_s"] / (b["matmul_gflops"] * 1e9)
    print(f"{'tokens/s':10} {a['tokens_per_s']:>12.1f} {b['tokens_per_s']:>14.1f} {a['tokens_per_s'] / b['tokens_per_s']:>11.2f}x")
    ca, cb = a["best_per_cpu_s"], b["best_per_cpu_s"]  # each side's best run by this measure
    if ca:
        print(f"{'tok/cpu-s':10} {ca:>12.1f} {cb:>14.1f} {ca / cb:>11.2f}x   (per CPU second granted, user + system; best run of each side)")
    print(f"{'matmul':10} {a['matmul_gflops']:>12.1f} {b['matmul_gflops']:>14.1f}   GFLOP/s (2048^3 f32; threads: ours {a['threads']}, torch {b['threads']})")
    print(f"{'MFU':10} {a['mfu']:>12.3f} {mfu_b:>14.3f}   (each against its own matmul rate)")


if __name__ == "__main__":
    main()
