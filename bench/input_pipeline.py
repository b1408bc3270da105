"""Keras' own pipeline for arrays against bakeoff's (``search.train.fit.training_batches``): seconds per epoch.

Given arrays, Keras builds an autotuned tf.data pipeline and a new iterator every epoch; dropping the old one
waits for its autotuning thread, which may be asleep for seconds. bakeoff passes a pipeline of its own without
autotuning. Per family: the recipe, a fresh model per fit (same seed), ``--epochs`` epochs on full MNIST's
54,000 training images, each way ``--repeats`` times, alternating which goes first. Reported: the seconds of the
whole fit (tracing included, what a trial waits for), the median and slowest epoch, the last epoch's training
loss (the pipelines shuffle differently, so losses agree only roughly), and the ratio Keras / bakeoff of the
fit's seconds, measured in the same run on this machine.

    python bench/input_pipeline.py [--epochs 5] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bakeoff.search.data import load_dataset
from bakeoff.search.train.backend import import_keras
from bakeoff.search.train.fit import fit_arrays, one_hot, release_models, steps_per_epoch
from bakeoff.search.train.speed import tuned_model
from bakeoff.spaces import RECIPES

from common import mnist_path, record

WAYS = ("keras", "bakeoff")


def timed(family: str, way: str, data, epochs: int) -> dict:
    """One fresh recipe model fitted for ``epochs`` by ``way``: the fit's seconds, each epoch's, the last loss."""
    keras = import_keras()
    config = RECIPES[family]
    release_models()
    keras.utils.set_random_seed(0)
    batch = config["batch_size"]
    model = tuned_model(config, family, data.input_shape, data.num_classes, steps_per_epoch(len(data.x_train), batch) * epochs)
    targets = one_hot(data.y_train, data.num_classes)
    seconds: list[float] = []

    class _Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.started)

    started = time.perf_counter()
    if way == "keras":
        history = model.fit(data.x_train, targets, batch_size=batch, epochs=epochs, shuffle=True, callbacks=[_Clock()], verbose=0)
    else:
        history = fit_arrays(model, data.x_train, targets, batch_size=batch, epochs=epochs, callbacks=[_Clock()], verbose=0)
    total = time.perf_counter() - started
    return {"fit_seconds": round(total, 3), "epoch_seconds": [round(s, 3) for s in seconds], "last_loss": round(float(history.history["loss"][-1]), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = load_dataset(mnist_path(), val_fraction=0.1, seed=0)
    rows = {}
    for family in ("ann", "cnn"):
        runs: dict[str, list[dict]] = {way: [] for way in WAYS}
        for repeat in range(args.repeats):
            for way in (WAYS if repeat % 2 == 0 else WAYS[::-1]):
                runs[way].append(timed(family, way, data, args.epochs))
                print(f"{family} {way}: {runs[way][-1]}", flush=True)
        fit = {way: float(np.median([r["fit_seconds"] for r in found])) for way, found in runs.items()}
        epochs = {way: [s for r in found for s in r["epoch_seconds"]] for way, found in runs.items()}
        rows[family] = {
            "fit_seconds_median": fit,
            "epoch_seconds_median": {way: round(float(np.median(e)), 3) for way, e in epochs.items()},
            "epoch_seconds_max": {way: round(max(e), 3) for way, e in epochs.items()},
            "ratio_keras_over_bakeoff": round(fit["keras"] / fit["bakeoff"], 3),
            "runs": runs,
        }
        print(f"{family}: fit of {args.epochs} epochs: Keras' pipeline {fit['keras']:.1f} s, bakeoff's {fit['bakeoff']:.1f} s "
              f"({rows[family]['ratio_keras_over_bakeoff']}x); slowest epoch {rows[family]['epoch_seconds_max']['keras']:.1f} s "
              f"against {rows[family]['epoch_seconds_max']['bakeoff']:.1f} s (median of {args.repeats})", flush=True)
    record("input_pipeline", {"train_images": int(len(data.y_train)), "epochs": args.epochs, "repeats": args.repeats, "families": rows})


if __name__ == "__main__":
    main()
