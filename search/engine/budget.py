"""Budgets are totals for a study, read back from storage, so a resumed search continues, never restarts.

What counts toward ``--trials`` and how many seconds a trial is charged are the trial record's rules
(``search.engine.record``): a trial counts when it ended for a reason of its own, and is charged the time it trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from bakeoff.search.engine.record import counted, spent_seconds

#: With a time budget, no trial may take more than this share of its family's budget (nor more than is left of
#: it): a configuration that would trains the epochs that fit, as the pace of its batches shows within seconds,
#: so one huge model cannot eat a short search and the last trials still complete.
TRIAL_SHARE = 0.25


@dataclass(frozen=True)
class Budget:
    """Per family: a number of counted trials and/or seconds of trial time (``None`` = no limit)."""

    trials: int | None = None
    seconds: float | None = None

    def fraction_used(self, study: optuna.Study, *, with_running: bool = False) -> float:
        """How much of this family's budget is gone, 0..1+; ``with_running`` counts trials under way."""
        trials = study.get_trials(deepcopy=False)
        used = []
        if self.trials is not None:
            running = sum(1 for t in trials if t.state == TrialState.RUNNING) if with_running else 0
            used.append((counted(trials) + running) / self.trials)
        if self.seconds is not None:
            used.append(spent_seconds(trials) / self.seconds)
        return max(used) if used else 0.0

    def seconds_left(self, study: optuna.Study) -> float | None:
        if self.seconds is None:
            return None
        return max(0.0, self.seconds - spent_seconds(study.get_trials(deepcopy=False)))

    def describe_left(self, study: optuna.Study) -> str:
        from bakeoff.search.durations import format_duration

        trials = study.get_trials(deepcopy=False)
        parts = []
        if self.trials is not None:
            parts.append(f"{counted(trials)}/{self.trials} trials")
        if self.seconds is not None:
            parts.append(f"{format_duration(max(0.0, self.seconds - spent_seconds(trials)))} left")
        return ", ".join(parts) or "no limit"
