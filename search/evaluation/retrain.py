"""Retrain each family's best trial on train+validation with several seeds; evaluate each on the test split.

Epoch rule (``stats.retrain_epochs``): a retraining runs for the last epoch count whose validation accuracy in
the trial is within one standard error of the difference from the trial's best, with the trial's learning-rate
schedule laid over the trial's full epoch budget. The argmax alone is noisy: a peak at epoch 8 of 15 would stop
retraining halfway down a cosine schedule for a difference that is noise. The test split is read here, after
selection is over, and then by the analyses and export checks that follow; none of them feeds back into selection.
Each seed's folder is complete once ``metrics.json`` exists; a re-run skips those, unless the best trial
has changed since (the search was extended), in which case that seed is trained again.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from bakeoff.search import layout
from bakeoff.search.data import Dataset
from bakeoff.search.deploy.export import latency
from bakeoff.search.durations import format_duration, format_epochs
from bakeoff.search.engine import record
from bakeoff.search.engine.objectives import Limits
from bakeoff.search.files import atomic, write_json
from bakeoff.search.layout import retrain_dir
from bakeoff.search.manifest import machine
from bakeoff.search.stats import retrain_epochs
from bakeoff.search.train.builders import count_flops
from bakeoff.search.train.fit import fit, release_models, steps_per_epoch
from bakeoff.search.train.rungs import DECAY_SHARE, decay, warm_up
from bakeoff.search.train.speed import tuned_model
from bakeoff.spaces import LADDER_SCHEDULE

#: Misclassified test images kept per model, so the report can show mistakes and disagreements without the data.
MISTAKES_KEPT = 2000


@dataclass(frozen=True)
class Plan:
    """How a family's best trial is retrained: its configuration, epochs, and the epochs its schedule spans."""

    trial: int
    val_accuracy: float
    config: dict[str, Any]
    epochs: int
    schedule_epochs: int
    cost: dict[str, Any] | None = None  # ``record.COST``: what the model costs to ship, when the search measured it
    epoch_seconds: float | None = None  # the trial's mean epoch in the search (``record.MEAN_EPOCH_SECONDS``)
    warmup_epochs: float = 0.0  # the ladder's warm-up the trial's run began with (``record.WARMUP``)

    def projected_seconds(self, images: int, searched_images: int) -> float | None:
        """One seed's training at the pace the trial trained in the search, scaled from the ``searched_images`` it
        trained on to ``images`` (the ladder's closing decay included); None when the search recorded no pace."""
        if not self.epoch_seconds:
            return None
        epochs = self.epochs * (1 + DECAY_SHARE) if self.config.get("schedule") == LADDER_SCHEDULE else self.epochs
        return self.epoch_seconds * epochs * images / searched_images


def plan(study: optuna.Study, n_val: int, limits: Limits | None = None) -> Plan | None:
    """The retraining of ``study``'s best trial, of those that meet ``limits`` (None when no complete trial does)."""
    best = record.best_trial(study.get_trials(deepcopy=False), limits)
    if best is None:
        return None
    if record.rung_epochs(best):  # the ladder: the rung's epochs, then the decay its score was taken after
        return Plan(best.number, record.selectable_value(best), record.config_of(best), record.rung_epochs(best), record.rung_epochs(best),
                    best.user_attrs.get(record.COST), best.user_attrs.get(record.MEAN_EPOCH_SECONDS), float(best.user_attrs.get(record.WARMUP) or 0.0))
    curve = record.val_curve(best)
    epochs = retrain_epochs(curve, n_val, best.user_attrs.get(record.VAL_VS_BEST)) if curve else max(1, int(best.user_attrs.get(record.BEST_EPOCH) or 1))
    schedule_epochs = max(epochs, int(best.user_attrs.get(record.MAX_EPOCHS) or epochs))
    return Plan(best.number, record.selectable_value(best), record.config_of(best), epochs, schedule_epochs, best.user_attrs.get(record.COST),
                best.user_attrs.get(record.MEAN_EPOCH_SECONDS))


