"""Retrain each family's best trial on train+validation with several seeds; evaluate once on the test split.

Epoch rule (``noise.retrain_epochs``): a retraining runs for the last epoch count whose validation accuracy in
the trial is within one standard error of the difference from the trial's best, with the trial's learning-rate
schedule laid over the trial's full epoch budget. The argmax alone is noisy: a peak at epoch 8 of 15 would stop
retraining halfway down a cosine schedule for a difference that is noise. The test split is read here and nowhere else, after selection is over.
Each seed's folder is complete once ``metrics.json`` exists; a re-run skips those, unless the best trial
has changed since (the search was extended), in which case that seed is trained again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from bakeoff.search import record
from bakeoff.search.builders import build_model, count_flops
from bakeoff.search.data import Dataset
from bakeoff.search.manifest import write_json
from bakeoff.search.noise import retrain_epochs
from bakeoff.search.record import retrain_dir
from bakeoff.search.training import fit, release_models

#: Misclassified test images kept per model, so the report can show mistakes and disagreements without the data.
MISTAKES_KEPT = 2000


def retrain_family(study: optuna.Study, family: str, data: Dataset, out: Path, seeds: int, log=print) -> list[Path]:
    """Train the missing seeds of ``family``'s best trial; returns the folders of every finished seed."""
    best = record.best_trial(study.get_trials(deepcopy=False))
    if best is None:
        log(f"[{family}] no complete trial yet: nothing to retrain")
        return []
    config = record.config_of(best)
    curve = record.val_curve(best)
    epochs = retrain_epochs(curve, len(data.y_val)) if curve else max(1, int(best.user_attrs.get(record.BEST_EPOCH) or 1))
    schedule_epochs = max(epochs, int(best.user_attrs.get(record.MAX_EPOCHS) or epochs))
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    folders = []
    for seed in range(seeds):
        folder = retrain_dir(out, family, seed)
        if _done(folder, best.number):
            log(f"[{family}] seed {seed}: already retrained from trial {best.number}, skipped")
            folders.append(folder)
            continue
        (folder / record.ROBUSTNESS_FILE).unlink(missing_ok=True)  # measured on the model this seed replaces
        started = time.perf_counter()
        metrics = _train_one(config, family, data, x, y, epochs, schedule_epochs, seed, folder)
        metrics.update(trial=best.number, val_accuracy=best.value, config=config, family=family, seed=seed)
        write_json(folder / "metrics.json", metrics)
        log(
            f"[{family}] seed {seed}: test accuracy {metrics['test_accuracy']:.4f} after {epochs} epochs "
            f"({time.perf_counter() - started:.0f}s)"
        )
        folders.append(folder)
    return folders


def _done(folder: Path, trial_number: int) -> bool:
    try:
        return json.loads((folder / "metrics.json").read_text()).get("trial") == trial_number
    except (OSError, ValueError):
        return False


def _train_one(
    config: dict[str, Any], family: str, data: Dataset, x: np.ndarray, y: np.ndarray,
    epochs: int, schedule_epochs: int, seed: int, folder: Path,
) -> dict[str, Any]:
    from bakeoff.search.backend import import_keras

    keras = import_keras()
    release_models()
    keras.utils.set_random_seed(10_000 + seed)
    steps = int(np.ceil(len(x) / config["batch_size"])) * schedule_epochs
    model = build_model(config, family, data.input_shape, data.num_classes, steps)
    started = time.perf_counter()
    result = fit(model, x, y, epochs=epochs, batch_size=config["batch_size"])
    train_seconds = time.perf_counter() - started
    if result.diverged_at is not None:
        raise RuntimeError(f"{family} seed {seed} diverged in epoch {result.diverged_at} while retraining")
    probabilities = model.predict(data.x_test, batch_size=512, verbose=0).astype(np.float32)
    predictions = probabilities.argmax(axis=1).astype(np.int32)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    np.savez_compressed(folder / "predictions.npz", probabilities=probabilities, predictions=predictions, labels=data.y_test)
    _save_gallery(folder, data, predictions)
    write_json(folder / "history.json", {**result.history, "epoch_seconds": result.epoch_seconds})
    metrics = {
        "test_accuracy": float((predictions == data.y_test).mean()),
        "epochs": epochs,
        "train_seconds": round(train_seconds, 3),
        "params_count": int(model.count_params()),
        "flops": count_flops(model),
        **_latency(model, data.x_test),
    }
    release_models()
    return metrics


def _save_gallery(folder: Path, data: Dataset, predictions: np.ndarray) -> None:
    """The misclassified test images (up to ``MISTAKES_KEPT``), stored so the report can show them without the data."""
    wrong = np.flatnonzero(predictions != data.y_test)[:MISTAKES_KEPT]
    images = (data.x_test[wrong] * 255).round().clip(0, 255).astype(np.uint8)
    np.savez_compressed(folder / "gallery.npz", index=wrong, images=images, labels=data.y_test[wrong], predictions=predictions[wrong])


def _latency(model, x_test: np.ndarray) -> dict[str, float]:
    """Median milliseconds per image at batch 1 and batch 256, after a warm-up call."""
    found = {}
    for batch, repeats in ((1, 30), (256, 5)):
        sample = x_test[:batch]
        model.predict_on_batch(sample)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            model.predict_on_batch(sample)
            times.append(time.perf_counter() - started)
        found[f"latency_ms_batch{batch}"] = round(1000 * float(np.median(times)) / len(sample), 4)
    return found
