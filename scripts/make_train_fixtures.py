#!/usr/bin/env python3
"""Make the trainer's loss fixtures in tests/fixtures/train/ (run by hand; CI never needs torch).

An independent PyTorch implementation of the RRTF objective (/work/shared/RRTF.md, PanGu-Coder2
§3.4, which is RRHF's loss) on the tiny fixture checkpoints of tests/fixtures/model/ (made by
make_model_fixtures.py), in float64. Over a group's pairs P ((better, worse) response indices:
the line's "pairs" when it has them, else every (i, j) with r_i > r_j):

    p_i    = mean over response tokens (end-of-text appended) of log pi(y_i,t | x, y_i,<t)
    L_rank = sum over (i, j) in P of w_ij * max(0, p_j - p_i)
             w_ij = 1 (the paper) or |r_i - r_j| (rank_weighting = "gap"), divided by |P| when
             pair_reduction = "mean"
    L_ft   = -sum_t log pi(y_b,t | ...)  (divided by |y_b| when sft_normalize = "mean"),
             b = first index of the highest score
    L      = rank_weight * L_rank + sft_weight * L_ft

Each response is scored alone (no padding at all), so this also checks the Rust side's masks.
It also records, for the whole set as one batch (loss = mean over groups) under the paper's
objective ("rrtf"): the global L2 norm of the gradient, and the batch loss after one AdamW step
(PyTorch defaults, lr 1e-3, global clip_grad_norm_ 1.0), which pins the optimizer's settings
and the clipping.

DPO variants, per pair (i, j) in P, as TRL's DPOTrainer.dpo_loss defines them, with
h = (s_i - s_i^ref) - (s_j - s_j^ref):

    sigmoid: s = summed response log-probs; -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)
             (eps = label smoothing: conservative DPO)
    ipo:     s = length-normalised log-probs (TRL divides them for IPO); (h - 1/(2 beta))^2
    reward_i = beta * (s_i - s_i^ref)
    L        = rank_weight * (sum or mean over P) + sft_weight * L_ft

is recorded with each fixture model as the policy and the other one (same tokenizer) as the
frozen reference.

Writes groups.jsonl (the input of `rrtf train loss`: completion prompts, some with explicit
pairs) and expected.json.

Usage:
  /work/venv-torch/bin/python -c "import torch, transformers"   # or make that venv (see make_model_fixtures.py)
  /work/venv-torch/bin/python scripts/make_train_fixtures.py
"""

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import GPTBigCodeForCausalLM

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "fixtures" / "model"
OUT = ROOT / "tests" / "fixtures" / "train"
EOS = 0
GROUPS = [
    # Explicit pairs: the best against the worst only (ranking.pairs = "best-vs-worst").
    {"prompt": "def add(a, b):\n",
     "responses": ["    return a + b\n", "    return a - b\n", "    pass\n"],
     "scores": [1.0, -0.3, -1.0], "pairs": [[0, 2]]},
    {"prompt": "# Return the n-th Fibonacci number.\ndef fib(n):\n",
     "responses": ["    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n", "    return n\n"],
     "scores": [1.0, -0.6]},
    # A tie at the top (the first of them is the fine-tuning target) and a tie pair (no term).
    {"prompt": "x = ",
     "responses": ["[i * i for i in range(10)]", "list(map(lambda i: i * i, range(10)))",
                   "[i * i for i in range(10)]  # squares", "None"],
     "scores": [1.0, 1.0, 0.5, -1.0]},
    # One response: no pairs, fine-tuning only.
    {"prompt": "class Stack:\n    def push(self, x):\n",
     "responses": ["        self.items.append(x)\n"],
     "scores": [0.2]},
    # Best not first; explicit best-vs-each pairs.
    {"prompt": "for i in range(",
     "responses": ["10): print(i)", "n):\n    total += i\n", "len(xs)):\n    xs[i] = 0\n"],
     "scores": [-1.0, 1.0, 0.0], "pairs": [[1, 0], [1, 2]]},
]
for g in GROUPS:
    g["kind"] = "completion"  # code to continue: used verbatim by every template default

# Hinge variants: rank_weighting, pair_reduction, rank_weight, sft_weight, sft_normalize.
OBJECTIVES = {
    "rrtf": {"rank_weighting": "none", "pair_reduction": "sum", "rank_weight": 1.0, "sft_weight": 1.0, "sft_normalize": "sum"},
    "rrtf_gap": {"rank_weighting": "gap", "pair_reduction": "sum", "rank_weight": 1.0, "sft_weight": 1.0, "sft_normalize": "sum"},
    "rrhf_mean": {"rank_weighting": "none", "pair_reduction": "mean", "rank_weight": 2.0, "sft_weight": 0.5, "sft_normalize": "mean"},
}
DPO = {
    "dpo": {"beta": 0.5, "dpo_loss": "sigmoid", "label_smoothing": 0.0, "pair_reduction": "sum",
            "rank_weight": 1.0, "sft_weight": 0.3, "sft_normalize": "sum"},
    "cdpo": {"beta": 0.5, "dpo_loss": "sigmoid", "label_smoothing": 0.2, "pair_reduction": "sum",
             "rank_weight": 1.0, "sft_weight": 0.3, "sft_normalize": "mean"},
    "ipo": {"beta": 0.5, "dpo_loss": "ipo", "label_smoothing": 0.0, "pair_reduction": "mean",
            "rank_weight": 1.0, "sft_weight": 0.3, "sft_normalize": "mean"},
}
LR = 1e-3
CLIP = 1.0


