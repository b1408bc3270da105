"""Candidate queued starts for a family, trained as a trial would be, on the search's own split.

A queued start (``spaces.families.STARTS``) is the first thing a short search spends its budget on, so a
candidate must earn its place on validation accuracy per second of training, never on test data. Each
candidate trains with bakeoff's trial settings (``default_speed``) for the default epochs on the default
split of full MNIST (54,000 training images, 6,000 validation); the baseline in the same run is the first
candidate. Prints the validation curve, the best validation accuracy and seconds per epoch.

With ``--cap SECONDS`` each candidate trains as a search's first trial does under that per-trial cap: through the
search's objective, its epochs fitted to the cap (a short search's starts: ``bakeoff run --timeout 15m`` gives
each trial 112 s on 2 cores). Results go to ``starts_FAMILY-capS.json``.

    python bench/starts.py [--family cnn] [--epochs 15] [--only two-blocks,recipe] [--cap 112]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bakeoff.search.data import load_dataset
from bakeoff.search.engine import record as trial_record
from bakeoff.spaces import BASELINES, RECIPES

from common import mnist_path, one_search_trial, record, train_like_a_trial

CANDIDATES = {
    "cnn": {
        # The textbook Conv 32-Pool-Conv 64-Pool-Dense 128, the recipe before this benchmark.
        "two-blocks": {**RECIPES["cnn"], "conv_blocks": 2, "filters": [32, 64], "batch_norm": True},
        # A third block at 7x7 adds multiply-adds where activations are small, so it costs less time per
        # FLOP than widening the 28x28 and 14x14 blocks. The recipe after this benchmark, with batch norm.
        "recipe": {**RECIPES["cnn"], "batch_norm": True},
        # Without batch normalisation a convnet trains in bf16 where the CPU has it: the recipe since.
        "recipe-no-bn": RECIPES["cnn"],
        "two-blocks-no-bn": {**RECIPES["cnn"], "conv_blocks": 2, "filters": [32, 64], "batch_norm": False},
        "seed notebook": BASELINES["cnn"],
    },
    "ann": {"recipe": RECIPES["ann"]},
}


def train(family: str, config: dict, data, epochs: int) -> dict:
    started = time.perf_counter()
    model, result = train_like_a_trial(family, config, data, epochs)
    curve = [round(v, 4) for v in result.history["val_accuracy"]]
    return {"config": config, "params": int(model.count_params()), "val_accuracy": curve, "best_val_accuracy": max(curve),
            "seconds_per_epoch": round(float(np.median(result.epoch_seconds[1:])), 1),
            "train_seconds": round(time.perf_counter() - started, 1)}


def train_capped(family: str, config: dict, data, epochs: int, cap: float) -> dict:
    trial, _ = one_search_trial(family, config, data, epochs, cap)
    curve = trial_record.val_curve(trial)
    return {"config": config, "val_accuracy": curve, "best_val_accuracy": max(curve or [0.0]),
            "outcome": trial_record.outcome_of(trial).value, "epochs_fitted": trial.user_attrs.get(trial_record.MAX_EPOCHS),
            "train_seconds": trial.user_attrs.get(trial_record.SECONDS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", choices=sorted(CANDIDATES), default="cnn")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--only", help="comma-separated candidate names (default: all)")
    parser.add_argument("--cap", type=float, help="train as a search trial under this per-trial cap in seconds")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(CANDIDATES[args.family])
    data = load_dataset(mnist_path(), val_fraction=0.1, seed=0)
    rows = {}
    for name in names:
        config = CANDIDATES[args.family][name]
        if args.cap:
            rows[name] = row = train_capped(args.family, config, data, args.epochs, args.cap)
        else:
            rows[name] = row = train(args.family, config, data, args.epochs)
        print(f"{name:8} best val {row['best_val_accuracy']:.4f}, {row['train_seconds']:.0f} s in all; "
              f"curve {row['val_accuracy']}", flush=True)
    first = rows[names[0]]
    for row in rows.values():
        row[f"time_vs_{names[0]}"] = round(row["train_seconds"] / first["train_seconds"], 2)
    record(f"starts_{args.family}" + (f"-cap{args.cap:.0f}" if args.cap else ""), {"family": args.family, "epochs": args.epochs, "train_images": len(data.x_train),
                                     "val_images": len(data.x_val), "cap_seconds": args.cap, "candidates": rows})


if __name__ == "__main__":
    main()
