"""A few hundred real MNIST images in the Keras layout: small enough for real training in tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_small_mnist(source: Path | str, target: Path, n_train: int = 600, n_test: int = 200) -> Path:
    rng = np.random.default_rng(0)
    with np.load(source) as npz:
        train = rng.choice(len(npz["y_train"]), n_train, replace=False)
        test = rng.choice(len(npz["y_test"]), n_test, replace=False)
        arrays = {"x_train": npz["x_train"][train], "y_train": npz["y_train"][train],
                  "x_test": npz["x_test"][test], "y_test": npz["y_test"][test]}
    np.savez(target, **arrays)
    return target
