"""Drive the families' studies to their budgets: the one driver both engines run under.

``run`` owns what every engine shares: signal handling (a stop request polled between batches), recovery of
trials a dead worker left running, progress lines, the exit code. An engine (``ENGINES``) only decides which
trial comes next: Optuna's TPE interleaves the families, the one furthest behind first, so their budgets stay
equal at every moment and a search cut short overnight still compares like with like; KerasTuner's Hyperband
runs each family for what is left of its budget after the same queued starts. Optuna's own logging is muted.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import optuna
from optuna.trial import FrozenTrial, TrialState

from bakeoff.search.data import SearchData
from bakeoff.search.durations import format_duration, format_epochs
from bakeoff.search.engine import record
from bakeoff.search.engine.budget import TRIAL_SHARE, Budget
from bakeoff.search.engine.ladder_trial import LadderObjective, continuation
from bakeoff.search.engine.objective import Interrupted, Objective, StopRequest
from bakeoff.search.engine.objectives import Objectives, format_cost
from bakeoff.search.engine.outage import charged
from bakeoff.search.engine.storage import fail_stale, recover_dead_trials, requeue
from bakeoff.search.engine.strategy import (
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    FRONT,
    LADDER,
    first_rung_seconds,
    ladder_rungs,
    pruner_for,
    sampler_for,
    warmup_epochs,
)
from bakeoff.search.errors import fault_in
from bakeoff.search.signals import on_signals
from bakeoff.search.train.fit import current_rss_mb
from bakeoff.spaces import Space

POLL_SECONDS = 2.0


#: The exit code of a search that handed over to a fresh process (its memory grew past ``Process.recycle_mb``).
RECYCLE = 75


@dataclass(frozen=True)
class Process:
    """What the process running the search is, as the process model (``app/workers.py``) tells the engine: its
    label in interleaved progress lines ("w1 ", empty when alone) and the memory growth in MB after which it
    hands over to a fresh process (None: a lone search never does), and when the search it serves began (unix time;
    None: when this process did), so a stop after hand-overs says how long the search ran, not this process."""

    label: str = ""
    recycle_mb: float | None = None
    started: float | None = None


@dataclass
class SearchPlan:
    families: tuple[str, ...]
    spaces: dict[str, Space]
    budget: Budget
    epochs: int
    seed: int
    sampler: str = DEFAULT_SAMPLER
    pruner: str = DEFAULT_PRUNER
    process: Process = Process()
    objectives: Objectives = Objectives()


#: An engine searches until its budgets are used or a stop is requested; it returns ``RECYCLE`` to hand over
#: to a fresh process, else None.
Engine = Callable[["SearchPlan", dict[str, optuna.Study], SearchData, StopRequest, TextIO, Path], "int | None"]


def run(engine: str, plan: SearchPlan, studies: dict[str, optuna.Study], data: SearchData, workdir: Path, out: TextIO | None = None) -> int:
    """Search with ``engine`` until every family's budget is used; ``RECYCLE`` when memory grew past the
    process's limit, 130/143 after SIGINT/SIGTERM, else 0."""
    out = out or sys.stdout
    stop = StopRequest(threading.Event())
    _recover(studies, out)
    started = plan.process.started or time.time()
    with on_signals(lambda num, _frame: stop.request(signal.Signals(num).name)):
        code = ENGINES[engine](plan, studies, data, stop, out, workdir)
    if code is not None:
        return code
    if stop.requested:
        elapsed = format_duration(time.time() - started)
        print(f"{_who(plan)}stopped by {stop.signal_name} after {elapsed}; re-run the same command to resume", file=out, flush=True)
        return 130 if stop.signal_name == "SIGINT" else 143
    return 0


def _optuna(plan: SearchPlan, studies: dict[str, optuna.Study], data: SearchData, stop: StopRequest, out: TextIO, workdir: Path) -> int | None:
    """Optuna: one trial at a time, the family with the least budget used first."""
    baseline_rss: float | None = None
    while not stop.requested:
        family = _next_family(studies, plan.budget)
        if family is None:
            if not _wait_for_others(studies, plan.budget, stop):
                break
            continue
        _run_one_trial(plan, family, studies[family], data, stop, out, workdir)
        baseline_rss = baseline_rss or current_rss_mb()  # after the first trial: TensorFlow is loaded
        if plan.process.recycle_mb is not None and current_rss_mb() - baseline_rss > plan.process.recycle_mb:
            print(f"{_who(plan)}memory grew {current_rss_mb() - baseline_rss:.0f} MB: handing over to a fresh process", file=out, flush=True)
            return RECYCLE
    return None


