"""A tiny real search: a few hundred real MNIST images, one epoch, both families, through main(argv)."""

import optuna
import pytest
from optuna.trial import TrialState

from bakeoff.search.cli import main


def _search(small_npz, out, *extra):
    argv = ["search", "--data", str(small_npz), "--epochs", "1", "--out", str(out), "--study", "t", *extra]
    return main(argv)


def _trials(out, family):
    storage = f"sqlite:///{out}/study.db"
    return optuna.load_study(study_name=f"t-{family}", storage=storage).get_trials()


@pytest.mark.slow
def test_search_then_resume_adds_exactly_the_missing_trials(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    assert _search(small_npz, out, "--trials", "2") == 0
    first = {f: _trials(out, f) for f in ("ann", "cnn")}
    assert all(len(t) == 2 for t in first.values())
    assert [t.user_attrs["start"] for t in first["cnn"]] == ["seed notebook", "recipe"]
    assert first["cnn"][0].user_attrs["config"]["filters"] == [28, 64]
    assert first["ann"][1].user_attrs["config"]["units"] == [1024, 1024]
    for trial in first["ann"] + first["cnn"]:
        assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        for key in ("params_count", "epochs_run", "seconds_per_epoch", "curves", "peak_rss_mb", "flops"):
            assert key in trial.user_attrs, key

    assert _search(small_npz, out, "--trials", "3") == 0
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
def test_resume_with_other_data_options_is_refused(small_npz, tmp_path, capfd):
    out = tmp_path / "run"
    assert _search(small_npz, out, "--trials", "1", "--family", "ann") == 0
    before = (out / "study.db").read_bytes()
    assert _search(small_npz, out, "--trials", "2", "--family", "ann", "--seed", "5") == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "searched with seed=0" in err[0]
    assert (out / "study.db").read_bytes() == before


@pytest.mark.slow
def test_trials_that_cannot_be_built_or_diverge_are_recorded_and_the_search_goes_on(tmp_path, capfd):
    space = tmp_path / "space.toml"
    space.write_text(
        '[cnn]\nconv_blocks = 4\npooling = "max"\n'
        '[ann]\noptimizer = "sgd"\nlearning_rate = 1e6\nmomentum = 0.99\nbatch_norm = false\nhidden_layers = 1\n'
    )
    out = tmp_path / "run"
    argv = ["search", "--data", "digits", "--epochs", "2", "--trials", "2", "--out", str(out), "--study", "t", "--space", str(space)]
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
    argv = ["search", "--engine", "kerastuner", "--data", "digits", "--family", "ann", "--timeout", "15s",
            "--epochs", "2", "--out", str(out), "--study", "t"]
    assert main(argv) == 0
    trials = _trials(out, "ann")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert complete and all(t.user_attrs["engine"] == "kerastuner" for t in trials)
    from bakeoff.spaces import DEFAULT_SPACES

    assert all(DEFAULT_SPACES["ann"].problems(t.user_attrs["config"]) == [] for t in complete)
    assert all(0.0 <= t.value <= 1.0 and t.user_attrs["params_count"] > 0 for t in complete)
    # the engine is part of the study's identity: resuming with the other engine is refused
    assert main(["search", "--data", "digits", "--family", "ann", "--trials", "1", "--out", str(out), "--study", "t"]) == 2
    assert "engine" in capfd.readouterr().err


@pytest.mark.slow
def test_a_trial_too_slow_for_the_time_budget_is_cut_early(tmp_path):
    out = tmp_path / "run"
    argv = ["search", "--data", "digits", "--family", "ann", "--timeout", "20s", "--epochs", "500", "--out", str(out), "--study", "t"]
    assert main(argv) == 0
    first = _trials(out, "ann")[0]  # 500 epochs cannot fit in a quarter of 20 s
    assert first.state == TrialState.PRUNED and first.user_attrs["reason"].startswith("too slow: 500 epochs would take")
    assert first.user_attrs["epochs_run"] < 500
