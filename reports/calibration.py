"""Calibration of a classifier's confidence: expected calibration error, negative log-likelihood, reliability bins.

A model that says 99 % should be right 99 % of the time. The expected calibration error (ECE) is the
image-weighted mean gap between confidence (the top probability) and accuracy over equal-width confidence bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bakeoff.search.stats import confidence_bins

BINS = 15
#: Probabilities are clipped here before the logarithm, so one confident mistake costs at most -log(1e-12).
NLL_FLOOR = 1e-12


def calibration(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> dict[str, Any]:
    """ECE over ``bins`` equal-width confidence bins, mean negative log-likelihood, and the bins themselves."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    confidence, correct, index = confidence_bins(probabilities, labels, bins)
    count = np.bincount(index, minlength=bins)
    confidence_sum = np.bincount(index, weights=confidence, minlength=bins)
    correct_sum = np.bincount(index, weights=correct, minlength=bins)
    used = count > 0
    true_probability = np.clip(probabilities[np.arange(len(labels)), labels], NLL_FLOOR, 1.0)
    return {
        "ece": float(np.abs(correct_sum - confidence_sum).sum() / len(labels)),
        "mean_confidence": float(confidence.mean()),
        "mean_accuracy": float(correct.mean()),
        "nll": float(-np.log(true_probability).mean()),
        "bins": bins,
        "count": count.tolist(),
        "confidence": np.where(used, confidence_sum / np.maximum(count, 1), np.nan).tolist(),
        "accuracy": np.where(used, correct_sum / np.maximum(count, 1), np.nan).tolist(),
    }
