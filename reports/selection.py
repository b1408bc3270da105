"""What the search selected per family, stated honestly: winner, runner-up, margins, and where it came from.

A trial's score is its best epoch (on the ladder: its accuracy at its rung's end, after the rung's decay) and the
winner is the best of many trials, so the winner's validation accuracy is optimistic. On the ladder a
configuration continued from its checkpoint is a new trial: the runner-up is the best other configuration, and the winner
is counted as the best of configurations, not of trials. Margins are in standard errors of the difference of two accuracies on the same
validation images (``search.stats``): paired, from the images one trial gets right and the other wrong, where
both trials recorded them; unpaired otherwise, and the sentence says which. The winner is called "found by search" only when it beats every queued
start that completed by more than ``TIE_SE`` standard errors; otherwise it is a tie with the best such start, or, on
the ladder, where a start may have scored higher at a shallower rung, below it.
Plain data in and out: trial records as ``collect.trial_record`` makes them.
"""

from __future__ import annotations

from typing import Any

from bakeoff.search import stats
from bakeoff.search.durations import format_epochs
from bakeoff.search.engine import record
from bakeoff.search.engine.objectives import Limits

#: Standard errors of the difference beyond which two validation accuracies are called different.
TIE_SE = 2.0


def _ranked(trials: list[dict[str, Any]], limits: Limits = Limits()) -> list[dict[str, Any]]:
    """Complete trials that meet ``limits``, best first as retraining ranks them (``record.best_trial``): on the
    single-objective ladder the highest rung first."""
    complete = [t for t in trials if t["state"] == "COMPLETE" and t["value"] is not None and (not limits or limits.met(t.get("cost")))]
    return sorted(complete, key=lambda t: (-depth(t), -t["value"], t["number"]))


def depth(trial: dict[str, Any]) -> int:
    """``record.selection_depth`` of a trial record (a record without it is of the single-objective ladder)."""
    return trial.get("selection_depth", trial.get("rung") or 0)


def scored_higher(trials: list[dict[str, Any]], winner: dict[str, Any]) -> dict[str, Any] | None:
    """The complete trial that scored higher than ``winner`` (the highest, the earliest on ties), or None: on the
    ladder, which ranks the deepest rung first, a shallower trial can."""
    higher = max(_ranked(trials), key=lambda t: (t["value"], -t["number"]))
    return higher if higher["value"] > winner["value"] else None


def select(trials: list[dict[str, Any]], n_val: int | None, limits: Limits = Limits()) -> dict[str, Any] | None:
    """Winner, runner-up and the winner's origin, among the trials that meet ``limits`` (``--max-latency``,
    ``--max-size``: the starts compared with are those that meet them too); None without such a complete trial."""
    ranked = _ranked(trials, limits)
    if not ranked:
        return None
    winner = ranked[0]
    others = [t for t in ranked if _configuration(t) != _configuration(winner)]
    found: dict[str, Any] = {"winner": winner, "runner_up": others[0] if others else None, "n_val": n_val,
                             "higher": scored_higher(ranked, winner),
                             "complete": len(ranked), "configurations": len({_configuration(t) for t in ranked}),
                             "paired": True, "limits": limits.describe() if limits else None}

    def margin_in_se(a: dict[str, Any], b: dict[str, Any]) -> float:
        correct = [record.val_correct(t, n_val) for t in (a, b)]
        found["paired"] = found["paired"] and all(c is not None for c in correct)
        return stats.margin_in_se(a["value"], b["value"], n_val, *correct)

    if found["runner_up"] is not None and n_val:
        found["margin_se"] = margin_in_se(winner, found["runner_up"])
    if winner.get("warm_from"):
        found["origin"] = f"carried over by --warm-start from trial {winner['warm_from']}, trained in that earlier search, not this one"
        found["label"] = f"#{winner['number']} (from {winner['warm_from']})"
        return found
    if winner.get("start"):
        found["origin"] = f"the {winner['start']} start"
        found["label"] = f"#{winner['number']} ({winner['start']} start)"
        return found
    starts = [t for t in ranked if t.get("start")]
    if not n_val:
        found["origin"] = "sampled by the search (its margin over the starts is unknown: the study records no validation size)"
        found["label"] = f"#{winner['number']} (sampled by the search)"
        return found
    margins = {t["number"]: margin_in_se(winner, t) for t in starts}
    below = [t for t in starts if margins[t["number"]] < -TIE_SE]
    close = [t for t in starts if margins[t["number"]] <= TIE_SE]
    if below:  # on the ladder: a start scored higher at a shallower rung than the one the winner reached
        start = max(below, key=lambda t: (t["value"], -t["number"]))
        found["origin"] = (f"sampled by the search, and {-margins[start['number']]:.1f} standard errors below the "
                           f"{start['start']} start (#{start['number']}, {100 * start['value']:.2f} %)")
        found["label"] = f"#{winner['number']} (sampled, below the {start['start']} start #{start['number']})"
    elif close:
        start = close[0]  # ranked: the best start within the margin
        margin = margins[start["number"]]
        found["tie_with"] = start
        apart = f"{margin:.1f} standard errors apart" if margin >= 0 else f"{-margin:.1f} standard errors below it"
        found["origin"] = (
            f"sampled by the search, but a tie with the {start['start']} start (#{start['number']}, "
            f"{100 * start['value']:.2f} %): {apart}, not more than {TIE_SE:g}"
        )
        found["label"] = f"#{winner['number']} (tie with the {start['start']} start #{start['number']})"
    else:
        found["origin"] = (
            "found by search: more than "
            f"{TIE_SE:g} standard errors above every start that completed" if starts else
            (f"found by search (no queued start that completed meets {limits.describe()})" if limits else "found by search (no queued start completed)")
        )
        found["origin"] += _shallower_starts(winner, starts)
        found["label"] = f"#{winner['number']} (found by search)"
    return found


