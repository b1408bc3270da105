"""What a report cannot show yet, as plain sentences: a missing family, a search under way, nothing retrained.

Plain data in (study summaries, retraining records), so a report renders at any moment of a run and every
sentence is tested without a study or a figure.
"""

from __future__ import annotations

import math
from typing import Any

from bakeoff.search.engine.budget import TRIAL_SHARE
from bakeoff.spaces import FAMILIES

#: Seconds a trial spends outside its epochs (building, tracing, compiling), as a margin in the budget advice.
TRIAL_OVERHEAD_SECONDS = 10.0


def notes(summaries: dict[str, dict[str, Any]], retrained: dict[str, list[dict[str, Any]]], retraining_next: bool = False) -> list[str]:
    """``retraining_next``: 'bakeoff run' renders this report as its search ends, before retraining (which may take
    hours after an overnight search), so a family without models is waiting for that, not for the user."""
    found = []
    for family in FAMILIES:
        name = family.upper()
        summary = summaries.get(family)
        if summary is None:
            found.append(f"No {name} study exists: only one family was searched.")
            continue
        running = summary["states"].get("RUNNING", 0)
        if running:
            found.append(f"The {name} study is still running ({running} trial(s) under way): figures show a moment of it.")
        if summary["best"] is None:
            found.append(no_complete_trial(family, summary["trials"], len(summaries)))
        elif not retrained.get(family):
            found.append(f"No retrained {name} models yet: " + (
                "'bakeoff run' wrote this report as its search ended; retraining and a new report come next (if that command "
                "was stopped, re-run it: it resumes)." if retraining_next else f"run 'bakeoff retrain' to evaluate the best {name} trial on the test split."))
    return found


def no_complete_trial(family: str, trials: list[dict[str, Any]], families: int) -> str:
    """Why a family has no complete trial, and what budget would give it some (said by the run and the report)."""
    name = family.upper()
    if not trials:
        return f"The {name} study has no trial yet, so there is nothing of it to retrain."
    outcomes: dict[str, int] = {}
    for t in trials:
        if t.get("outcome"):
            outcomes[t["outcome"]] = outcomes.get(t["outcome"], 0) + 1
    finished = sum(outcomes.values())
    ended = f"{finished} finished: " + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) if finished else "none finished"
    text = f"The {name} study has no complete trial ({ended}), so there is nothing of it to retrain."
    epochs = [t["epoch_seconds"] for t in trials if t.get("epoch_seconds")]
    if epochs:
        # a trial may use TRIAL_SHARE of its family's budget; give the fastest one two epochs and its overhead
        per_family = (2 * min(epochs) + TRIAL_OVERHEAD_SECONDS) / TRIAL_SHARE
        minutes = math.ceil(families * per_family / 60)
        text += (
            f" Its fastest trial needed about {min(epochs):.0f}s an epoch; a time budget of at least {minutes} minute(s) "
            f"(--timeout {minutes}m) would let such a trial train two epochs within its cap."
        )
    elif any(t.get("outcome") == "failed" for t in trials):
        text += " Its trials failed: see their reasons in the search section."
    else:
        text += " No trial trained long enough to show its pace: give the search a budget of several minutes per family."
    return text
