#!/usr/bin/env python3
"""Choose each arm's learning rate (and, with --epochs, its epochs) on a development split, never on the benchmark (issue 18).

The development split is the pool's lines [n, 2n) (n = prompts_per_round): the prompts round 2
will sample, so neither the base (it never trains on the pool's first `holdout_pool_lines`) nor
any round-1 model has trained on them, and the benchmark is not touched. For every arm of a
finished round 1 (`rrtf experiment run ...` leaves `<out>/seed-<N>/r1/<arm>/` with the arm's
round.toml and its exported groups.jsonl), this retrains the arm from the same base on the same
groups at each learning rate of the grid (`rrtf train`, with the arm's own seed, so the rate the
experiment used reproduces its model), evaluates greedy pass@1 on the development split (`rrtf
eval`, the round's settings) and writes one JSON file with every figure and the choice: per arm,
the rate with the highest development pass@1 (ties go to the rate the experiment used, then to
the smaller). Nothing in the experiment's own directories is changed.

    python3 experiments/funcworld/tune.py \
        --round-dir experiments/funcworld/work/experiment/quick-seed19/seed-19/r1 \
        --out experiments/funcworld/work/tune-seed19 \
        --results experiments/funcworld/results/tune-quick-seed19.json

Run from the repository's root (the round configs' paths are relative to it). Resumable: a grid
point whose model and evaluation exist is not redone.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))

# The grid: three rates around the experiment's 1e-4 for the arms with a fine-tuning term; DPO,
# which collapses at 1e-4 (README "Results"), gets lower ones.
DEFAULT_GRID = [1e-4, 2e-4, 4e-4]
DPO_GRID = [1e-5, 3e-5, 1e-4]


def die(msg):
    print(f"tune.py: {msg}", file=sys.stderr)
    sys.exit(2)


def replace_one(text, key, value, path):
    pattern = re.compile(rf"^{re.escape(key)} = .*$", re.M)
    hits = pattern.findall(text)
    if len(hits) != 1:
        die(f"{path}: expected one `{key} = ...` line, found {len(hits)}")
    return pattern.sub(f"{key} = {value}", text)


def run(cmd, log):
    with open(log, "a") as f:
        f.write(f"==> {' '.join(cmd)} ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())})\n")
        f.flush()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=f, text=True)
    if out.returncode != 0:
        die(f"`{' '.join(cmd)}` failed (exit {out.returncode}); its stderr is in {log}")
    return out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--round-dir", required=True, help="a finished round 1: <out>/seed-<N>/r1")
    ap.add_argument("--out", required=True, help="where the retrained models and logs go")
    ap.add_argument("--results", required=True, help="the JSON file to write")
    ap.add_argument("--rrtf", default=os.environ.get("RRTF", "target/release/rrtf"))
    ap.add_argument("--pool", default=os.path.join(HERE, "data", "pool.jsonl"))
    ap.add_argument("--prompts-per-round", type=int, default=256)
    ap.add_argument("--arms", help="comma-separated; default: every arm of the round")
    ap.add_argument("--grid", help="comma-separated learning rates for every arm (default: "
                    f"{DEFAULT_GRID}, and {DPO_GRID} for objective dpo; `own`: the arm's own rate only)")
    ap.add_argument("--epochs", help="comma-separated epoch counts to try with every rate "
                    "(default: only the arm's own `epochs`)")
    a = ap.parse_args()

    if not os.path.exists(a.rrtf):
        die(f"no rrtf binary at {a.rrtf}: build it (`cargo build --release`) or pass --rrtf")
    sweep = os.path.join(a.round_dir, "sweep.json")
    if not os.path.exists(sweep):
        die(f"{sweep} does not exist: --round-dir must be a finished round 1 of "
            "`rrtf experiment run` (<out>/seed-<N>/r1)")
    with open(sweep) as f:
        sweep_doc = json.load(f)
    if sweep_doc.get("round") != 1:
        die(f"{sweep} is round {sweep_doc.get('round')}: the development split is round 2's "
            "prompts, so only round 1 can be tuned on it")
    arms = [v["id"] for v in sweep_doc["variants"]]
    if a.arms:
        want = a.arms.split(",")
        unknown = [x for x in want if x not in arms]
        if unknown:
            die(f"--arms {','.join(unknown)}: not an arm of {sweep} (it has {', '.join(arms)})")
        arms = want

    os.makedirs(a.out, exist_ok=True)
    n = a.prompts_per_round
    dev = os.path.join(a.out, "dev.jsonl")
    with open(a.pool) as f:
        lines = f.readlines()
    if len(lines) < 2 * n:
        die(f"{a.pool} has {len(lines)} lines; the development split needs lines [{n}, {2 * n})")
    keep = ("task_id", "prompt", "entry_point", "canonical_solution", "test")
    with open(dev, "w") as f:
        for line in lines[n:2 * n]:
            row = json.loads(line)
            f.write(json.dumps({k: row[k] for k in keep}) + "\n")
    # The round-1 prompts must not be in the development split (a check on --prompts-per-round).
    r1_prompts = os.path.join(a.round_dir, "prompts.jsonl")
    if os.path.exists(r1_prompts):
        with open(r1_prompts) as f:
            seen = {json.loads(l)["prompt"] for l in f if l.strip()}
        with open(dev) as f:
            shared = sum(1 for l in f if json.loads(l)["prompt"] in seen)
        if shared:
            die(f"{shared} development prompts are round-1 prompts: is --prompts-per-round {n} "
                "the profile's?")

    results = {"round_dir": a.round_dir, "dev": {"pool": os.path.relpath(a.pool),
               "lines": [n, 2 * n]}, "rrtf": a.rrtf, "arms": {}}
    # The base (the student every arm of round 1 trains from), on the same split.
    with open(os.path.join(a.round_dir, arms[0], "round.toml")) as f:
        first = tomllib.loads(f.read())
    base_model = first["training"]["base_model"]
    base_eval = os.path.join(a.out, "base-dev-eval.json")
    if not os.path.exists(base_eval):
        ev = json.loads(run([a.rrtf, "--db", os.path.join(a.out, "base.db"), "eval", "--json",
                             "--model", base_model, "--benchmark", dev, "--max-new-tokens",
                             str(first["evaluation"]["max_new_tokens"]), "--timeout",
                             str(first["execution"]["timeout_s"])],
                            os.path.join(a.out, "base-log.txt")))
        with open(base_eval, "w") as f:
            json.dump(ev, f)
    with open(base_eval) as f:
        results["base"] = {"model_dir": base_model,
                           "dev_pass@1": json.load(f)["pass_at_k"]["pass@1"]}
    print(f"{'base':16} dev pass@1 {results['base']['dev_pass@1']:.4f}", file=sys.stderr)
    for arm in arms:
        cfg_path = os.path.join(a.round_dir, arm, "round.toml")
        groups = os.path.join(a.round_dir, arm, "groups.jsonl")
        with open(cfg_path) as f:
            cfg = f.read()
        parsed = tomllib.loads(cfg)
        objective = parsed["training"]["objective"]
        used = float(parsed["training"]["learning_rate"])
        max_new = str(parsed["evaluation"]["max_new_tokens"])
        timeout = str(parsed["execution"]["timeout_s"])
        grid = ([used] if a.grid == "own"
                else [float(x) for x in a.grid.split(",")] if a.grid
                else DPO_GRID if objective == "dpo" else DEFAULT_GRID)
        used_epochs = int(parsed["training"]["epochs"])
        epoch_grid = [int(x) for x in a.epochs.split(",")] if a.epochs else [used_epochs]
        points = []
        for lr, epochs in [(lr, ep) for ep in epoch_grid for lr in grid]:
            # The directory of a point at the arm's own epochs keeps its old name (resumable).
            suffix = "" if epochs == used_epochs else f"-e{epochs}"
            d = os.path.join(a.out, f"{arm}-lr{lr:g}{suffix}")
            os.makedirs(d, exist_ok=True)
            log = os.path.join(d, "log.txt")
            ev_path = os.path.join(d, "dev-eval.json")
            model = os.path.join(d, "model")
            if not os.path.exists(ev_path):
                text = replace_one(cfg, "learning_rate", repr(lr), cfg_path)
                text = replace_one(text, "epochs", str(epochs), cfg_path)
                text = replace_one(text, "output_dir", json.dumps(model), cfg_path)
                conf = os.path.join(d, "round.toml")
                with open(conf, "w") as f:
                    f.write(text)
                db = os.path.join(d, "tune.db")
                t0 = time.time()
                train = json.loads(run([a.rrtf, "--db", db, "train", "--json", "--config", conf,
                                        "--input", groups], log))
                secs = time.time() - t0
                ev = json.loads(run([a.rrtf, "--db", db, "eval", "--json", "--model", model,
                                     "--benchmark", dev, "--max-new-tokens", max_new,
                                     "--timeout", timeout], log))
                with open(ev_path, "w") as f:
                    json.dump({"lr": lr, "epochs": epochs, "train": train, "eval": ev,
                               "train_seconds": secs}, f)
            with open(ev_path) as f:
                doc = json.load(f)
            p1 = doc["eval"]["pass_at_k"]["pass@1"]
            points.append({"lr": lr, "epochs": epochs, "dev_pass@1": p1, "model_dir": model,
                           "train_seconds": round(doc["train_seconds"], 1)})
            print(f"{arm:16} lr {lr:<8g} epochs {epochs:<3} dev pass@1 {p1:.4f}",
                  file=sys.stderr, flush=True)
        # Ties go to the experiment's own setting, then to fewer epochs and the smaller rate.
        best = max(points, key=lambda p: (p["dev_pass@1"],
                                          (p["lr"], p["epochs"]) == (used, used_epochs),
                                          -p["epochs"], -p["lr"]))
        results["arms"][arm] = {"objective": objective, "experiment_lr": used,
                                "experiment_epochs": used_epochs, "grid": points,
                                "chosen_lr": best["lr"], "chosen_epochs": best["epochs"],
                                "at_grid_edge": (best["lr"] in (min(grid), max(grid))
                                                 and len(grid) > 1 and best["lr"] != used)
                                or (best["epochs"] in (min(epoch_grid), max(epoch_grid))
                                    and len(epoch_grid) > 1 and best["epochs"] != used_epochs)}
    with open(a.results, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    for arm, r in results["arms"].items():
        print(f"{arm:16} chosen lr {r['chosen_lr']:g}, epochs {r['chosen_epochs']}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
