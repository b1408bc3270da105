"""Where the two families disagree: test images one family gets right and the other wrong, both directions.

Models are paired by retraining seed, as in the verdict. Counts are given per pair; the per-class difference
in errors is the CNN's errors less the ANN's, per true class, mean over pairs (negative: the CNN errs less).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def disagreements(ann_runs: list[dict[str, Any]], cnn_runs: list[dict[str, Any]], num_classes: int) -> dict[str, Any] | None:
    """Per seed pair: images right by the ANN only and by the CNN only; per class: mean difference in errors."""
    ann = {r["seed"]: r for r in ann_runs}
    cnn = {r["seed"]: r for r in cnn_runs}
    common = [s for s in sorted(set(ann) & set(cnn)) if np.array_equal(ann[s]["labels"], cnn[s]["labels"])]
    if not common:
        return None
    pairs, class_difference = [], []
    for seed in common:
        labels = ann[seed]["labels"]
        ann_right = ann[seed]["predictions"] == labels
        cnn_right = cnn[seed]["predictions"] == labels
        pairs.append({
            "seed": seed,
            "ann_only": np.flatnonzero(ann_right & ~cnn_right).tolist(),
            "cnn_only": np.flatnonzero(cnn_right & ~ann_right).tolist(),
        })
        errors = [np.bincount(labels[~right], minlength=num_classes) for right in (ann_right, cnn_right)]
        class_difference.append(errors[1] - errors[0])
    return {"seeds": common, "pairs": pairs, "class_difference": np.mean(class_difference, axis=0).tolist()}
