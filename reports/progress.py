"""Whether the search worked: per family, the best validation accuracy it could select against the time it was
charged, the queued starts marked, and the moment a sampled trial first beat every start that had completed by
then beyond the noise (by more than ``selection.TIE_SE`` standard errors of the difference, paired where the
trials recorded their validation images: the same rule as "found by search").

Plain data in: trial records as ``collect.trial_record`` makes them. Trials are taken in the order they finished;
every finished trial's charged seconds count (pruned ones too: they cost time), but only complete trials can be
best, as only they can be selected; on the single-objective ladder the best is the best of the highest rung reached, which retraining
uses, so the line can step down when a configuration first reaches a new rung. Trials copied in by ``--warm-start`` cost this search nothing and are never
its first beat: an earlier search found them.
"""

from __future__ import annotations

from typing import Any

from bakeoff.reports.selection import TIE_SE, depth
from bakeoff.search import stats
from bakeoff.search.engine import record


def anytime(trials: list[dict[str, Any]], n_val: int | None) -> dict[str, Any] | None:
    """Best-so-far steps over charged seconds, the starts, and when the search first beat them (None: never)."""
    finished = sorted((t for t in trials if t.get("seconds") is not None and t.get("completed")), key=lambda t: t["completed"])
    if not any(t["state"] == "COMPLETE" and t["value"] is not None for t in finished):
        return None
    charged, best, steps, starts, beaten = 0.0, None, [], [], None  # best: (rung, value) of what would ship
    for trial in finished:
        charged += trial["seconds"]
        if trial["state"] != "COMPLETE" or trial["value"] is None:
            continue
        if trial.get("start"):
            starts.append({"seconds": charged, "value": trial["value"], "label": trial["start"], "number": trial["number"], "trial": trial})
        elif beaten is None and not trial.get("warm_from") and n_val and starts and all(_margin(trial, s["trial"], n_val) > TIE_SE for s in starts):
            beaten = {"seconds": charged, "number": trial["number"], "value": trial["value"]}
        if best is None or (depth(trial), trial["value"]) > best:
            best = (depth(trial), trial["value"])
            steps.append({"seconds": charged, "value": trial["value"], "number": trial["number"]})
    return {"steps": steps, "starts": [{k: v for k, v in s.items() if k != "trial"} for s in starts], "beaten": beaten, "charged": charged}


def _margin(a: dict[str, Any], b: dict[str, Any], n_val: int) -> float:
    return stats.margin_in_se(a["value"], b["value"], n_val, record.val_correct(a, n_val), record.val_correct(b, n_val))


def sentence(family: str, found: dict[str, Any] | None) -> str:
    name = family.upper()
    if found is None:
        return f"The {name} search has no complete trial yet."
    if not found["starts"]:
        return f"The {name} search began with no queued start, so there is nothing to beat; its best so far is drawn against charged time."
    if found["beaten"] is None:
        return (f"No sampled {name} trial beat every start that had completed by then by more than {TIE_SE:g} standard errors "
                f"in {found['charged'] / 60:.1f} minutes of charged trial time.")
    beaten = found["beaten"]
    text = (f"The {name} search first beat every start then complete beyond the noise after {beaten['seconds'] / 60:.1f} of "
            f"{found['charged'] / 60:.1f} minutes of charged trial time: trial #{beaten['number']}, {100 * beaten['value']:.2f} % validation.")
    later = sum(start["seconds"] > beaten["seconds"] for start in found["starts"])
    if later:  # on the ladder the starts go on to deeper rungs, and may catch up with it
        text += (f" {later} start trial{'' if later == 1 else 's'} completed after it; the best {name} trial above is "
                 "weighed against every start.")
    return text
