"""Accuracy against the cost of shipping: both families' fronts, their hypervolume over charged time, and the
sentence that says which family is ahead under which limit.

Plain data in (trial records from ``collect.trial_record`` with their measured ``cost``), plain data out. A
family's front holds its complete trials that no other of its complete trials beats on both validation accuracy
and cost. Hypervolume is the area a front dominates in (accuracy, log10 cost), since latency and size span
orders of magnitude, up to one reference point for both families: the lowest accuracy and twice the largest
cost of any complete trial of either.

Under a limit L, a family's best is its most accurate complete trial costing at most L. The two bests are
compared on the validation images in standard errors of the difference (paired where both trials recorded
their images), and one family is called ahead only beyond ``AHEAD_SE``. Both are the best of many trials, so
both accuracies are optimistic; the comparison says so.
"""

from __future__ import annotations

import math
from typing import Any

from bakeoff.search import stats
from bakeoff.search.engine import record
from bakeoff.search.engine.objectives import COST_KEY, format_cost

#: Standard errors of the difference beyond which one family is called ahead under a limit.
AHEAD_SE = 2.0


def points(trials: list[dict[str, Any]], cost: str) -> list[dict[str, Any]]:
    """Every complete trial with that cost measured: {"cost", "accuracy", "trial"}."""
    return [{"cost": float(t["cost"][COST_KEY[cost]]), "accuracy": float(t["value"]), "trial": t} for t in trials
            if t["state"] == "COMPLETE" and t["value"] is not None and (t.get("cost") or {}).get(COST_KEY[cost]) is not None]


