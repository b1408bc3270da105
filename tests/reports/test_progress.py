"""Whether the search worked, from plain trial records: best so far over charged time, the starts, the first beat."""

import numpy as np

from bakeoff.reports.progress import anytime, sentence
from bakeoff.search.engine import record


def _trial(number, value, seconds, completed, state="COMPLETE", start=None, correct=None):
    found = {"number": number, "value": value, "seconds": seconds, "completed": completed, "state": state, "start": start}
    if correct is not None:
        found[record.VAL_CORRECT] = record.pack_correct(correct)
    return found


def _wrong(n, count):
    correct = np.ones(n, dtype=bool)
    correct[:count] = False
    return correct


def test_best_so_far_counts_only_complete_trials_but_charges_every_finished_one():
    trials = [_trial(0, 0.95, 60, 1, start="seed notebook"), _trial(1, 0.99, 30, 2, state="PRUNED"), _trial(2, 0.96, 30, 3),
              _trial(3, None, 10, None, state="RUNNING")]
    found = anytime(trials, 6000)
    assert [(s["seconds"], s["value"]) for s in found["steps"]] == [(60, 0.95), (120, 0.96)]  # the pruned 0.99 is no result
    assert found["charged"] == 120 and found["starts"][0]["label"] == "seed notebook"


def test_the_first_sampled_trial_beyond_every_start_is_named_and_a_tie_is_not():
    n = 6000
    trials = [_trial(0, 0.99, 60, 1, start="seed notebook", correct=_wrong(n, 60)),
              _trial(1, 0.9905, 60, 2, correct=_wrong(n, 57)),  # 3 images better: a tie, not a beat
              _trial(2, 0.994, 60, 3, correct=_wrong(n, 36))]  # 24 images better, its errors among the start's: beyond the noise
    found = anytime(trials, n)
    assert found["beaten"] == {"seconds": 180, "number": 2, "value": 0.994}
    text = sentence("cnn", found)
    assert text == ("The CNN search first beat every start then complete beyond the noise after 3.0 of 3.0 minutes of charged "
                    "trial time: trial #2, 99.40 % validation.")
    assert anytime(trials[:2], n)["beaten"] is None
    assert sentence("cnn", anytime(trials[:2], n)).startswith("No sampled CNN trial beat every start")


def test_starts_that_complete_after_the_first_beat_are_counted_in_the_sentence():
    """On the ladder a start is continued to deeper rungs after a sampled trial first beat it: the sentence says that
    the first beat is not the last word (one start, then two)."""
    n = 6000
    trials = [_trial(0, 0.99, 60, 1, start="recipe", correct=_wrong(n, 60)), _trial(1, 0.994, 60, 2, correct=_wrong(n, 36)),
              _trial(2, 0.995, 60, 3, start="recipe", correct=_wrong(n, 30))]
    assert sentence("ann", anytime(trials, n)).endswith(
        "trial #1, 99.40 % validation. 1 start trial completed after it; the best ANN trial above is weighed against every start.")
    trials.append(_trial(3, 0.996, 60, 4, start="recipe", correct=_wrong(n, 24)))
    assert "validation. 2 start trials completed after it;" in sentence("ann", anytime(trials, n))


def test_a_search_without_starts_or_without_a_complete_trial_says_so():
    assert anytime([_trial(0, None, 10, 1, state="PRUNED")], 6000) is None
    assert sentence("ann", None) == "The ANN search has no complete trial yet."
    found = anytime([_trial(0, 0.9, 10, 1)], 6000)
    assert found["beaten"] is None and "began with no queued start" in sentence("ann", found)


def test_on_the_ladder_the_line_follows_what_would_ship_the_best_of_the_highest_rung():
    trials = [{**_trial(0, 0.97, 10, 1), "rung": 1}, {**_trial(1, 0.98, 10, 2), "rung": 1},
              {**_trial(2, 0.975, 20, 3), "rung": 2},  # first at rung 2: it ships now, below the rung-1 best
              {**_trial(3, 0.99, 10, 4), "rung": 1}, {**_trial(4, 0.985, 20, 5), "rung": 2}]
    found = anytime(trials, 6000)
    assert [(s["number"], s["value"]) for s in found["steps"]] == [(0, 0.97), (1, 0.98), (2, 0.975), (4, 0.985)]
