"""The verdict: which family's retrained models are better on the test split, and how sure that is.

Plain data in, plain data out (retraining records as ``collect.load_retrained`` returns them), so every branch
is tested without a study or a figure. Models are paired by retraining seed id; only seeds both families have
are compared. A family wins only when every pair favours it and every pair's exact McNemar p is below
``ALPHA``; otherwise the sentence says there is no significant difference, and a lean of the means only where
a bootstrap interval over test images and seeds excludes no difference (``stats.interval``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bakeoff.search import stats

ALPHA = 0.05
SCOPE = (
    "The ± is the spread over retraining seeds of the one configuration each search selected: it does not cover "
    "the randomness of the search itself. McNemar's test compares two trained models at a time, not the two "
    "families in general."
)


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def _seeds(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds))


def compare(retrained: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The verdict of the retrained runs by family ({"ann": [...], "cnn": [...]}); None when nothing is retrained."""
    runs = {f: r for f, r in retrained.items() if r}
    if not runs:
        return None
    rows = {f: stats.spread([r["test_accuracy"] for r in rs]) for f, rs in runs.items()}
    verdict: dict[str, Any] = {"rows": rows, "pairs": [], "winner": None, "significant": False, "scope": None}
    if len(runs) < 2:
        only = next(iter(runs)).upper()
        verdict["sentence"] = f"Only the {only} has retrained models, so there is nothing to compare yet."
        return verdict
    by_seed = {f: {r["seed"]: r for r in rs} for f, rs in runs.items()}
    common = sorted(set(by_seed["ann"]) & set(by_seed["cnn"]))
    seeds = {f: sorted(s) for f, s in by_seed.items()}
    if not common:
        verdict["sentence"] = (
            f"The families share no retraining seed (ANN seeds {_seeds(seeds['ann'])}, CNN seeds {_seeds(seeds['cnn'])}), "
            "so no pair of models can be compared: retrain both with the same --seeds."
        )
        return verdict
    for seed in common:
        ann, cnn = by_seed["ann"][seed], by_seed["cnn"][seed]
        if not np.array_equal(ann["labels"], cnn["labels"]):
            verdict["sentence"] = f"The ANN and CNN of seed {seed} were evaluated on different test images, so they cannot be compared."
            return verdict
        test = stats.mcnemar_exact(ann["predictions"] == ann["labels"], cnn["predictions"] == cnn["labels"])
        ann_only, cnn_only = test["a_only"], test["b_only"]
        favours = "cnn" if cnn_only > ann_only else "ann" if ann_only > cnn_only else None
        verdict["pairs"].append({"seed": seed, "ann_only": ann_only, "cnn_only": cnn_only, "p_value": test["p_value"], "favours": favours})
    means = {f: float(np.mean([by_seed[f][s]["test_accuracy"] for s in common])) for f in ("ann", "cnn")}
    spreads = {f: stats.spread([by_seed[f][s]["test_accuracy"] for s in common]) for f in ("ann", "cnn")}
    correct = {f: [by_seed[f][s]["predictions"] == by_seed[f][s]["labels"] for s in common] for f in ("ann", "cnn")}
    verdict.update(common_seeds=common, seeds=seeds, means=means, scope=SCOPE)
    verdict["sentence"] = _headline(verdict["pairs"], spreads, seeds, common, verdict, correct)
    return verdict


def _headline(pairs: list[dict[str, Any]], spreads: dict[str, dict], seeds: dict[str, list[int]], common: list[int], verdict: dict,
              correct: dict[str, list[np.ndarray]]) -> str:
    n = len(common)
    measured = (
        f"Test accuracy over {'the seed' if n == 1 else f'the {n} seeds'} both families were retrained with: "
        f"ANN {stats.mean_pm(spreads['ann'], _pct)}, CNN {stats.mean_pm(spreads['cnn'], _pct)}"
    )
    if seeds["ann"] != seeds["cnn"]:
        measured += (
            f" (the ANN has n = {len(seeds['ann'])} seeds, the CNN n = {len(seeds['cnn'])}; only seed{'s' if n > 1 else ''} "
            f"{_seeds(common)} {'are' if n > 1 else 'is'} compared)"
        )
    measured += ". "
    if n == 1:
        measured += "With one seed per family, McNemar's test compares two single trained models. "
    worst_p = max(p["p_value"] for p in pairs)
    favoured = {p["favours"] for p in pairs}
    every_significant = worst_p < ALPHA
    if every_significant and len(favoured) == 1 and None not in favoured:
        winner = favoured.pop()
        loser = "ann" if winner == "cnn" else "cnn"
        verdict.update(winner=winner, significant=True, worst_p=worst_p)
        errors = {f: 1.0 - spreads[f]["mean"] for f in ("ann", "cnn")}
        if errors[winner] > 0:
            ratio = f"The {loser.upper()} makes {errors[loser] / errors[winner]:.2f}× as many test errors."
        else:
            ratio = f"The {winner.upper()} makes no test error, the {loser.upper()} {_pct(errors[loser])}."
        pairs_word = "every seed pair favours it" if n > 1 else "its one seed pair favours it"
        return f"{winner.upper()} wins: {pairs_word} with exact McNemar p < {ALPHA} (largest p = {stats.format_p(worst_p, ALPHA)}). {measured}{ratio}"
    verdict["worst_p"] = worst_p
    lean = _lean(spreads["ann"]["mean"], spreads["cnn"]["mean"], correct)
    if "ann" in favoured and "cnn" in favoured:
        k_ann = sum(p["favours"] == "ann" for p in pairs)
        k_cnn = sum(p["favours"] == "cnn" for p in pairs)
        why = f"the seed pairs disagree ({k_cnn} favour{'s' if k_cnn == 1 else ''} the CNN, {k_ann} the ANN)"
    elif favoured == {None}:
        why = "in every seed pair both models get the same number of test images right that the other gets wrong"
    else:
        why = f"not every seed pair has exact McNemar p < {ALPHA} (largest p = {stats.format_p(worst_p, ALPHA)})"
    return f"No significant difference between the families: {why}. {measured}{lean}"


def _lean(ann: float, cnn: float, correct: dict[str, list[np.ndarray]]) -> str:
    """Which way the means lean, only where the bootstrap interval of CNN − ANN excludes no difference."""
    if math.isclose(ann, cnn, rel_tol=0.0, abs_tol=1e-12):
        return "The means are equal: neither family leads."
    n = len(correct["ann"][0])
    found = stats.interval({f: [stats.accuracy_statistic(c) for c in cs] for f, cs in correct.items()},
                           lambda m: m["cnn"] - m["ann"], n, cnn - ann)
    where = f"{stats.pp_interval(found)} for CNN − ANN over test images and seeds"
    direction = stats.sign(found)
    if direction == 0:
        gap = 100 * abs(cnn - ann)
        return f"The means differ by {gap:.{stats.digits_apart(gap, 0.0, 2)}f} pp, inside the noise ({where}): neither family leads."
    ahead = "CNN" if direction > 0 else "ANN"
    high, low = 100 * max(ann, cnn), 100 * min(ann, cnn)
    d = stats.digits_apart(high, low, 2)
    return (f"The means lean towards the {ahead} ({high:.{d}f} % against {low:.{d}f} %; {where}), "
            "though not significantly in every seed pair.")
