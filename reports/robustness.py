"""Robustness over retraining seeds: accuracy under each perturbation and strength, mean ± std, and its sentence.

The numbers come from ``search/evaluation/robustness.py`` (one ``robustness.json`` per retrained model). A family whose
models have no such file yet is left out, and the sentence names only the families it has numbers for. Which
family holds up better at a perturbation's strongest setting is said only where the bootstrap interval of the
difference (the same perturbed images for every model, so paired; seeds resampled too) excludes no difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bakeoff.search import stats
from bakeoff.search.engine.record import unpack_correct


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean and std over seeds of clean and perturbed accuracy, and each seed's right answers at the strongest
    setting (None for a kind where a seed's file predates them); None when no run has been analysed."""
    found = [r["robustness"] for r in runs if r.get("robustness")]
    if not found:
        return None
    n = len(runs[0]["labels"]) if "labels" in runs[0] else None
    kinds = {}
    for kind, first in found[0]["kinds"].items():
        same = [f["kinds"][kind] for f in found if f["kinds"].get(kind, {}).get("strengths") == first["strengths"]]
        values = np.array([s["accuracy"] for s in same])
        packed = [s.get("strongest_correct") for s in same]
        kinds[kind] = {
            "unit": first["unit"],
            "strengths": first["strengths"],
            "mean": values.mean(axis=0).tolist(),
            "std": values.std(axis=0, ddof=1).tolist() if len(same) > 1 else None,
            "strongest_correct": [unpack_correct(p, n) for p in packed] if n and None not in packed else None,
        }
    return {"seeds": len(found), "clean": stats.spread([f["clean"] for f in found]), "kinds": kinds}


def _setting(kind: str, strength: float, unit: str) -> str:
    number = f"{strength:g}"
    return {"shift": f"{number}-pixel shifts", "rotation": f"rotations of {number}°", "noise": f"Gaussian noise of σ = {number}",
            "occlusion": f"a {number}×{number}-pixel black square"}.get(kind, f"{kind} {number} {unit}")


def _score(row: dict[str, Any], digits: int) -> str:
    mean = f"{100 * row['mean'][-1]:.{digits}f} %"
    return mean + (f" ± {100 * row['std'][-1]:.{digits}f}" if row["std"] is not None else " (one seed)")


def leaders(have: dict[str, dict[str, Any]], kinds: list[str]) -> dict[str, dict[str, Any]]:
    """Per perturbation: the interval of CNN − ANN accuracy at its strongest setting and the family ahead
    (None inside the noise, "unknown" without per-image results)."""
    found = {}
    for kind in kinds:
        rows = {f: have[f]["kinds"][kind] for f in ("ann", "cnn")}
        if any(r["strongest_correct"] is None for r in rows.values()):
            found[kind] = {"ahead": "unknown"}
            continue
        observed = rows["cnn"]["mean"][-1] - rows["ann"]["mean"][-1]
        groups = {f: [stats.accuracy_statistic(c) for c in r["strongest_correct"]] for f, r in rows.items()}
        interval = stats.interval(groups, lambda m: m["cnn"] - m["ann"], len(rows["ann"]["strongest_correct"][0]), observed)
        direction = stats.sign(interval)
        found[kind] = {**interval, "ahead": None if direction == 0 else "cnn" if direction > 0 else "ann"}
    return found


def sentence(summaries: dict[str, dict[str, Any]]) -> str | None:
    """One plain sentence per perturbation at its strongest setting, then which family holds up better where
    the data shows it."""
    have = {f: s for f, s in summaries.items() if s}
    if not have:
        return None
    kinds = [k for k in next(iter(have.values()))["kinds"] if all(k in s["kinds"] for s in have.values())]
    ahead = leaders(have, kinds) if len(have) == 2 else {}
    parts = []
    for kind in kinds:
        row = next(iter(have.values()))["kinds"][kind]
        setting = _setting(kind, row["strengths"][-1], row["unit"])
        means = [100 * s["kinds"][kind]["mean"][-1] for s in have.values()]
        digits = stats.digits_apart(max(means), min(means), 1) if ahead.get(kind, {}).get("ahead") in ("ann", "cnn") else 1
        scores = ", ".join(f"the {f.upper()} {_score(s['kinds'][kind], digits)}" for f, s in have.items())
        parts.append(f"under {setting} {scores}")
    text = "Test accuracy (mean ± std over seeds) " + "; ".join(parts) + "."
    if len(have) < 2:
        return text
    groups = {f: [k for k, v in ahead.items() if v["ahead"] == f] for f in ("cnn", "ann", None, "unknown")}
    for family in ("cnn", "ann"):
        if len(groups[family]) == len(kinds):
            return text + f" The {family.upper()} scores higher at the strongest setting of every perturbation (each 95 % interval of the difference, over test images and seeds, excludes zero)."
    said = [f"the {f.upper()} scores higher under {' and '.join(groups[f])}" for f in ("cnn", "ann") if groups[f]]
    if groups[None]:
        said.append(f"the two cannot be told apart under {' and '.join(groups[None])} (the 95 % interval of the difference holds zero)")
    if groups["unknown"]:
        said.append(f"{' and '.join(groups['unknown'])} {'was' if len(groups['unknown']) == 1 else 'were'} measured by an older "
                    "version without per-image results, so no direction is given (run 'bakeoff analyse' to measure again)")
    if not groups["cnn"] and not groups["ann"] and not groups["unknown"]:
        return text + " At the strongest setting of every perturbation the two cannot be told apart (each 95 % interval of the difference, over test images and seeds, holds zero)."
    return text + " At the strongest settings " + "; ".join(said) + " (95 % intervals over test images and seeds)."
