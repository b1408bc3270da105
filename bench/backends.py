"""Keras backends for trials: TensorFlow, JAX and PyTorch on this machine, each lever measured per backend.

Keras picks its backend once per process (``KERAS_BACKEND``), so each (backend, model) runs in a child process
that trains the same model on the same data with several compile settings: ``plain`` (Keras' defaults: one step
per call, the backend's own jit default, float32), then one lever changed at a time: ``spe32`` (32 steps per
call), ``bf16`` (mixed bfloat16, convnets, only where the CPU computes bf16 natively), ``jit`` (XLA for
TensorFlow, ``torch.compile`` for PyTorch; JAX always jits) and ``bakeoff`` (what ``search.train.speed.default_speed``
gives on that backend; on a GPU also mixed bfloat16 and float16 for every model, and the rows name the GPU).
Speed is the median images per second of the epochs after the first; the first epoch's
extra seconds (tracing and compiling) are reported apart. From them: seconds per epoch and trials per hour of a
15-epoch trial on the 54,000 training images of full MNIST (15 steady epochs plus the first-epoch extra). The
backends alternate in each repetition so machine noise hits them alike. A backend not installed is skipped with
a note; a setting that fails records its error.

    python bench/backends.py [--repeats 1] [--train 6000] [--epochs 3] [--only seed-ann,recipe-cnn]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

from bakeoff.spaces import BASELINES, RECIPES

from common import mnist_path, record

ROWS = {
    "seed-ann": ("ann", BASELINES["ann"]),
    "recipe-ann": ("ann", RECIPES["ann"]),
    "seed-cnn": ("cnn", BASELINES["cnn"]),
    "recipe-cnn": ("cnn", RECIPES["cnn"]),
}
BACKENDS = ("tensorflow", "jax", "torch")
FULL_TRAIN, TRIAL_EPOCHS = 54_000, 15


def settings(backend: str, family: str, config: dict, gpu: bool) -> dict:
    from bakeoff.search.train.settings import PLAIN
    from bakeoff.search.train.speed import cpu_has_bf16, default_speed

    chosen = {"plain": PLAIN, "spe32": dataclasses.replace(PLAIN, steps_per_execution=32)}
    if gpu or (family == "cnn" and cpu_has_bf16() and not config.get("batch_norm")):
        chosen["bf16"] = dataclasses.replace(PLAIN, bf16=True)
    if gpu:
        chosen["float16"] = dataclasses.replace(PLAIN, float16=True)
    if backend in ("tensorflow", "torch") and family == "ann" and not config.get("augment"):
        chosen["jit"] = dataclasses.replace(PLAIN, jit_compile=True)
    chosen["bakeoff"] = default_speed(family, config)
    return chosen


def child(name: str, train: int, epochs: int) -> None:
    """Runs under one backend; prints one JSON line: per setting, steady images/s, first-epoch extra, accuracy."""
    from bakeoff.search.data import load_dataset
    from bakeoff.search.train.backend import gpu_name, import_keras, trains_on_gpu

    from common import train_like_a_trial

    keras = import_keras()
    gpu = trains_on_gpu()
    family, config = ROWS[name]
    data = load_dataset(mnist_path(), subset=round(train / 0.9), val_fraction=0.1, seed=0)
    found = {}
    found["device"] = f"GPU {gpu_name()}" if gpu else "CPU"
    for label, speed in settings(keras.backend.backend(), family, config, gpu).items():
        try:
            _, result = train_like_a_trial(family, config, data, epochs, speed)
        except Exception as exc:  # e.g. torch.compile without a working compiler: recorded, not fatal
            found[label] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
            continue
        steady = float(np.median(result.epoch_seconds[1:]))
        found[label] = {"speed": vars(speed), "images_per_s": len(data.x_train) / steady,
                        "first_epoch_extra_s": result.epoch_seconds[0] - steady,
                        "val_accuracy": result.history["val_accuracy"][-1]}
    print(json.dumps(found))


def run_child(backend: str, name: str, args) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend}
    argv = [sys.executable, __file__, "--child", name, "--train", str(args.train), "--epochs", str(args.epochs)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(results: list[dict]) -> dict:
    """Median over repetitions per setting, with the derived seconds per full-MNIST epoch and trials per hour."""
    if any("error" in r and len(r) == 1 for r in results):
        return next(r for r in results if "error" in r)
    row: dict = {"device": results[0].get("device")}
    for label in (key for key in results[0] if key != "device"):
        runs = [r[label] for r in results]
        if any("error" in run for run in runs):
            row[label] = next(run for run in runs if "error" in run)
            continue
        speed = float(np.median([run["images_per_s"] for run in runs]))
        extra = max(0.0, float(np.median([run["first_epoch_extra_s"] for run in runs])))
        epoch = FULL_TRAIN / speed
        row[label] = {"speed": runs[0]["speed"], "images_per_s": round(speed), "first_epoch_extra_s": round(extra, 2),
                      "seconds_per_full_epoch": round(epoch, 2), "trials_per_hour": round(3600 / (TRIAL_EPOCHS * epoch + extra), 1),
                      "val_accuracy": [round(run["val_accuracy"], 4) for run in runs]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--train", type=int, default=6000, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (the first is reported apart)")
    parser.add_argument("--only", help=f"comma-separated models (default: all of {', '.join(ROWS)})")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.train, args.epochs)
    backends = [b for b in args.backends if importlib.util.find_spec(b)]
    for missing in sorted(set(args.backends) - set(backends)):
        print(f"{missing} is not installed: its rows are skipped", flush=True)
    rows = []
    for name in args.only.split(",") if args.only else ROWS:
        runs: dict[str, list[dict]] = {b: [] for b in backends}
        for _ in range(args.repeats):
            for backend in backends:
                runs[backend].append(run_child(backend, name, args))
        row = {"model": name, "batch_size": ROWS[name][1]["batch_size"], "augment": bool(ROWS[name][1].get("augment")),
               **{backend: summarise(results) for backend, results in runs.items()}}
        base = row.get("tensorflow", {}).get("bakeoff", {}).get("images_per_s")
        for backend in backends:
            for label, found in row[backend].items():
                if isinstance(found, dict) and "images_per_s" in found and base:
                    found["over_tensorflow_bakeoff"] = round(found["images_per_s"] / base, 2)
        rows.append(row)
        print(name, json.dumps({k: v for k, v in row.items() if k != "model"}), flush=True)
    record("backends", {"backends": backends, "train_images": args.train, "epochs": args.epochs, "repeats": args.repeats,
                        "trial_for_trials_per_hour": f"{TRIAL_EPOCHS} epochs of {FULL_TRAIN} images", "rows": rows})


if __name__ == "__main__":
    main()
