"""Robustness over retraining seeds: accuracy under each perturbation and strength, mean ± std, and its sentence.

The numbers come from ``search/robustness.py`` (one ``robustness.json`` per retrained model). A family whose
models have no such file yet is left out, and the sentence names only the families it has numbers for.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bakeoff.reports import stats


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean and std over seeds of clean and perturbed accuracy; None when no run has been analysed."""
    found = [r["robustness"] for r in runs if r.get("robustness")]
    if not found:
        return None
    kinds = {}
    for kind, first in found[0]["kinds"].items():
        same = [f["kinds"][kind]["accuracy"] for f in found if f["kinds"].get(kind, {}).get("strengths") == first["strengths"]]
        values = np.array(same)
        kinds[kind] = {
            "unit": first["unit"],
            "strengths": first["strengths"],
            "mean": values.mean(axis=0).tolist(),
            "std": (values.std(axis=0, ddof=1) if len(same) > 1 else np.zeros(values.shape[1])).tolist(),
        }
    return {"seeds": len(found), "clean": stats.spread([f["clean"] for f in found]), "kinds": kinds}


def _pct(mean: float, std: float) -> str:
    return f"{100 * mean:.1f} % ± {100 * std:.1f}"


def _setting(kind: str, strength: float, unit: str) -> str:
    number = f"{strength:g}"
    return {"shift": f"{number}-pixel shifts", "rotation": f"rotations of {number}°", "noise": f"Gaussian noise of σ = {number}",
            "occlusion": f"a {number}×{number}-pixel black square"}.get(kind, f"{kind} {number} {unit}")


def sentence(summaries: dict[str, dict[str, Any]]) -> str | None:
    """One plain sentence per perturbation at its strongest setting, then which family holds up better."""
    have = {f: s for f, s in summaries.items() if s}
    if not have:
        return None
    kinds = [k for k in next(iter(have.values()))["kinds"] if all(k in s["kinds"] for s in have.values())]
    parts = []
    for kind in kinds:
        row = next(iter(have.values()))["kinds"][kind]
        setting = _setting(kind, row["strengths"][-1], row["unit"])
        scores = ", ".join(f"the {f.upper()} {_pct(s['kinds'][kind]['mean'][-1], s['kinds'][kind]['std'][-1])}" for f, s in have.items())
        parts.append(f"under {setting} {scores}")
    text = "Test accuracy (mean ± std over seeds) " + "; ".join(parts) + "."
    if len(have) < 2:
        return text
    ahead = {}
    for kind in kinds:
        ann, cnn = (have[f]["kinds"][kind]["mean"][-1] for f in ("ann", "cnn"))
        ahead[kind] = None if math.isclose(ann, cnn, abs_tol=1e-12) else ("cnn" if cnn > ann else "ann")
    leaders = set(ahead.values())
    if leaders == {None}:
        return text + " Both families score the same at the strongest setting of every perturbation."
    if len(leaders) == 1:
        return text + f" The {leaders.pop().upper()} scores higher at the strongest setting of every perturbation."
    groups = {f: [k for k, v in ahead.items() if v == f] for f in ("cnn", "ann", None)}
    said = [f"the {f.upper()} scores higher under {' and '.join(groups[f])}" for f in ("cnn", "ann") if groups[f]]
    if groups[None]:
        said.append(f"they tie under {' and '.join(groups[None])}")
    return text + " At the strongest settings " + ", ".join(said) + "."
