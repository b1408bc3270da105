"""Winner, runner-up and "found by search", from plain trial records."""

import numpy as np
import pytest

from bakeoff.reports.notes import no_complete_trial, notes
from bakeoff.reports.selection import TIE_SE, describe, select, stale
from bakeoff.search.engine import record


def _trial(number, value, start=None, state="COMPLETE"):
    return {"number": number, "value": value, "start": start, "state": state}


def test_a_winning_start_is_named_as_the_start():
    found = select([_trial(0, 0.97, "seed notebook"), _trial(1, 0.99, "recipe"), _trial(2, 0.98)], 6000)
    assert found["label"] == "#1 (recipe start)" and found["runner_up"]["number"] == 2
    assert found["margin_se"] > TIE_SE


def test_found_by_search_only_when_it_beats_every_start_beyond_the_margin():
    found = select([_trial(0, 0.97, "seed notebook"), _trial(1, 0.985, "recipe"), _trial(7, 0.993)], 6000)
    assert found["label"] == "#7 (found by search)"
    assert "more than 2 standard errors above every start" in describe("cnn", found)


def test_a_winner_within_the_margin_of_a_start_is_a_tie_with_it():
    # the 1-hour CNN run: TPE's 99.65 % against the recipe's 99.62 % on 6,000 validation images
    found = select([_trial(0, 0.9910, "seed notebook"), _trial(1, 0.9962, "recipe"), _trial(22, 0.9965)], 6000)
    assert found["label"] == "#22 (tie with the recipe start #1)"
    text = describe("cnn", found)
    assert "a tie with the recipe start (#1, 99.62 %)" in text and "0.3 standard errors apart" in text
    assert "The runner-up, #1, reached 99.62 %" in text and "(a tie)" in text


def test_small_validation_sets_make_wider_ties():
    trials = [_trial(0, 0.9722, "recipe"), _trial(5, 0.9931)]  # 140 against 143 of 144 digits images
    assert select(trials, 144)["label"] == "#5 (tie with the recipe start #0)"
    assert select(trials, 60_000)["label"] == "#5 (found by search)"


def test_a_hundred_percent_winner_still_has_a_margin():
    found = select([_trial(0, 1.0, "recipe"), _trial(3, 1.0)], 144)
    assert found["winner"]["number"] == 0 and found["margin_se"] == 0.0  # the earliest wins ties


def test_one_complete_trial_and_none():
    assert select([_trial(0, None, state="PRUNED")], 6000) is None
    assert describe("ann", None) == "The ANN search has no complete trial."
    found = select([_trial(3, 0.9)], 6000)
    assert "It is the only complete trial;" in describe("ann", found)
    assert found["label"] == "#3 (found by search)" and "no queued start completed" in found["origin"]


def test_best_validation_accuracy_is_called_optimistic_and_the_winner_the_best_of_n():
    text = describe("ann", select([_trial(0, 0.9), _trial(1, 0.8), _trial(2, None, state="PRUNED")], 1000))
    assert "The winner is the best of 2 complete trials" in text and "optimistic" in text
    assert "(unpaired: not every trial compared recorded its per-image validation results)" in text


def _errors(n, wrong):
    correct = np.ones(n, dtype=bool)
    correct[list(wrong)] = False
    return correct


def _with_correct(number, correct, start=None):
    return {**_trial(number, float(correct.mean()), start), record.VAL_CORRECT: record.pack_correct(correct)}


def test_shared_mistakes_make_the_paired_margin_larger_than_the_unpaired():
    """99.0 % against 99.4 % on 6,000 images sharing 30 errors: about 4.0 paired standard errors, 2.44 unpaired."""
    n = 6000
    recipe = _errors(n, range(60))  # 60 wrong: 99.0 %
    sampled = _errors(n, list(range(30)) + list(range(1000, 1006)))  # 36 wrong, 30 of them the recipe's: 99.4 %
    found = select([_with_correct(0, recipe, "recipe"), _with_correct(5, sampled)], n)
    assert found["margin_se"] == pytest.approx(3.95, abs=0.05) and found["paired"]
    assert found["label"] == "#5 (found by search)"
    unpaired = select([_trial(0, float(recipe.mean()), "recipe"), _trial(5, float(sampled.mean()))], n)
    assert unpaired["margin_se"] == pytest.approx(2.44, abs=0.02) and not unpaired["paired"]
    assert "(paired: from the validation images one trial gets right and the other wrong)" in describe("cnn", found)


