"""The engine's bookkeeping in milliseconds: the trial record, budgets, the runner's choice of family, recovery of
dead trials and study identity, on in-memory Optuna studies built with ``create_trial`` (no training)."""

import socket
from datetime import datetime, timedelta

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from bakeoff.search.engine import record, runner, storage, studies
from bakeoff.search.engine.budget import Budget
from bakeoff.search.engine.record import Outcome
from bakeoff.search.errors import UserError
from bakeoff.spaces import DEFAULT_SPACES

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _finished(outcome: Outcome, seconds: float, value: float | None = 0.9) -> optuna.trial.FrozenTrial:
    started = datetime(2026, 1, 1)
    trial = create_trial(state=outcome.state, value=value if outcome.state == TrialState.COMPLETE else None,
                         user_attrs={record.OUTCOME: outcome.value, record.SECONDS: seconds})
    trial.datetime_start, trial.datetime_complete = started, started + timedelta(seconds=seconds)
    return trial


def _study(*trials) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for trial in trials:
        study.add_trial(trial)
    return study


def test_the_record_counts_what_ended_for_its_own_reason_and_charges_what_it_trained():
    trials = [_finished(Outcome.COMPLETE, 10), _finished(Outcome.PRUNED, 5), _finished(Outcome.INTERRUPTED, 3), _finished(Outcome.SURPLUS, 0.1)]
    assert [record.counts(t) for t in trials] == [True, True, False, False]
    assert record.counted(trials) == 2 and record.spent_seconds(trials) == pytest.approx(18.1)
    assert [o.requeue for o in (Outcome.INTERRUPTED, Outcome.SURPLUS, Outcome.FAILED)] == [True, True, False]
    dead = create_trial(state=TrialState.FAIL, user_attrs={record.ALIVE_AT: datetime(2026, 1, 1, 0, 0, 30).timestamp()})
    dead.datetime_start = datetime(2026, 1, 1)
    assert record.outcome_of(dead) is Outcome.INTERRUPTED and record.seconds(dead) == 30.0  # not the night it lay dead


def test_a_budget_is_a_total_of_counted_trials_or_charged_seconds():
    study = _study(_finished(Outcome.COMPLETE, 60), _finished(Outcome.PRUNED, 30), _finished(Outcome.INTERRUPTED, 30))
    assert Budget(trials=4).fraction_used(study) == 0.5
    assert Budget(seconds=240).fraction_used(study) == 0.5 and Budget(seconds=240).seconds_left(study) == 120
    assert Budget(trials=4, seconds=120).fraction_used(study) == 1.0  # the tighter of the two
    assert Budget(trials=4, seconds=240).describe_left(study) == "2/4 trials, 2m00s left"
    assert Budget().fraction_used(study) == 0.0 and Budget().describe_left(study) == "no limit"


def test_the_runner_gives_the_next_trial_to_the_family_with_the_least_budget_used():
    budget = Budget(trials=3)
    families = {"ann": _study(_finished(Outcome.COMPLETE, 1), _finished(Outcome.COMPLETE, 1)), "cnn": _study(_finished(Outcome.COMPLETE, 1))}
    assert runner._next_family(families, budget) == "cnn"
    families["cnn"].add_trial(_finished(Outcome.PRUNED, 1))
    assert runner._next_family(families, budget) == "ann"  # a tie goes to the first
    for study in families.values():
        study.add_trial(_finished(Outcome.COMPLETE, 1))
    assert runner._next_family(families, budget) is None  # both budgets used


def test_a_running_trial_of_a_dead_local_worker_is_failed_and_queued_again_once():
    study = optuna.create_study(direction="maximize")
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    study._storage.set_trial_user_attr(trial._trial_id, record.WORKER, f"{socket.gethostname()}:999999999:1")  # no such process
    assert storage.recover_dead_trials(study) == 1
    failed, queued = study.get_trials(deepcopy=False)
    assert record.outcome_of(failed) is Outcome.INTERRUPTED and failed.user_attrs[record.REASON] == "interrupted: its worker process died"
    assert queued.state == TrialState.WAITING and queued.params == failed.params and record.WORKER not in queued.user_attrs
    assert storage.recover_dead_trials(study) == 0  # nothing left running


def test_a_running_trial_of_a_live_worker_is_left_alone():
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    study._storage.set_trial_user_attr(trial._trial_id, record.WORKER, storage.worker_id())  # this very process
    assert storage.recover_dead_trials(study) == 0 and study.trials[0].state == TrialState.RUNNING


