#!/usr/bin/env bash
# The funcworld base student (issue 18): the tokenizer, a `small` model initialised from a
# seed, trained from scratch on data/corpus.jsonl by base.toml (objective = "sft"), then its
# greedy pass@1 on the 256 held-out benchmark problems with `rrtf eval`. Every step is skipped
# when its output exists; an interrupted training run resumes from its last checkpoint.
#
#   RRTF=target/debug/rrtf experiments/funcworld/make_base.sh
#
# Outputs go to experiments/funcworld/work/ (gitignored): tokenizer.json, base-init/, base/
# (HF layout, with metrics.jsonl and checkpoints/), base-eval.json (the `rrtf --json eval`
# report), base-eval.jsonl (one row per completion) and base-times.txt (wall seconds per step).
set -euo pipefail
cd "$(dirname "$0")/../.."
RRTF=${RRTF:-rrtf}
W=experiments/funcworld/work
D=experiments/funcworld/data
mkdir -p "$W"
# Keep runs out of any project database at the repository's root.
export RRTF_DB="$W/base.db"

timed() { # name, command...: run it and append its wall seconds to base-times.txt
    local name=$1 start end
    shift
    start=$(date +%s)
    "$@"
    end=$(date +%s)
    echo "$name $((end - start))" >>"$W/base-times.txt"
    echo "$name: $((end - start)) s" >&2
}

if [ ! -f "$W/tokenizer.json" ]; then
    timed tokenizer "$RRTF" tokenizer train --files "$D/tokenizer.txt" --vocab-size 1024 \
        --out "$W/tokenizer.json"
fi
if [ ! -f "$W/base-init/model.safetensors" ]; then
    timed init "$RRTF" model init --preset small --tokenizer "$W/tokenizer.json" \
        --out "$W/base-init" --seed 18
fi
if [ ! -f "$W/base/model.safetensors" ]; then
    resume=()
    last=$(ls -d "$W"/base/checkpoints/step-* 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$last" ]; then
        echo "resuming from $last" >&2
        resume=(--resume "$last")
    fi
    timed train "$RRTF" --json train --config experiments/funcworld/base.toml \
        --input "$D/corpus.jsonl" "${resume[@]}" >"$W/base-train.json"
fi
if [ ! -f "$W/base-eval.json" ]; then
    timed eval "$RRTF" --json eval --model "$W/base" --benchmark "$D/benchmark.jsonl" \
        --out "$W/base-eval.jsonl" >"$W/base-eval.json.tmp"
    mv "$W/base-eval.json.tmp" "$W/base-eval.json"
fi
python3 - "$W/base-eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({k: r[k] for k in r if k in ("problems", "pass_at_k", "outcomes")}, indent=1))
PY
