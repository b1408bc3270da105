"""Data efficiency and the shuffled-pixel control in the report: numbers over seeds and their sentences.

Plain data in: the result files of ``search/evaluation/analyses.py`` (``collect.load_analyses``) and the main
retraining's runs, which give the 100 % point and the ordinary-image accuracies. Only results made from the trial
(and data) the retrained models come from are drawn (``current``): after a search is extended and retraining
redone, older results are named as such, never mixed with the new models. A change in the CNN's lead is named
only where its bootstrap interval over test images and seeds excludes zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bakeoff.reports.collect import same_images
from bakeoff.reports.verdict import compare
from bakeoff.search import stats


def current(analyses: dict[str, list[dict[str, Any]]], retrained: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The analyses made from the retrained models' trial and data, by family, and a sentence per family whose
    folder also holds results of an earlier trial (or other data), which are left out."""
    kept: dict[str, list[dict[str, Any]]] = {}
    said = []
    for family, found in analyses.items():
        runs = retrained.get(family, [])
        trials = {r.get("trial") for r in runs}
        data = {r.get("data_sha256") for r in runs} - {None}
        mine = [a for a in found if a.get("trial") in trials and (not data or a.get("data_sha256", next(iter(data))) in data)]
        old = [a for a in found if a not in mine]
        kept[family] = mine
        if old and runs:
            made_from = ", ".join(f"#{t}" for t in sorted({a.get("trial") for a in old}, key=str))
            now = ", ".join(f"#{t}" for t in sorted(trials, key=str))
            said.append(
                f"{len(old)} {family.upper()} analysis result(s) come from trial {made_from} (or other data), not from trial {now} "
                "that the retrained models come from: they are left out. Run 'bakeoff analyse --analyses full' to redo them."
            )
    return kept, said


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
    steps = {a["fraction"]: a.get("steps") for a in analyses if a["kind"] == "efficiency"}
    steps[1.0] = next((a.get("full_steps") for a in analyses if a["kind"] == "efficiency"), None)
    return {"points": [{"fraction": f, "images": images.get(f), "steps": steps.get(f), **stats.spread(v)} for f, v in sorted(by_fraction.items())]}


def efficiency_sentence(found: dict[str, dict[str, Any] | None]) -> str | None:
    have = {f: e for f, e in found.items() if e}
    if not have:
        return None
    smallest = min(p["fraction"] for e in have.values() for p in e["points"])
    parts = []
    for fraction in sorted({smallest, 1.0}):
        scores = [(f, next((p for p in e["points"] if p["fraction"] == fraction), None)) for f, e in have.items()]
        shown = [f"the {f.upper()} {stats.mean_pm(p, lambda v: f'{100 * v:.2f} %')}{_steps(p)}" for f, p in scores if p]
        if shown:
            share = "all of the training images" if fraction == 1.0 else f"{100 * fraction:g} % of the training images"
            parts.append(f"with {share}, {' and '.join(shown)}")
    return ("Test accuracy (mean ± std over seeds) " + "; ".join(parts) + ". Every share trains the same epochs, so a smaller share "
            "also takes fewer optimisation steps: the curve shows what each configuration reaches on its schedule with less data, "
            "not how much data it needs when trained to the same number of steps.")


def _steps(point: dict[str, Any]) -> str:
    steps = point.get("steps")
    return f" after {steps:,} optimisation step{'s' if steps != 1 else ''}" if steps else ""


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
    ordinary = rows["cnn"]["ordinary"]["mean"] - rows["ann"]["ordinary"]["mean"]
    permuted = rows["cnn"]["shuffled"]["mean"] - rows["ann"]["shuffled"]["mean"]
    lead = _lead_sentence(ordinary, permuted, _lead_intervals(shuffled, retrained, ordinary, permuted))
    return {"rows": rows, "pairs": verdict["pairs"], "sentence": f"{lead} On shuffled pixels: {verdict['sentence']}"}


def _lead_intervals(shuffled, retrained, ordinary: float, permuted: float) -> dict[str, dict[str, float]] | None:
    """Bootstrap intervals of the CNN's lead on ordinary and on shuffled pixels and of its change (same test
    images everywhere, seeds resampled); None when the runs were not scored on the same images."""
    runs = [r for group in (shuffled, retrained) for f in ("ann", "cnn") for r in group[f]]
    if not same_images(runs):
        return None
    groups = {f"{f}_{name}": [stats.accuracy_statistic(r["predictions"] == r["labels"]) for r in group[f]]
              for name, group in (("ordinary", retrained), ("shuffled", shuffled)) for f in ("ann", "cnn")}
    n = len(runs[0]["labels"])
    return {
        "ordinary": stats.interval(groups, lambda m: m["cnn_ordinary"] - m["ann_ordinary"], n, ordinary),
        "shuffled": stats.interval(groups, lambda m: m["cnn_shuffled"] - m["ann_shuffled"], n, permuted),
        "change": stats.interval(groups, lambda m: (m["cnn_shuffled"] - m["ann_shuffled"]) - (m["cnn_ordinary"] - m["ann_ordinary"]), n, permuted - ordinary),
    }


def _lead_sentence(ordinary: float, permuted: float, intervals: dict[str, dict[str, float]] | None) -> str:
    change = intervals is not None and stats.sign(intervals["change"]) != 0
    d = stats.digits_apart(100 * ordinary, 100 * permuted, 2) if change else 2

    def pp(value: float, name: str) -> str:
        return f"{100 * value:+.{d}f} pp" + ("" if intervals is None else f" ({stats.pp_interval(intervals[name])})")

    text = (f"The CNN's lead (mean test accuracy, CNN minus ANN) is {pp(ordinary, 'ordinary')} on ordinary images and "
            f"{pp(permuted, 'shuffled')} on pixels shuffled by one fixed permutation")
    if intervals is None:
        return text + ": they were scored on different test images, so no change is named."
    if not change:
        return text + f": no clear change (the change, {pp(permuted - ordinary, 'change')}, holds zero)."
    before, after = stats.sign(intervals["ordinary"]), stats.sign(intervals["shuffled"])
    if before and after and before != after:
        what = "it reverses"
    elif before and not after:
        what = "it vanishes: on shuffled pixels neither family leads clearly"
    elif after and not before:
        what = "a lead appears where there was no clear one"
    elif before:
        what = "it shrinks" if (permuted - ordinary) * before < 0 else "it grows"
    else:
        what = f"it moves towards the {'CNN' if permuted > ordinary else 'ANN'}, though neither lead is clear on its own"
    return text + f": {what} (change {pp(permuted - ordinary, 'change')})."


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
