"""The project's statistics, in one place: how far apart two accuracies on the same images must be before the
difference is more than noise (selection and retraining), spread over seeds, the exact McNemar test, bootstrap
intervals of a difference between the families, how to print them, Pareto fronts.

Paired margins: selection and retraining compare accuracies measured on the same ``n`` validation images, so only
the images one model gets right and the other wrong carry information. The paired standard error comes from those
discordant counts with Agresti and Min's half an image added to each cell, which never collapses to 0 (two models
at 100 %, or digits' 144 validation images). Where a trial recorded no per-image results (the KerasTuner engine,
studies from older versions) the unpaired Agresti-Caffo error stands in.

Every comparative word in the report ("higher", "closer", "grows") rests on ``interval`` or McNemar: a difference
whose 95 % interval holds zero gets no direction, and the numbers printed beside a direction are printed with
enough digits to differ (``digits_apart``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import binomtest


def paired_se(a_only: int, b_only: int, n: int) -> float:
    """Standard error of ``p_a - p_b`` from the images right by A only and by B only, of ``n`` shared images."""
    n_adjusted = max(1, int(n)) + 2  # half an image added to each of the four cells
    b, c = a_only + 0.5, b_only + 0.5
    return math.sqrt(max(0.0, (b + c) - (b - c) ** 2 / n_adjusted)) / n_adjusted


def se_difference(p1: float, p2: float, n: int) -> float:
    """Unpaired standard error of ``p1 - p2``, two accuracies on ``n`` images each (Agresti-Caffo)."""
    n = max(1, int(n))
    a = (round(p1 * n) + 1) / (n + 2)
    b = (round(p2 * n) + 1) / (n + 2)
    return math.sqrt(a * (1 - a) / (n + 2) + b * (1 - b) / (n + 2))


def margin_in_se(p1: float, p2: float, n: int, correct1: Any = None, correct2: Any = None) -> float:
    """``p1 - p2`` in standard errors of the difference: paired when both per-image results are given."""
    if correct1 is not None and correct2 is not None and len(correct1) == len(correct2):
        a, b = np.asarray(correct1, dtype=bool), np.asarray(correct2, dtype=bool)
        return (p1 - p2) / paired_se(int(np.sum(a & ~b)), int(np.sum(b & ~a)), len(a))
    return (p1 - p2) / se_difference(p1, p2, n)


def retrain_epochs(val_accuracy: list[float], n_val: int, vs_best: list[list[int]] | None = None) -> int:
    """The last epoch (from 1) whose validation accuracy is within one standard error of the difference from the
    curve's best: a later epoch that is no worse than the best beyond noise keeps the schedule. ``vs_best`` (per
    epoch, images right at the best epoch only and at this epoch only) makes the comparison paired."""
    best = max(val_accuracy)
    paired = vs_best is not None and len(vs_best) == len(val_accuracy)

    def se(epoch: int, value: float) -> float:
        return paired_se(*vs_best[epoch - 1], n_val) if paired else se_difference(best, value, n_val)

    return max(epoch for epoch, value in enumerate(val_accuracy, start=1) if best - value <= se(epoch, value))


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, sample standard deviation, min, max and count. One value has no spread: its std is None (unknown),
    which is not a spread of 0."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {"n": 0, "mean": math.nan, "std": None, "min": math.nan, "max": math.nan}
    return {
        "n": int(array.size),
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if array.size > 1 else None,
        "min": float(array.min()),
        "max": float(array.max()),
    }


def mean_pm(s: dict, show: Callable[[float], str]) -> str:
    """"mean ± std" in ``show``'s format, or the mean and "one seed, no spread" when there is one value."""
    if s["std"] is None:
        return f"{show(s['mean'])} (one seed, no spread)"
    return f"{show(s['mean'])} ± {show(s['std'])}"


def format_p(p: float, alpha: float = 0.05) -> str:
    """A p-value in two significant digits, more where two would put it on the other side of ``alpha``
    (0.0498 is not "0.05", 0.0501 is not "0.05" either)."""
    for digits in range(2, 8):
        text = f"{p:.{digits}g}"
        if (float(text) < alpha) == (p < alpha) and not (float(text) == alpha and p != alpha):
            return text
    return repr(p)


def digits_apart(a: float, b: float, digits: int, most: int = 6) -> int:
    """The fewest decimals, from ``digits`` up, at which ``a`` and ``b`` print differently: numbers printed beside
    a direction must show it. Equal numbers (a tie of two trials on the same images) keep ``digits``."""
    for d in range(digits, most + 1):
        if f"{a:.{d}f}" != f"{b:.{d}f}":
            return d
    return digits


BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95

#: A model's statistic under bootstrap weights: (resamples x images) counts -> one value per resample.
Statistic = Callable[[np.ndarray], np.ndarray]


def accuracy_statistic(correct: np.ndarray) -> Statistic:
    c = np.asarray(correct, dtype=np.float32)
    return lambda weights: weights @ c / c.size


def confidence_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image: confidence (the top probability), 1.0 if right else 0.0, and its equal-width bin (bin k holds
    (k/bins, (k+1)/bins]); the one binning of the calibration error and of its bootstrap."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == np.asarray(labels)).astype(np.float64)
    return confidence, correct, np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)


def ece_statistic(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> Statistic:
    """Expected calibration error (as ``reports.calibration.calibration``) under bootstrap weights."""
    confidence, correct, index = confidence_bins(probabilities, labels, bins)
    gap = correct - confidence
    by_bin = np.zeros((len(gap), bins), dtype=np.float32)
    by_bin[np.arange(len(gap)), index] = gap
    return lambda weights: np.abs(weights @ by_bin).sum(axis=1) / len(gap)


def interval(groups: dict[str, list[Statistic]], combine: Callable[[dict[str, np.ndarray]], np.ndarray], n: int,
             observed: float, seed: int = 0) -> dict[str, float]:
    """A percentile bootstrap interval of ``combine`` over groups of models scored on the same ``n`` images.

    Each resample draws the images (the same draw for every model: the comparison stays paired) and, within
    each group, the seeds, so the interval holds both the test set's noise and the seeds' (with one seed, only
    the images'). ``combine`` turns each group's mean over its resampled seeds into the quantity of interest,
    e.g. the CNN's mean accuracy less the ANN's.
    """
    weights = _weights(n, seed)
    rng = np.random.default_rng([seed, 1])
    means = {}
    for name, models in groups.items():
        scores = np.stack([statistic(weights) for statistic in models])  # seeds x resamples
        chosen = rng.integers(len(models), size=(BOOTSTRAP_SAMPLES, len(models)))
        means[name] = scores[chosen, np.arange(BOOTSTRAP_SAMPLES)[:, None]].mean(axis=1)
    values = combine(means)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return {"difference": float(observed), "low": float(low), "high": float(high)}


@lru_cache(maxsize=2)
def _weights(n: int, seed: int) -> np.ndarray:
    """Bootstrap draws of ``n`` images as counts (resamples x images), drawn once per report."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=BOOTSTRAP_SAMPLES).astype(np.float32)


def sign(found: dict[str, float]) -> int:
    """+1 when the whole interval lies above zero, -1 when below, 0 when it holds zero (no direction)."""
    return 1 if found["low"] > 0 else -1 if found["high"] < 0 else 0


def pp_interval(found: dict[str, float]) -> str:
    """The interval in percentage points, for the sentence beside it."""
    return f"95 % interval {100 * found['low']:+.2f} to {100 * found['high']:+.2f} pp"


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
    """Exact (binomial) McNemar test on paired per-image correctness of two classifiers.

    Only discordant images carry information: ``b`` right by A only, ``c`` right by B only. Under the null
    hypothesis each is equally likely, so min(b, c) is Binomial(b + c, 1/2); the p-value is two-sided.
    """
    correct_a = np.asarray(correct_a, dtype=bool)
    correct_b = np.asarray(correct_b, dtype=bool)
    if correct_a.shape != correct_b.shape:
        raise ValueError("McNemar needs predictions on the same images")
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    p = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue)
    return {"a_only": b, "b_only": c, "p_value": min(1.0, p)}


def pareto_front(cost: Sequence[float], score: Sequence[float]) -> list[int]:
    """Indices of points no other point beats (lower or equal cost and higher or equal score, one strictly)."""
    order = sorted(range(len(cost)), key=lambda i: (cost[i], -score[i]))
    front, best = [], -math.inf
    for i in order:
        if score[i] > best:
            front.append(i)
            best = score[i]
    return front


def most_confused(confusion: np.ndarray, labels: Sequence[str], top: int = 5) -> list[dict[str, object]]:
    """The largest off-diagonal cells of a confusion matrix: (true, predicted, count)."""
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(off, axis=None)[::-1][:top]
    pairs = []
    for index in flat:
        true, pred = np.unravel_index(index, off.shape)
        if off[true, pred] > 0:
            pairs.append({"true": labels[true], "predicted": labels[pred], "count": int(off[true, pred])})
    return pairs
