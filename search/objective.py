"""The Optuna objective: sample a configuration, train it, report validation accuracy per epoch.

Every outcome is recorded on the trial with its reason (``reason`` user attribute): pruned by the pruner,
cut by the budget, diverged, failed to build or train, or interrupted by a signal. Failures are raised so
Optuna records them as FAIL; the runner catches them and the search goes on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import optuna

from bakeoff.search.builders import build_model, count_flops
from bakeoff.search.errors import first_line
from bakeoff.search.storage import WORKER_ATTR, worker_id
from bakeoff.search.training import fit, peak_rss_mb, release_models
from bakeoff.spaces import Space

INTERRUPTED = "interrupted"
#: Seconds of batches (or one epoch, if sooner) a trial's pace is measured over before it is projected.
PACE_SECONDS = 3.0
BUDGET_CUT = "budget: the family's time budget ran out during this trial"


class Interrupted(KeyboardInterrupt):
    """A stop request (SIGINT/SIGTERM) reached a running trial: Optuna records FAIL and re-raises it."""


class Surplus(Exception):
    """Another worker already holds the budget's last trial: this one steps back (FAIL, not counted)."""


@dataclass
class StopRequest:
    """Set by a signal handler; checked between epochs."""

    event: threading.Event
    signal_name: str = ""

    def request(self, signal_name: str) -> None:
        self.signal_name = signal_name
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


class Objective:
    def __init__(
        self,
        family: str,
        space: Space,
        data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        num_classes: int,
        *,
        epochs: int,
        seed: int,
        deadline: float | None = None,
        stop: StopRequest | None = None,
        surplus: Callable[[optuna.Trial], bool] | None = None,
        max_seconds: float | None = None,
    ) -> None:
        self.family, self.space, self.data = family, space, data
        self.num_classes, self.epochs, self.seed = num_classes, epochs, seed
        self.deadline = deadline
        self.stop = stop or StopRequest(threading.Event())
        self.surplus = surplus
        self.max_seconds = max_seconds
        self.trial_id: int | None = None
        self.fit_started = 0.0
        self.pace_mark: tuple[float, int] | None = None
        self.cut: str | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        started = time.perf_counter()
        self.trial_id = trial._trial_id
        trial.set_user_attr(WORKER_ATTR, worker_id())
        if self.surplus is not None and self.surplus(trial):
            trial.set_user_attr("reason", f"{INTERRUPTED}: another worker took the budget's last trial")
            raise Surplus()
        config = self.space.sample(trial)
        trial.set_user_attr("config", config)
        release_models()
        from bakeoff.search.backend import import_keras

        import_keras().utils.set_random_seed(self.seed * 100_003 + trial.number)
        x_train, y_train, x_val, y_val = self.data
        steps = int(np.ceil(len(x_train) / config["batch_size"])) * self.epochs
        try:
            model = build_model(config, self.family, x_train.shape[1:], self.num_classes, steps)
            trial.set_user_attr("params_count", int(model.count_params()))
            trial.set_user_attr("flops", count_flops(model))
            self.fit_started, self.pace_mark, self.cut = time.perf_counter(), None, None
            result = fit(
                model,
                x_train,
                y_train,
                epochs=self.epochs,
                batch_size=config["batch_size"],
                validation=(x_val, y_val),
                hook=lambda epoch, logs: self._after_epoch(trial, epoch, logs),
                stop_now=self._stop_now,
            )
        except Interrupted:
            raise
        except Exception as exc:
            trial.set_user_attr("reason", f"{type(exc).__name__}: {first_line(exc, 300)}")
            raise
        finally:
            trial.set_user_attr("peak_rss_mb", round(peak_rss_mb(), 1))
            trial.set_user_attr("trial_seconds", round(time.perf_counter() - started, 3))
        return self._record(trial, result)

    def _after_epoch(self, trial: optuna.Trial, epoch: int, logs: dict[str, Any]) -> str | None:
        trial.report(float(logs.get("val_accuracy", 0.0)), epoch)
        if self.stop.requested:
            return INTERRUPTED
        if self.deadline is not None and time.time() >= self.deadline:
            return BUDGET_CUT
        if trial.should_prune():
            return "pruned: validation accuracy below the pruner's threshold"
        return None

    def _stop_now(self, done: int, total: int) -> bool:
        """Polled between batches: a signal, the family's budget running out, or the trial's time cap."""
        if self.deadline is not None and time.time() >= self.deadline:
            self.cut = BUDGET_CUT
        elif self.max_seconds is not None:
            self.cut = self._too_slow(done, total)
        return self.stop.requested or self.cut is not None

    def _too_slow(self, done: int, total: int) -> str | None:
        """Project the whole trial from the pace of its batches, so one that cannot fit the cap stops in seconds.

        The pace is measured from the first poll on, after tracing and compiling, and takes in validation once
        an epoch has passed. Waiting for whole epochs instead let a slow trial spend minutes before the cut.
        """
        now = time.perf_counter()
        elapsed = now - self.fit_started
        if elapsed > self.max_seconds:
            return f"too slow: passed the {self.max_seconds:.0f}s cap per trial"
        if self.pace_mark is None:
            self.pace_mark = (now, done)
            return None
        since, done_then = self.pace_mark
        if done <= done_then or (now - since < PACE_SECONDS and done - done_then < total // self.epochs):
            return None
        projected = elapsed + (now - since) / (done - done_then) * (total - done)
        if projected > self.max_seconds:
            return f"too slow: {self.epochs} epochs would take {projected:.0f}s, over the {self.max_seconds:.0f}s cap per trial"
        return None

    def _record(self, trial: optuna.Trial, result) -> float:
        val_acc = result.history.get("val_accuracy", [])
        best_epoch = int(np.argmax(val_acc)) + 1 if val_acc else 0
        trial.set_user_attr("epochs_run", result.epochs)
        trial.set_user_attr("best_epoch", best_epoch)
        trial.set_user_attr("max_epochs", self.epochs)
        trial.set_user_attr("seconds_per_epoch", round(float(np.mean(result.epoch_seconds)), 4) if result.epochs else None)
        trial.set_user_attr("curves", {k: [round(v, 5) for v in vals] for k, vals in result.history.items()})
        if self.stop.requested:
            reason = f"{INTERRUPTED} by {self.stop.signal_name}"
            trial.set_user_attr("reason", reason)
            raise Interrupted(reason)
        if result.diverged_at is not None:
            trial.set_user_attr("reason", f"diverged: loss became NaN in epoch {result.diverged_at}")
            if not val_acc:
                trial.report(0.0, result.diverged_at - 1)
            raise optuna.TrialPruned(f"diverged in epoch {result.diverged_at}")
        reason = result.stop_reason or self.cut
        if reason:
            trial.set_user_attr("reason", reason)
            if not val_acc:
                trial.report(0.0, 0)
            raise optuna.TrialPruned(reason)
        return float(max(val_acc))
