"""--sampler and --pruner: each choice builds what it names, and workers receive the choice."""

import optuna
import pytest

from bakeoff.search.app.cli import build_parser
from bakeoff.search.app.commands import _worker_argv
from bakeoff.search.engine.strategy import PRUNERS, pruner_for, sampler_for

PRUNER_TYPES = {
    "median": optuna.pruners.MedianPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "halving": optuna.pruners.SuccessiveHalvingPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "wilcoxon": optuna.pruners.WilcoxonPruner,
    "none": optuna.pruners.NopPruner,
}


@pytest.mark.parametrize("kind", PRUNERS)
def test_every_pruner_choice_builds_its_pruner(kind):
    assert type(pruner_for(kind, epochs=15)) is PRUNER_TYPES[kind]


def test_start_up_and_warm_up_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BAKEOFF_TPE_STARTUP", "10")
    monkeypatch.setenv("BAKEOFF_PRUNER_STARTUP", "4")
    monkeypatch.setenv("BAKEOFF_PRUNER_WARMUP", "3")
    assert sampler_for(None, 0, "tpe")._n_startup_trials == 10
    median = pruner_for("median")
    assert (median._n_startup_trials, median._n_warmup_steps) == (4, 3)
    assert pruner_for("halving")._min_resource == 4


def test_samplers_are_seeded_and_move_on_with_the_study():
    assert isinstance(sampler_for(None, 0, "random"), optuna.samplers.RandomSampler)
    tpe = sampler_for(None, 0, "tpe")
    assert isinstance(tpe, optuna.samplers.TPESampler) and tpe._multivariate
    study = optuna.create_study()
    draws = [optuna.create_study(sampler=sampler_for(study, 3, "random")).ask().suggest_float("x", 0, 1) for _ in range(2)]
    assert draws[0] == draws[1]  # same seed, same study length: the same draw
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    assert optuna.create_study(sampler=sampler_for(study, 3, "random")).ask().suggest_float("x", 0, 1) != draws[0]


def test_workers_receive_the_sampler_and_pruner(tmp_path):
    args = build_parser().parse_args(["search", "--data", "digits", "--sampler", "random", "--pruner", "none"])
    argv = _worker_argv(args, "sqlite:///x.db", tmp_path, "digits", "tensorflow")
    assert argv[argv.index("--sampler") + 1] == "random" and argv[argv.index("--pruner") + 1] == "none"
    default = _worker_argv(build_parser().parse_args(["search"]), "sqlite:///x.db", tmp_path, "digits", "tensorflow")
    assert "--sampler" not in default and "--pruner" not in default
