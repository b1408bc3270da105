"""Fit a model with per-epoch hooks: timing, pruning, a wall-clock deadline, and a stop request.

One ``fit`` serves the search (with a pruning hook) and the retraining (without), so both measure
seconds per epoch and detect divergence the same way.
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from bakeoff.search.backend import import_keras

#: Called after each epoch with (epoch index from 0, logs); returns a reason to stop, or None.
EpochHook = Callable[[int, dict], "str | None"]


@dataclass
class FitResult:
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    stop_reason: str | None = None
    diverged_at: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.epoch_seconds)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def fit(
    model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    hook: EpochHook | None = None,
    stop_now: Callable[[int, int], bool] | None = None,
    on_validation: Callable[[float], None] | None = None,
) -> FitResult:
    """Train; labels are integer classes. Stops early when ``hook`` gives a reason or the loss is NaN.

    ``stop_now(steps_done, steps_total)`` is polled after every batch (or group of ``steps_per_execution``
    batches), so a signal stops a long epoch within seconds and a slow fit can be projected early;
    ``on_validation(seconds)`` is told how long each validation pass took.
    """
    keras = import_keras()
    num_classes = int(model.output_shape[-1])
    val = None if validation is None else (validation[0], one_hot(validation[1], num_classes))
    result = FitResult(history={}, epoch_seconds=[])
    steps_per_epoch = -(-len(x) // batch_size)

    class _Hooks(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            # With steps_per_execution, the epoch's last (shorter) call still reports a full call's batch index.
            done = self.epoch * steps_per_epoch + min(batch + 1, steps_per_epoch)
            if stop_now is not None and stop_now(done, epochs * steps_per_epoch):
                self.model.stop_training = True

        def on_test_begin(self, logs=None):
            self.validation_started = time.perf_counter()

        def on_test_end(self, logs=None):
            if on_validation is not None:
                on_validation(time.perf_counter() - self.validation_started)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.started = epoch, time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            result.epoch_seconds.append(time.perf_counter() - self.started)
            logs = dict(logs or {})
            if not math.isfinite(logs.get("loss", 0.0)):
                result.diverged_at = epoch + 1
                self.model.stop_training = True
                return
            reason = hook(epoch, logs) if hook else None
            if reason:
                result.stop_reason = reason
                self.model.stop_training = True

    history = model.fit(
        x,
        one_hot(y, num_classes),
        epochs=epochs,
        batch_size=batch_size,
        validation_data=val,
        callbacks=[_Hooks(), keras.callbacks.TerminateOnNaN()],
        verbose=0,
        shuffle=True,
    )
    result.history = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    return result


def release_models() -> None:
    """Drop Keras' global graph state between models.

    Without ``free_memory``: its ``gc.collect`` took 0.35 s a call and kept no more memory flat
    (bench/trial_overhead_memory.py); what TensorFlow keeps anyway is bounded by recycling workers.
    """
    import_keras().backend.clear_session(free_memory=False)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Resident memory now, from /proc (falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return peak_rss_mb()
