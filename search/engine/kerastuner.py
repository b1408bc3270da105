"""``--engine kerastuner``: KerasTuner's Hyperband over the same bakeoff spaces, data split and budget.

It exists to compare engines honestly (bench/engines.py), and so that a user who prefers Hyperband still
gets the report: every finished KerasTuner trial is copied into the family's Optuna study with its
configuration, score, outcome and every epoch's validation accuracy, so retraining and reporting read it
like any other trial. Like for like with the Optuna engine: the runner trains the same queued starts first,
and the budget is the same sum of trial times (``record.seconds``), checked between batches and when a trial ends.

KerasTuner 1.4 keeps only a trial's best epoch in its metrics, so a callback records every epoch. A Hyperband
continuation loads its parent's best-epoch checkpoint and trains on: its curve is the parent's curve up to
that best epoch, then its own epochs, so retraining counts every epoch the model really trained.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from bakeoff.search.data import SearchData
from bakeoff.search.engine import record
from bakeoff.search.engine.budget import Budget
from bakeoff.search.engine.objective import BUDGET_CUT, StopRequest
from bakeoff.search.engine.record import Outcome
from bakeoff.search.train.backend import import_keras
from bakeoff.search.train.builders import count_flops
from bakeoff.search.train.fit import fit_arrays, one_hot, release_models, steps_per_epoch
from bakeoff.search.train.speed import tuned_model
from bakeoff.spaces import Space

#: Trial attribute of a Hyperband continuation: the number of the trial whose best checkpoint it trained on.
CONTINUES = record.CONTINUES


class HyperparameterSuggester:
    """Lets ``Space.sample`` draw from KerasTuner's ``hp``, and records Optuna distributions on the way."""

    def __init__(self, hp) -> None:
        self.hp = hp
        self.distributions: dict[str, Any] = {}

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        self.distributions[name] = IntDistribution(low, high, log=log, step=step)
        if low == high:
            return self.hp.Fixed(name, low)
        return self.hp.Int(name, low, high, step=None if log else step, sampling="log" if log else "linear")

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        self.distributions[name] = FloatDistribution(low, high, log=log)
        if low == high:
            return self.hp.Fixed(name, low)
        return self.hp.Float(name, low, high, sampling="log" if log else "linear")

    def suggest_categorical(self, name: str, choices: list) -> Any:
        self.distributions[name] = CategoricalDistribution(choices)
        if len(choices) == 1:
            return self.hp.Fixed(name, choices[0])
        if set(map(type, choices)) == {bool}:
            return self.hp.Boolean(name)
        return self.hp.Choice(name, choices)


