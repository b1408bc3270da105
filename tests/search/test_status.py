"""`bakeoff status`: every sentence true, whichever trial ranks first and whatever the run folder holds."""

import argparse

import pytest

from bakeoff.search.app.commands import _format_status, _last_job
from bakeoff.search.app.job import SearchJob
from bakeoff.search.engine.budget import Budget


def _trial(number, value, rung=0, start=None, warm_from=None, state="COMPLETE"):
    return {"number": number, "state": state, "value": value, "rung": rung, "start": start, "warm_from": warm_from}


def _summary(trials, best, running=0):
    states = {"COMPLETE": sum(t["state"] == "COMPLETE" for t in trials), "RUNNING": running}
    best = None if best is None else {**next(t for t in trials if t["number"] == best), "config": {"units": 64}}
    return {"study_name": "s-cnn", "states": states, "seconds": 3725.0, "attrs": {}, "outcomes": {}, "best": best, "trials": trials}


def _lines(summary, left=None):
    return _format_status(summary, left).splitlines()


def test_on_the_ladder_a_shallower_trial_that_scored_higher_is_named_beside_the_one_that_ranks_first():
    # the CNN of the 1-hour search at seed 0 on 0fa753d: #19 ranks first at 32 epochs, #16 scored higher at 16
    trials = [_trial(0, 0.9865, 1, "seed notebook"), _trial(18, 0.9953, 16, "recipe"), _trial(16, 0.9960, 16), _trial(19, 0.9945, 32)]
    lines = _lines(_summary(trials, best=19))
    assert lines[1] == "  best: trial 19 (sampled), val accuracy 0.9945 at the deepest rung reached, 32 epochs"
    assert lines[2] == ("  trial 16 scored higher, 0.9960 at 16 epochs, and ranks below it: trials rank by the deepest rung "
                        "they reached first")
    assert lines[3] == "    units = 64"


def test_a_start_that_ranks_first_and_scored_highest_gets_no_second_line():
    trials = [_trial(0, 0.9865, 1, "seed notebook"), _trial(24, 0.9913, 32, "recipe"), _trial(16, 0.9905, 16, "recipe")]
    lines = _lines(_summary(trials, best=24))
    assert lines[1] == "  best: trial 24 (the recipe start), val accuracy 0.9913 at the deepest rung reached, 32 epochs"
    assert not any("scored higher" in line for line in lines)


def test_without_rungs_the_best_is_the_highest_and_a_warm_started_one_says_where_it_came_from():
    trials = [_trial(0, 0.97), _trial(1, 0.99, warm_from="earlier-cnn #7"), _trial(2, 0.995, state="PRUNED")]
    lines = _lines(_summary(trials, best=1))
    assert lines[1] == "  best: trial 1 (carried over by --warm-start), val accuracy 0.9900"
    assert not any("scored higher" in line for line in lines)  # a pruned trial's value is never a score to rank by


def test_a_higher_score_that_four_decimals_would_print_as_equal_gets_the_decimals_that_show_it():
    trials = [_trial(3, 0.994490, 8), _trial(4, 0.994510, 4)]
    assert _lines(_summary(trials, best=3))[2].startswith("  trial 4 scored higher, 0.99451 at 4 epochs,")


@pytest.mark.parametrize(("running", "left", "expected"), [
    (0, "3h44m left", "  budget of the last search started from this folder: 3h44m left"),
    (1, "26/50 trials, 3h44m left", "  budget of the last search started from this folder: 26/50 trials, 3h44m left "
                                    "(a running trial is charged when it ends)"),
])
def test_the_budget_line_says_whose_budget_it_is_and_that_a_running_trial_is_not_charged_yet(running, left, expected):
    lines = _lines(_summary([_trial(0, 0.9)], best=0, running=running), left)
    assert lines[1] == expected and lines[2].startswith("  best: trial 0")


def test_no_budget_line_without_a_job_and_no_best_without_a_complete_trial():
    lines = _lines(_summary([_trial(0, None, state="RUNNING")], best=None, running=1))
    assert lines[1:] == ["  no complete trial yet"]


def _args(tmp_path, study="s", storage=None):
    return argparse.Namespace(out=tmp_path, study=study, storage=storage)


def _job(tmp_path, study="s", storage=None):
    storage = storage or f"sqlite:///{(tmp_path / 'study.db').resolve()}"
    job = SearchJob("optuna", storage, study, ("ann", "cnn"), {}, {"trials": None, "seconds": 14400.0}, 1, 0, "tpe", "ladder",
                    str(tmp_path / "prepared"), {}, "tensorflow", str(tmp_path / "checkpoints"))
    job.write(tmp_path / "search-job.json")


def test_the_budget_is_read_from_the_last_job_of_this_folder_only_when_it_searched_the_same_storage_and_study(tmp_path):
    url = f"sqlite:///{(tmp_path / 'study.db').resolve()}"
    assert _last_job(_args(tmp_path), url) is None  # no search started here
    _job(tmp_path)
    job = _last_job(_args(tmp_path), url)
    assert (tuple(job.families), Budget(**job.budget)) == (("ann", "cnn"), Budget(trials=None, seconds=14400.0))
    assert _last_job(_args(tmp_path, study="other"), url) is None
    assert _last_job(_args(tmp_path), "sqlite:////elsewhere/study.db") is None
    (tmp_path / "search-job.json").write_text('{"engine": "optuna"}')  # a job file this version cannot read
    assert _last_job(_args(tmp_path), url) is None
