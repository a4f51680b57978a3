#!/usr/bin/env python3
"""Train TRL's DPOTrainer for one step on a dataset rrtf exported, read as it is (issue 19
item 6): the export is what TRL consumes, no conversion in between.

    rrtf export --format trl-chat --hf-dataset --out /tmp/ds      # or --format trl
    python3 scripts/trl_dpo_step.py /tmp/ds [--model DIR] [--rows N]

Needs torch, transformers, trl and datasets (pip). Without --model the policy is the tiny
GPTBigCode fixture the tests use (tests/fixtures/model/mqa: its config, seeded random weights,
its tokenizer.json) with its context widened to 2,048 positions so that whole code prompts fit
(the fixture's 128 would make TRL drop every row as fully truncated); a plain chat template
(`role: content` lines) serves the conversational format. Prints one JSON line: the rows used,
the step's loss and reward accuracy, and the versions.
"""

import argparse
import copy
import json
import math
import os
import tempfile

import datasets
import torch
import transformers
import trl
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "tests", "fixtures", "model", "mqa")
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", help="a directory `rrtf export --hf-dataset` wrote")
    ap.add_argument("--model", help="a causal LM directory with tokenizer.json (default: see above)")
    ap.add_argument("--rows", type=int, default=4, help="rows to train on (one step)")
    args = ap.parse_args()

    ds = datasets.load_dataset(args.dataset, split="train")
    ds = ds.select(range(min(args.rows, ds.num_rows)))
    ds = ds.remove_columns([c for c in ds.column_names if c not in ("prompt", "chosen", "rejected")])

    model_dir = args.model or FIXTURE
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"))
    if tok.pad_token is None:
        tok.pad_token = tok.convert_ids_to_tokens(0)
    if tok.eos_token is None:
        tok.eos_token = tok.convert_ids_to_tokens(0)
    tok.chat_template = TEMPLATE
    ref_model = None
    if args.model:
        model = AutoModelForCausalLM.from_pretrained(args.model)
    else:
        config = AutoConfig.from_pretrained(FIXTURE)
        config.n_positions = 2048
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config)
        # TRL reloads the reference policy from the config's path (the fixture's 128
        # positions) unless it is given one: the same weights.
        ref_model = copy.deepcopy(model)
    context = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings

    with tempfile.TemporaryDirectory() as out:
        cfg = DPOConfig(
            output_dir=out,
            max_steps=1,
            per_device_train_batch_size=min(args.rows, ds.num_rows),
            learning_rate=1e-4,
            logging_steps=1,
            report_to="none",
            max_length=context,
            use_cpu=True,
            save_strategy="no",
        )
        trainer = DPOTrainer(
            model=model, ref_model=ref_model, args=cfg, train_dataset=ds, processing_class=tok
        )
        trainer.train()
        logs = [h for h in trainer.state.log_history if "loss" in h]
    step = logs[-1]
    assert math.isfinite(step["loss"]), step
    print(
        json.dumps(
            {
                "rows": ds.num_rows,
                "steps": trainer.state.global_step,
                "loss": step["loss"],
                "rewards/accuracies": step.get("rewards/accuracies"),
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "trl": trl.__version__,
                "datasets": datasets.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