def _configuration(trial: dict[str, Any]) -> int:
    """Which configuration a trial trained: on the ladder the number of its first trial, elsewhere its own."""
    found = trial.get("configuration")
    return trial["number"] if found is None else found


def _shallower_starts(winner: dict[str, Any], starts: list[dict[str, Any]]) -> str:
    """On the ladder, the starts whose deepest rung is below the winner's: the margin compares a model trained
    longer with one trained shorter, and the sentence says so."""
    deepest: dict[str, dict[str, Any]] = {}
    for start in starts:  # ranked: a start's first record is its deepest rung
        deepest.setdefault(start["start"], start)
    shallow = [t for t in deepest.values() if (t.get("rung") or 0) < (winner.get("rung") or 0)]
    if not shallow:
        return ""
    at = ", ".join(f"the {t['start']} start at {format_epochs(t['rung'])}" for t in shallow)
    return f" (compared at fewer epochs than the winner's {winner['rung']}: {at})"


def describe(family: str, found: dict[str, Any] | None, unmet: str | None = None) -> str:
    """One plain paragraph for the report (``unmet``: the sentence when no complete trial meets the limits)."""
    if found is None:
        return f"The {family.upper()} search has no complete trial." if unmet is None else f"{family.upper()}: {unmet}, so none was retrained."
    winner, runner = found["winner"], found["runner_up"]
    digits = 2 if runner is None else stats.digits_apart(100 * winner["value"], 100 * runner["value"], 2)
    among = f" Only trials that meet {found['limits']} are compared here; the runner-up and the starts are among them." if found.get("limits") else ""
    text = f"{family.upper()}: trial #{winner['number']} reached {100 * winner['value']:.{digits}f} % validation accuracy, {found['origin']}.{among} "
    ladder = bool(winner.get("rung"))
    if runner is None:
        if not ladder:
            return text + "It is the only complete trial; its validation accuracy is its best epoch, so it is optimistic."
        return text + ("It is the only configuration that completed a rung." if found["complete"] == 1 else
                       f"It is the only configuration that completed a rung ({found['complete']} complete trials trained it).")
    if "margin_se" in found:
        kind = ("paired: from the validation images one trial gets right and the other wrong" if found["paired"] else
                "unpaired: not every trial compared recorded its per-image validation results")
        text += (
            f"The runner-up, #{runner['number']}, reached {100 * runner['value']:.{digits}f} %: "
            f"{found['margin_se']:.1f} standard errors of the difference below"
            f"{' (a tie)' if found['margin_se'] <= TIE_SE else ''} ({kind}). "
        )
    else:
        text += f"The runner-up, #{runner['number']}, reached {100 * runner['value']:.{digits}f} %. "
    if ladder and found.get("higher"):
        higher = found["higher"]
        own = ", the winner's configuration at a shallower rung," if _configuration(higher) == _configuration(winner) else ""
        shown = stats.digits_apart(100 * higher["value"], 100 * winner["value"], 2)
        text += (f"#{higher['number']}{own} scored higher ({100 * higher['value']:.{shown}f} %) "
                 f"at {format_epochs(higher.get('rung') or 0)}: retraining ranks trials by the deepest rung they reached, then by "
                 f"validation accuracy, and the winner reached {format_epochs(winner['rung'])}. ")
    if ladder:
        return text + (f"The winner is the best of {found['configurations']} configurations ({found['complete']} complete trials: "
                       "a configuration continued from its checkpoint is a new trial), so its validation accuracy is optimistic.")
    return text + (f"The winner is the best of {found['complete']} complete trials and its score is its best epoch, so its "
                   "validation accuracy is optimistic.")


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
