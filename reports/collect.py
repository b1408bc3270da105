"""Gather a run into plain data (dicts, lists, numpy arrays): the studies and the retrained models' artefacts.

Nothing here imports TensorFlow, so a report renders on a machine that never trained: copy the run
directory there and run ``bakeoff report``. Drawing and rendering only read what this module returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from bakeoff.search import layout
from bakeoff.search.engine import record
from bakeoff.search.engine.objectives import Limits
from bakeoff.search.files import read_arrays, read_json


def trial_record(trial: FrozenTrial) -> dict[str, Any]:
    attrs = trial.user_attrs
    outcome = record.outcome_of(trial)
    return {
        "number": trial.number,
        "state": trial.state.name,
        "outcome": outcome.value if outcome else None,
        "value": record.accuracy(trial),
        "cost": attrs.get(record.COST),
        "params": dict(trial.params),
        "config": record.config_of(trial),
        "params_count": attrs.get(record.PARAMS),
        "flops": attrs.get(record.FLOPS),
        "epochs_run": attrs.get("epochs_run"),
        "best_epoch": attrs.get("best_epoch"),
        "seconds_per_epoch": attrs.get(record.MEAN_EPOCH_SECONDS),
        "epoch_seconds": attrs.get(record.EPOCH_SECONDS) or attrs.get(record.MEAN_EPOCH_SECONDS),
        "fitted": attrs.get(record.FITTED),
        "peak_rss_mb": attrs.get(record.PEAK_RSS_MB),
        "reason": attrs.get(record.REASON),
        "start": attrs.get(record.START),
        "warm_from": attrs.get(record.WARM_FROM),
        "engine": attrs.get(record.ENGINE, "optuna"),
        "seconds": record.seconds(trial) if trial.state.is_finished() else None,
        "completed": trial.datetime_complete.timestamp() if trial.datetime_complete else None,
        # Per-epoch validation accuracy as the pruner saw it; a multi-objective trial reports none (Optuna refuses), so
        # its stored curve stands in.
        "intermediate": dict(sorted(trial.intermediate_values.items())) or dict(enumerate(record.val_curve(trial))),
        "configuration": attrs.get(record.LADDER_KEY),  # on the ladder, the first trial of its configuration
        "rung": record.rung_epochs(trial),  # the ladder's deepest rung in epochs, 0 for the other engines
        "selection_depth": record.selection_depth(trial),  # what retraining ranks it by before its accuracy
        "curves": attrs.get(record.CURVES, {}),
        record.VAL_CORRECT: attrs.get(record.VAL_CORRECT),
    }


def study_summary(study: optuna.Study, limits: Limits = Limits()) -> dict[str, Any]:
    """States, outcomes, charged time, the best complete trial (the one retraining uses: of those that meet
    ``limits``) and every trial as a record."""
    trials = study.get_trials(deepcopy=False)
    states = {s.name: 0 for s in TrialState}
    for t in trials:
        states[t.state.name] += 1
    records = [trial_record(t) for t in trials]
    best = record.best_trial(trials, limits)
    outcomes: dict[str, int] = {}
    for r in records:
        if r["outcome"]:
            outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    return {
        "study_name": study.study_name,
        "family": study.user_attrs.get("family", study.study_name.rsplit("-", 1)[-1]),
        "attrs": dict(study.user_attrs),
        "states": states,
        "outcomes": outcomes,
        "seconds": record.spent_seconds(trials),
        "best": None if best is None else records[trials.index(best)],
        "trials": records,
    }


def snapshot(study: optuna.Study) -> optuna.Study:
    """An in-memory copy read from storage once: plots and summaries then query memory, not the database."""
    copy = optuna.create_study(study_name=study.study_name, directions=study.directions)
    copy.add_trials(study.get_trials(deepcopy=False))
    for key, value in study.user_attrs.items():
        copy.set_user_attr(key, value)
    return copy


def same_images(runs: list[dict[str, Any]]) -> bool:
    """Whether every run (retrained seed or analysis) was scored on the same test images, in the same order: what
    a paired comparison of them needs."""
    return all(np.array_equal(r["labels"], runs[0]["labels"]) for r in runs)


def load_retrained(out: Path, family: str) -> list[dict[str, Any]]:
    """Every finished retraining of ``family``: metrics, history and test predictions, by seed."""
    runs = []
    for folder, metrics in layout.retrained(out, family):
        predictions_file = folder / layout.PREDICTIONS_FILE
        if not predictions_file.exists():
            continue
        run = dict(metrics)
        history_file = folder / layout.HISTORY_FILE
        run["history"] = read_json(history_file, missing={})
        run.update(read_arrays(predictions_file, ("probabilities", "predictions", "labels")))
        robustness_file = folder / layout.ROBUSTNESS_FILE
        run["robustness"] = read_json(robustness_file)
        run["mistakes"] = _mistakes(folder)
        run["folder"] = str(folder)
        runs.append(run)
    return runs


def _mistakes(folder: Path) -> dict[int, tuple[np.ndarray, int, int]]:
    """The stored misclassified test images (search/evaluation/retrain.py keeps them): test index -> (image, true, predicted)."""
    path = folder / layout.GALLERY_FILE
    if not path.exists():
        return {}
    found = read_arrays(path, ("index", "images", "labels", "predictions"))
    return {int(i): (image, int(t), int(p)) for i, image, t, p in zip(found["index"], found["images"], found["labels"], found["predictions"])}


def load_exports(out: Path) -> dict[str, dict[str, Any]]:
    """Each family's ``exports.json`` (formats verified, model card), as ``bakeoff export`` wrote it."""
    return {path.parent.name: read_json(path) for path in layout.export_summaries(out)}


def load_analyses(out: Path) -> dict[str, list[dict[str, Any]]]:
    """The results of the analyses that retrain, by family (``search/evaluation/analyses.py`` wrote them)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in layout.analyses_files(out):
        found.setdefault(path.parent.name, []).append(read_json(path))
    return found
