"""One trial of the ladder (``--pruner ladder``): a configuration trained from its rung to the next, and on while it
stays in the top of each rung it reaches.

A new configuration starts from scratch; a promoted one loads the checkpoint its last trial left at its rung and
trains on with the same optimiser state, so no epoch is trained twice. At every rung the trial is scored after a
short decay on a copy of its state (``search/train/rungs.py``), saves its checkpoint, and records its score; a
trial killed between rungs is re-queued from the last checkpoint it saved. The decisions (who is in the top, who
goes on) are ``ladder.py``'s, made from what the study holds, so several workers agree without talking. In a
search for accuracy and a cost, a configuration's cost is measured by its first trial and carried to its
continuations, and each segment's values are (its deepest rung's score, the cost).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from bakeoff.search import layout
from bakeoff.search.engine import record
from bakeoff.search.engine.ladder import Config, Rungs, goes_on, promotable
from bakeoff.search.engine.objective import BUDGET_CUT, Objective, Surplus, _account, _end, _failed
from bakeoff.search.engine.objectives import Objectives
from bakeoff.search.engine.outage import charged
from bakeoff.search.engine.record import Outcome
from bakeoff.search.engine.storage import worker_id
from bakeoff.search.files import atomic
from bakeoff.search.train.builders import count_flops, load_checkpoint
from bakeoff.search.train.fit import fit, release_models, steps_per_epoch
from bakeoff.search.train.pace import Pace, over
from bakeoff.search.train.rungs import WARMUP_EPOCHS, decayed_validation, warm_up, with_decay
from bakeoff.spaces import LADDER_SCHEDULE


def rung_index(rungs: Rungs, epochs: int) -> int | None:
    """``k`` with ``rungs.epochs(k) == epochs``, None off the ladder."""
    if epochs < rungs.first or epochs % rungs.first:
        return None
    k = round(math.log(epochs // rungs.first, rungs.factor))
    return k if rungs.epochs(k) == epochs else None


def configs_of(trials: list[FrozenTrial], rungs: Rungs, objectives: Objectives = Objectives()) -> dict[int, Config]:
    """Each configuration's progress as the study holds it: scores per rung, rungs it has left, whether a worker
    has it now (a queued or running trial of it), whether it is a queued start, and its cost when the search
    minimises one."""
    found: dict[int, Config] = {}
    for trial in trials:
        key = trial.user_attrs.get(record.LADDER_KEY)
        if key is None or record.outcome_of(trial) is Outcome.DUPLICATE:
            continue
        config = found.setdefault(int(key), Config(int(key)))
        config.start = config.start or bool(trial.user_attrs.get(record.START))
        if (cost := objectives.cost_value(trial.user_attrs.get(record.COST))) is not None:
            config.cost = cost
        for epochs, score in (trial.user_attrs.get(record.RUNG_SCORES) or {}).items():
            k = rung_index(rungs, int(epochs))
            if k is not None:
                config.scores[k] = float(score)
        start = rung_index(rungs, int(trial.user_attrs.get(record.FROM_EPOCHS) or 0))
        if trial.state in (TrialState.WAITING, TrialState.RUNNING):
            config.running = True
            if start is not None:
                config.went_on.add(start)
        elif start is not None and record.outcome_of(trial) not in (Outcome.INTERRUPTED, Outcome.SURPLUS):
            config.went_on.add(start)  # a continuation that ended (too slow, over budget): not offered again
    for config in found.values():
        config.went_on.update(range(config.rung))
    return found


def continuation(study: optuna.Study, rungs: Rungs, workdir: Path, cap: float | None,
                 objectives: Objectives = Objectives()) -> tuple[dict, dict] | None:
    """The next configuration to continue, as (configuration, user attributes of its queued trial); None: sample a
    new one. Skipped: a configuration whose checkpoint this worker cannot see (another machine's), and one whose
    next segment, at the pace its epochs went, would not fit the per-trial ``cap``."""
    trials = study.get_trials(deepcopy=False)
    last = {int(t.user_attrs[record.LADDER_KEY]): t for t in trials
            if t.user_attrs.get(record.LADDER_KEY) is not None and t.state == TrialState.COMPLETE}
    for k, config in promotable(list(configs_of(trials, rungs, objectives).values()), rungs):
        epochs, trial = rungs.epochs(k), last.get(config.key)
        if trial is None or not layout.checkpoint(workdir, study.study_name, config.key, epochs).exists():
            continue
        pace = float(trial.user_attrs.get(record.MEAN_EPOCH_SECONDS) or 0.0)
        if cap is not None and with_decay((rungs.epochs(k + 1) - epochs) * pace) > cap:
            continue
        scores = {str(rungs.epochs(j)): s for j, s in sorted(config.scores.items()) if j <= k}
        attrs = {record.LADDER_KEY: config.key, record.FROM_EPOCHS: epochs, record.CONTINUES: trial.number, record.RUNG_SCORES: scores}
        if record.WARMUP in trial.user_attrs:  # how its run began, for retraining
            attrs[record.WARMUP] = trial.user_attrs[record.WARMUP]
        if trial.user_attrs.get(record.START):  # a start stays a start at every rung: it is never "found by search"
            attrs[record.START] = trial.user_attrs[record.START]
        if record.COST in trial.user_attrs:  # measured once per configuration: the architecture does not change
            attrs[record.COST] = trial.user_attrs[record.COST]
        return record.config_of(trial), attrs
    return None


class LadderObjective(Objective):
    """Trains one segment of the ladder; see the module's text."""

    def __init__(self, *args, rungs: Rungs, workdir: Path, first_rung_seconds: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rungs, self.workdir, self.first_rung_seconds = rungs, workdir, first_rung_seconds
        self.first_rung: tuple[float, str] | None = None  # (seconds from the trial's start, what limits them)

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        started = charged()
        self.trial_id, self.trial = trial._trial_id, trial
        self.started = started
        trial.set_user_attr(record.WORKER, worker_id())
        attrs = dict(trial.user_attrs)
        key = int(attrs.get(record.LADDER_KEY, trial.number))
        begin = int(attrs.get(record.FROM_EPOCHS) or 0)
        surplus = self.surplus is not None and self.surplus(trial)
        if surplus or (begin and self._taken(trial, key, begin)):
            outcome = Outcome.SURPLUS if surplus else Outcome.DUPLICATE
            _end(trial, outcome, "interrupted: another worker took " + ("the budget's last trial" if surplus else "this rung"))
            trial.set_user_attr(record.SECONDS, round(charged() - started, 3))
            raise Surplus()
        config = self.space.sample(trial)
        trial.set_user_attr(record.CONFIG, config)
        trial.set_user_attr(record.LADDER_KEY, key)
        trial.set_user_attr(record.FROM_EPOCHS, begin)
        scores = {int(e): float(s) for e, s in (attrs.get(record.RUNG_SCORES) or {}).items()}
        release_models()
        from bakeoff.search.train.backend import import_keras

        keras = import_keras()
        trial.set_user_attr(record.BACKEND, keras.backend.backend())
        keras.utils.set_random_seed(record.trial_seed(self.seed, trial.number))
        data = self.data
        batch = config["batch_size"]
        per_epoch = steps_per_epoch(len(data.x_train), batch)
        curve: list[float] = []
        epoch_seconds: list[float] = []
        done, correct = begin, None
        try:
            model = self._model(keras, config, key, begin, per_epoch)
            trial.set_user_attr(record.PARAMS, int(model.count_params()))
            trial.set_user_attr(record.FLOPS, count_flops(model))
            if self.objectives.multi:
                self._cost_of(trial, model, config, attrs.get(record.COST))
            self.model, self.cut = model, None
            self.first_rung = None if begin else self._first_rung_limit(bool(attrs.get(record.START)))
            while True:
                k = rung_index(self.rungs, done) if done else -1
                target = self.rungs.epochs(k + 1)
                if done > begin and not self._fits(started, epoch_seconds, target - done):
                    break  # the next rung would not fit this trial's cap: it ends at its rung, complete
                self.pace = self._first_rung_pace(per_epoch, steps_per_epoch(len(data.y_val), batch)) if done == 0 else None
                result = fit(model, data.x_train, data.y_train, epochs=target - done, batch_size=batch,
                             validation=(data.x_val, data.y_val), hook=self._between_epochs, stop_now=self._stop_now,
                             on_validation=(lambda seconds: self.pace.validated(seconds, self.clock())) if self.pace else None)
                curve += result.history.get("val_accuracy", [])
                epoch_seconds += result.epoch_seconds
                if self.cut and done > begin and not self.stop.requested:
                    break  # the budget or the cap ran out on the way to the next rung: it ends at the rung it reached
                if self.stop.requested or result.diverged_at is not None or self.cut or result.epochs < target - done:
                    return self._cut_short(trial, result, curve)
                done = target
                decayed = decayed_validation(model, data.x_train, data.y_train, (data.x_val, data.y_val), batch_size=batch, seed=trial.number)
                scores[done], correct = decayed.accuracy, decayed.correct
                self._save(model, key, done)
                trial.set_user_attr(record.RUNG_SCORES, {str(e): s for e, s in sorted(scores.items())})
                trial.set_user_attr(record.CHECKPOINT_EPOCHS, done)
                self._drop_older(key, done)  # only now: a copy re-queued before this line still finds its checkpoint
                if not self.objectives.multi:  # Optuna refuses intermediate values of a multi-objective trial
                    trial.report(decayed.accuracy, done - 1)  # steps are epoch indices from 0, as the other engines report
                configs = configs_of(trial.study.get_trials(deepcopy=False), self.rungs, self.objectives)
                configs[key].running = False  # this very trial: the question is its rank, not who holds it
                if not goes_on(list(configs.values()), configs[key], self.rungs):
                    break
        except Exception as exc:
            _failed(trial, exc)
            raise
        finally:
            _account(trial, started)
        return self._complete(trial, done, begin, scores, correct, curve, epoch_seconds)

    def _cost_of(self, trial: optuna.Trial, model, config: dict, measured: dict | None) -> None:
        """The configuration's cost: the one its first trial measured, carried with its continuation, or measured now."""
        if measured is None:
            self._measure_cost(trial, model, config)
        else:
            trial.set_user_attr(record.COST, measured)
            self.cost = self.objectives.cost_value(measured)

    def _model(self, keras, config: dict, key: int, begin: int, per_epoch: int):
        if begin:
            return load_checkpoint(layout.checkpoint(self.workdir, self.trial.study.study_name, key, begin))
        from bakeoff.search.train.speed import tuned_model

        model = tuned_model({**config, "schedule": LADDER_SCHEDULE}, self.family, self.data.input_shape, self.data.num_classes, per_epoch * self.rungs.first)
        warm_up(model, round(WARMUP_EPOCHS * per_epoch))
        self.trial.set_user_attr(record.WARMUP, WARMUP_EPOCHS)
        return model

    def _between_epochs(self, epoch: int, logs: dict) -> str | None:
        """Only a stop request or a cut ends a segment between epochs: the ladder judges at rungs, not per epoch."""
        self._alive(force=True)
        return "interrupted" if self.stop.requested else (self.cut[1] if self.cut else None)

    def _stop_now(self, done: int, total: int) -> bool:
        """Polled between batches: a signal, the family's budget, or the trial's time cap."""
        self._alive()
        if self.deadline is not None and charged() >= self.deadline:
            self.cut = BUDGET_CUT
        elif self.max_seconds is not None and charged() - self.started > self.max_seconds:
            self.cut = (Outcome.TOO_SLOW, f"too slow: the rung it was training did not fit the {self.max_seconds:.0f}s cap per trial")
        elif self.pace is not None:  # set only for a first rung with a limit
            self.cut = self._first_rung_too_slow(done)
        return self.stop.requested or self.cut is not None

    def _first_rung_limit(self, start: bool) -> tuple[float, str] | None:
        """What a new configuration's first rung may take, from the trial's start: the cap per trial, and for a
        sampled configuration also its share of the budget (``strategy.FIRST_RUNG_PARTS``)."""
        limits = [] if self.max_seconds is None else [(self.max_seconds, "cap per trial")]
        if self.first_rung_seconds is not None and not start:
            limits.append((self.first_rung_seconds, "a new configuration's first rung may take"))
        return min(limits, default=None)

    def _first_rung_pace(self, steps: int, val_steps: int) -> Pace | None:
        """The first rung's pace, projected from its batches so a rung that cannot fit is stopped within seconds."""
        if self.first_rung is None:
            return None
        return Pace(max(0.0, self.first_rung[0] - (self.clock() - self.started)), self.rungs.first, steps, val_steps, self.clock())

    def _first_rung_too_slow(self, done: int) -> tuple[Outcome, str] | None:
        end = self.pace.whole_end(self.clock(), done)
        if end is None:
            return None
        total = self.pace.started - self.started + with_decay(end)
        limit, what = self.first_rung
        if total <= limit:
            return None
        return Outcome.TOO_SLOW, "too slow: its first rung would take about {}s, over the {}s {}".format(*over(total, limit), what)

    def _fits(self, started: float, epoch_seconds: list[float], epochs: int) -> bool:
        if self.max_seconds is None or not epoch_seconds:
            return True
        per_epoch = float(np.median(epoch_seconds))
        return charged() - started + with_decay(epochs * per_epoch) <= self.max_seconds

    def _taken(self, trial: optuna.Trial, key: int, begin: int) -> bool:
        """Whether an earlier trial already trains (or trained) this configuration from this rung."""
        for other in trial.study.get_trials(deepcopy=False):
            if (other.number < trial.number and other.user_attrs.get(record.LADDER_KEY) == key
                    and other.user_attrs.get(record.FROM_EPOCHS) == begin
                    and (other.state in (TrialState.RUNNING, TrialState.COMPLETE))):
                return True
        return False

    def _save(self, model, key: int, epochs: int) -> None:
        """Write the checkpoint beside the older ones, atomically (a kill mid-write leaves no half file)."""
        with atomic(layout.checkpoint(self.workdir, self.trial.study.study_name, key, epochs)) as partial:
            model.save(partial)

    def _drop_older(self, key: int, epochs: int) -> None:
        keep = layout.checkpoint(self.workdir, self.trial.study.study_name, key, epochs)
        for older in layout.checkpoints(self.workdir, self.trial.study.study_name, key):
            if older != keep:
                older.unlink(missing_ok=True)

    def _cut_short(self, trial: optuna.Trial, result, curve: list[float]) -> float:
        trial.set_user_attr(record.CURVES, {"val_accuracy": [round(v, 5) for v in curve]})
        self._raise_if_stopped(trial)
        if result.diverged_at is not None:
            _end(trial, Outcome.DIVERGED, f"diverged: loss became NaN in epoch {len(curve)}")
            raise optuna.TrialPruned("diverged")
        outcome, reason = self.cut or (Outcome.FAILED, "the fit ended early for no reason it gave")
        _end(trial, outcome, reason)
        raise optuna.TrialPruned(reason)

    def _complete(self, trial, done: int, begin: int, scores: dict[int, float], correct, curve: list[float],
                  epoch_seconds: list[float]) -> float | tuple[float, float]:
        trial.set_user_attr(record.EPOCHS_RUN, done - begin)
        trial.set_user_attr(record.MAX_EPOCHS, done)
        trial.set_user_attr(record.BEST_EPOCH, done)
        trial.set_user_attr(record.CURVES, {"val_accuracy": [round(v, 5) for v in curve]})
        if epoch_seconds:
            trial.set_user_attr(record.MEAN_EPOCH_SECONDS, round(float(np.mean(epoch_seconds)), 4))
        if correct is not None:
            trial.set_user_attr(record.VAL_CORRECT, record.pack_correct(correct))
        _end(trial, Outcome.COMPLETE)
        return float(scores[done]) if not self.objectives.multi else (float(scores[done]), float(self.cost))

