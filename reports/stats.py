"""The numbers behind the verdict: spread over seeds, the exact McNemar test, Pareto fronts."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import binomtest


def spread(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one value), min, max and count."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {"n": 0, "mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
    return {
        "n": int(array.size),
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
        "min": float(array.min()),
        "max": float(array.max()),
    }


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