def _kerastuner(plan: SearchPlan, studies: dict[str, optuna.Study], data: SearchData, stop: StopRequest, out: TextIO, workdir: Path) -> int | None:
    """KerasTuner's Hyperband, one family after the other, each for what is left of its time budget. The queued
    starts run first, trained by the same objective as with Optuna, so both engines begin from the same points
    and are charged the same way."""
    from bakeoff.search.engine.kerastuner import search_with_kerastuner  # imports TensorFlow

    for family, study in studies.items():
        while not stop.requested and study.get_trials(deepcopy=False, states=(TrialState.WAITING,)) and plan.budget.fraction_used(study) < 1.0:
            _run_one_trial(plan, family, study, data, stop, out, workdir)
        if stop.requested or plan.budget.fraction_used(study) >= 1.0:
            continue
        progress = _Progress(family, plan, out)
        search_with_kerastuner(
            family, plan.spaces[family], data, study, epochs=plan.epochs, budget=plan.budget, seed=plan.seed,
            workdir=workdir / family, stop=stop, on_trial=lambda trial, s=study, p=progress: p(s, trial),
        )
    return None


ENGINES: dict[str, Engine] = {"optuna": _optuna, "kerastuner": _kerastuner}


def _run_one_trial(plan: SearchPlan, family: str, study: optuna.Study, data: SearchData, stop: StopRequest, out: TextIO, workdir: Path) -> None:
    """One trial of ``family`` (a queued one first), trained by the objective and recorded in its study. On the
    ladder with nothing queued, a configuration that has earned its next rung is queued (``ladder_trial.continuation``)."""
    study.sampler = sampler_for(plan.seed, plan.sampler)
    study.pruner = pruner_for(plan.pruner, plan.epochs)
    left = plan.budget.seconds_left(study)
    cap = None if left is None else min(plan.budget.seconds * TRIAL_SHARE, left)
    common = dict(epochs=plan.epochs, seed=plan.seed, deadline=None if left is None else charged() + left, stop=stop,
                  surplus=lambda trial: _is_surplus(study, plan.budget, trial.number), max_seconds=cap)
    if plan.pruner == LADDER:
        rungs = ladder_rungs(plan.epochs)
        # a queued trial (a start, a copy of a dead worker's trial) runs first: a continuation queued behind it would
        # wait past the budget's end
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if not waiting and (found := continuation(study, rungs, workdir, cap, plan.objectives)) is not None:
            config, attrs = found
            study.enqueue_trial(plan.spaces[family].to_trial_params(config), user_attrs=attrs)
        objective = LadderObjective(family, plan.spaces[family], data, rungs=rungs, workdir=workdir, objectives=plan.objectives,
                                    first_rung_seconds=first_rung_seconds(plan.budget.seconds), **common)
    else:
        objective = Objective(family, plan.spaces[family], data, objectives=plan.objectives, front_pruning=plan.pruner == FRONT,
                              warmup_epochs=warmup_epochs(), **common)
    try:
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[_Progress(family, plan, out)])
    except Interrupted:
        pass
    except Exception as exc:
        # Optuna's trial loop turns a Fault raised while it records the trial's end into an UnboundLocalError of
        # its own (its ``finally`` reads a result never assigned); the Fault is what happened.
        if (fault := fault_in(exc)) is not None:
            raise fault from None
        if not _given_up(study, objective.trial_id):
            raise
        # This process stood still past the heartbeat's grace (suspended, swapped out, cut off): another worker
        # failed its trial as stale and queued a copy, which runs instead; this one's result is not recorded
        # (Optuna refuses it: "Cannot tell a FAIL trial", or "Trial#N has already finished").
        print(f"{plan.process.label}[{family}] trial {objective.trial.number} was given up as stale by another worker while this "
              "process was unresponsive; its re-queued copy runs instead", file=out, flush=True)
        return
    # Not after a Fault (the storage gone, a full disk): the trial stays RUNNING, and the re-run recovers it.
    _requeue_if_interrupted(study, objective.trial_id)


def _given_up(study: optuna.Study, trial_id: int | None) -> bool:
    """Whether this process's trial was finished by someone else while it still ran it."""
    return trial_id is not None and study._storage.get_trial(trial_id).state.is_finished()


