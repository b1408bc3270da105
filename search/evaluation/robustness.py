"""Robustness of a retrained model: test accuracy under shifts, rotations, noise and occlusion (no retraining).

Every perturbation is drawn from a fixed seed, so both families and every retraining seed are scored on the
same perturbed images: differences between families are the models', not the draws'. The perturbations are
plain numpy/scipy; only ``measure`` runs a model. The results never feed back into selection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy import ndimage

from bakeoff.search import layout
from bakeoff.search.engine.record import pack_correct
from bakeoff.search.files import write_json
from bakeoff.search.layout import ROBUSTNESS_FILE

#: The draws of every perturbation; the same for both families and every seed.
PERTURBATION_SEED = 1234
#: Version 2 keeps, per perturbation, which test images the model gets right at the strongest setting: the
#: report compares the families on the same images (version 1 kept accuracies only, and is measured again).
VERSION = 2
DIRECTIONS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def shift(x: np.ndarray, pixels: float, rng: np.random.Generator) -> np.ndarray:
    """Each image moved ``pixels`` along one of the 8 compass directions, drawn per image; the gap is black."""
    out = np.zeros_like(x)
    p = int(pixels)
    which = rng.integers(len(DIRECTIONS), size=len(x))
    for k, (dy, dx) in enumerate(DIRECTIONS):
        chosen = which == k
        out[chosen] = np.roll(x[chosen], (dy * p, dx * p), axis=(1, 2))
        if dy:  # clear what rolled round the edge
            out[chosen, (slice(None, p) if dy > 0 else slice(-p, None))] = 0
        if dx:
            out[chosen, :, (slice(None, p) if dx > 0 else slice(-p, None))] = 0
    return out


def rotate(x: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    """Each image rotated by ``degrees`` about its centre, clockwise or anticlockwise at random (bilinear)."""
    out = np.empty_like(x)
    sign = rng.choice((-1.0, 1.0), size=len(x))
    for s in (-1.0, 1.0):
        chosen = sign == s
        if chosen.any():
            out[chosen] = ndimage.rotate(x[chosen], s * degrees, axes=(1, 2), reshape=False, order=1, mode="constant", cval=0.0)
    return np.clip(out, 0.0, 1.0)


def noise(x: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of standard deviation ``std`` (pixels scale 0-1), clipped back to the pixel range."""
    return np.clip(x + rng.normal(0.0, std, size=x.shape).astype(x.dtype), 0.0, 1.0)


def occlude(x: np.ndarray, side: float, rng: np.random.Generator) -> np.ndarray:
    """A black square of ``side`` pixels at a random place in each image (wholly inside it)."""
    out = x.copy()
    s = int(side)
    height, width = x.shape[1:3]
    tops = rng.integers(0, height - s + 1, size=len(x))
    lefts = rng.integers(0, width - s + 1, size=len(x))
    rows = tops[:, None] + np.arange(s)[None, :]
    cols = lefts[:, None] + np.arange(s)[None, :]
    out[np.arange(len(x))[:, None, None], rows[:, :, None], cols[:, None, :]] = 0
    return out


Perturbation = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
#: name: (function, strengths, unit). Strengths grow; the last is the one the report's sentence quotes.
PERTURBATIONS: dict[str, tuple[Perturbation, tuple[float, ...], str]] = {
    "shift": (shift, (1, 2, 3, 4), "px"),
    "rotation": (rotate, (5, 10, 20, 30), "°"),
    "noise": (noise, (0.1, 0.2, 0.3, 0.5), "σ"),
    "occlusion": (occlude, (4, 8, 12, 16), "px square"),
}


def perturbed(x: np.ndarray, kind: str, strength: float) -> np.ndarray:
    """``x`` under one perturbation, drawn from a generator seeded by the perturbation alone."""
    function, strengths, _ = PERTURBATIONS[kind]
    rng = np.random.default_rng([PERTURBATION_SEED, list(PERTURBATIONS).index(kind), strengths.index(strength)])
    return function(x, strength, rng)


def measure(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Accuracy of ``predict`` (images -> class probabilities) on clean and on every perturbed test set, and
    which images it gets right at each perturbation's strongest setting."""
    def correct(images: np.ndarray) -> np.ndarray:
        return predict(images).argmax(axis=1) == y

    def accuracy(right: np.ndarray) -> float:
        return round(float(right.mean()), 6)

    kinds = {}
    for kind, (_, strengths, unit) in PERTURBATIONS.items():
        fitting = [s for s in strengths if kind != "occlusion" or s < min(x.shape[1:3])]  # a square inside the image
        right = [correct(perturbed(x, kind, s)) for s in fitting]
        kinds[kind] = {"unit": unit, "strengths": fitting, "accuracy": [accuracy(r) for r in right], "strongest_correct": pack_correct(right[-1])}
    return {"version": VERSION, "perturbation_seed": PERTURBATION_SEED, "clean": accuracy(correct(x)), "kinds": kinds}


def analyse_seed(folder: Path, x_test: np.ndarray, y_test: np.ndarray, log=print) -> bool:
    """Write ``robustness.json`` next to a retrained model, unless this version is there already; True if it ran now."""
    target = folder / ROBUSTNESS_FILE
    if _version(target) == VERSION or not (folder / layout.MODEL_FILE).exists():
        return False
    from bakeoff.search.train.backend import import_keras
    from bakeoff.search.train.fit import release_models

    keras = import_keras()
    model = keras.models.load_model(folder / layout.MODEL_FILE, compile=False)
    found = measure(lambda images: np.asarray(model.predict(images, batch_size=512, verbose=0)), x_test, y_test)
    write_json(target, found)
    release_models()
    strongest = {k: v["accuracy"][-1] for k, v in found["kinds"].items()}
    log(f"{folder}: robustness clean {found['clean']:.4f}, strongest " + ", ".join(f"{k} {a:.4f}" for k, a in strongest.items()))
    return True


def _version(path: Path) -> int | None:
    try:
        return json.loads(path.read_text()).get("version", 1)
    except (OSError, ValueError):
        return None