def retrain_family(study: optuna.Study, family: str, data: Dataset, out: Path, seeds: int, log=print, share: tuple[int, int] = (0, 1),
                   limits: Limits = Limits()) -> list[Path]:
    """Train the missing seeds of ``family``'s best trial (of those that meet ``limits``); returns the folders of every
    finished seed. With ``share`` (index, count), only the seeds ``index, index + count, ...``: one process per GPU
    each takes its own."""
    chosen = plan(study, len(data.y_val), limits)
    if chosen is None:
        complete = [t.user_attrs.get(record.COST) for t in study.get_trials(deepcopy=False) if record.selectable_value(t) is not None]
        log(f"[{family}] {limits.unmet(complete) or 'no complete trial yet'}: nothing to retrain")
        return []
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    folders = []
    mine = range(share[0], seeds, share[1])
    todo = [seed for seed in mine if not _done(retrain_dir(out, family, seed), chosen.trial)]
    if todo and (projected := chosen.projected_seconds(len(y), len(data.y_train))) is not None:  # a deep rung may take hours
        log(f"[{family}] {len(todo)} seed{'' if len(todo) == 1 else 's'} to retrain: about {format_duration(projected * len(todo))}, "
            f"projected from the {chosen.epoch_seconds:.1f} s per epoch trial {chosen.trial} took in the search")
    for seed in mine:
        folder = retrain_dir(out, family, seed)
        if seed not in todo:
            log(f"[{family}] seed {seed}: already retrained from trial {chosen.trial}, skipped")
            folders.append(folder)
            continue
        (folder / layout.ROBUSTNESS_FILE).unlink(missing_ok=True)  # measured on the model this seed replaces
        log(f"[{family}] seed {seed}: retraining trial {chosen.trial} for {format_epochs(chosen.epochs)} on {len(y)} images")  # a seed may take many minutes
        started = time.perf_counter()
        metrics = _train_one(chosen, family, data, x, y, seed, folder)
        metrics.update(trial=chosen.trial, val_accuracy=chosen.val_accuracy, config=chosen.config, family=family, seed=seed, data_sha256=data.sha256,
                       limits=limits.to_dict(), cost=chosen.cost,
                       backend=os.environ.get("KERAS_BACKEND"), cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
                       machine=machine())  # its times are this machine's: a resumed retraining may run elsewhere
        write_json(folder / layout.METRICS_FILE, metrics)
        log(
            f"[{family}] seed {seed}: test accuracy {metrics['test_accuracy']:.4f} after {format_epochs(chosen.epochs)} "
            f"({time.perf_counter() - started:.0f}s)"
        )
        folders.append(folder)
    return folders


def _done(folder: Path, trial_number: int) -> bool:
    """Retrained already, from the trial that is still the best (a better trial since means train again)."""
    return (layout.metrics_of(folder) or {}).get("trial") == trial_number


def train_and_predict(chosen: Plan, family: str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, num_classes: int, seed: int):
    """Train ``chosen``'s configuration on (x, y) from seed ``seed``; returns (model, test probabilities, FitResult, seconds).

    The schedule spans as many steps as the trial's schedule did per image, so a smaller training set
    (the data-efficiency analysis) gets the same number of epochs, not the same number of steps.
    """
    from bakeoff.search.train.backend import import_keras

    keras = import_keras()
    release_models()
    keras.utils.set_random_seed(10_000 + seed)
    batch = chosen.config["batch_size"]
    model = tuned_model(chosen.config, family, x.shape[1:], num_classes, steps_per_epoch(len(x), batch) * chosen.schedule_epochs)
    if chosen.warmup_epochs:
        warm_up(model, round(chosen.warmup_epochs * steps_per_epoch(len(x), batch)))
    started = time.perf_counter()
    result = fit(model, x, y, epochs=chosen.epochs, batch_size=batch)
    if chosen.config.get("schedule") == LADDER_SCHEDULE and result.diverged_at is None:
        decay(model, x, y, batch_size=batch, seed=seed)
    seconds = time.perf_counter() - started
    if result.diverged_at is not None:
        raise RuntimeError(f"{family} seed {seed} diverged in epoch {result.diverged_at} while retraining")
    return model, model.predict(x_test, batch_size=512, verbose=0).astype(np.float32), result, seconds


def _train_one(chosen: Plan, family: str, data: Dataset, x: np.ndarray, y: np.ndarray, seed: int, folder: Path) -> dict[str, Any]:
    model, probabilities, result, train_seconds = train_and_predict(chosen, family, x, y, data.x_test, data.num_classes, seed)
    predictions = probabilities.argmax(axis=1).astype(np.int32)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic(folder / layout.MODEL_FILE) as partial:
        model.save(partial)
    with atomic(folder / layout.PREDICTIONS_FILE) as partial:
        np.savez_compressed(partial, probabilities=probabilities, predictions=predictions, labels=data.y_test)
    _save_gallery(folder, data, predictions)
    write_json(folder / layout.HISTORY_FILE, {**result.history, "epoch_seconds": result.epoch_seconds})
    metrics = {
        "test_accuracy": float((predictions == data.y_test).mean()),
        "epochs": chosen.epochs,
        "train_seconds": round(train_seconds, 3),
        "params_count": int(model.count_params()),
        "flops": count_flops(model),
        **latency(model.predict_on_batch, data.x_test, calls={1: 30, 256: 5}),
    }
    release_models()
    return metrics


def _save_gallery(folder: Path, data: Dataset, predictions: np.ndarray) -> None:
    """The misclassified test images (up to ``MISTAKES_KEPT``), stored so the report can show them without the data."""
    wrong = np.flatnonzero(predictions != data.y_test)[:MISTAKES_KEPT]
    images = (data.x_test[wrong] * 255).round().clip(0, 255).astype(np.uint8)
    with atomic(folder / layout.GALLERY_FILE) as partial:
        np.savez_compressed(partial, index=wrong, images=images, labels=data.y_test[wrong], predictions=predictions[wrong])
