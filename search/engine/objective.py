"""The Optuna objective: sample a configuration, train it, report validation accuracy per epoch.

With a cost among the objectives (``--objective accuracy,latency`` or ``accuracy,size``) the trial's model is
measured before it trains (``search/deploy/cost.py``) and the trial's values are (accuracy, cost). Optuna's
pruners judge one objective only (``Trial.report`` refuses a multi-objective trial), so there the objective
judges each epoch itself with the front rule (``objectives.behind_cheaper_peers``) when ``--pruner front`` asks.

Every trial ends with its ``record.Outcome`` and a one-line reason: complete, pruned by the pruner, over the
family's budget, too slow for the per-trial cap (when not even one epoch fits it: a trial that cannot train all
its epochs within the cap trains the epochs that fit, ``search.train.pace``), diverged, failed to build or train, or
interrupted by a signal. Failures are raised so Optuna records them as FAIL; the runner catches them and the search goes on.
While it trains, a trial leaves a sign of life every few seconds, so a crash is charged only what it trained.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import optuna

from bakeoff.search.data import SearchData
from bakeoff.search.engine import record
from bakeoff.search.engine.objectives import SIZE, Objectives, behind_cheaper_peers
from bakeoff.search.engine.outage import charged
from bakeoff.search.engine.record import Outcome
from bakeoff.search.engine.storage import worker_id
from bakeoff.search.errors import disk_full, first_line
from bakeoff.search.train.builders import count_flops, resize_schedule
from bakeoff.search.train.fit import fit, peak_rss_mb, release_models, steps_per_epoch
from bakeoff.search.train.pace import REVISE_EPOCHS, Pace
from bakeoff.search.train.speed import tuned_model
from bakeoff.spaces import Space

#: Seconds between a running trial's signs of life (``record.ALIVE_AT``): what a crash can over-charge.
ALIVE_SECONDS = 5.0
BUDGET_CUT = (Outcome.OVER_BUDGET, "budget: the family's time budget ran out during this trial")


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
        data: SearchData,
        *,
        epochs: int,
        seed: int,
        deadline: float | None = None,
        stop: StopRequest | None = None,
        surplus: Callable[[optuna.Trial], bool] | None = None,
        max_seconds: float | None = None,
        clock: Callable[[], float] = charged,
        objectives: Objectives = Objectives(),
        front_pruning: bool = False,
        warmup_epochs: int = 1,
    ) -> None:
        self.family, self.space, self.data = family, space, data
        self.epochs, self.seed = epochs, seed
        self.deadline = deadline
        self.stop = stop or StopRequest(threading.Event())
        self.surplus = surplus
        self.max_seconds = max_seconds
        self.trial_id: int | None = None
        self.clock = clock
        self.pace: Pace | None = None
        self.model = None
        self.cut: tuple[Outcome, str] | None = None
        self.trial: optuna.Trial | None = None
        self.alive_mark = 0.0
        self.objectives, self.front_pruning, self.warmup_epochs = objectives, front_pruning, warmup_epochs
        self.cost: float | None = None

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        started = charged()
        self.trial_id, self.trial = trial._trial_id, trial
        trial.set_user_attr(record.WORKER, worker_id())
        if self.surplus is not None and self.surplus(trial):
            _end(trial, Outcome.SURPLUS, "interrupted: another worker took the budget's last trial")
            trial.set_user_attr(record.SECONDS, round(charged() - started, 3))
            raise Surplus()
        config = self.space.sample(trial)
        trial.set_user_attr(record.CONFIG, config)
        release_models()
        from bakeoff.search.train.backend import import_keras

        keras = import_keras()
        trial.set_user_attr(record.BACKEND, keras.backend.backend())
        keras.utils.set_random_seed(record.trial_seed(self.seed, trial.number))
        data = self.data
        steps = steps_per_epoch(len(data.x_train), config["batch_size"]) * self.epochs
        try:
            model = tuned_model(config, self.family, data.input_shape, data.num_classes, steps)
            trial.set_user_attr(record.PARAMS, int(model.count_params()))
            trial.set_user_attr(record.FLOPS, count_flops(model))
            if self.objectives.multi:
                self._measure_cost(trial, model, config)
            self.model, self.cut = model, None
            per_epoch = steps // self.epochs
            self.pace = None if self.max_seconds is None else Pace(
                self.max_seconds, self.epochs, per_epoch, steps_per_epoch(len(data.y_val), config["batch_size"]), self.clock(),
                revise_epochs=REVISE_EPOCHS if config.get("schedule") == "cosine" else self.epochs,
            )
            fit_started = charged()
            result = fit(
                model,
                data.x_train,
                data.y_train,
                epochs=self.epochs,
                batch_size=config["batch_size"],
                validation=(data.x_val, data.y_val),
                hook=lambda epoch, logs: self._after_epoch(trial, epoch, logs),
                stop_now=self._stop_now,
                on_validation=(lambda seconds: self.pace.validated(seconds, self.clock())) if self.pace else None,
            )
            trial.set_user_attr(record.FIT_SECONDS, round(charged() - fit_started, 3))
        except Exception as exc:
            _failed(trial, exc)
            raise
        finally:
            _account(trial, started)
        return self._record(trial, result)

    def _measure_cost(self, trial: optuna.Trial, model, config: dict[str, Any]) -> None:
        """The model's cost to ship, recorded before it trains (it depends on the architecture, not the weights)."""
        from bakeoff.search.deploy.cost import measure

        cost = measure(model, config, self.family, self.data, int8=self.objectives.cost == SIZE)
        trial.set_user_attr(record.COST, cost)
        self.cost = self.objectives.cost_value(cost)

    def _should_prune(self, trial: optuna.Trial, epoch: int, accuracy: float) -> bool:
        """Optuna's pruner, or for a multi-objective trial the front rule (when asked for) against the complete
        trials that cost no more than this one."""
        if not self.objectives.multi:
            return trial.should_prune()
        if not self.front_pruning or epoch < self.warmup_epochs or self.cost is None:
            return False
        complete = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        peers = [(c, record.val_curve(t)) for t in complete if (c := self.objectives.cost_value(t.user_attrs.get(record.COST))) is not None]
        return behind_cheaper_peers(accuracy, epoch, self.cost, peers)

    def _after_epoch(self, trial: optuna.Trial, epoch: int, logs: dict[str, Any]) -> str | None:
        accuracy = float(logs.get("val_accuracy", 0.0))
        if not self.objectives.multi:
            trial.report(accuracy, epoch)
        self._alive(force=True)
        if self.stop.requested:
            return "interrupted"
        if self.cut is not None:  # cut mid-epoch: keep why
            pass
        elif self.deadline is not None and charged() >= self.deadline:
            self.cut = BUDGET_CUT
        elif self._should_prune(trial, epoch, accuracy):
            self.cut = (Outcome.PRUNED, "pruned: validation accuracy below the pruner's threshold" if not self.objectives.multi else
                        f"pruned: validation accuracy in epoch {epoch + 1} below the median of the complete trials that cost no more")
        elif self.pace is not None and epoch + 1 >= self.pace.fit_epochs:
            return "trained the epochs that fit its cap"  # complete: stop without a cut
        return self.cut[1] if self.cut else None

    def _stop_now(self, done: int, total: int) -> bool:
        """Polled between batches: a signal, the family's budget running out, or the trial's time cap."""
        self._alive()
        if self.deadline is not None and charged() >= self.deadline:
            self.cut = BUDGET_CUT
        elif self.pace is not None:
            fit_epochs = self.pace.fit_epochs
            slow = self.pace.poll(self.clock(), done)
            self.cut = None if slow is None else (Outcome.TOO_SLOW, slow)
            if self.pace.fit_epochs != fit_epochs:
                resize_schedule(self.model, self.pace.fit_epochs * self.pace.steps_per_epoch)
        return self.stop.requested or self.cut is not None

    def _raise_if_stopped(self, trial: optuna.Trial) -> None:
        """A stop request ends the trial as interrupted (it goes back to the queue)."""
        if self.stop.requested:
            reason = f"interrupted by {self.stop.signal_name}"
            _end(trial, Outcome.INTERRUPTED, reason)
            raise Interrupted(reason)

    def _alive(self, force: bool = False) -> None:
        """Leave a sign of life in storage every ``ALIVE_SECONDS``: a crash is charged up to the last one."""
        now = charged()
        if self.trial is not None and (force or now - self.alive_mark >= ALIVE_SECONDS):
            self.alive_mark = now
            self.trial.set_user_attr(record.ALIVE_AT, record.now())

    def _record(self, trial: optuna.Trial, result) -> float | tuple[float, float]:
        val_acc = result.history.get("val_accuracy", [])
        best_epoch = int(np.argmax(val_acc)) + 1 if val_acc else 0
        trial.set_user_attr(record.EPOCHS_RUN, result.epochs)
        trial.set_user_attr(record.BEST_EPOCH, best_epoch)
        fitted = self.pace.fit_epochs if self.pace else self.epochs
        trial.set_user_attr(record.MAX_EPOCHS, fitted)  # the epochs its schedule spanned
        if fitted < self.epochs:
            trial.set_user_attr(record.FITTED, f"scheduled for {fitted} of {self.epochs} epochs: its {self.max_seconds:.0f}s cap fits no more")
        if self.pace is not None and self.pace.step_seconds is not None:
            epoch_seconds = self.pace.steps_per_epoch * self.pace.step_seconds + self.pace.val_estimate()
            trial.set_user_attr(record.EPOCH_SECONDS, round(epoch_seconds, 3))
        projected = self.pace.first_projection() if self.pace else None
        if projected is not None:
            trial.set_user_attr(record.PROJECTED_FIT_SECONDS, round(projected, 3))
        trial.set_user_attr(record.MEAN_EPOCH_SECONDS, round(float(np.mean(result.epoch_seconds)), 4) if result.epochs else None)
        trial.set_user_attr(record.CURVES, {k: [round(v, 5) for v in vals] for k, vals in result.history.items()})
        self._raise_if_stopped(trial)
        if result.diverged_at is not None:
            _end(trial, Outcome.DIVERGED, f"diverged: loss became NaN in epoch {result.diverged_at}")
            if not val_acc and not self.objectives.multi:
                trial.report(0.0, result.diverged_at - 1)
            raise optuna.TrialPruned(f"diverged in epoch {result.diverged_at}")
        if self.cut:
            _end(trial, *self.cut)
            if not val_acc and not self.objectives.multi:
                trial.report(0.0, 0)
            raise optuna.TrialPruned(self.cut[1])
        if result.val_correct:
            best = result.val_correct[best_epoch - 1]
            trial.set_user_attr(record.VAL_CORRECT, record.pack_correct(best))
            trial.set_user_attr(record.VAL_VS_BEST, [[int(np.sum(best & ~c)), int(np.sum(c & ~best))] for c in result.val_correct])
        _end(trial, Outcome.COMPLETE)
        return float(max(val_acc)) if not self.objectives.multi else (float(max(val_acc)), float(self.cost))


def _failed(trial: optuna.Trial, exc: Exception) -> None:
    """A trial that raised: FAILED with the error's first line (an interruption is not a failure, nor a trial that
    ended itself with its outcome recorded, ``TrialPruned``). A full disk is no trial's failure: every next trial
    would meet it too, so it stops the search (``Fault``)."""
    if (fault := disk_full(exc)) is not None:
        raise fault from None
    if not isinstance(exc, (Interrupted, optuna.TrialPruned)):
        _end(trial, Outcome.FAILED, f"{type(exc).__name__}: {first_line(exc, 300)}")


def _account(trial: optuna.Trial, started: float) -> None:
    """What every trial records as it ends, however it ends: its peak memory and the seconds it is charged."""
    trial.set_user_attr(record.PEAK_RSS_MB, round(peak_rss_mb(), 1))
    trial.set_user_attr(record.SECONDS, round(charged() - started, 3))


def _end(trial: optuna.Trial, outcome: Outcome, reason: str | None = None) -> None:
    trial.set_user_attr(record.OUTCOME, outcome.value)
    if reason:
        trial.set_user_attr(record.REASON, reason)