IDENTITY = {"data_source": "mnist", "data_sha256": "a" * 64, "subset": None, "val_fraction": 0.1, "seed": 0, "engine": "optuna", "backend": "tensorflow"}


def test_a_new_study_queues_both_starts_and_a_resumed_one_queues_nothing_more():
    memory = optuna.storages.InMemoryStorage()
    study = studies.open_study(memory, "t", "cnn", DEFAULT_SPACES["cnn"], IDENTITY, seed=0)
    assert [t.user_attrs[record.START] for t in study.trials] == ["seed notebook", "recipe"]
    again = studies.open_study(memory, "t", "cnn", DEFAULT_SPACES["cnn"], IDENTITY, seed=0)
    assert len(again.trials) == 2 and again.user_attrs["data_sha256"] == "a" * 64
    bare = studies.open_study(memory, "u", "ann", DEFAULT_SPACES["ann"], IDENTITY, seed=0, starts=False)
    assert bare.trials == []


@pytest.mark.parametrize(("key", "other"), [("data_sha256", "b" * 64), ("seed", 1), ("backend", "jax"), ("val_fraction", 0.2)])
def test_a_study_refuses_to_resume_with_other_data_or_settings(key, other):
    memory = optuna.storages.InMemoryStorage()
    studies.open_study(memory, "t", "ann", DEFAULT_SPACES["ann"], IDENTITY, seed=0)
    with pytest.raises(UserError, match=f"was searched with {key}="):
        studies.open_study(memory, "t", "ann", DEFAULT_SPACES["ann"], {**IDENTITY, key: other}, seed=0)


def test_a_study_refuses_another_space_and_a_missing_study_is_named():
    memory = optuna.storages.InMemoryStorage()
    studies.open_study(memory, "t", "ann", DEFAULT_SPACES["ann"], IDENTITY, seed=0)
    with pytest.raises(UserError, match="searched in another space"):
        studies.open_study(memory, "t", "ann", DEFAULT_SPACES["cnn"], IDENTITY, seed=0)
    with pytest.raises(UserError, match="no study named 'x' .*studies here: t"):
        studies.require_studies(memory, "x", ("ann", "cnn"))


def _kerastuner_trial(status="COMPLETED"):
    from types import SimpleNamespace

    return SimpleNamespace(trial_id="0007", status=status, hyperparameters=SimpleNamespace(values={"units": 64, "tuner/epochs": 3}))


@pytest.mark.parametrize(("status", "cut", "interrupted", "outcome"), [
    ("COMPLETED", False, False, Outcome.COMPLETE),
    ("COMPLETED", True, False, Outcome.OVER_BUDGET),
    ("COMPLETED", False, True, Outcome.INTERRUPTED),
    ("FAILED", False, False, Outcome.FAILED),
])
def test_a_kerastuner_trial_is_copied_with_the_outcome_and_record_the_objective_writes(status, cut, interrupted, outcome):
    from bakeoff.search.engine.kerastuner import _copy_trial

    study = optuna.create_study(direction="maximize")
    now = {"config": {"units": 64}, "distributions": {"units": optuna.distributions.IntDistribution(16, 128)}, "cut": cut, "interrupted": interrupted}
    copied = _copy_trial(study, _kerastuner_trial(status), now, [0.8, 0.9, 0.85], {record.PARAMS: 1234}, 3, 12.5)
    assert record.outcome_of(copied) is outcome and copied.params == {"units": 64}  # KerasTuner's own keys left out
    assert copied.user_attrs[record.CONFIG] == {"units": 64} and copied.user_attrs[record.ENGINE] == "kerastuner"
    assert record.val_curve(copied) == [0.8, 0.9, 0.85] and copied.user_attrs[record.BEST_EPOCH] == 2
    assert record.seconds(copied) == 12.5 and copied.user_attrs[record.PARAMS] == 1234
    assert record.selectable_value(copied) == (0.9 if outcome is Outcome.COMPLETE else None)  # only a complete trial is a result
    assert record.counts(copied) is (outcome is not Outcome.INTERRUPTED)


def _searched(memory, name, family="ann", identity=IDENTITY, n=3):
    study = studies.open_study(memory, name, family, DEFAULT_SPACES[family], identity, seed=0, starts=False)
    for k in range(n):
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.9 + k / 100, params={}, distributions={},
                                     user_attrs={record.OUTCOME: "complete", record.SECONDS: 60.0}))
    study.add_trial(_finished(Outcome.PRUNED, 30))
    return study


