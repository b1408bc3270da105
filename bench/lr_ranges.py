"""Where each optimiser learns: validation accuracy over a learning-rate grid, per family and optimiser.

The default space draws one learning rate from 1e-4 to 3e-2 for every optimiser, and searches found SGD below
about 0.005 not learning within a few epochs (issue 26: 18 of 21 finished CNN trials with SGD under 50 %
validation). This measures it like for like: the seed notebook's ANN and CNN (batch 128, constant rate, no
augmentation), 10,000 stratified MNIST training images and the validation split, 3 epochs, seed 0, for SGD
(Nesterov momentum 0.9), Adam and AdamW (weight decay 1e-4) at each rate of the grid. The baseline in the same run
is each optimiser's best rate; the table marks the rates whose final validation accuracy is within 2 points of it.

    python bench/lr_ranges.py [--epochs 3] [--subset 10000]
"""

from __future__ import annotations

import argparse
import time

from bakeoff.search.data import load_dataset
from bakeoff.spaces import BASELINES

from common import mnist_path, record, train_like_a_trial

GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
OPTIMISERS = {"sgd": {"momentum": 0.9}, "adam": {}, "adamw": {"weight_decay": 1e-4}}
LEARNS_WITHIN = 0.02


def table(rows: list[dict]) -> str:
    """Per family and optimiser: final validation accuracy (%) at each rate, and the rates within 2 points of its best."""
    lines = ["| family | optimiser | " + " | ".join(f"{rate:g}" for rate in GRID) + " | near its best (within 2 pp) |",
             "| --- | --- | " + " | ".join("---" for _ in GRID) + " | --- |"]
    for family in ("ann", "cnn"):
        for optimiser in OPTIMISERS:
            mine = {r["learning_rate"]: r["val_accuracy"] for r in rows if r["family"] == family and r["optimizer"] == optimiser}
            if not mine:
                continue
            best = max(mine.values())
            good = [rate for rate in GRID if rate in mine and mine[rate] >= best - LEARNS_WITHIN]
            cells = " | ".join(f"{100 * mine[rate]:.1f}" if rate in mine else "" for rate in GRID)
            lines.append(f"| {family.upper()} | {optimiser} | {cells} | {min(good):g} to {max(good):g} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=10000)
    args = parser.parse_args()
    data = load_dataset(mnist_path(), subset=args.subset, seed=0)
    rows = []
    for family in ("ann", "cnn"):
        for optimiser, extra in OPTIMISERS.items():
            for rate in GRID:
                config = {**BASELINES[family], "batch_size": 128, "schedule": "constant", "augment": False,
                          "optimizer": optimiser, "learning_rate": rate, **extra}
                started = time.perf_counter()
                _, result = train_like_a_trial(family, config, data, args.epochs)
                curve = result.history["val_accuracy"]
                rows.append({"family": family, "optimizer": optimiser, "learning_rate": rate, "val_accuracy": round(curve[-1], 4),
                             "curve": [round(v, 4) for v in curve], "seconds": round(time.perf_counter() - started, 1)})
                print(rows[-1], flush=True)
    print(table(rows))
    record("lr_ranges", {"epochs": args.epochs, "subset": args.subset, "grid": list(GRID), "rows": rows})


if __name__ == "__main__":
    main()
