"""``--engine kerastuner``: KerasTuner's Hyperband over the same bakeoff spaces, data split and budget.

It exists to compare engines honestly (bench/engines.py), and so that a user who prefers Hyperband still
gets the report: every finished KerasTuner trial is copied into the family's Optuna study with its
configuration, score and curves, so retraining and reporting read it like any other trial.
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

from bakeoff.search.backend import import_keras
from bakeoff.search.builders import build_model, count_flops
from bakeoff.search.data import Dataset
from bakeoff.search.training import one_hot, release_models
from bakeoff.spaces import Space


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
    data: Dataset,
    study: optuna.Study,
    *,
    epochs: int,
    seconds: float,
    seed: int,
    workdir: Path,
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
) -> None:
    """Run Hyperband for ``seconds`` of wall time, copying each finished trial into ``study``."""
    keras = import_keras()
    import keras_tuner as kt

    x_train, y_train, x_val, y_val = data.search_split()
    deadline = time.time() + seconds

    class _HyperModel(kt.HyperModel):
        def build(self, hp):
            config = space.sample(HyperparameterSuggester(hp))
            steps = int(np.ceil(len(x_train) / config["batch_size"])) * epochs
            release_models()
            return build_model(config, family, data.input_shape, data.num_classes, steps)

        def fit(self, hp, model, *args, **kwargs):
            config = space.sample(HyperparameterSuggester(hp))
            return model.fit(*args, batch_size=config["batch_size"], **kwargs)

    class _Deadline(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.time() >= deadline:
                self.model.stop_training = True

    class _Tuner(kt.Hyperband):
        def run_trial(self, trial, *args, **kwargs):
            if time.time() >= deadline:
                raise kt.errors.FatalError("budget used")
            self._started = time.time()
            return super().run_trial(trial, *args, **kwargs)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            frozen = _copy_trial(study, space, trial, family, data, time.time() - self._started)
            if on_trial and frozen is not None:
                on_trial(frozen)

    shutil.rmtree(workdir, ignore_errors=True)
    tuner = _Tuner(
        _HyperModel(), objective="val_accuracy", max_epochs=epochs, factor=3, hyperband_iterations=1000,
        seed=seed, directory=str(workdir), project_name=family, overwrite=True, max_consecutive_failed_trials=1000,
    )
    try:
        tuner.search(
            x_train, one_hot(y_train, data.num_classes), validation_data=(x_val, one_hot(y_val, data.num_classes)),
            epochs=epochs, callbacks=[_Deadline()], verbose=0,
        )
    except kt.errors.FatalError:
        pass
    except RuntimeError as exc:  # KerasTuner wraps a FatalError raised inside a trial
        if "budget used" not in str(exc):
            raise
    finally:
        release_models()


def _copy_trial(study: optuna.Study, space: Space, trial, family: str, data: Dataset, seconds: float):
    """The KerasTuner trial as an Optuna trial: the same flat parameters and attributes bakeoff records."""
    suggester = HyperparameterSuggester(trial.hyperparameters)
    config = space.sample(suggester)
    params = {k: v for k, v in trial.hyperparameters.values.items() if k in suggester.distributions}
    history = trial.metrics.get_history("val_accuracy") if trial.metrics.exists("val_accuracy") else []
    curve = [float(obs.value[0]) for obs in history]
    complete = trial.status == "COMPLETED" and trial.score is not None
    attrs: dict[str, Any] = {
        "config": config,
        "engine": "kerastuner",
        "epochs_run": len(curve),
        "best_epoch": int(np.argmax(curve)) + 1 if curve else 0,
        "max_epochs": len(curve),
        "curves": {"val_accuracy": curve},
    }
    if not complete:
        attrs["reason"] = f"kerastuner: trial {trial.status.lower()}"
    try:
        model = build_model(config, family, data.input_shape, data.num_classes, 1)
        attrs.update(params_count=int(model.count_params()), flops=count_flops(model))
    except Exception:  # a configuration that cannot be built has no size
        pass
    release_models()
    frozen = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE if complete else optuna.trial.TrialState.FAIL,
        value=float(trial.score) if complete else None,
        params=params,
        distributions=suggester.distributions,
        user_attrs=attrs,
        intermediate_values=dict(enumerate(curve)),
    )
    frozen.datetime_complete = datetime.now()
    frozen.datetime_start = frozen.datetime_complete - timedelta(seconds=seconds)
    study.add_trial(frozen)
    return study.get_trials(deepcopy=False)[-1]