def search_with_kerastuner(
    family: str,
    space: Space,
    data: SearchData,
    study: optuna.Study,
    *,
    epochs: int,
    budget: Budget,
    seed: int,
    workdir: Path,
    stop: StopRequest | None = None,
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
) -> None:
    """Run Hyperband until the family's time budget is spent or ``stop`` is requested, copying each finished
    trial into ``study``."""
    keras = import_keras()
    import keras_tuner as kt

    curves: dict[str, list[float]] = {}  # KerasTuner trial id -> every epoch's validation accuracy so far
    sizes: dict[str, dict[str, int]] = {}
    numbers: dict[str, int] = {}  # KerasTuner trial id -> number of its copy in the Optuna study
    now: dict[str, Any] = {}  # the trial under way: id, start time, seconds spent before it, cut, its configuration
    ended: list[str] = []  # why the search ended early (the budget, a stop request), set before raising FatalError

    def stopping() -> bool:
        return stop is not None and stop.requested

    def over_budget() -> bool:
        return now["spent"] + time.time() - now["started"] >= budget.seconds

    class _HyperModel(kt.HyperModel):
        def build(self, hp):
            suggester = HyperparameterSuggester(hp)
            config = space.sample(suggester)  # sampled once per trial; fit and the copy into the study reuse it
            now.update(config=config, distributions=suggester.distributions)
            steps = steps_per_epoch(len(data.x_train), config["batch_size"]) * epochs
            release_models()
            model = tuned_model(config, family, data.input_shape, data.num_classes, steps)
            if "id" in now:  # KerasTuner also builds once before any trial, to learn the space
                sizes[now["id"]] = {record.PARAMS: int(model.count_params()), record.FLOPS: count_flops(model)}
            return model

        def fit(self, hp, model, x, y, **kwargs):  # the same input pipeline as bakeoff's own trials
            return fit_arrays(model, x, y, batch_size=now["config"]["batch_size"], **kwargs)

    class _Record(keras.callbacks.Callback):
        """Every epoch's validation accuracy, and the budget checked between batches. KerasTuner deep-copies
        callbacks, so the state lives in the enclosing dicts."""

        def on_train_batch_end(self, batch, logs=None):
            if over_budget():
                now["cut"] = True
                self.model.stop_training = True
            elif stopping():
                now["interrupted"] = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            curves[now["id"]].append(round(float((logs or {}).get("val_accuracy", 0.0)), 5))

    class _Tuner(kt.Hyperband):
        def run_trial(self, trial, *args, **kwargs):
            spent = record.spent_seconds(study.get_trials(deepcopy=False))
            if spent >= budget.seconds or stopping():
                ended.append("stop requested" if stopping() else "budget used")
                raise kt.errors.FatalError(ended[-1])
            parent = trial.hyperparameters.values.get("tuner/trial_id")
            now.update(id=trial.trial_id, started=time.time(), spent=spent, cut=False, interrupted=False, parent=numbers.get(parent))
            before = curves.get(parent, []) if parent else []
            curves[trial.trial_id] = before[: int(np.argmax(before)) + 1] if before else []
            return super().run_trial(trial, *args, **kwargs)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            seconds = time.time() - now["started"]
            # KerasTuner validates, saves its checkpoint and writes its oracle after the last batch: charged time too,
            # so a budget that ran out there ran out during this trial as well (the Optuna engine's rule, to its end)
            now["cut"] = now["cut"] or now["spent"] + seconds >= budget.seconds
            extra = {**sizes.get(trial.trial_id, {}), **({CONTINUES: now["parent"]} if now["parent"] is not None else {})}
            frozen = _copy_trial(study, trial, now, curves.get(trial.trial_id, []), extra, epochs, seconds)
            numbers[trial.trial_id] = frozen.number
            if on_trial is not None:
                on_trial(frozen)

    shutil.rmtree(workdir, ignore_errors=True)
    tuner = _Tuner(
        _HyperModel(), objective="val_accuracy", max_epochs=epochs, factor=3, hyperband_iterations=1000,
        seed=seed, directory=str(workdir), project_name=family, overwrite=True, max_consecutive_failed_trials=1000,
    )
    try:
        tuner.search(
            data.x_train, one_hot(data.y_train, data.num_classes),
            validation_data=(data.x_val, one_hot(data.y_val, data.num_classes)),
            epochs=epochs, callbacks=[_Record()], verbose=0,
        )
    except kt.errors.FatalError:
        pass
    except RuntimeError:  # KerasTuner wraps a FatalError raised inside a trial: ours ended the search, others are bugs
        if not ended:
            raise
    finally:
        release_models()


def _copy_trial(study: optuna.Study, trial, now: dict[str, Any], curve: list[float], extra: dict[str, int],
                max_epochs: int, seconds: float) -> optuna.trial.FrozenTrial:
    """The KerasTuner trial as an Optuna trial: the same flat parameters and record bakeoff's objective writes,
    from the configuration and distributions its build sampled (``now``)."""
    config, distributions = now["config"], now["distributions"]
    params = {k: v for k, v in trial.hyperparameters.values.items() if k in distributions}
    if now["interrupted"]:  # a signal stopped it mid-way: not counted, and no result
        outcome, reason = Outcome.INTERRUPTED, "interrupted: the search was stopped during this trial"
    elif trial.status != "COMPLETED" or not curve:
        outcome, reason = Outcome.FAILED, f"kerastuner: trial {trial.status.lower()}"
    elif now["cut"]:
        outcome, reason = BUDGET_CUT
    else:
        outcome, reason = Outcome.COMPLETE, None
    attrs: dict[str, Any] = {
        record.CONFIG: config,
        record.ENGINE: "kerastuner",
        record.OUTCOME: outcome.value,
        record.EPOCHS_RUN: len(curve),
        record.BEST_EPOCH: int(np.argmax(curve)) + 1 if curve else 0,
        record.MAX_EPOCHS: max_epochs,
        record.CURVES: {"val_accuracy": curve},
        record.SECONDS: round(seconds, 3),
        **extra,
    }
    if reason:
        attrs[record.REASON] = reason
    frozen = optuna.trial.create_trial(
        state=outcome.state,
        value=float(max(curve)) if outcome is Outcome.COMPLETE else None,
        params=params,
        distributions=distributions,
        user_attrs=attrs,
        intermediate_values=dict(enumerate(curve)),
    )
    frozen.datetime_complete = datetime.now()
    frozen.datetime_start = frozen.datetime_complete - timedelta(seconds=seconds)
    study.add_trial(frozen)
    return study.get_trials(deepcopy=False)[-1]