def per_configuration(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per configuration, its most accurate segment (the earliest on a tie). A ladder configuration's
    segments share the cost its first trial measured, so the shallower ones sit straight below it and never widen the
    front; a trial off the ladder is a configuration of its own."""
    best: dict[tuple[str, int], dict[str, Any]] = {}
    for point in sorted(found, key=lambda p: p["trial"]["number"]):
        key = ("ladder", point["trial"]["configuration"]) if point["trial"].get("configuration") is not None else ("trial", point["trial"]["number"])
        if key not in best or point["accuracy"] > best[key]["accuracy"]:
            best[key] = point
    return list(best.values())


def front(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points no other point beats on both accuracy and cost, cheapest first (accuracy rises along it)."""
    index = stats.pareto_front([p["cost"] for p in found], [p["accuracy"] for p in found])
    return sorted((found[i] for i in index), key=lambda p: p["cost"])


def reference(families: dict[str, list[dict[str, Any]]]) -> tuple[float, float] | None:
    """(accuracy, cost) of the reference point shared by every family; None without a point."""
    every = [p for found in families.values() for p in found]
    if not every:
        return None
    return min(p["accuracy"] for p in every), 2 * max(p["cost"] for p in every)


def hypervolume(found: list[dict[str, Any]], ref: tuple[float, float]) -> float:
    """Area dominated by ``found`` in (accuracy, log10 cost), bounded by ``ref`` = (accuracy, cost)."""
    steps = front([p for p in found if p["accuracy"] > ref[0] and p["cost"] < ref[1]])
    area = 0.0
    for i, point in enumerate(steps):
        right = steps[i + 1]["cost"] if i + 1 < len(steps) else ref[1]
        area += (math.log10(right) - math.log10(point["cost"])) * (point["accuracy"] - ref[0])
    return area


def hypervolume_over_time(trials: list[dict[str, Any]], cost: str, ref: tuple[float, float]) -> list[dict[str, float]]:
    """Hypervolume after each finished trial against the trial time charged so far (every finished trial costs
    time; only complete ones add points). Only the running front is kept: a point it drops is dominated, and a point
    outside the reference box never dominates one inside, so each step's area is the area of every point so far."""
    finished = sorted((t for t in trials if t.get("seconds") is not None and t.get("completed")), key=lambda t: t["completed"])
    charged, steps, found = 0.0, [], []
    for trial in finished:
        charged += trial["seconds"]
        found = front(found + points([trial], cost))
        steps.append({"seconds": charged, "hypervolume": hypervolume(found, ref)})
    return steps


def _best_under(found: list[dict[str, Any]], limit: float) -> dict[str, Any] | None:
    under = [p for p in found if p["cost"] <= limit]
    return max(under, key=lambda p: (p["accuracy"], -p["cost"])) if under else None


def _standing(ann: dict[str, Any] | None, cnn: dict[str, Any] | None, n_val: int | None) -> tuple[str, float | None, float | None]:
    """Who is ahead under one limit: ("ANN" / "CNN" / "tie" / "only ANN" / "only CNN"), the gap in points, in SE."""
    if ann is None or cnn is None:
        return ("only CNN" if ann is None else "only ANN"), None, None
    a, c = ann["trial"], cnn["trial"]
    gap = 100 * (c["value"] - a["value"])
    margin = stats.margin_in_se(c["value"], a["value"], n_val or 0, record.val_correct(c, n_val), record.val_correct(a, n_val)) if n_val else None
    if margin is None or abs(margin) <= AHEAD_SE:
        return "tie", gap, margin
    return ("CNN" if margin > 0 else "ANN"), gap, margin


def regions(fronts: dict[str, list[dict[str, Any]]], n_val: int | None) -> list[dict[str, Any]]:
    """Consecutive ranges of the limit with the same standing, from the cheapest point of either front on:
    {"from", "to" (None: no upper end), "standing", "gaps", "margins"}."""
    limits = sorted({p["cost"] for found in fronts.values() for p in found})
    found: list[dict[str, Any]] = []
    for i, limit in enumerate(limits):
        standing, gap, margin = _standing(_best_under(fronts["ann"], limit), _best_under(fronts["cnn"], limit), n_val)
        upper = limits[i + 1] if i + 1 < len(limits) else None
        if found and found[-1]["standing"] == standing:
            found[-1]["to"] = upper
        else:
            found.append({"from": limit, "to": upper, "standing": standing, "gaps": [], "margins": []})
        found[-1]["gaps"] += [gap] if gap is not None else []
        found[-1]["margins"] += [margin] if margin is not None else []
    return found


def _range(cost: str, region: dict[str, Any]) -> str:
    low = format_cost(cost, region["from"])
    return f"from {low} on" if region["to"] is None else f"from {low} to below {format_cost(cost, region['to'])}"


def _amount(values: list[float], unit: str) -> str:
    low, high = min(map(abs, values)), max(map(abs, values))
    return f"{low:.2f} {unit}" if math.isclose(low, high, abs_tol=0.005) else f"{low:.2f} to {high:.2f} {unit}"


def sentence(trials: dict[str, list[dict[str, Any]]], cost: str, n_val: int | None) -> str:
    """Where the CNN is ahead, where the ANN is, and where the lead changes, each with its margin."""
    fronts = {family: front(points(trials.get(family, []), cost)) for family in ("ann", "cnn")}
    missing = [family.upper() for family, found in fronts.items() if not found]
    if missing:
        return f"No front to compare: the {' and the '.join(missing)} {'has' if len(missing) == 1 else 'have'} no complete trial with its {cost} measured."
    parts = []
    found = regions(fronts, n_val)
    for region in found:
        where = _range(cost, region)
        if region["standing"].startswith("only"):
            parts.append(f"{where} only the {region['standing'][5:]} has a model")
        elif region["standing"] == "tie":
            parts.append(f"{where} neither is ahead by more than {AHEAD_SE:g} standard errors" if n_val else
                         f"{where} the difference cannot be judged (the study records no validation size)")
        else:
            parts.append(f"{where} the {region['standing']} is ahead by {_amount(region['gaps'], 'points')} "
                         f"({_amount(region['margins'], 'standard errors')})")
    leaders = [r for r in found if r["standing"] in ("ANN", "CNN")]
    changes = [(a, b) for a, b in zip(leaders, leaders[1:]) if a["standing"] != b["standing"]]
    text = f"Under a {cost} limit (each family's most accurate complete trial within it, on validation): " + "; ".join(parts) + "."
    for before, after in changes:
        low, high = before["to"], after["from"]
        at = f"at {format_cost(cost, high)}" if low == high else f"between {format_cost(cost, low)} and {format_cost(cost, high)}"
        text += f" The lead passes from the {before['standing']} to the {after['standing']} {at}."
    if not changes and leaders:
        text += " There is no crossover: only one family is ever ahead beyond the noise."
    return text + " Each is the best of many trials, so both accuracies are optimistic."
