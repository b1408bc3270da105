"""What a report cannot show yet, as plain sentences: a missing family, a search under way, nothing retrained.

Plain data in (study summaries, retraining records), so a report renders at any moment of a run and every
sentence is tested without a study or a figure.
"""

from __future__ import annotations

from typing import Any

from bakeoff.spaces import FAMILIES


def notes(summaries: dict[str, dict[str, Any]], retrained: dict[str, list[dict[str, Any]]]) -> list[str]:
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
            found.append(f"The {name} study has no complete trial yet, so there is nothing of it to retrain.")
        elif not retrained.get(family):
            found.append(f"No retrained {name} models yet: run 'bakeoff retrain' to evaluate the best {name} trial on the test split.")
    return found