def test_disjoint_mistakes_give_about_the_unpaired_margin():
    """The same two accuracies with no mistake in common carry no pairing to use: about 2.44 standard errors."""
    n = 6000
    found = select([_with_correct(0, _errors(n, range(60)), "recipe"), _with_correct(5, _errors(n, range(100, 136)))], n)
    assert found["margin_se"] == pytest.approx(2.44, abs=0.05) and found["paired"]


def test_a_paired_margin_at_one_hundred_percent_and_on_tiny_sets_stays_finite():
    perfect = np.ones(144, dtype=bool)
    found = select([_with_correct(0, perfect, "recipe"), _with_correct(3, perfect)], 144)
    assert found["margin_se"] == 0.0 and found["winner"]["number"] == 0
    found = select([_with_correct(0, _errors(144, [0]), "recipe"), _with_correct(3, perfect)], 144)
    assert 0 < found["margin_se"] < TIE_SE  # one image is no difference


def test_printed_accuracies_beside_a_margin_differ():
    n = 100_000
    found = select([_with_correct(0, _errors(n, range(1000))), _with_correct(1, _errors(n, range(1004)))], n)
    text = describe("ann", found)
    assert "reached 99.000 % validation accuracy" in text and "reached 98.996 %" in text


def test_stale_models_are_named():
    best = _trial(9, 0.995)
    assert stale("cnn", best, [{"trial": 9}, {"trial": 9}]) is None
    sentence = stale("cnn", best, [{"trial": 4}, {"trial": 9}])
    assert sentence.startswith("Out of date: the CNN study's best trial is now #9 (99.50 % validation)")
    assert "come from trial #4" in sentence


def test_notes_do_not_advise_retraining_what_cannot_be_retrained():
    too_slow = {"outcome": "too slow", "epoch_seconds": 50.0}
    summary = {"states": {"RUNNING": 0}, "best": None, "trials": [too_slow, {"outcome": "over budget", "epoch_seconds": None}]}
    found = notes({"ann": summary}, {"ann": []})
    assert "No CNN study exists: only one family was searched." in found
    # per family: (2 epochs of 50 s + 10 s) / a quarter share = 440 s; one family: 8 minutes
    assert ("The ANN study has no complete trial (2 finished: 1 over budget, 1 too slow), so there is nothing of it to "
            "retrain. Its fastest trial needed about 50s an epoch; a time budget of at least 8 minute(s) (--timeout 8m) "
            "would let such a trial train two epochs within its cap.") in found
    assert not any("bakeoff retrain" in n for n in found)
    assert no_complete_trial("cnn", [], 2) == "The CNN study has no trial yet, so there is nothing of it to retrain."
    assert "Its trials failed" in no_complete_trial("cnn", [{"outcome": "failed"}], 2)
    assert "No trial trained long enough" in no_complete_trial("cnn", [{"outcome": "interrupted"}], 2)
    with_best = {"states": {"RUNNING": 1}, "best": _trial(2, 0.9)}
    found = notes({"ann": with_best, "cnn": with_best}, {"ann": [{"trial": 2}], "cnn": []})
    assert any("still running (1 trial(s) under way)" in n for n in found)
    assert found[-1] == "No retrained CNN models yet: run 'bakeoff retrain' to evaluate the best CNN trial on the test split."


def test_notes_of_the_report_run_writes_as_its_search_ends_say_retraining_comes_next():
    with_best = {"states": {"RUNNING": 0}, "best": _trial(2, 0.9)}
    found = notes({"ann": with_best, "cnn": with_best}, {"ann": [{"trial": 2}], "cnn": []}, retraining_next=True)
    assert found == ["No retrained CNN models yet: 'bakeoff run' wrote this report as its search ended; retraining and a new report "
                     "come next (if that command was stopped, re-run it: it resumes)."]
    nothing = {"states": {}, "best": None, "trials": []}  # nothing to retrain: no promise of retraining
    assert notes({"ann": nothing}, {"ann": []}, retraining_next=True) == [
        "The ANN study has no trial yet, so there is nothing of it to retrain.", "No CNN study exists: only one family was searched."]


def test_on_the_ladder_the_winner_is_the_best_of_the_highest_rung_as_retraining_picks_it():
    trials = [{**_trial(0, 0.990, "recipe"), "rung": 1}, {**_trial(1, 0.995), "rung": 1},  # a lucky short run
              {**_trial(2, 0.993, "recipe"), "rung": 4}, {**_trial(3, 0.992), "rung": 4}]
    found = select(trials, 6000)
    assert found["label"] == "#2 (recipe start)"  # the continued recipe is still the recipe, not a search find


