"""Keras backend for trials: TensorFlow (the default install) against JAX, same models, same data, same settings.

Keras picks its backend once per process (``KERAS_BACKEND``), so each measurement runs in a child process; the
two backends alternate in each repetition so machine noise hits both alike. Each child trains one model with
bakeoff's trial settings (``default_speed``: steps per execution, bf16 for convnets where the CPU has it, XLA
where it helps) and with plain settings, 3 epochs on 12,000 MNIST images, and reports the median images per
second of epochs 2-3. TensorFlow is the baseline measured in the same run. Needs ``jax`` installed
(``pip install jax``); without it the JAX rows are skipped with a note.

    python bench/backends.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

from bakeoff.spaces import RECIPES

from common import mnist_path, record
from trial_throughput import MODELS

ROWS = {
    "seed-ann": MODELS["seed-ann"],
    "recipe-ann": ("ann", RECIPES["ann"]),
    "seed-cnn": MODELS["seed-cnn"],
    "recipe-cnn": ("cnn", RECIPES["cnn"]),
}


def child(name: str) -> None:
    """Runs under one backend; prints one JSON line."""
    from bakeoff.search.data import load_dataset
    from bakeoff.search.speed import PLAIN, default_speed

    from trial_throughput import measure

    family, config = ROWS[name]
    data = load_dataset(mnist_path(), subset=13_334, val_fraction=0.1, seed=0)
    ours = measure(family, config, default_speed(family, config), data)
    plain = measure(family, config, PLAIN, data)
    print(json.dumps({"bakeoff_images_per_s": ours[0], "bakeoff_val_accuracy": ours[1],
                      "plain_images_per_s": plain[0], "plain_val_accuracy": plain[1]}))


def run_child(backend: str, name: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, __file__, "--child", name], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    backends = ["tensorflow"] + (["jax"] if importlib.util.find_spec("jax") else [])
    if "jax" not in backends:
        print("jax is not installed: measuring TensorFlow only (pip install jax)", flush=True)
    rows = []
    for name in ROWS:
        runs: dict[str, list[dict]] = {b: [] for b in backends}
        for _ in range(args.repeats):
            for backend in backends:
                runs[backend].append(run_child(backend, name))
        row = {"model": name, "batch_size": ROWS[name][1]["batch_size"], "augment": bool(ROWS[name][1].get("augment"))}
        for backend, results in runs.items():
            row[backend] = {key: round(float(np.median([r[key] for r in results])), 4 if "accuracy" in key else 0)
                            for key in results[0]}
        if "jax" in row:
            row["jax_over_tensorflow"] = round(row["jax"]["bakeoff_images_per_s"] / row["tensorflow"]["bakeoff_images_per_s"], 2)
        rows.append(row)
        print(name, json.dumps({k: v for k, v in row.items() if k != "model"}), flush=True)
    record("backends", {"backends": backends, "train_images": 12_000, "epochs": 3, "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()
