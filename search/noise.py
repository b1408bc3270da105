"""How far apart two validation accuracies must be before the difference is more than noise.

Selection and retraining both compare accuracies measured on the same ``n`` validation images, so the difference
is paired: only the images one model gets right and the other wrong carry information. The paired standard error
comes from those discordant counts with Agresti and Min's half an image added to each cell, which never collapses
to 0 (two models at 100 %, or digits' 144 validation images). Where a trial recorded no per-image results (the
KerasTuner engine, studies from older versions) the unpaired Agresti-Caffo error stands in: larger when the two
models share their mistakes, so it calls fewer differences real.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


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
