"""The trial's validation pass against Keras' own evaluation: bakeoff validates with ``predict_on_batch`` in
chunks (``search.train.fit.validation_pass``) because it needs which images a model gets right, not only how
many; this measures that it costs no more than ``model.evaluate``, which it replaced.

Per family and repetition: a fresh model of the recipe (fit on 1,024 real MNIST training images for one epoch,
so both functions meet a trained model), then the first and a later pass over the 6,000 validation images
of full MNIST by each way, alternating which goes first. Reported: median seconds per pass (first, which traces,
and later) and the ratio bakeoff / evaluate, each measured in the same run on this machine.

    python bench/validation_pass.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bakeoff.search.data import load_dataset
from bakeoff.search.train.fit import one_hot, release_models, validation_pass
from bakeoff.search.train.speed import tuned_model
from bakeoff.spaces import RECIPES

from common import mnist_path, record


def timed(family: str, way: str, data) -> list[float]:
    """Seconds of the first and the second pass of ``way`` on a fresh recipe model."""
    config = RECIPES[family]
    release_models()
    model = tuned_model(config, family, data.input_shape, data.num_classes, 100)
    model.fit(data.x_train[:1024], one_hot(data.y_train[:1024], data.num_classes), batch_size=config["batch_size"], epochs=1, verbose=0)
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        if way == "evaluate":
            model.evaluate(data.x_val, one_hot(data.y_val, data.num_classes), batch_size=config["batch_size"], verbose=0)
        else:
            validation_pass(model, data.x_val, data.y_val)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = load_dataset(mnist_path(), val_fraction=0.1, seed=0)
    rows = {}
    for family in ("ann", "cnn"):
        found = {"evaluate": [], "bakeoff": []}
        for repeat in range(args.repeats):
            for way in (("evaluate", "bakeoff") if repeat % 2 == 0 else ("bakeoff", "evaluate")):
                found[way].append(timed(family, way, data))
        medians = {way: [round(float(np.median([s[k] for s in runs])), 4) for k in (0, 1)] for way, runs in found.items()}
        rows[family] = {"first_pass_seconds": {w: m[0] for w, m in medians.items()}, "later_pass_seconds": {w: m[1] for w, m in medians.items()},
                        "ratio_first": round(medians["bakeoff"][0] / medians["evaluate"][0], 3),
                        "ratio_later": round(medians["bakeoff"][1] / medians["evaluate"][1], 3), "runs": found}
        print(f"{family}: first pass bakeoff {medians['bakeoff'][0]:.3f} s vs evaluate {medians['evaluate'][0]:.3f} s "
              f"({rows[family]['ratio_first']}x); later {medians['bakeoff'][1]:.3f} s vs {medians['evaluate'][1]:.3f} s "
              f"({rows[family]['ratio_later']}x), median of {args.repeats}", flush=True)
    record("validation_pass", {"validation_images": int(len(data.y_val)), "repeats": args.repeats, "families": rows})


if __name__ == "__main__":
    main()
