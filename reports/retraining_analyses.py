"""Data efficiency and the shuffled-pixel control in the report: numbers over seeds and their sentences.

Plain data in: the result files of ``search/retraining_analyses.py`` (``collect.load_analyses``) and the main
retraining's runs, which give the 100 % point and the ordinary-image accuracies.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bakeoff.reports import stats
from bakeoff.reports.verdict import compare


def efficiency(analyses: list[dict[str, Any]], retrained: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Test accuracy by share of the training images, mean ± std over seeds; 100 % is the main retraining."""
    by_fraction: dict[float, list[float]] = {}
    for a in analyses:
        if a["kind"] == "efficiency":
            by_fraction.setdefault(a["fraction"], []).append(a["test_accuracy"])
    if not by_fraction:
        return None
    if retrained:
        by_fraction[1.0] = [r["test_accuracy"] for r in retrained]
    images = {a["fraction"]: a["train_images"] for a in analyses if a["kind"] == "efficiency"}
    return {"points": [{"fraction": f, "images": images.get(f), **stats.spread(v)} for f, v in sorted(by_fraction.items())]}


def efficiency_sentence(found: dict[str, dict[str, Any] | None]) -> str | None:
    have = {f: e for f, e in found.items() if e}
    if not have:
        return None
    smallest = min(p["fraction"] for e in have.values() for p in e["points"])
    parts = []
    for fraction in sorted({smallest, 1.0}):
        scores = [(f, next((p for p in e["points"] if p["fraction"] == fraction), None)) for f, e in have.items()]
        scores = [f"the {f.upper()} {100 * p['mean']:.2f} % ± {100 * p['std']:.2f}" for f, p in scores if p]
        if scores:
            share = "all of the training images" if fraction == 1.0 else f"{100 * fraction:g} % of the training images"
            parts.append(f"with {share}, {' and '.join(scores)}")
    return "Test accuracy (mean ± std over seeds) " + "; ".join(parts) + "."


def shuffled_runs(analyses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The shuffled-pixel results as retraining runs (seed, labels, predictions, accuracy) for the verdict's test."""
    return [
        {"seed": a["seed"], "test_accuracy": a["test_accuracy"], "labels": np.asarray(a["labels"]), "predictions": np.asarray(a["predictions"])}
        for a in analyses if a["kind"] == "shuffled"
    ]


def control(analyses: dict[str, list[dict[str, Any]]], retrained: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """Both families on shuffled pixels against ordinary images: accuracies, the exact McNemar verdict, the lead."""
    shuffled = {f: shuffled_runs(a) for f, a in analyses.items()}
    if not all(shuffled.get(f) for f in ("ann", "cnn")) or not all(retrained.get(f) for f in ("ann", "cnn")):
        return None
    rows = {f: {"shuffled": stats.spread([r["test_accuracy"] for r in shuffled[f]]),
                "ordinary": stats.spread([r["test_accuracy"] for r in retrained[f]])} for f in ("ann", "cnn")}
    verdict = compare(shuffled)
    ordinary = 100 * (rows["cnn"]["ordinary"]["mean"] - rows["ann"]["ordinary"]["mean"])
    permuted = 100 * (rows["cnn"]["shuffled"]["mean"] - rows["ann"]["shuffled"]["mean"])
    lead = (
        f"The CNN's lead (mean test accuracy, CNN minus ANN) is {ordinary:+.2f} pp on ordinary images and {permuted:+.2f} pp "
        f"on pixels shuffled by one fixed permutation: {_change(ordinary, permuted)}."
    )
    return {"rows": rows, "pairs": verdict["pairs"], "sentence": f"{lead} On shuffled pixels: {verdict['sentence']}"}


def _change(before: float, after: float) -> str:
    close = lambda a, b: math.isclose(a, b, abs_tol=1e-9)  # noqa: E731
    if close(before, after):
        return "unchanged"
    if close(after, 0.0):
        return "it vanishes"
    if close(before, 0.0):
        return "a lead appears where there was none"
    if (before > 0) != (after > 0):
        return "it reverses"
    return "it shrinks" if abs(after) < abs(before) else "it grows"


def progress(analyses: dict[str, list[dict[str, Any]]], retrained: dict[str, list[dict[str, Any]]]) -> str | None:
    """What the analyses that retrain have done and cost, against the main retraining's time; None before any ran."""
    done = {f: a for f, a in analyses.items() if a}
    if not done:
        return None
    parts = []
    for family, found in done.items():
        planned = max(a.get("planned", len(found)) for a in found)
        seconds = sum(a.get("seconds", 0.0) for a in found)
        main = sum(r.get("train_seconds", 0.0) for r in retrained.get(family, []))
        state = f"{len(found)} of {planned} retrainings done" + ("" if len(found) >= planned else " (re-run 'bakeoff analyse --analyses full' for the rest)")
        parts.append(f"{family.upper()}: {state}, {seconds:.0f} s of training against {main:.0f} s for the main retraining")
    return "Analyses that retrain: " + "; ".join(parts) + "."
