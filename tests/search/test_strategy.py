"""--sampler and --pruner: each choice builds what it names, and workers receive the choice."""

import optuna
import pytest

from bakeoff.search.engine.strategy import PRUNERS, pruner_for, sampler_for
from bakeoff.search.errors import UserError

PRUNER_TYPES = {
    "median": optuna.pruners.MedianPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "halving": optuna.pruners.SuccessiveHalvingPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "ladder": optuna.pruners.NopPruner,  # the ladder decides at its rungs itself
    "wilcoxon": optuna.pruners.WilcoxonPruner,
    "front": optuna.pruners.NopPruner,  # a multi-objective trial is judged by the objective (objectives.behind_cheaper_peers)
    "none": optuna.pruners.NopPruner,
}


@pytest.mark.parametrize("kind", PRUNERS)
def test_every_pruner_choice_builds_its_pruner(kind):
    assert type(pruner_for(kind, epochs=15)) is PRUNER_TYPES[kind]


def test_start_up_and_warm_up_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BAKEOFF_TPE_STARTUP", "10")
    monkeypatch.setenv("BAKEOFF_PRUNER_STARTUP", "4")
    monkeypatch.setenv("BAKEOFF_PRUNER_WARMUP", "3")
    assert sampler_for(0, "tpe").inner._n_startup_trials == 10
    median = pruner_for("median")
    assert (median._n_startup_trials, median._n_warmup_steps) == (4, 3)
    assert pruner_for("halving")._min_resource == 4


def test_samplers_are_seeded_by_the_trial_number():
    assert isinstance(sampler_for(0, "random").inner, optuna.samplers.RandomSampler)
    tpe = sampler_for(0, "tpe").inner
    assert isinstance(tpe, optuna.samplers.TPESampler) and tpe._multivariate

    def draw(study):
        return study.ask().suggest_float("x", 0, 1)

    # Two workers on one storage asking at the same moment (neither has told): different trials, different draws.
    # Seeded by the count of trials, which both read alike, they drew the same configuration.
    storage = optuna.storages.InMemoryStorage()
    first = optuna.create_study(storage=storage, study_name="s", sampler=sampler_for(3, "random"))
    second = optuna.load_study(storage=storage, study_name="s", sampler=sampler_for(3, "random"))
    draws = [draw(first), draw(second)]
    assert draws[0] != draws[1]
    # The same seed and trial numbers give the same draws in another run; another seed does not.
    again = optuna.create_study(sampler=sampler_for(3, "random"))
    assert [draw(again), draw(again)] == draws
    assert draw(optuna.create_study(sampler=sampler_for(4, "random"))) != draws[0]
    with pytest.raises(UserError, match="unknown sampler 'sobol'"):
        sampler_for(0, "sobol")


def test_workers_receive_the_sampler_and_pruner_in_their_job(tmp_path):
    from bakeoff.search.app.job import SearchJob
    from bakeoff.search.engine.runner import Process
    from bakeoff.spaces import DEFAULT_SPACES

    job = SearchJob(engine="optuna", storage="sqlite:///x.db", study="s", families=("ann",), spaces={"ann": DEFAULT_SPACES["ann"].get_config()},
                    budget={"trials": 3, "seconds": None}, epochs=2, seed=7, sampler="random", pruner="none", data=str(tmp_path / "prepared"),
                    split={"subset": None, "val_fraction": 0.1, "seed": 7}, backend="tensorflow", workdir=str(tmp_path))
    again = SearchJob.read(job.write(tmp_path / "job.json"))
    assert again == job
    plan = again.plan(Process(label="w1 ", recycle_mb=512.0))
    assert (plan.sampler, plan.pruner, plan.seed, plan.epochs, plan.budget.trials) == ("random", "none", 7, 2, 3)
    assert plan.spaces["ann"].get_config() == DEFAULT_SPACES["ann"].get_config() and plan.process.recycle_mb == 512.0
