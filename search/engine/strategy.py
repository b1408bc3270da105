"""How the search picks the next configuration (sampler) and stops a poor one early (pruner): ``--sampler``,
``--pruner``. The defaults are TPE and the ladder (successive halving over rungs of epochs with continuation,
``search/engine/ladder.py``), chosen by the replay benchmark (bench/replay.py) and real 1-hour searches
(bench/accuracy_at_budget.py); the others are there to be compared and chosen by users. Samplers are seeded from ``--seed`` and the trial's number, so a resumed run
never replays draws, workers asking at the same moment draw apart, and the same ``--seed`` and ``--trials`` give
the same trials. The start-up counts and the
pruners' warm-up can be changed through environment variables (BAKEOFF_TPE_STARTUP, BAKEOFF_PRUNER_STARTUP,
BAKEOFF_PRUNER_WARMUP), for the benchmark to compare settings without a flag for each.
"""

from __future__ import annotations

import warnings

import optuna

from bakeoff.search.environment import Number
from bakeoff.search.errors import UserError

SAMPLERS = ("tpe", "random", "gp")
PRUNERS = ("median", "percentile", "halving", "hyperband", "wilcoxon", "ladder", "front", "none")
#: The pruner of multi-objective searches (``objectives.behind_cheaper_peers``), judged by the objective itself:
#: Optuna's pruners judge one objective.
FRONT = "front"
#: The ladder (``--pruner ladder``, search/engine/ladder.py): rungs of ``--epochs`` times powers of this factor.
LADDER = "ladder"
LADDER_FACTOR = 2
#: On the ladder, a new sampled configuration whose first rung (its epochs and their decay) would take more than
#: 1/FIRST_RUNG_PARTS of its family's time budget is stopped as soon as the pace of its batches shows it, charged
#: seconds instead of the whole rung: on 2 cores some sampled CNNs take 270 s for one epoch, 15 % of a 1-hour search's
#: half-hour for one look at a configuration that cannot climb further within the cap (bench/replay.py compares
#: parts; the starts are never stopped by it). 0: no such limit (BAKEOFF_FIRST_RUNG_PARTS).
FIRST_RUNG_PARTS = 16
#: ``--epochs`` when not given: each trial's length, or the ladder's first rung.
DEFAULT_EPOCHS, FIRST_RUNG = 15, 1
DEFAULT_SAMPLER, DEFAULT_PRUNER = "tpe", LADDER

#: Finished trials before TPE models the space (the starts count): a 30-minute CNN search on 2 cores gets
#: about ten trials, and with Optuna's default of ten it would never leave random search.
STARTUP_TRIALS = 5
#: Complete trials before the median and percentile pruners act: the two queued starts (seed notebook, recipe)
#: already give reference curves. With five, a 30-minute CNN search let three random trials run all their
#: epochs to end below the seed notebook (10 of its 30 minutes).
PRUNER_STARTUP_TRIALS = 2
#: Epochs before any pruner judges: the first is too noisy to judge a learning-rate schedule.
PRUNER_WARMUP_EPOCHS = 1


#: What a developer may change by environment variable, read where it is used (``search.environment``).
TPE_STARTUP = Number("BAKEOFF_TPE_STARTUP", STARTUP_TRIALS, least=0)
PRUNER_STARTUP = Number("BAKEOFF_PRUNER_STARTUP", PRUNER_STARTUP_TRIALS, least=0)
PRUNER_WARMUP = Number("BAKEOFF_PRUNER_WARMUP", PRUNER_WARMUP_EPOCHS, least=0)
LADDER_FACTOR_SETTING = Number("BAKEOFF_LADDER_FACTOR", LADDER_FACTOR, least=2)
FIRST_RUNG_PARTS_SETTING = Number("BAKEOFF_FIRST_RUNG_PARTS", FIRST_RUNG_PARTS, least=0)
SETTINGS = (TPE_STARTUP, PRUNER_STARTUP, PRUNER_WARMUP, LADDER_FACTOR_SETTING, FIRST_RUNG_PARTS_SETTING)


def sampler_for(seed: int, kind: str = DEFAULT_SAMPLER) -> optuna.samplers.BaseSampler:
    """The ``--sampler`` of that name, seeded afresh for each trial (``TrialSeeded``)."""
    if kind not in SAMPLERS:
        raise UserError(f"unknown sampler {kind!r}; choose one of {', '.join(SAMPLERS)}")
    if kind == "gp":
        require_torch()
    return TrialSeeded(lambda number: _sampler(kind, seed * 7919 + number))


def _sampler(kind: str, seed: int) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if kind == "tpe":  # multivariate: the space's parameters interact (optimiser and rate, blocks and filters)
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                              n_startup_trials=TPE_STARTUP.value())
        if kind == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=TPE_STARTUP.value())


class TrialSeeded(optuna.samplers.BaseSampler):
    """A sampler made afresh for each trial from a seed plus the trial's number.

    The storage hands each number out once, so two workers asking at the same moment draw different
    configurations. Seeding from the count of trials, which both had just read alike, gave them the same draws:
    the same configuration trained twice (bench/faults.py found it after outages, which line workers up).
    """

    def __init__(self, make) -> None:
        self._make = make
        self.inner = make(0)

    def before_trial(self, study, trial) -> None:
        self.inner = self._make(trial.number)
        self.inner.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


def require_torch() -> None:
    """Optuna's GPSampler models the space with PyTorch, an optional extra here."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UserError('--sampler gp needs PyTorch: pip install "bakeoff[gp]"') from None


def ladder_rungs(first: int):
    """The ladder's rungs: ``first`` epochs, then ``LADDER_FACTOR`` times more at each (BAKEOFF_LADDER_FACTOR)."""
    from bakeoff.search.engine.ladder import Rungs

    return Rungs(first=first, factor=LADDER_FACTOR_SETTING.value())


def first_rung_seconds(budget_seconds: float | None) -> float | None:
    """The most a new sampled configuration's first rung may take on the ladder (None: no limit but the cap)."""
    parts = FIRST_RUNG_PARTS_SETTING.value()
    return None if budget_seconds is None or parts <= 0 else budget_seconds / parts


def warmup_epochs() -> int:
    return PRUNER_WARMUP.value()


def pruner_for(kind: str = DEFAULT_PRUNER, epochs: int = 15) -> optuna.pruners.BasePruner:
    """Epochs are the steps; every pruner judges from epoch ``PRUNER_WARMUP_EPOCHS + 1`` on."""
    startup, warmup = PRUNER_STARTUP.value(), warmup_epochs()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)
    if kind == "percentile":  # keeps the top quarter
        return optuna.pruners.PercentilePruner(75.0, n_startup_trials=startup, n_warmup_steps=warmup)
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup + 1, reduction_factor=3)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=warmup + 1, max_resource=max(warmup + 1, epochs), reduction_factor=3)
    if kind == "wilcoxon":  # paired signed-rank test of this trial's curve against the best trial's, epoch by epoch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=warmup + 1)
    if kind in ("none", LADDER, FRONT):  # the ladder decides at its rungs itself (search/engine/ladder_trial.py), front per epoch
        return optuna.pruners.NopPruner()
    raise UserError(f"unknown pruner {kind!r}; choose one of {', '.join(PRUNERS)}")