def test_a_warm_start_copies_finished_trials_once_uncharged_and_uncounted():
    memory = optuna.storages.InMemoryStorage()
    _searched(memory, "explore")
    source = studies.warm_start_source(memory, "explore", "night", "ann", IDENTITY, DEFAULT_SPACES["ann"])
    night = studies.open_study(memory, "night", "ann", DEFAULT_SPACES["ann"], IDENTITY, seed=0)
    assert studies.warm_start(night, source) == 4 and studies.warm_start(night, source) == 0  # once
    copies = [t for t in night.trials if record.WARM_FROM in t.user_attrs]
    assert [t.user_attrs[record.WARM_FROM] for t in copies] == ["explore#0", "explore#1", "explore#2", "explore#3"]
    assert record.counted(night.trials) == 0 and record.spent_seconds(night.trials) == 0.0  # the night's budget is untouched
    assert record.best_trial(night.trials).value == 0.92  # but the knowledge is there, and selectable
    assert Budget(trials=5).fraction_used(night) == 0.0


@pytest.mark.parametrize(("source", "identity", "space", "message"), [
    ("nowhere", IDENTITY, "ann", "no study named 'nowhere' to warm-start from"),
    ("explore", {**IDENTITY, "seed": 1}, "ann", "it was searched with seed=0, this search with 1"),
    ("explore", {**IDENTITY, "data_sha256": "c" * 64}, "ann", "it was searched with data_sha256="),
    ("explore", IDENTITY, "cnn", "it was searched in another space"),
    ("night", IDENTITY, "ann", "names this study itself"),
])
def test_a_warm_start_from_other_data_another_space_or_no_study_is_refused_before_anything_is_written(source, identity, space, message):
    memory = optuna.storages.InMemoryStorage()
    _searched(memory, "explore")
    before = [s.study_name for s in optuna.get_all_study_summaries(memory)]
    with pytest.raises(UserError, match=message):
        studies.warm_start_source(memory, source, "night", "ann", identity, DEFAULT_SPACES[space])
    assert [s.study_name for s in optuna.get_all_study_summaries(memory)] == before


def test_a_trial_given_back_while_waiting_for_others_is_run_not_left_waiting(monkeypatch):
    """A worker killed between starting a trial and recording itself leaves an owner-less RUNNING trial, which is
    recovered only after the grace period, while the runner waits; the runner must then take it, not stop (a
    kill -9 test once ended with the budget one short and the trial left WAITING)."""
    import threading

    from bakeoff.search.engine.objective import StopRequest

    study = optuna.create_study(direction="maximize")
    study.ask()  # RUNNING, no worker recorded
    budget = Budget(trials=1)
    assert runner._next_family({"ann": study}, budget) is None  # counted 0 + running 1: the budget looks full
    monkeypatch.setattr(storage, "GRACE_SECONDS", -1.0)  # the grace period has passed
    assert runner._wait_for_others({"ann": study}, budget, StopRequest(threading.Event())) is True
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]
    assert runner._next_family({"ann": study}, budget) == "ann"


def test_on_the_single_objective_ladder_the_deepest_rung_ranks_first_in_a_multi_objective_study_accuracy_does():
    """A multi-objective ladder promotes the cheap end of each rung's front too: a cheap configuration may reach a
    rung alone, and ranking it first would ship it (a 1-hour search's 97.4 % ANN at 128 epochs over 99.2 % at 32)."""
    def segment(values, rung, number):
        scores = {str(rung): values[0]}
        return create_trial(state=TrialState.COMPLETE, values=values, params={}, distributions={},
                            user_attrs={record.OUTCOME: "complete", record.LADDER_KEY: number, record.RUNG_SCORES: scores})

    single = [segment([0.992], 32, 0), segment([0.974], 128, 1)]
    multi = [segment([0.992, 0.05], 32, 0), segment([0.974, 0.009], 128, 1)]
    assert [record.selection_depth(t) for t in single] == [32, 128] and [record.selection_depth(t) for t in multi] == [0, 0]
    assert record.best_trial(single) is single[1] and record.best_trial(multi) is multi[0]
    from bakeoff.reports.collect import trial_record
    from bakeoff.reports.selection import select

    for trials, winner in ((single, 1), (multi, 0)):  # the report ranks as retraining does
        records = [{**trial_record(t), "number": i} for i, t in enumerate(trials)]
        assert select(records, None)["winner"]["number"] == winner
