"""The report's "Why" section: robustness, calibration and disagreements of the retrained models, each with a
figure and one sentence computed from its numbers. They explain the verdict and never feed back into selection.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bakeoff.reports import figures, retraining_analyses, robustness
from bakeoff.reports.calibration import calibration
from bakeoff.reports.collect import same_images
from bakeoff.reports.disagreements import disagreements
from bakeoff.search import stats

GALLERY_SIZE = 16


def why_section(retrained: dict[str, list[dict[str, Any]]], labels: list[str], analyses: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    runs = {f: r for f, r in retrained.items() if r}
    if not runs:
        return {}
    analyses, stale = retraining_analyses.current(analyses or {}, runs)
    section: dict[str, Any] = {"robustness": None, "disagreements": None, "efficiency": None, "control": None, "retraining_cost": None,
                               "stale_analyses": stale}
    curves = {f: retraining_analyses.efficiency(analyses.get(f, []), runs.get(f, [])) for f in retrained}
    if any(curves.values()):
        section["efficiency"] = {"sentence": retraining_analyses.efficiency_sentence(curves),
                                 "figure": figures.data_efficiency({f: c for f, c in curves.items() if c})}
    section["control"] = retraining_analyses.control(analyses, runs)
    section["retraining_cost"] = retraining_analyses.progress(analyses, runs)
    summaries = {f: robustness.summarise(r) for f, r in runs.items()}
    if any(summaries.values()):
        section["robustness"] = {
            "sentence": robustness.sentence(summaries),
            "figure": figures.robustness({f: s for f, s in summaries.items() if s}),
            "missing": [f for f, s in summaries.items() if not s],
        }
    calibrations = {f: [calibration(r["probabilities"], r["labels"]) for r in rs] for f, rs in runs.items()}
    pooled = {f: calibration(np.concatenate([r["probabilities"] for r in rs]), np.concatenate([r["labels"] for r in rs])) for f, rs in runs.items()}
    section["calibration"] = {
        "rows": {f: {"ece": stats.spread([c["ece"] for c in cs]), "nll": stats.spread([c["nll"] for c in cs])} for f, cs in calibrations.items()},
        "sentence": calibration_sentence(calibrations, runs),
        "figure": figures.reliability(pooled),
    }
    if set(runs) == {"ann", "cnn"}:
        found = disagreements(runs["ann"], runs["cnn"], len(labels))
        if found:
            section["disagreements"] = {
                **found,
                "sentence": disagreement_sentence(found, labels, runs),
                "figure": figures.class_difference(found["class_difference"], labels),
                "gallery": _gallery(runs, found, labels),
            }
    return section


def _spread_text(values: list[float], scale: float, digits: int, unit: str) -> str:
    return stats.mean_pm(stats.spread(values), lambda v: f"{scale * v:.{digits}f}{unit}")


def calibration_sentence(calibrations: dict[str, list[dict[str, Any]]], runs: dict[str, list[dict[str, Any]]]) -> str:
    """ECE and NLL per family; which family's confidence is the closer to its accuracy only where the bootstrap
    interval of the ECE difference (same test images, seeds resampled) excludes zero."""
    ece = {f: [c["ece"] for c in cs] for f, cs in calibrations.items()}
    nll = {f: [c["nll"] for c in cs] for f, cs in calibrations.items()}
    means = {f: float(np.mean(v)) for f, v in ece.items()}
    found = None
    if len(ece) == 2 and not math.isclose(means["ann"], means["cnn"], abs_tol=1e-12) and same_images([r for rs in runs.values() for r in rs]):
        bins = next(iter(calibrations.values()))[0]["bins"]
        groups = {f: [stats.ece_statistic(r["probabilities"], r["labels"], bins) for r in rs] for f, rs in runs.items()}
        found = stats.interval(groups, lambda m: m["cnn"] - m["ann"], len(runs["ann"][0]["labels"]), means["cnn"] - means["ann"])
    digits = 2 if found is None or stats.sign(found) == 0 else stats.digits_apart(100 * means["ann"], 100 * means["cnn"], 2)
    text = (
        f"Expected calibration error ({next(iter(calibrations.values()))[0]['bins']} bins, mean ± std over seeds): "
        + ", ".join(f"{f.upper()} {_spread_text(v, 100, digits, ' %')}" for f, v in ece.items())
        + "; negative log-likelihood: "
        + ", ".join(f"{f.upper()} {_spread_text(v, 1, 4, '')}" for f, v in nll.items())
        + ". "
        + direction_sentence(calibrations)
    )
    if len(ece) < 2:
        return text
    if math.isclose(means["ann"], means["cnn"], abs_tol=1e-12):
        return text + " Their mean calibration errors are equal."
    if found is None:
        return text + " The families were tested on different images, so their calibration errors are not compared."
    where = f"{stats.pp_interval(found)} for CNN − ANN over test images and seeds"
    if stats.sign(found) == 0:
        return text + f" Their mean calibration errors cannot be told apart ({where})."
    closer = "ANN" if stats.sign(found) > 0 else "CNN"
    return text + f" The {closer}'s confidence is the closer to its accuracy (lower mean ECE; {where})."


def direction_sentence(calibrations: dict[str, list[dict[str, Any]]]) -> str:
    """Which way each family's calibration error points: mean confidence (the top probability) against accuracy,
    means over seeds. Label smoothing, for one, makes a model under-confident, and an ECE alone does not say so."""
    parts = []
    for family, found in calibrations.items():
        confidence = float(np.mean([c["mean_confidence"] for c in found]))
        accuracy = float(np.mean([c["mean_accuracy"] for c in found]))
        if math.isclose(confidence, accuracy, abs_tol=1e-9):  # sums of floats: equal up to rounding is equal
            confidence = accuracy
        digits = stats.digits_apart(100 * confidence, 100 * accuracy, 2)
        way = ("under-confident" if confidence < accuracy else "over-confident" if confidence > accuracy
               else "as confident as it is accurate")
        parts.append(f"{family.upper()} {100 * confidence:.{digits}f} % against {100 * accuracy:.{digits}f} % ({way})")
    return "Mean confidence against accuracy: " + ", ".join(parts) + "."


def disagreement_sentence(found: dict[str, Any], labels: list[str], runs: dict[str, list[dict[str, Any]]]) -> str:
    """Counts of one-sided right answers per seed pair, and the largest per-class gap in errors with its
    direction only where the bootstrap interval over that class's test images (and seeds) excludes zero."""
    n = len(found["pairs"])
    cnn_only = [len(p["cnn_only"]) for p in found["pairs"]]
    ann_only = [len(p["ann_only"]) for p in found["pairs"]]
    if n == 1:
        text = f"In the one seed pair, the CNN gets {cnn_only[0]} test images right that the ANN gets wrong, and the ANN {ann_only[0]} that the CNN gets wrong."
    else:
        text = (
            f"Over {n} seed pairs (mean ± std), the CNN gets {_spread_text(cnn_only, 1, 1, '')} test images right that the ANN gets wrong, "
            f"and the ANN {_spread_text(ann_only, 1, 1, '')} that the CNN gets wrong."
        )
    difference = np.asarray(found["class_difference"])
    if not np.any(np.abs(difference) > 1e-12):
        return text + " Per class, both make the same number of errors."
    k = int(np.argmax(np.abs(difference)))
    fewer = "CNN" if difference[k] < 0 else "ANN"
    by_seed = {f: {r["seed"]: r for r in rs} for f, rs in runs.items()}
    mask = by_seed["ann"][found["seeds"][0]]["labels"] == k
    groups = {f: [stats.accuracy_statistic((by_seed[f][s]["predictions"] == by_seed[f][s]["labels"])[mask]) for s in found["seeds"]] for f in ("ann", "cnn")}
    count = int(mask.sum())
    interval = stats.interval(groups, lambda m: (m["ann"] - m["cnn"]) * count, count, float(difference[k]))  # CNN errors − ANN errors
    gap = f"{abs(difference[k]):.1f} fewer errors on average"
    where = f"95 % interval of CNN − ANN errors {interval['low']:+.1f} to {interval['high']:+.1f} over its test images and seeds"
    if stats.sign(interval) == 0:
        return text + f" The largest per-class gap, class {labels[k]} (the {fewer} {gap}), is inside the noise ({where})."
    fewer = "ANN" if stats.sign(interval) > 0 else "CNN"
    return text + f" The largest per-class gap is class {labels[k]}, where the {fewer} makes {gap} ({where})."


def _gallery(runs: dict[str, list[dict[str, Any]]], found: dict[str, Any], labels: list[str]) -> dict[str, str | None]:
    """Images of the first seed pair, both directions, from the stored mistakes of the family that got them wrong."""
    pair = found["pairs"][0]
    by_seed = {f: {r["seed"]: r for r in rs} for f, rs in runs.items()}
    shown = {}
    for right, wrong in (("cnn", "ann"), ("ann", "cnn")):
        mistakes = by_seed[wrong][pair["seed"]].get("mistakes", {})
        chosen = [i for i in pair[f"{right}_only"] if i in mistakes][:GALLERY_SIZE]
        if not chosen:
            shown[f"{right}_only"] = None
            continue
        images, true, predicted = zip(*(mistakes[i] for i in chosen))
        shown[f"{right}_only"] = figures.gallery(
            np.stack(images), [labels[t] for t in true], [labels[p] for p in predicted],
            f"right by the {right.upper()} only (true→{wrong.upper()}'s prediction)",
        )
    return shown
