"""A real multi-objective search (accuracy and LiteRT latency) on the shipped MNIST subset: every trial measured and
valued (accuracy, latency), a limit no trial meets (a sentence, nothing retrained), resume, refusal as
single-objective, a limit met (the most accurate trial within it retrained), the report's fronts. Off the ladder
(``--pruner none``, then ``front``): the default, the ladder, has its own test in test_ladder_search.py."""

import json

import optuna
import pytest

from bakeoff.search.app.main import main
from bakeoff.search.engine import record
from bakeoff.search.engine.objectives import Limits

# Under pytest-xdist (the default), this file's tests run on one worker: they share a module fixture.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("multi_objective")]


def _trials(out, family):
    study = optuna.load_study(study_name=f"mo-{family}", storage=f"sqlite:///{out}/study.db")
    return study, study.get_trials(deepcopy=False)


@pytest.fixture(scope="module")
def mo_run(tmp_path_factory, small_npz):
    out = tmp_path_factory.mktemp("mo") / "run"
    common = ["--data", str(small_npz), "--objective", "accuracy,latency", "--epochs", "1", "--out", str(out), "--study", "mo"]
    code = main(["run", *common, "--pruner", "none", "--trials", "3", "--seeds", "1", "--analyses", "none", "--no-export", "--max-latency", "1ns"])
    return out, common, code


def test_every_trial_is_measured_and_valued_by_accuracy_and_latency(mo_run):
    out, _, code = mo_run
    assert code == 0
    for family in ("ann", "cnn"):
        study, trials = _trials(out, family)
        assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
        assert study.user_attrs[record.OBJECTIVES] == ["accuracy", "latency"]
        assert record.counted(trials) == 3
        for trial in trials:
            cost = trial.user_attrs[record.COST]
            assert cost["latency_ms"] > 0 and cost["float32_bytes"] > 1000 and cost["threads"] == 1 and "int8_bytes" not in cost
            if trial.state == optuna.trial.TrialState.COMPLETE:
                assert trial.values[1] == cost["latency_ms"] and 0 < trial.values[0] <= 1
                assert trial.values[0] == pytest.approx(max(record.val_curve(trial)), abs=1e-5)


def test_a_limit_no_trial_meets_is_a_sentence_and_nothing_is_retrained(mo_run, capsys):
    out, _, code = mo_run
    assert code == 0
    assert not (out / "retrain").exists()
    html = (out / "report.html").read_text()
    assert "Chosen under --max-latency 0.001 µs. ANN: no complete trial meets --max-latency 0.001 µs (the fastest complete trial: " in html
    assert "so none was retrained" in html and "both families' fronts" in html and "hypervolume against charged time" in html
    assert "Under a latency limit (each family&#39;s most accurate complete trial within it, on validation)" in html
    assert "for every complete trial (latency on a log scale" in html  # off the ladder, one dot per trial
    for family in ("ann", "cnn"):  # Optuna's history and the per-epoch curves, though a multi-objective trial reports no epochs
        assert f'alt="Optimisation history ({family})"' in html and f'alt="Validation accuracy per epoch (pruning) ({family})"' in html


def test_status_names_each_family_s_front(mo_run, capsys):
    out, _, _ = mo_run
    capsys.readouterr()
    assert main(["status", "--out", str(out), "--study", "mo"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  front: ")]
    assert len(lines) == 2 and all(" trial(s), from #" in line and ") to #" in line for line in lines)


def test_a_multi_objective_study_resumed_for_accuracy_alone_is_refused(mo_run, capsys):
    out, common, _ = mo_run
    before = (out / "study.db").read_bytes()
    single = [a for a in common if a != "accuracy,latency"]
    single[single.index("--objective") + 1:single.index("--objective") + 1] = ["accuracy"]
    assert main(["search", *single, "--trials", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bakeoff: error: study 'mo-ann' was searched for accuracy and latency, not accuracy alone: "
                   "re-run with --objective accuracy,latency, or start a new --study"]
    assert (out / "study.db").read_bytes() == before


def test_resuming_adds_trials_and_keeps_the_finished_ones(mo_run):
    out, common, _ = mo_run
    before = {f: {t.number: (t.values, t.user_attrs[record.COST]) for t in _trials(out, f)[1] if t.state.is_finished()} for f in ("ann", "cnn")}
    assert main(["search", *common, "--trials", "4", "--pruner", "front"]) == 0
    for family in ("ann", "cnn"):
        trials = _trials(out, family)[1]
        assert record.counted(trials) == 4
        assert {t.number: (t.values, t.user_attrs[record.COST]) for t in trials if t.number in before[family]} == before[family]


def test_a_limit_that_is_met_retrains_the_most_accurate_trial_within_it(mo_run, capsys):
    out, common, _ = mo_run
    limit_ms = {}
    for family in ("ann", "cnn"):  # the family with the dearer cheapest trial has just that one within the limit
        complete = [t for t in _trials(out, family)[1] if t.state == optuna.trial.TrialState.COMPLETE]
        limit_ms[family] = min(t.user_attrs[record.COST]["latency_ms"] for t in complete)
    limit = max(limit_ms.values())
    assert main(["run", *common, "--trials", "4", "--seeds", "1", "--analyses", "none", "--no-export", "--max-latency", f"{limit}ms"]) == 0
    limits = Limits(latency_ms=limit)
    for family in ("ann", "cnn"):
        metrics = json.loads((out / "retrain" / family / "seed-0" / "metrics.json").read_text())
        best = record.best_trial(_trials(out, family)[1], limits)
        assert metrics["trial"] == best.number and metrics["limits"] == {"latency": limit}
        assert metrics["cost"]["latency_ms"] <= limit
    html = (out / "report.html").read_text()
    assert "Chosen under --max-latency" in html and "the most accurate complete trial that meets them" in html
    assert "No model meets the limits" not in html
