"""Gather a run into plain data (dicts, lists, numpy arrays): the studies and the retrained models' artefacts.

Nothing here imports TensorFlow, so a report renders on a machine that never trained: copy the run
directory there and run ``bakeoff report``. Drawing and rendering only read what this module returns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

RETRAIN_DIR = "retrain"


def trial_record(trial: FrozenTrial) -> dict[str, Any]:
    attrs = trial.user_attrs
    seconds = None
    if trial.datetime_start and trial.datetime_complete:
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "params": dict(trial.params),
        "config": attrs.get("config", dict(trial.params)),
        "params_count": attrs.get("params_count"),
        "flops": attrs.get("flops"),
        "epochs_run": attrs.get("epochs_run"),
        "best_epoch": attrs.get("best_epoch"),
        "seconds_per_epoch": attrs.get("seconds_per_epoch"),
        "peak_rss_mb": attrs.get("peak_rss_mb"),
        "reason": attrs.get("reason"),
        "start": attrs.get("start"),
        "seconds": seconds,
        "intermediate": dict(sorted(trial.intermediate_values.items())),
        "curves": attrs.get("curves", {}),
    }


def study_summary(study: optuna.Study) -> dict[str, Any]:
    """States, time, the best complete trial and every trial as a record."""
    trials = study.get_trials(deepcopy=False)
    states = {s.name: 0 for s in TrialState}
    for t in trials:
        states[t.state.name] += 1
    records = [trial_record(t) for t in trials]
    complete = [r for r in records if r["state"] == "COMPLETE" and r["value"] is not None]
    best = max(complete, key=lambda r: (r["value"], -r["number"])) if complete else None
    return {
        "study_name": study.study_name,
        "family": study.user_attrs.get("family", study.study_name.rsplit("-", 1)[-1]),
        "attrs": dict(study.user_attrs),
        "states": states,
        "seconds": sum(r["seconds"] or 0.0 for r in records if r["state"] in ("COMPLETE", "PRUNED", "FAIL")),
        "best": best,
        "trials": records,
    }


def snapshot(study: optuna.Study) -> optuna.Study:
    """An in-memory copy read from storage once: plots and summaries then query memory, not the database."""
    copy = optuna.create_study(study_name=study.study_name, directions=study.directions)
    copy.add_trials(study.get_trials(deepcopy=False))
    for key, value in study.user_attrs.items():
        copy.set_user_attr(key, value)
    return copy


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best COMPLETE trial by validation accuracy (earliest on ties)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def retrain_dir(out: Path, family: str, seed: int) -> Path:
    return out / RETRAIN_DIR / family / f"seed-{seed}"


def load_retrained(out: Path, family: str) -> list[dict[str, Any]]:
    """Every finished retraining of ``family``: metrics, history and test predictions, by seed."""
    runs = []
    base = out / RETRAIN_DIR / family
    for folder in sorted(base.glob("seed-*"), key=lambda p: int(p.name.split("-")[1]) if p.name.split("-")[1].isdigit() else 0):
        metrics_file = folder / "metrics.json"
        predictions_file = folder / "predictions.npz"
        if not (metrics_file.exists() and predictions_file.exists()):
            continue
        record = json.loads(metrics_file.read_text())
        history_file = folder / "history.json"
        record["history"] = json.loads(history_file.read_text()) if history_file.exists() else {}
        with np.load(predictions_file) as npz:
            record["probabilities"] = npz["probabilities"]
            record["predictions"] = npz["predictions"]
            record["labels"] = npz["labels"]
        record["folder"] = str(folder)
        runs.append(record)
    return runs