def encode(tok, group):
    prompt = tok.encode(group["prompt"], add_special_tokens=False).ids
    return prompt, [tok.encode(r, add_special_tokens=False).ids + [EOS] for r in group["responses"]]


def token_logprobs(model, prompt, response):
    ids = torch.tensor([prompt + response])
    logits = model(ids).logits[0]
    lp = torch.log_softmax(logits[:-1], dim=-1).gather(1, ids[0, 1:, None])[:, 0]
    return lp[len(prompt) - 1:]


def pairs_of(group):
    r = group["scores"]
    if "pairs" in group:
        return [tuple(p) for p in group["pairs"]]
    return [(i, j) for i in range(len(r)) for j in range(len(r)) if r[i] > r[j]]


def best_of(r):
    return max(range(len(r)), key=lambda i: (r[i], -i))


def sft_term(sums, responses, r, normalize):
    b = best_of(r)
    return -sums[b] / (len(responses[b]) if normalize == "mean" else 1.0)


def group_loss(model, tok, group, o):
    prompt, responses = encode(tok, group)
    sums = [token_logprobs(model, prompt, r).sum() for r in responses]
    p = [s / len(r) for s, r in zip(sums, responses)]
    r = group["scores"]
    pairs = pairs_of(group)
    rank = torch.zeros((), dtype=torch.float64)
    for i, j in pairs:
        w = abs(r[i] - r[j]) if o["rank_weighting"] == "gap" else 1.0
        rank = rank + w * torch.clamp(p[j] - p[i], min=0.0)
    if o["pair_reduction"] == "mean" and pairs:
        rank = rank / len(pairs)
    sft = sft_term(sums, responses, r, o["sft_normalize"])
    return {"p": p, "rank_loss": rank, "sft_loss": sft, "loss": o["rank_weight"] * rank + o["sft_weight"] * sft}


def dpo_group_loss(model, reference, tok, group, d):
    prompt, responses = encode(tok, group)
    sums = [token_logprobs(model, prompt, r).sum() for r in responses]
    ref = [token_logprobs(reference, prompt, r).sum() for r in responses]
    if d["dpo_loss"] == "ipo":
        ratio = [(s - q) / len(y) for s, q, y in zip(sums, ref, responses)]
    else:
        ratio = [s - q for s, q in zip(sums, ref)]
    reward = [d["beta"] * x for x in ratio]
    r = group["scores"]
    pairs = pairs_of(group)
    term = torch.zeros((), dtype=torch.float64)
    for i, j in pairs:
        h = ratio[i] - ratio[j]
        if d["dpo_loss"] == "ipo":
            term = term + (h - 1 / (2 * d["beta"])) ** 2
        else:
            eps = d["label_smoothing"]
            logsig = torch.nn.functional.logsigmoid
            term = term - (1 - eps) * logsig(d["beta"] * h) - eps * logsig(-d["beta"] * h)
    if d["pair_reduction"] == "mean" and pairs:
        term = term / len(pairs)
    sft = sft_term(sums, responses, r, d["sft_normalize"])
    return {"reward": reward, "rank_loss": term, "sft_loss": sft,
            "loss": d["rank_weight"] * term + d["sft_weight"] * sft}


def batch_loss(model, tok, objective):
    return torch.stack([group_loss(model, tok, g, OBJECTIVES[objective])["loss"] for g in GROUPS]).mean()


def floats(row, key):
    return {k: ([float(x) for x in v] if k == key else float(v)) for k, v in row.items()}


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {"objectives": OBJECTIVES, "dpo": DPO, "lr": LR, "clip_norm": CLIP, "models": {}}
    for name, other in [("mqa", "mha"), ("mha", "mqa")]:
        d = MODELS / name
        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        model = GPTBigCodeForCausalLM.from_pretrained(d, dtype=torch.float32).double().eval()
        reference = GPTBigCodeForCausalLM.from_pretrained(MODELS / other, dtype=torch.float32).double().eval()
        with torch.no_grad():
            rows = {k: [floats(group_loss(model, tok, g, o), "p") for g in GROUPS] for k, o in OBJECTIVES.items()}
            dpo_rows = {k: [floats(dpo_group_loss(model, reference, tok, g, o), "reward") for g in GROUPS]
                        for k, o in DPO.items()}
        # Gradient norm and one AdamW step on the whole set as one batch (the paper's objective).
        loss = batch_loss(model, tok, "rrtf")
        loss.backward()
        params = [p for p in model.parameters() if p.grad is not None]
        grad_norm = float(torch.sqrt(sum((p.grad ** 2).sum() for p in params)))
        optim = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optim.step()
        with torch.no_grad():
            after = float(batch_loss(model, tok, "rrtf"))
        expected["models"][name] = {
            "groups": rows, "dpo_reference": other, "dpo": dpo_rows, "batch_loss": float(loss.detach()), "grad_norm": grad_norm, "loss_after_step": after,
        }
        print(f"{name}: batch loss {float(loss):.6f}, grad norm {grad_norm:.4f}, after one step {after:.6f}")
    with open(OUT / "groups.jsonl", "w") as f:
        for g in GROUPS:
            f.write(json.dumps(g, ensure_ascii=False) + "\n")
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
