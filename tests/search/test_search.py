"""A tiny real search: a few hundred real MNIST images, one epoch, both families, through main(argv)."""

import json

import optuna
import pytest
from optuna.trial import TrialState

from bakeoff.search.app.main import main
from bakeoff.search.engine import record
from bakeoff.search.stats import retrain_epochs


def _search(small_npz, out, *extra):
    argv = ["search", "--data", str(small_npz), "--epochs", "1", "--out", str(out), "--study", "t", *extra]
    return main(argv)


def _trials(out, family):
    storage = f"sqlite:///{out}/study.db"
    return optuna.load_study(study_name=record.study_name("t", family), storage=storage).get_trials()


@pytest.mark.slow
def test_search_then_resume_adds_exactly_the_missing_trials(small_npz, tmp_path, capfd):
    # whole trials (the median pruner): the records of the epoch-by-epoch engine; the ladder's: test_ladder_search.py
    out = tmp_path / "run"
    assert _search(small_npz, out, "--trials", "2", "--pruner", "median") == 0
    first = {f: _trials(out, f) for f in ("ann", "cnn")}
    assert all(len(t) == 2 for t in first.values())
    assert [t.user_attrs["start"] for t in first["cnn"]] == ["seed notebook", "recipe"]
    assert first["cnn"][0].user_attrs["config"]["filters"] == [28, 64]
    assert first["ann"][1].user_attrs["config"]["units"] == [1024, 1024]
    for trial in first["ann"] + first["cnn"]:
        assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        for key in ("params_count", "epochs_run", "seconds_per_epoch", "curves", "peak_rss_mb", "flops"):
            assert key in trial.user_attrs, key
        if trial.state == TrialState.COMPLETE:  # which validation images it got right at its best epoch, for paired margins
            n_val = optuna.load_study(study_name=record.study_name("t", "ann"), storage=f"sqlite:///{out}/study.db").user_attrs[record.VAL_SIZE]
            correct = record.val_correct(trial.user_attrs, n_val)
            assert correct is not None and correct.mean() == pytest.approx(trial.value, abs=1e-6)
            curve = record.val_curve(trial)
            vs_best = trial.user_attrs[record.VAL_VS_BEST]
            assert len(vs_best) == len(curve) and vs_best[curve.index(max(curve))] == [0, 0]
            assert all(max(curve) - value == pytest.approx((lost - won) / n_val, abs=1e-4) for value, (lost, won) in zip(curve, vs_best))

    assert _search(small_npz, out, "--trials", "3") == 0  # resumed with the pruner it began with
    for family in ("ann", "cnn"):
        after = _trials(out, family)
        assert len(after) == 3
        for before, now in zip(first[family], after):
            assert (before.number, before.state, before.value, before.params) == (now.number, now.state, now.value, now.params)
    printed = capfd.readouterr().out
    assert "[cnn] trial   2" in printed and "budget: 3/3 trials" in printed

    assert _search(small_npz, out, "--trials", "3") == 0  # already done: nothing new
    assert len(_trials(out, "ann")) == 3