def _recover(studies: dict[str, optuna.Study], out: TextIO) -> None:
    for family, study in studies.items():
        if recovered := recover_dead_trials(study):
            print(f"[{family}] re-queued {recovered} trial(s) left running by a dead worker", file=out, flush=True)


def _next_family(studies: dict[str, optuna.Study], budget: Budget) -> str | None:
    """The family with the least budget used, counting trials other workers are running now."""
    best, best_used = None, 1.0
    for family, study in studies.items():
        used = budget.fraction_used(study, with_running=True)
        if used < best_used:
            best, best_used = family, used
    return best


def _who(plan: SearchPlan) -> str:
    label = plan.process.label
    return f"worker {label.strip()[1:]}: " if label else ""


def _is_surplus(study: optuna.Study, budget: Budget, number: int) -> bool:
    """With a trial budget, whether counted trials plus earlier running ones already fill it."""
    if budget.trials is None:
        return False
    trials = study.get_trials(deepcopy=False)
    earlier_running = sum(1 for t in trials if t.state == TrialState.RUNNING and t.number < number)
    return record.counted(trials) + earlier_running >= budget.trials


def _requeue_if_interrupted(study: optuna.Study, trial_id: int | None) -> None:
    """An interrupted or surplus trial goes back to the queue with its parameters: it never ran to its end."""
    if trial_id is None:
        return
    trial = study._storage.get_trial(trial_id)
    outcome = record.outcome_of(trial)
    if outcome is not None and outcome.requeue:
        requeue(study, trial)


def _wait_for_others(studies: dict[str, optuna.Study], budget: Budget, stop: StopRequest) -> bool:
    """True while other workers' running trials may still leave budget to use (wait and look again), or when a
    dead worker's trial was just given back (failed and queued again: look again at once)."""
    for study in studies.values():
        fail_stale(study)
        recover_dead_trials(study)
    if _next_family(studies, budget) is not None:
        return True
    running = any(budget.fraction_used(study) < 1.0 and study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) for study in studies.values())
    if running:
        stop.event.wait(POLL_SECONDS)
    return running


class _Progress:
    """One line per finished trial: family, number, state, value, best so far, seconds, budget left."""

    def __init__(self, family: str, plan: SearchPlan, out: TextIO) -> None:
        self.family, self.budget, self.out = family, plan.budget, out
        self.prefix = plan.process.label
        self.objectives = plan.objectives

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        accuracy = record.accuracy(trial)
        value = f"val_acc {accuracy:.4f}" if accuracy is not None else _last_value(trial)
        if (cost := self.objectives.cost_value(trial.user_attrs.get(record.COST))) is not None:
            value += f" {self.objectives.cost} {format_cost(self.objectives.cost, cost)}"
        best_trial = record.best_trial(study.get_trials(deepcopy=False))
        best = "best -" if best_trial is None else f"best {record.selectable_value(best_trial):.4f} (#{best_trial.number}{_deepest(best_trial)})"
        seconds = record.seconds(trial)
        reason = trial.user_attrs.get(record.REASON)
        line = (
            f"{self.prefix}[{self.family}] trial {trial.number:>3} {trial.state.name:<8} {value}  {best}  "
            f"{format_duration(seconds):>6}  budget: {self.budget.describe_left(study)}"
        )
        if record.rung_epochs(trial):
            begin = trial.user_attrs.get(record.FROM_EPOCHS) or 0
            line += f"  (rung of {format_epochs(record.rung_epochs(trial))}" + (f", continued from epoch {begin})" if begin else ")")
        if reason and trial.state != TrialState.COMPLETE:
            line += f"  ({reason})"
        elif record.FITTED in trial.user_attrs:
            line += f"  ({trial.user_attrs[record.FITTED]})"
        print(line, file=self.out, flush=True)


def _deepest(trial: FrozenTrial) -> str:
    """On the single-objective ladder "best" is the best of the deepest rung reached (``record.best_trial``), which
    a shallower trial may have outscored: the line says so; elsewhere on the ladder it names the trial's rung."""
    rung = record.rung_epochs(trial)
    return "" if not rung else f" at {format_epochs(rung)}" + (", the deepest rung" if record.selection_depth(trial) else "")


def _last_value(trial: FrozenTrial) -> str:
    if trial.intermediate_values:
        return f"val_acc {trial.intermediate_values[max(trial.intermediate_values)]:.4f}"
    return "val_acc   -   "
