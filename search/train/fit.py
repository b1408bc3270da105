"""Fit a model with per-epoch hooks: timing, pruning, a wall-clock deadline, and a stop request.

One ``fit`` serves the search (with a pruning hook) and the retraining (without), so both measure
seconds per epoch and detect divergence the same way.
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bakeoff.search.train.backend import import_keras

#: Images per call of the validation pass (a chunk, not the training batch: inference memory is small).
VALIDATION_BATCH = 512
#: Called after each epoch with (epoch index from 0, logs); returns a reason to stop, or None.
EpochHook = Callable[[int, dict], "str | None"]


@dataclass
class FitResult:
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    stop_reason: str | None = None
    diverged_at: int | None = None
    #: Per epoch, which validation images the model got right: what paired comparisons of two accuracies on
    #: the same images need (``stats.paired_se``).
    val_correct: list[np.ndarray] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.epoch_seconds)


def steps_per_epoch(images: int, batch_size: int) -> int:
    """Optimisation steps in one pass over ``images`` (the last batch may be short): the one count the schedule,
    the pace and the records use."""
    return -(-int(images) // int(batch_size))


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def training_batches(x: np.ndarray, targets: np.ndarray, batch_size: int, *, shuffle: bool = True):
    """TensorFlow: (x, targets) as a tf.data pipeline of one pass, reshuffled at every pass, without tf.data's
    autotuning; None on other backends, which take the arrays.

    Why: given arrays, Keras builds an autotuned pipeline and makes a new iterator every epoch, and dropping the
    old one waits for a thread of it (py-spy: the main thread in the iterator's destructor, the process idle).
    Epochs then ended on a grid, 10.2 s or 20.5 s after the iterator was made (10 ms times 2**10 - 1 and
    2**11 - 1, as if an autotuning thread slept in doubling periods): recipe ANN epochs of 6.8 s took 10.0-10.5 s,
    CNN epochs of 11 s took 20.5 s every other epoch (bench/input_pipeline.py: 1.38x and 1.47x faster fits).
    """
    keras = import_keras()
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    images, labels = tf.constant(x), tf.constant(targets)
    batches = tf.data.Dataset.range(len(x))
    if shuffle:
        batches = batches.shuffle(len(x), reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    return (batches.batch(batch_size).map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))
            .prefetch(2).with_options(options))


def fit_arrays(model, x: np.ndarray, targets: np.ndarray, *, batch_size: int, epochs: int, shuffle: bool = True, **kwargs):
    """``model.fit`` on arrays (and ``validation_data`` of arrays, as KerasTuner's trials pass), through
    ``training_batches`` where the backend is TensorFlow."""
    batches = training_batches(x, targets, batch_size, shuffle=shuffle)
    if batches is None:
        return model.fit(x, targets, batch_size=batch_size, epochs=epochs, shuffle=shuffle, **kwargs)
    if kwargs.get("validation_data") is not None:
        kwargs["validation_data"] = training_batches(*kwargs["validation_data"], VALIDATION_BATCH, shuffle=False)
    return model.fit(batches, epochs=epochs, shuffle=False, **kwargs)  # the pipeline shuffles; Keras would warn it cannot


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

    Validation is one pass of ``predict_on_batch`` per epoch made here rather than Keras' own evaluation: it
    tells which images the model got right (``FitResult.val_correct``), not only how many, and it costs about
    half of ``evaluate``'s time, first pass included (0.42-0.53x for both recipes on full MNIST's validation
    split, 2-core Intel Xeon: bench/validation_pass.py).
    """
    keras = import_keras()
    num_classes = int(model.output_shape[-1])
    result = FitResult(history={}, epoch_seconds=[])
    measured: dict[str, list[float]] = {"val_loss": [], "val_accuracy": []}
    per_epoch = steps_per_epoch(len(x), batch_size)

    class _Hooks(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            # With steps_per_execution, the epoch's last (shorter) call still reports a full call's batch index.
            done = self.epoch * per_epoch + min(batch + 1, per_epoch)
            if stop_now is not None and stop_now(done, epochs * per_epoch):
                self.model.stop_training = True

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.started = epoch, time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            if validation is not None:
                logs.update(self._validate())
            result.epoch_seconds.append(time.perf_counter() - self.started)
            if not math.isfinite(logs.get("loss", 0.0)):
                result.diverged_at = epoch + 1
                self.model.stop_training = True
                return
            reason = hook(epoch, logs) if hook else None
            if reason:
                result.stop_reason = reason
                self.model.stop_training = True

        def _validate(self) -> dict[str, float]:
            started = time.perf_counter()
            correct, loss = validation_pass(self.model, *validation)
            if on_validation is not None:
                on_validation(time.perf_counter() - started)
            result.val_correct.append(correct)
            found = {"val_loss": loss, "val_accuracy": float(correct.mean())}
            for key, value in found.items():
                measured[key].append(value)
            return found

    history = fit_arrays(model, x, one_hot(y, num_classes), batch_size=batch_size, epochs=epochs,
                         callbacks=[_Hooks(), keras.callbacks.TerminateOnNaN()], verbose=0)
    result.history = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if validation is not None:
        result.history.update(measured)
    return result


def validation_pass(model, x_val: np.ndarray, y_val: np.ndarray) -> tuple[np.ndarray, float]:
    """Which validation images ``model`` gets right, and its loss on them (the compiled loss, label smoothing
    included), in chunks of ``VALIDATION_BATCH``."""
    keras = import_keras()
    probabilities = np.concatenate([
        np.asarray(model.predict_on_batch(x_val[i:i + VALIDATION_BATCH]), dtype=np.float32) for i in range(0, len(x_val), VALIDATION_BATCH)
    ])
    loss = float(keras.ops.convert_to_numpy(model.loss(one_hot(y_val, probabilities.shape[1]), probabilities)))
    return probabilities.argmax(axis=1) == y_val, loss


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
