"""Invariants of a study after kills and restarts, shared by the reliability tests and bench/kill_resume.py."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from bakeoff.search.engine.record import FROM_EPOCHS, START, Outcome, counted, outcome_of, study_name

FAMILIES = ("ann", "cnn")


def studies(storage, name: str, families: tuple[str, ...] = FAMILIES) -> dict[str, optuna.Study]:
    return {f: optuna.load_study(study_name=study_name(name, f), storage=storage) for f in families}


def complete_trials(storage, name: str) -> dict:
    """Every COMPLETE trial of the families searched: (family, number) -> (value, params); empty before the
    studies exist."""
    found = {}
    for family in FAMILIES:
        try:
            found.update(studies(storage, name, (family,)))
        except Exception:  # noqa: BLE001 - no database, or no study of this family (yet)
            continue
    return {(f, t.number): (t.value, t.params) for f, s in found.items() for t in s.get_trials(states=(TrialState.COMPLETE,))}


def check(storage, name: str, target: int, before: dict, families: tuple[str, ...] = FAMILIES, surplus_ok: bool = False) -> dict[str, int]:
    """Assert: nothing RUNNING or WAITING, exactly ``target`` counted trials per family, every COMPLETE trial
    seen in ``before`` unchanged. Returns counts for reporting. With ``surplus_ok`` (several processes shared the
    study), a WAITING trial may remain if it is the re-queued copy of a surplus trial: two processes each began a
    trial when one trial of the budget was left, and the later one gave way (an extended search runs it first)."""
    counts = {"complete_before_kills": len(before), "complete_changed_or_lost": 0, "running": 0, "waiting": 0}
    for family, study in studies(storage, name, families).items():
        trials = study.get_trials()
        by_number = {t.number: t for t in trials}
        counts["running"] += sum(t.state == TrialState.RUNNING for t in trials)
        counts["waiting"] += sum(t.state == TrialState.WAITING and not (
            surplus_ok and outcome_of(by_number[t.system_attrs.get("failed_trial", t.number)]) is Outcome.SURPLUS) for t in trials)
        counts[f"{family}_counted"] = counted(trials)
        counts[f"{family}_trials_in_storage"] = len(trials)
        counts[f"{family}_interrupted"] = sum(outcome_of(t) == Outcome.INTERRUPTED for t in trials)
        assert len({t.number for t in trials}) == len(trials)
        completed = [t for t in trials if t.state == TrialState.COMPLETE]
        runs: dict[tuple, list] = {}
        for t in completed:  # a ladder's later rungs start from later epochs
            runs.setdefault((t.user_attrs.get(START), t.user_attrs.get(FROM_EPOCHS), repr(sorted(t.params.items()))), []).append(t)
        twice = [[_described(t, by_number) for t in same] for same in runs.values() if len(same) > 1]
        assert not twice, f"{family}: a trial was recorded twice: {twice}"
    after = complete_trials(storage, name)
    counts["complete_changed_or_lost"] = sum(after.get(key) != value for key, value in before.items())
    assert counts["running"] == 0 and counts["waiting"] == 0, counts
    assert all(counts[f"{f}_counted"] == target for f in families), counts
    assert counts["complete_changed_or_lost"] == 0, counts
    return counts


def _described(trial, by_number: dict) -> dict:
    """What tells how a trial came to be: its number, who ran it, and what it was queued as a copy of."""
    copied = trial.system_attrs.get("failed_trial")
    return {"number": trial.number, "worker": trial.user_attrs.get("worker"), "copy_of": copied,
            "copy_of_reason": by_number[copied].user_attrs.get("reason") if copied in by_number else None,
            "start": str(trial.datetime_start)}
