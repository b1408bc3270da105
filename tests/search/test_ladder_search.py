"""The ladder (``--pruner ladder``) for real: checkpoints that continue exactly, and a search that trains no epoch twice."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from bakeoff.search import layout
from bakeoff.search.app.main import main
from bakeoff.search.data import load_dataset
from bakeoff.search.engine import record
from bakeoff.search.engine.strategy import LADDER
from bakeoff.search.engine.studies import PRUNER
from bakeoff.search.evaluation.retrain import plan
from bakeoff.search.train.backend import import_keras
from bakeoff.search.train.builders import load_checkpoint
from bakeoff.search.train.fit import fit, release_models
from bakeoff.search.train.rungs import WARMUP_EPOCHS, decayed_validation
from bakeoff.search.train.speed import tuned_model
from bakeoff.spaces import BASELINES, LADDER_SCHEDULE


def test_a_checkpoint_holds_the_run_exactly_and_trains_on(tmp_path):
    data = load_dataset("digits")
    keras = import_keras()
    release_models()
    keras.utils.set_random_seed(0)
    config = {**BASELINES["ann"], "schedule": LADDER_SCHEDULE}
    model = tuned_model(config, "ann", data.input_shape, data.num_classes, 100)
    fit(model, data.x_train, data.y_train, epochs=2, batch_size=config["batch_size"])
    decayed_validation(model, data.x_train, data.y_train, (data.x_val, data.y_val), batch_size=config["batch_size"], seed=0)
    path = layout.checkpoint(tmp_path, "ann", 3, 2)
    path.parent.mkdir(parents=True)
    model.save(path)
    loaded = load_checkpoint(path)
    for before, after in ((model.weights, loaded.weights), (model.optimizer.variables, loaded.optimizer.variables)):
        assert len(before) == len(after) and all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(before, after))
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) > 0
    assert hasattr(loaded.optimizer._learning_rate, "decay_from")  # the schedule that can decay again
    result = fit(loaded, data.x_train, data.y_train, epochs=1, batch_size=config["batch_size"], validation=(data.x_val, data.y_val))
    assert result.history["val_accuracy"][0] > 0.8


def _trials(out, family="ann"):
    return optuna.load_study(study_name=record.study_name("t", family), storage=f"sqlite:///{out}/study.db").get_trials()


def test_the_study_marks_its_starts_and_a_start_behind_the_deepest_rung_is_continued_before_any_other(tmp_path):
    """The engine's reading of the study (``configs_of``, ``continuation``): the recipe scored last at rung 1 (a slow
    starter) is continued first, from its checkpoint, still the recipe; ranked alone, the sampled leader would be."""
    from bakeoff.search.engine.ladder import Rungs
    from bakeoff.search.engine.ladder_trial import configs_of, continuation

    study = optuna.create_study(direction="maximize")
    for key, start, scores in ((0, "seed notebook", {1: 0.980}), (1, "recipe", {1: 0.970}), (2, None, {1: 0.990, 2: 0.992}),
                               (3, None, {1: 0.985}), (4, None, {1: 0.960})):
        attrs = {record.LADDER_KEY: key, record.FROM_EPOCHS: 0, record.RUNG_SCORES: {str(e): v for e, v in scores.items()},
                 record.CONFIG: {"key": key}, record.MEAN_EPOCH_SECONDS: 1.0, **({record.START: start} if start else {})}
        study.add_trial(optuna.trial.create_trial(value=max(scores.items())[1], user_attrs=attrs, state=TrialState.COMPLETE))
        for epochs in scores:
            layout.checkpoint(tmp_path, study.study_name, key, epochs).parent.mkdir(parents=True, exist_ok=True)
            layout.checkpoint(tmp_path, study.study_name, key, epochs).touch()
    configs = configs_of(study.get_trials(), Rungs(1, 2))
    assert [k for k, c in sorted(configs.items()) if c.start] == [0, 1]
    config, attrs = continuation(study, Rungs(1, 2), tmp_path, cap=None)
    assert config == {"key": 0} and attrs[record.START] == "seed notebook" and attrs[record.FROM_EPOCHS] == 1  # the earlier start first
    assert continuation(study, Rungs(1, 2), tmp_path, cap=1.0) is None  # a segment over the cap is never offered


@pytest.mark.slow
def test_a_ladder_run_continues_configurations_trains_no_epoch_twice_keeps_budgets_equal_and_retrains_the_winner(tmp_path, capfd):
    out = tmp_path / "run"
    argv = ["run", "--pruner", "ladder", "--data", "digits", "--timeout", "60s", "--seeds", "1", "--analyses", "none",
            "--out", str(out), "--study", "t"]
    assert main(argv) == 0
    spent = {}
    for family in ("ann", "cnn"):
        trials = _trials(out, family)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        assert len(complete) >= 3, family
        assert [t.user_attrs.get(record.START) for t in trials[:2]] == ["seed notebook", "recipe"]
        assert all(t.user_attrs[record.CONFIG]["schedule"] == LADDER_SCHEDULE for t in trials)
        by_key: dict[int, list] = {}
        for trial in trials:
            by_key.setdefault(trial.user_attrs[record.LADDER_KEY], []).append(trial)
        deepest = 0
        for key, segments in by_key.items():
            assert len({t.user_attrs.get(record.START) for t in segments}) == 1  # a continued start is still that start
            reached = 0
            for trial in segments:  # each segment begins where the last one ended: no epoch trained twice or skipped
                assert trial.user_attrs[record.FROM_EPOCHS] == reached
                if trial.state != TrialState.COMPLETE:
                    continue
                scores = {int(e): s for e, s in trial.user_attrs[record.RUNG_SCORES].items()}
                assert trial.user_attrs[record.EPOCHS_RUN] == max(scores) - reached
                assert all(e & (e - 1) == 0 for e in scores)  # rungs 1, 2, 4, ...: --epochs 1, factor 2
                if reached:
                    parent = next(t for t in trials if t.number == trial.user_attrs[record.CONTINUES])
                    assert parent.user_attrs[record.LADDER_KEY] == key
                    assert all(scores[int(e)] == s for e, s in parent.user_attrs[record.RUNG_SCORES].items())
                assert trial.value == scores[max(scores)]
                reached = max(scores)
            expected = [f"config-{key}-epoch-{reached}.keras"] if reached else []
            assert [p.name for p in layout.checkpoints(out / "checkpoints", record.study_name("t", family), key)] == expected
            deepest = max(deepest, reached)
        assert deepest >= 2, family  # of the two starts, the better went on (at once, or from its checkpoint)
        best = record.best_trial(trials)
        assert record.rung_epochs(best) == deepest
        # every segment says how its run began, continuations too, so retraining warms up as the search did
        assert all(t.user_attrs.get(record.WARMUP) == WARMUP_EPOCHS for t in trials if t.state == TrialState.COMPLETE)
        assert plan(optuna.load_study(study_name=record.study_name("t", family), storage=f"sqlite:///{out}/study.db"), 100).warmup_epochs == WARMUP_EPOCHS
        # retraining trains the winner for its rung's epochs (then the same decay its score was taken after)
        metrics = json.loads((layout.retrain_dir(out, family, 0) / layout.METRICS_FILE).read_text())
        assert (metrics["trial"], metrics["epochs"]) == (best.number, deepest)
        assert len(json.loads((layout.retrain_dir(out, family, 0) / layout.HISTORY_FILE).read_text())["loss"]) == deepest
        spent[family] = (record.spent_seconds(trials), max(record.seconds(t) for t in trials))
    # equal budgets: each family used its 30 s (the trial under way at the deadline stops at its next batch, after
    # its model is built), the two apart by no more than one trial
    (ann, ann_trial), (cnn, cnn_trial) = spent["ann"], spent["cnn"]
    assert 25 <= ann <= 30 + ann_trial and 25 <= cnn <= 30 + cnn_trial, spent
    assert abs(ann - cnn) <= max(ann_trial, cnn_trial), spent
    printed = capfd.readouterr().out  # progress lines say how far each trial got, and from where it went on
    assert "(rung of 1 epoch)" in printed
    # "best" on the ladder is the best of the deepest rung reached, and says so
    assert re.search(r"best \d\.\d{4} \(#\d+ at \d+ epochs?, the deepest rung\)", printed)
    continued = [t for f in ("ann", "cnn") for t in _trials(out, f) if t.state == TrialState.COMPLETE and t.user_attrs[record.FROM_EPOCHS]]
    assert all(f"(rung of {record.rung_epochs(t)} epochs, continued from epoch {t.user_attrs[record.FROM_EPOCHS]})" in printed for t in continued)
    assert main(["status", "--out", str(out), "--study", "t"]) == 0  # status names the trial retraining took, and the budget
    shown = capfd.readouterr().out
    for family in ("ann", "cnn"):
        best = record.best_trial(_trials(out, family))
        assert f"  best: trial {best.number} (" in shown and f"at the deepest rung reached, {record.rung_epochs(best)} epochs" in shown
    assert len(re.findall(r"^  budget of the last search started from this folder: \d+s left$", shown, re.M)) == 2


@pytest.mark.slow
def test_kill_9_in_the_middle_of_a_rung_loses_nothing_finished_and_trains_nothing_twice(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "bakeoff.search", "search", "--pruner", "ladder", "--data", "digits", "--family", "ann",
            "--trials", "6", "--out", str(out), "--study", "t"]
    rng = random.Random(5)
    kept: dict = {}
    for _ in range(2):  # a crash takes the search and its worker at once, wherever they are
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(8.0, 16.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if (out / "study.db").exists():
            kept.update({t.number: (t.value, t.params) for t in _trials(out) if t.state == TrialState.COMPLETE})
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stderr
    trials = _trials(out)
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert record.counted(trials) == 6
    assert all((t.value, t.params) == kept[t.number] for t in trials if t.number in kept)  # nothing finished lost or changed
    checkpointed: dict[int, int] = {}
    for trial in trials:
        key = trial.user_attrs.get(record.LADDER_KEY)
        if key is None:
            continue
        # every trial of a configuration begins at the furthest checkpoint any earlier one saved
        assert trial.user_attrs.get(record.FROM_EPOCHS, 0) == checkpointed.get(key, 0), (trial.number, trial.user_attrs)
        if record.CHECKPOINT_EPOCHS in trial.user_attrs:
            checkpointed[key] = trial.user_attrs[record.CHECKPOINT_EPOCHS]


def _first_rung_search(tmp_path, monkeypatch, small_npz, *, parts: int, epochs: int, seconds: int = 40) -> list:
    """The trials of a ladder search of the ANN on 600 images for ``seconds``, first rung ``epochs``, share 1/``parts``."""
    monkeypatch.setenv("BAKEOFF_FIRST_RUNG_PARTS", str(parts))
    out = tmp_path / "run"
    argv = ["search", "--pruner", "ladder", "--epochs", str(epochs), "--data", str(small_npz), "--family", "ann",
            "--timeout", f"{seconds}s", "--out", str(out), "--study", "t"]
    assert main(argv) == 0
    return _trials(out)


@pytest.mark.slow
def test_a_new_configuration_whose_first_rung_would_pass_its_share_of_the_budget_is_stopped_by_its_pace(tmp_path, monkeypatch, small_npz):
    # A first rung of 4 epochs on 600 images: the pace times whole epochs from the second on, so it can project the
    # rung before the rung ends. One part in 100,000 of the budget is far below any rung: every sampled
    # configuration is stopped by its pace, the starts (never stopped by the share) train their rung.
    trials = _first_rung_search(tmp_path, monkeypatch, small_npz, parts=100000, epochs=4, seconds=60)
    starts = [t for t in trials if t.user_attrs.get(record.START) and not t.user_attrs.get(record.FROM_EPOCHS)]
    sampled = [t for t in trials if not t.user_attrs.get(record.START) and record.outcome_of(t) is not None]
    # the starts train their first rung at least (the top of a rung goes on within the same trial when it fits its cap)
    assert len(starts) == 2 and all(t.state == TrialState.COMPLETE and t.user_attrs[record.EPOCHS_RUN] >= 4 for t in starts), [t.user_attrs for t in starts]
    slow = [t for t in sampled if record.outcome_of(t) is record.Outcome.TOO_SLOW]
    over = [t for t in sampled if record.outcome_of(t) is record.Outcome.OVER_BUDGET]
    # every sampled configuration is stopped by its pace, one after another, until the budget runs out
    assert len(slow) >= 2 and over in ([], sampled[-1:]), [record.outcome_of(t) for t in sampled]  # only the last ran out the budget
    for trial in slow:
        assert trial.user_attrs[record.REASON].startswith("too slow: its first rung would take about")
        assert "s a new configuration's first rung may take" in trial.user_attrs[record.REASON]
        assert len(trial.user_attrs[record.CURVES]["val_accuracy"]) < 4  # stopped before its rung ended
        assert not trial.intermediate_values  # nothing reported: TPE ranks it below every scored trial


@pytest.mark.slow
def test_a_first_rung_that_would_pass_the_cap_per_trial_is_stopped_by_its_pace_starts_too(tmp_path, monkeypatch, small_npz):
    # No share of the budget (parts 0): only the cap per trial (a quarter of 40 s, or less when less is left) limits
    # a first rung, and 1,000 epochs on 600 images take far longer: every configuration, starts included, is stopped.
    trials = [t for t in _first_rung_search(tmp_path, monkeypatch, small_npz, parts=0, epochs=1000) if record.outcome_of(t) is not None]
    starts = [t for t in trials if t.user_attrs.get(record.START)]
    assert len(starts) == 2 and all(record.outcome_of(t) is record.Outcome.TOO_SLOW for t in starts)
    slow = [t for t in trials if record.outcome_of(t) is record.Outcome.TOO_SLOW]
    assert len(slow) >= 3, [record.outcome_of(t) for t in trials]  # sampled ones too (others may diverge or run out the budget)
    for trial in slow:  # the pace needs two epochs: a model slow to compile may reach the cap itself first
        reason = trial.user_attrs[record.REASON]
        found = re.fullmatch(r"too slow: its first rung would take about ([\d.]+)s, over the ([\d.]+)s cap per trial", reason)
        assert found or (trial not in starts and re.fullmatch(r"too slow: the rung it was training did not fit the \d+s cap per trial", reason)), reason
        assert not found or float(found[1]) > float(found[2]) and float(found[2]) <= 10, reason  # the cap: a quarter, or what is left
        assert len(trial.user_attrs[record.CURVES]["val_accuracy"]) < 1000


@pytest.mark.slow
def test_a_multi_objective_ladder_values_each_segment_by_its_rung_and_measures_each_configuration_once(tmp_path, small_npz, capfd):
    """``--objective accuracy,latency``, on the ladder by default: rungs ranked by Pareto rank (``ladder.rung_order``, tested on
    its own), every complete segment valued (deepest rung's score, latency), a continued configuration carrying
    the cost its first trial measured instead of measuring it again."""
    from bakeoff.search.engine.ladder import Rungs
    from bakeoff.search.engine.ladder_trial import configs_of
    from bakeoff.search.engine.objectives import parse_objective

    out = tmp_path / "run"
    argv = ["search", "--objective", "accuracy,latency", "--family", "ann", "--data", str(small_npz),
            "--trials", "8", "--out", str(out), "--study", "t"]
    assert main(argv) == 0
    trials = _trials(out)
    assert optuna.load_study(study_name=record.study_name("t", "ann"), storage=f"sqlite:///{out}/study.db").user_attrs[PRUNER] == LADDER
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) >= 6
    for trial in complete:
        scores = {int(e): s for e, s in trial.user_attrs[record.RUNG_SCORES].items()}
        assert trial.values == [scores[max(scores)], trial.user_attrs[record.COST]["latency_ms"]]
    continued = [t for t in complete if t.user_attrs[record.FROM_EPOCHS]]
    assert continued, "no configuration went on to a second rung"
    # "best" is the most accurate complete trial, not the best of the deepest rung, and the progress lines say no more
    assert record.best_trial(trials).values[0] == max(t.values[0] for t in complete)
    printed = capfd.readouterr().out
    assert re.search(r"best \d\.\d{4} \(#\d+ at \d+ epochs?\)", printed) and "the deepest rung" not in printed
    for trial in continued:
        parent = next(t for t in trials if t.number == trial.user_attrs[record.CONTINUES])
        assert trial.user_attrs[record.COST] == parent.user_attrs[record.COST]  # the same measurement, seconds and all
    configs = configs_of(trials, Rungs(1, 2), parse_objective("accuracy,latency"))
    assert all(c.cost == t.user_attrs[record.COST]["latency_ms"] for t in complete for c in [configs[t.user_attrs[record.LADDER_KEY]]])
    # resumed without --pruner, it stays the ladder it began as, multi-objective
    resumed = ["search", "--objective", "accuracy,latency", "--family", "ann", "--data", str(small_npz), "--trials", "9", "--out", str(out), "--study", "t"]
    assert main(resumed) == 0
    assert main(["status", "--out", str(out), "--study", "t"]) == 0
    shown = capfd.readouterr().out
    assert "  best: trial " in shown and "the deepest rung" not in shown and "ranks below it" not in shown
    assert main(["report", "--out", str(out), "--study", "t"]) == 0  # the fronts of a ladder's segments render
    html = (out / "report.html").read_text()
    assert "both families' fronts" in html and "for every complete configuration, at its most accurate segment" in html
    after = _trials(out)
    assert record.counted(after) == 9 and all(len(t.values) == 2 and record.LADDER_KEY in t.user_attrs for t in after if t.state == TrialState.COMPLETE)