def test_found_by_search_against_a_start_trained_fewer_epochs_says_so_and_not_when_it_reached_the_rung():
    # the first 1-hour ladder search: the recipe CNN scored after 1 epoch, the winner after 8
    trials = [{**_trial(0, 0.9861, "seed notebook"), "rung": 8}, {**_trial(1, 0.9882, "recipe"), "rung": 1},
              {**_trial(8, 0.9955), "rung": 8}]
    origin = select(trials, 6000)["origin"]
    assert origin.startswith("found by search: more than 2 standard errors above every start")
    assert origin.endswith("(compared at fewer epochs than the winner's 8: the recipe start at 1 epoch)")
    trials[1]["rung"] = 2
    trials[0]["rung"] = 4
    assert select(trials, 6000)["origin"].endswith("than the winner's 8: the seed notebook start at 4 epochs, the recipe start at 2 epochs)")
    trials[0]["rung"] = trials[1]["rung"] = 8  # the starts followed the winner to its rung: a like-for-like margin
    assert select(trials, 6000)["origin"] == "found by search: more than 2 standard errors above every start that completed"
    for trial in trials:  # the other engines record no rung
        trial.pop("rung")
    assert "fewer epochs" not in select(trials, 6000)["origin"]


def _rung(number, value, rung, configuration, start=None):
    return {**_trial(number, value, start), "rung": rung, "configuration": configuration}


def test_on_the_ladder_the_runner_up_is_another_configuration_and_the_winner_the_best_of_configurations():
    # the recipe continued from its checkpoint: its shallower rung is the same configuration, not a runner-up
    trials = [_rung(0, 0.98, 1, 0, "recipe"), _rung(1, 0.97, 1, 1), _rung(2, 0.99, 2, 0, "recipe"), _rung(3, 0.975, 2, 1)]
    found = select(trials, 6000)
    assert found["winner"]["number"] == 2 and found["runner_up"]["number"] == 3
    text = describe("ann", found)
    assert "The winner is the best of 2 configurations (4 complete trials: a configuration continued from its checkpoint" in text
    assert "best epoch" not in text and "optimistic" in text


def test_on_the_ladder_one_configuration_alone_has_no_runner_up():
    found = select([_rung(0, 0.98, 1, 0, "recipe"), _rung(2, 0.99, 2, 0, "recipe")], 6000)
    assert found["runner_up"] is None and "margin_se" not in found
    assert describe("ann", found).endswith("It is the only configuration that completed a rung (2 complete trials trained it).")
    one = describe("ann", select([_rung(5, 0.99, 1, 5)], 6000))
    assert one.endswith("It is the only configuration that completed a rung.") and "best epoch" not in one


def test_on_the_ladder_a_deeper_winner_below_a_shallower_trial_says_why_it_ranks_first():
    # the 0fa753d CNN search, seed 0: sampled #16 scored 99.60 % at 16 epochs and 99.45 % at 32 (#19); the recipe
    # 99.53 % at 16 (#18): a tie below it; a recipe far above it is not called a tie
    trials = [_rung(16, 0.9960, 16, 16), _rung(18, 0.9953, 16, 1, "recipe"), _rung(19, 0.9945, 32, 16), _rung(20, 0.9900, 32, 0, "seed notebook")]
    found = select(trials, 6000)
    assert found["winner"]["number"] == 19 and found["label"] == "#19 (tie with the recipe start #18)"
    text = describe("cnn", found)
    assert "a tie with the recipe start (#18, 99.53 %): 0.6 standard errors below it, not more than 2" in text  # unpaired here
    assert ("#16, the winner's configuration at a shallower rung, scored higher (99.60 %) at 16 epochs: retraining ranks trials by the deepest rung they reached, then by "
            "validation accuracy, and the winner reached 32 epochs.") in text
    trials[1]["value"] = 0.9990
    found = select(trials, 6000)
    assert found["label"] == "#19 (sampled, below the recipe start #18)" and "tie" not in found["origin"]
    assert found["origin"].startswith("sampled by the search, and ") and "standard errors below the recipe start (#18, 99.90 %)" in found["origin"]
    assert "#18 scored higher (99.90 %) at 16 epochs" in describe("cnn", found)
    trials[1]["value"], trials[0]["value"] = 0.9940, 0.9940  # nothing above the winner: no such sentence
    assert select(trials, 6000)["higher"] is None and "scored higher" not in describe("cnn", select(trials, 6000))
