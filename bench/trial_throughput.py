"""Training throughput of bakeoff's trials against plain fp32 ``model.fit`` on in-memory numpy arrays.

Same model, same batch size, same data (12,000 real MNIST training images, 1,200 for validation); only the
compilation differs: ``search.train.settings.PLAIN`` (Keras defaults, float32) versus ``default_speed`` (what trials
use). The two alternate in each repetition so machine noise hits both alike. Speed is the median images per
second of epochs 2-3 (epoch 1 includes tracing); validation accuracy after 3 epochs shows nothing is lost.
Where the CPU computes bfloat16 natively, convnets are also measured with bakeoff's settings but bf16 flipped,
which is how ``search/train/speed.py`` decides where mixed precision pays.

    python bench/trial_throughput.py [--repeats 3] [--only recipe-cnn,seed-cnn]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from bakeoff.search.data import load_dataset
from bakeoff.search.train.settings import PLAIN
from bakeoff.search.train.speed import cpu_has_bf16, default_speed
from bakeoff.spaces import BASELINES, RECIPES

from common import mnist_path, record, train_like_a_trial

MID_CNN = {**BASELINES["cnn"], "conv_blocks": 3, "filters": [32, 64, 128], "convs_per_block": 2, "head": "gap",
           "dense_units": 128, "batch_norm": True, "dropout": 0.2, "optimizer": "adamw", "weight_decay": 1e-4,
           "batch_size": 128}
AUGMENT = {"augment": True, "translate": 0.1, "rotate": 0.05, "zoom": 0.1}
MODELS = {"seed-ann": ("ann", BASELINES["ann"]), "seed-cnn": ("cnn", BASELINES["cnn"]), "mid-cnn": ("cnn", MID_CNN),
          "recipe-cnn": ("cnn", {**RECIPES["cnn"], "augment": False})}
EPOCHS = 3


def measure(family, config, speed, data) -> tuple[float, float]:
    _, result = train_like_a_trial(family, config, data, EPOCHS, speed)
    return len(data.x_train) / float(np.median(result.epoch_seconds[1:])), result.history["val_accuracy"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help=f"comma-separated models (default: all of {', '.join(MODELS)})")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(MODELS)
    data = load_dataset(mnist_path(), subset=13_334, val_fraction=0.1, seed=0)
    rows = []
    for name in names:
        family, base = MODELS[name]
        for augment in (False, True):
            config = {**base, **AUGMENT} if augment else base
            settings = {"plain": PLAIN, "bakeoff": default_speed(family, config)}
            if family == "cnn" and cpu_has_bf16():
                settings["bf16 flipped"] = dataclasses.replace(settings["bakeoff"], bf16=not settings["bakeoff"].bf16)
            runs = {key: [] for key in settings}
            for _ in range(args.repeats):
                for key, speed in settings.items():
                    runs[key].append(measure(family, config, speed, data))
            row = {"model": name, "augment": augment, "batch_size": config["batch_size"],
                   "batch_norm": bool(config.get("batch_norm")), "bakeoff_settings": vars(settings["bakeoff"])}
            for key, values in runs.items():
                label = key.replace(" ", "_")
                row[f"{label}_images_per_s"] = round(float(np.median([v[0] for v in values])))
                row[f"{label}_val_accuracy"] = [round(v[1], 4) for v in values]
            row["speedup"] = round(row["bakeoff_images_per_s"] / row["plain_images_per_s"], 2)
            flipped = ""
            if "bf16 flipped" in runs:
                row["bakeoff_vs_bf16_flipped"] = round(row["bakeoff_images_per_s"] / row["bf16_flipped_images_per_s"], 2)
                flipped = f", bf16 flipped {row['bf16_flipped_images_per_s']:>6} img/s ({row['bakeoff_vs_bf16_flipped']:.2f}x)"
            rows.append(row)
            print(f"{name:10} augment={str(augment):5} batch {config['batch_size']:>3}: plain {row['plain_images_per_s']:>6} img/s, "
                  f"bakeoff {row['bakeoff_images_per_s']:>6} img/s, ratio {row['speedup']:.2f}x{flipped}; val acc plain "
                  f"{np.mean(row['plain_val_accuracy']):.4f} vs bakeoff {np.mean(row['bakeoff_val_accuracy']):.4f}", flush=True)
    record("trial_throughput" if not args.only else f"trial_throughput-{'-'.join(names)}",
           {"cpu_has_bf16": cpu_has_bf16(), "epochs": EPOCHS, "train_images": len(data.x_train), "repeats": args.repeats,
            "rows": rows, "geometric_mean_speedup": round(float(np.exp(np.mean(np.log([r["speedup"] for r in rows])))), 2)})


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"took {time.time() - started:.0f}s")
