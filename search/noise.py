"""How far apart two validation accuracies must be before the difference is more than noise.

Selection and retraining both compare accuracies measured on the same ``n`` validation images. The plain
binomial standard error collapses to 0 at 100 % and is unreliable on small sets (digits has 144 validation
images), so differences use the Agresti-Caffo interval: one success and one failure added to each side,
which never collapses and keeps its coverage on small samples.
"""

from __future__ import annotations

import math


def se_difference(p1: float, p2: float, n: int) -> float:
    """Standard error of ``p1 - p2``, two accuracies on ``n`` images each (Agresti-Caffo)."""
    n = max(1, int(n))
    a = (round(p1 * n) + 1) / (n + 2)
    b = (round(p2 * n) + 1) / (n + 2)
    return math.sqrt(a * (1 - a) / (n + 2) + b * (1 - b) / (n + 2))


def margin_in_se(p1: float, p2: float, n: int) -> float:
    """``p1 - p2`` in standard errors of the difference."""
    return (p1 - p2) / se_difference(p1, p2, n)


def retrain_epochs(val_accuracy: list[float], n_val: int) -> int:
    """The last epoch (from 1) whose validation accuracy is within one standard error of the difference
    from the curve's best: a later epoch that is no worse than the best beyond noise keeps the schedule."""
    best = max(val_accuracy)
    return max(
        epoch for epoch, value in enumerate(val_accuracy, start=1) if best - value <= se_difference(best, value, n_val)
    )
