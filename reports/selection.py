"""What the search selected per family, stated honestly: winner, runner-up, margins, and where it came from.

A trial's score is its best epoch and the winner is the best of many trials, so the winner's validation
accuracy is optimistic. Margins are in standard errors of the difference of two accuracies on the same
validation images (``search.noise``). The winner is called "found by search" only when it beats every queued
start that completed by more than ``TIE_SE`` standard errors; otherwise it is a tie with the best such start.
Plain data in and out: trial records as ``collect.trial_record`` makes them.
"""

from __future__ import annotations

from typing import Any

from bakeoff.search.noise import margin_in_se

#: Standard errors of the difference beyond which two validation accuracies are called different.
TIE_SE = 2.0


def _ranked(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    complete = [t for t in trials if t["state"] == "COMPLETE" and t["value"] is not None]
    return sorted(complete, key=lambda t: (-t["value"], t["number"]))


def select(trials: list[dict[str, Any]], n_val: int | None) -> dict[str, Any] | None:
    """Winner, runner-up and the winner's origin; None without a complete trial."""
    ranked = _ranked(trials)
    if not ranked:
        return None
    winner = ranked[0]
    found: dict[str, Any] = {"winner": winner, "runner_up": ranked[1] if len(ranked) > 1 else None, "n_val": n_val}
    if found["runner_up"] is not None and n_val:
        found["margin_se"] = margin_in_se(winner["value"], found["runner_up"]["value"], n_val)
    if winner.get("start"):
        found["origin"] = f"the {winner['start']} start"
        found["label"] = f"#{winner['number']} ({winner['start']} start)"
        return found
    starts = [t for t in ranked if t.get("start")]
    if not n_val:
        found["origin"] = "sampled by the search (its margin over the starts is unknown: the study records no validation size)"
        found["label"] = f"#{winner['number']} (sampled by the search)"
        return found
    close = [t for t in starts if margin_in_se(winner["value"], t["value"], n_val) <= TIE_SE]
    if close:
        start = close[0]  # ranked: the best start within the margin
        margin = margin_in_se(winner["value"], start["value"], n_val)
        found["tie_with"] = start
        found["origin"] = (
            f"sampled by the search, but a tie with the {start['start']} start (#{start['number']}, "
            f"{100 * start['value']:.2f} %): {margin:.1f} standard errors apart, not more than {TIE_SE:g}"
        )
        found["label"] = f"#{winner['number']} (tie with the {start['start']} start #{start['number']})"
    else:
        found["origin"] = (
            "found by search: more than "
            f"{TIE_SE:g} standard errors above every start that completed" if starts else
            "found by search (no queued start completed)"
        )
        found["label"] = f"#{winner['number']} (found by search)"
    return found


def describe(family: str, found: dict[str, Any] | None) -> str:
    """One plain paragraph for the report."""
    if found is None:
        return f"The {family.upper()} search has no complete trial."
    winner, runner = found["winner"], found["runner_up"]
    text = f"{family.upper()}: trial #{winner['number']} reached {100 * winner['value']:.2f} % validation accuracy, {found['origin']}. "
    if runner is None:
        text += "It is the only complete trial. "
    elif "margin_se" in found:
        text += (
            f"The runner-up, #{runner['number']}, reached {100 * runner['value']:.2f} %: "
            f"{found['margin_se']:.1f} standard errors of the difference below"
            f"{' (a tie)' if found['margin_se'] <= TIE_SE else ''}. "
        )
    else:
        text += f"The runner-up, #{runner['number']}, reached {100 * runner['value']:.2f} %. "
    return text + "The best validation accuracy is optimistic: it is the best epoch of the best of many trials."


def stale(family: str, best: dict[str, Any] | None, runs: list[dict[str, Any]]) -> str | None:
    """A sentence when the retrained models no longer come from the study's best trial (the search went on)."""
    if best is None or not runs:
        return None
    old = sorted({r.get("trial") for r in runs if r.get("trial") != best["number"]}, key=str)
    if not old:
        return None
    return (
        f"Out of date: the {family.upper()} study's best trial is now #{best['number']} "
        f"({100 * best['value']:.2f} % validation), but retrained {family.upper()} models come from trial "
        f"{', '.join(f'#{t}' for t in old)}; what follows about the {family.upper()}'s test results describes those "
        "older models. Run 'bakeoff retrain' (or the same 'bakeoff run' again) to retrain the new best."
    )