@pytest.mark.slow
def test_a_resumed_study_keeps_the_pruner_it_began_with_and_the_ladder_cannot_take_over_a_trunk_study(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    assert _search(small_npz, out, "--trials", "1", "--family", "ann", "--pruner", "median") == 0
    before = (out / "study.db").read_bytes()
    assert _search(small_npz, out, "--trials", "2", "--family", "ann", "--pruner", "ladder") == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == ["bakeoff: error: study 't' was searched with --pruner median, whose trials train whole; --pruner ladder cannot "
                   "resume it: re-run without --pruner, or start a new --study"]
    assert (out / "study.db").read_bytes() == before
    assert _search(small_npz, out, "--trials", "2", "--family", "ann") == 0  # the same command without --pruner: median still
    study = optuna.load_study(study_name=record.study_name("t", "ann"), storage=f"sqlite:///{out}/study.db")
    assert study.user_attrs["pruner"] == "median" and len(study.trials) == 2
    assert not [t for t in study.trials if record.LADDER_KEY in t.user_attrs]  # trained whole, not on the ladder
    study.set_user_attr("pruner", None)  # as a study made before the pruner was recorded (the median was the default)
    assert _search(small_npz, out, "--trials", "3", "--family", "ann") == 0
    assert not [t for t in _trials(out, "ann") if record.LADDER_KEY in t.user_attrs] and len(_trials(out, "ann")) == 3
    assert _search(small_npz, tmp_path / "new", "--trials", "1", "--family", "ann") == 0  # a new study: the default, the ladder
    assert [record.LADDER_KEY in t.user_attrs for t in _trials(tmp_path / "new", "ann") if t.state.is_finished()] == [True]


@pytest.mark.slow
def test_a_resumed_ladder_study_keeps_its_first_rung_and_refuses_another(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    argv = ["search", "--data", str(small_npz), "--out", str(out), "--study", "t", "--family", "ann"]
    assert main([*argv, "--trials", "1", "--epochs", "2"]) == 0
    before = (out / "study.db").read_bytes()
    assert main([*argv, "--trials", "2", "--epochs", "1"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == ["bakeoff: error: study 't' climbs rungs from a first rung of 2 epochs; --epochs 1 would put its rungs elsewhere: "
                   "re-run without --epochs, or start a new --study"]
    assert (out / "study.db").read_bytes() == before
    assert main([*argv, "--trials", "2"]) == 0  # the same command without --epochs: rungs of 2, 4, ... still, not the default 1
    trials = [t for t in _trials(out, "ann") if t.state.is_finished()]
    assert len(trials) == 2 and all(record.RUNG_SCORES in t.user_attrs for t in trials)
    assert {int(rung) for t in trials for rung in t.user_attrs[record.RUNG_SCORES]} <= {2, 4}
    assert optuna.load_study(study_name=record.study_name("t", "ann"), storage=f"sqlite:///{out}/study.db").user_attrs["epochs"] == 2


@pytest.mark.slow
def test_resume_with_other_data_options_is_refused(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    assert _search(small_npz, out, "--trials", "1", "--family", "ann") == 0
    before = (out / "study.db").read_bytes()
    assert _search(small_npz, out, "--trials", "2", "--family", "ann", "--seed", "5") == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "searched with seed=0" in err[0]
    assert (out / "study.db").read_bytes() == before
    space = tmp_path / "narrow.toml"
    space.write_text("[ann]\nhidden_layers = 1\n")
    assert _search(small_npz, out, "--trials", "2", "--family", "ann", "--space", str(space)) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was searched in another space" in err[0] and "--space" in err[0]
    assert (out / "study.db").read_bytes() == before


@pytest.mark.slow
def test_the_same_seed_and_trials_give_the_same_parameters(tmp_path, monkeypatch):
    """Two searches with the same --seed and --trials draw the same configuration for every trial, TPE's included."""
    monkeypatch.setenv("BAKEOFF_TPE_STARTUP", "3")  # the two starts and one random draw; the workers inherit it
    params = []
    for run in ("a", "b"):
        out = tmp_path / run
        argv = ["search", "--data", "digits", "--family", "ann", "--trials", "4", "--epochs", "1", "--seed", "3", "--out", str(out), "--study", "t",
                "--pruner", "median"]  # whole trials: on the ladder a trial may continue a start with its parameters
        assert main(argv) == 0
        params.append([t.params for t in _trials(out, "ann")])
    assert len(params[0]) == 4 and params[0] == params[1]  # the fourth is TPE's first model-based draw
    assert len({str(p) for p in params[0]}) == 4  # four different draws, not one repeated


@pytest.mark.slow
def test_the_search_cannot_read_the_test_split(small_npz, tmp_path):
    """The search receives a type without the test split; with the test arrays poisoned, both engines still run."""
    from dataclasses import fields

    from bakeoff.search.data import SearchData, load_dataset
    from bakeoff.search.engine.budget import Budget
    from bakeoff.search.engine.runner import SearchPlan, run
    from bakeoff.search.engine.studies import open_study
    from bakeoff.spaces import get_spaces

    assert not [f.name for f in fields(SearchData) if "test" in f.name]
    data = load_dataset(str(small_npz))
    data.x_test = data.y_test = _Poison()
    space = tmp_path / "space.toml"
    space.write_text("[ann]\nbatch_size = 256\nhidden_layers = 1\n")  # no starts: KerasTuner's own trials run
    spaces = get_spaces(space)
    for engine, budget in (("optuna", Budget(trials=3)), ("kerastuner", Budget(seconds=15))):
        storage = optuna.storages.InMemoryStorage()
        study = open_study(storage, "p", "ann", spaces["ann"], {"engine": engine}, 0)
        plan = SearchPlan(("ann",), spaces, budget, 1, 0)
        assert run(engine, plan, {"ann": study}, data.search_data(), tmp_path / "kerastuner") == 0  # one driver, either engine
        assert [t for t in study.get_trials() if record.val_curve(t)], engine  # trained and validated


class _Poison:
    """Stands in for the test arrays: any use raises."""

    def __getattr__(self, name):
        raise AssertionError(f"the search touched the test split ({name})")

    def __len__(self):
        raise AssertionError("the search touched the test split (len)")

    def __getitem__(self, key):
        raise AssertionError("the search touched the test split (index)")


@pytest.mark.slow
def test_trials_that_cannot_be_built_or_diverge_are_recorded_and_the_search_goes_on(tmp_path, capfd):
    space = tmp_path / "space.toml"
    space.write_text(
        '[cnn]\nconv_blocks = 4\npooling = "max"\n'
        '[ann]\noptimizer = "sgd"\nsgd_learning_rate = 1e30\nmomentum = 0.99\nbatch_norm = false\nhidden_layers = 1\n'
    )
    out = tmp_path / "run"
    argv = ["search", "--data", "digits", "--epochs", "2", "--trials", "2", "--out", str(out), "--study", "t", "--space", str(space),
            "--pruner", "median"]  # whole trials: on the ladder's warm-up this rate ends at chance without a NaN
    assert main(argv) == 0
    cnn = _trials(out, "cnn")
    assert [t.state for t in cnn] == [TrialState.FAIL, TrialState.FAIL]
    assert all("images too small" in t.user_attrs["reason"] for t in cnn)
    ann = _trials(out, "ann")
    assert len(ann) == 2 and all(t.state == TrialState.PRUNED for t in ann)
    assert all(t.user_attrs["reason"].startswith("diverged") for t in ann)
    assert "images too small" in capfd.readouterr().out


@pytest.mark.slow
def test_kerastuner_engine_searches_the_same_space_into_the_optuna_study(tmp_path, capfd):
    out = tmp_path / "run"
    space = tmp_path / "small.toml"
    space.write_text("[ann]\nunits = {low = 32, high = 128, log = true}\n")  # small nets; excludes the 2x1024 recipe
    argv = ["search", "--engine", "kerastuner", "--data", "digits", "--family", "ann", "--timeout", "20s",
            "--epochs", "2", "--space", str(space), "--out", str(out), "--study", "t"]
    assert main(argv) == 0
    trials = _trials(out, "ann")
    # like for like: KerasTuner begins from the same queued starts as the Optuna engine, trained the same way
    assert trials[0].user_attrs.get("start") == "seed notebook" and "engine" not in trials[0].user_attrs
    tuned = [t for t in trials[1:] if record.val_curve(t)]  # trained and validated (the last may be cut by the budget)
    assert tuned and all(t.user_attrs["engine"] == "kerastuner" for t in trials[1:])
    from bakeoff.spaces import get_spaces

    assert all(get_spaces(space)["ann"].problems(t.user_attrs["config"]) == [] for t in tuned)
    assert all(0.0 <= max(record.val_curve(t)) <= 1.0 and t.user_attrs["params_count"] > 0 for t in tuned)
    # one definition of spent time, the sum of charged trial times: a trial starts only while some is left,
    # and the one that used it up was cut and says so
    charged = [record.seconds(t) for t in trials]
    assert sum(charged[:-1]) < 20 <= sum(charged)
    assert record.outcome_of(trials[-1]) == record.Outcome.OVER_BUDGET
    # the engine is part of the study's identity: resuming with the other engine is refused
    assert main(["search", "--data", "digits", "--family", "ann", "--trials", "1", "--out", str(out), "--study", "t"]) == 2
    assert "engine" in capfd.readouterr().err


@pytest.mark.slow
def test_a_kerastuner_winner_is_retrained_for_every_epoch_it_trained(tmp_path, capfd):
    """KerasTuner keeps only a trial's best epoch; bakeoff records every epoch, continuations included."""
    space = tmp_path / "space.toml"
    space.write_text("[ann]\nbatch_size = 256\nhidden_layers = 1\n")  # excludes both starts: every trial is Hyperband's
    out = tmp_path / "run"
    argv = ["search", "--engine", "kerastuner", "--data", "digits", "--family", "ann", "--timeout", "30s",
            "--epochs", "3", "--space", str(space), "--out", str(out), "--study", "t"]
    assert main(argv) == 0
    trials = _trials(out, "ann")
    assert trials and not any("start" in t.user_attrs for t in trials)
    by_number = {t.number: t for t in trials}
    continued = [t for t in trials if "continues_trial" in t.user_attrs]
    assert continued, "Hyperband continued no trial within the budget"
    for trial in continued:
        parent = record.val_curve(by_number[trial.user_attrs["continues_trial"]])
        best = parent.index(max(parent)) + 1
        curve = record.val_curve(trial)
        assert curve[:best] == parent[:best] and len(curve) > best  # the parent's epochs up to its checkpoint, then its own
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            assert trial.user_attrs["epochs_run"] == len(record.val_curve(trial)) and trial.user_attrs["max_epochs"] == 3
    assert any(len(record.val_curve(t)) == 3 for t in trials)
    assert main(["retrain", "--out", str(out), "--study", "t", "--seeds", "1"]) == 0
    best = record.best_trial(trials)
    metrics = json.loads((out / "retrain" / "ann" / "seed-0" / "metrics.json").read_text())
    assert metrics["trial"] == best.number
    assert metrics["epochs"] == retrain_epochs(record.val_curve(best), 144)  # from the whole curve, not KerasTuner's one value


@pytest.mark.slow
def test_a_trial_whose_epochs_do_not_fit_its_cap_trains_the_epochs_that_fit(tmp_path):
    out = tmp_path / "run"
    argv = ["search", "--data", "digits", "--family", "ann", "--timeout", "20s", "--epochs", "500", "--out", str(out), "--study", "t",
            "--pruner", "median"]  # trials of --epochs epochs; the ladder's own cap: test_ladder_search.py
    assert main(argv) == 0
    first = _trials(out, "ann")[0]  # 500 epochs cannot fit in a quarter of 20 s
    assert first.state == TrialState.COMPLETE, first.user_attrs.get("reason")
    assert 1 <= first.user_attrs["epochs_run"] == first.user_attrs["max_epochs"] < 500
    assert first.user_attrs["fitted"].startswith(f"scheduled for {first.user_attrs['epochs_run']} of 500 epochs: its 5s cap")
    assert first.user_attrs["fit_seconds"] < 2 * 5  # it kept to its cap (within the hard limit)


@pytest.mark.slow
def test_a_short_time_budget_on_small_real_data_ends_with_complete_trials_for_both_families(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    assert _search(small_npz, out, "--timeout", "60s") == 0
    for family in ("ann", "cnn"):
        complete = [t for t in _trials(out, family) if t.state == TrialState.COMPLETE]
        assert len(complete) >= 2, family
    assert "no complete trial" not in capfd.readouterr().out


@pytest.mark.slow
def test_a_budget_too_short_for_one_epoch_says_why_and_what_would_do(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    assert _search(small_npz, out, "--timeout", "2s", "--epochs", "15", "--family", "cnn") == 0
    printed = capfd.readouterr().out
    assert "bakeoff: The CNN study has no complete trial" in printed
    assert "--timeout" in printed or "several minutes" in printed


@pytest.mark.slow
def test_no_starts_searches_from_scratch_and_starts_are_queued_by_default(small_npz, tmp_path):
    assert _search(small_npz, tmp_path / "scratch", "--trials", "2", "--family", "ann", "--no-starts") == 0
    assert [t.user_attrs.get(record.START) for t in _trials(tmp_path / "scratch", "ann")] == [None, None]
    assert _search(small_npz, tmp_path / "queued", "--trials", "2", "--family", "ann") == 0
    assert [t.user_attrs.get(record.START) for t in _trials(tmp_path / "queued", "ann")] == ["seed notebook", "recipe"]


@pytest.mark.slow
def test_a_warm_started_search_learns_from_an_earlier_study_without_paying_for_it(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    assert main(["search", "--data", str(small_npz), "--epochs", "1", "--out", str(out), "--study", "explore", "--family", "ann", "--trials", "2"]) == 0
    earlier = optuna.load_study(study_name=record.study_name("explore", "ann"), storage=f"sqlite:///{out}/study.db").get_trials()
    finished = [t for t in earlier if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    capfd.readouterr()
    assert _search(small_npz, out, "--family", "ann", "--trials", "1", "--warm-start", "explore", "--no-starts") == 0
    assert f"[ann] warm start: {len(finished)} finished trial(s) of explore-ann copied in" in capfd.readouterr().out
    trials = _trials(out, "ann")
    copies = [t for t in trials if record.WARM_FROM in t.user_attrs]
    assert [t.params for t in copies] == [t.params for t in finished]
    assert record.counted(trials) == 1 and record.spent_seconds(trials) == record.spent_seconds([t for t in trials if t not in copies])
    # on the ladder, a copy is knowledge, not a configuration of this study: its key and checkpoints are the earlier
    # study's (its own folder), and this study's first configuration is keyed by its own trial number
    assert not [t for t in copies if record.LADDER_KEY in t.user_attrs or record.FROM_EPOCHS in t.user_attrs]
    new = [t for t in trials if t not in copies]
    assert [t.user_attrs[record.LADDER_KEY] for t in new] == [t.number for t in new]
    assert {p.name for p in (out / "checkpoints").iterdir()} <= {"explore-ann", "t-ann"}
    assert _search(small_npz, out, "--family", "ann", "--trials", "1", "--warm-start", "explore", "--no-starts") == 0  # resumed: copied once
    assert len([t for t in _trials(out, "ann") if record.WARM_FROM in t.user_attrs]) == len(copies)
