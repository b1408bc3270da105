"""Both families' fronts: points, hypervolume, and every branch of the sentence on who is ahead under which limit."""

import math

import numpy as np
import pytest

from bakeoff.reports import fronts
from bakeoff.search.engine import record


def _trial(number, accuracy, latency_ms, state="COMPLETE", correct=None, seconds=10.0):
    found = {"number": number, "state": state, "value": accuracy, "cost": {"latency_ms": latency_ms}, "seconds": seconds,
             "completed": 1000.0 + number}
    if correct is not None:
        found[record.VAL_CORRECT] = record.pack_correct(correct)
    return found


def test_points_keep_complete_trials_with_the_cost_measured():
    trials = [_trial(0, 0.9, 0.1), _trial(1, 0.95, 0.2, state="PRUNED"), {**_trial(2, 0.97, 0.3), "cost": None}, _trial(3, 0.99, 1.0)]
    assert [p["trial"]["number"] for p in fronts.points(trials, "latency")] == [0, 3]


def test_a_ladder_configuration_is_drawn_once_at_its_most_accurate_segment():
    segments = [dict(_trial(0, 0.95, 0.1), configuration=0), dict(_trial(1, 0.97, 1.0), configuration=1),
                dict(_trial(2, 0.96, 0.1), configuration=0), dict(_trial(3, 0.96, 0.1), configuration=0),
                _trial(4, 0.90, 0.1), _trial(5, 0.90, 0.1)]  # 4 and 5: off the ladder, each its own configuration
    every = fronts.points(segments, "latency")
    drawn = fronts.per_configuration(every)
    assert sorted(p["trial"]["number"] for p in drawn) == [1, 2, 4, 5]  # 2, not 3: the earliest of a tie
    assert [p["trial"]["number"] for p in fronts.front(drawn)] == [2, 1]  # the front the segments make, drawn once
    assert fronts.hypervolume(drawn, (0.8, 2.0)) == pytest.approx(fronts.hypervolume(every, (0.8, 2.0)))


def test_the_front_drops_dominated_trials_and_hypervolume_is_the_dominated_area():
    found = fronts.points([_trial(0, 0.90, 0.1), _trial(1, 0.95, 1.0), _trial(2, 0.93, 2.0), _trial(3, 0.85, 0.05)], "latency")
    assert [p["trial"]["number"] for p in fronts.front(found)] == [3, 0, 1]
    ref = (0.8, 10.0)
    # log10 widths: 0.05 -> 0.1 at 0.85, 0.1 -> 1 at 0.90, 1 -> 10 at 0.95 (each above the floor 0.8)
    expected = math.log10(2) * 0.05 + 1 * 0.10 + 1 * 0.15
    assert fronts.hypervolume(found, ref) == pytest.approx(expected)
    assert fronts.hypervolume([], ref) == 0.0
    assert fronts.reference({"ann": found, "cnn": []}) == (0.85, 4.0)


def test_hypervolume_over_time_grows_with_charged_time_only_for_complete_trials():
    trials = [_trial(0, 0.90, 0.1), _trial(1, 0.95, 0.2, state="PRUNED"), _trial(2, 0.95, 1.0)]
    steps = fronts.hypervolume_over_time(trials, "latency", (0.8, 10.0))
    assert [s["seconds"] for s in steps] == [10.0, 20.0, 30.0]
    assert steps[0]["hypervolume"] == steps[1]["hypervolume"] < steps[2]["hypervolume"]


def test_hypervolume_over_time_keeps_only_the_running_front_and_loses_no_area():
    """Each step equals the hypervolume of every complete trial so far, outside the reference box included: the
    running front drops only points that add no area."""
    rng = np.random.default_rng(0)
    trials = [_trial(i, float(rng.uniform(0.7, 1.0)), float(10 ** rng.uniform(-2, 1.3)), state=rng.choice(["COMPLETE", "PRUNED"]))
              for i in range(200)]
    ref = (0.8, 10.0)  # some accuracies below its 0.8, some latencies beyond its 10 ms
    steps = fronts.hypervolume_over_time(trials, "latency", ref)
    assert len(steps) == 200 and steps[-1]["hypervolume"] > 0
    for i in (0, 5, 50, 199):
        assert steps[i]["hypervolume"] == pytest.approx(fronts.hypervolume(fronts.points(trials[: i + 1], "latency"), ref))


N = 10_000


def _correct(accuracy, seed):
    right = np.zeros(N, bool)
    right[np.random.default_rng(seed).permutation(N)[: round(accuracy * N)]] = True
    return right


def test_the_ann_ahead_when_cheap_and_the_cnn_when_dear_gives_a_crossover():
    ann = [_trial(0, 0.97, 0.01), _trial(1, 0.975, 0.05)]
    cnn = [_trial(0, 0.95, 0.02), _trial(1, 0.995, 0.2)]
    text = fronts.sentence({"ann": ann, "cnn": cnn}, "latency", N)
    assert text.startswith("Under a latency limit (each family's most accurate complete trial within it, on validation): ")
    assert "from 10 µs to below 20 µs only the ANN has a model" in text
    assert "from 20 µs to below 0.2 ms the ANN is ahead by" in text
    assert "from 0.2 ms on the CNN is ahead by 2.00 points" in text
    assert "The lead passes from the ANN to the CNN at 0.2 ms." in text
    assert text.endswith("so both accuracies are optimistic.")


def test_a_tie_between_the_leads_places_the_crossover_between_two_limits():
    ann = [_trial(0, 0.97, 0.01)]
    cnn = [_trial(0, 0.95, 0.01), _trial(1, 0.9705, 0.1), _trial(2, 0.995, 1.0)]
    text = fronts.sentence({"ann": ann, "cnn": cnn}, "latency", N)
    assert "from 10 µs to below 0.1 ms the ANN is ahead" in text
    assert "from 0.1 ms to below 1 ms neither is ahead by more than 2 standard errors" in text
    assert "The lead passes from the ANN to the CNN between 0.1 ms and 1 ms." in text


def test_one_family_ahead_everywhere_has_no_crossover():
    text = fronts.sentence({"ann": [_trial(0, 0.90, 0.01)], "cnn": [_trial(0, 0.99, 0.01)]}, "latency", N)
    assert "from 10 µs on the CNN is ahead" in text and "There is no crossover" in text and "passes" not in text


def test_identical_fronts_at_100_percent_are_a_tie_not_a_lead():
    text = fronts.sentence({"ann": [_trial(0, 1.0, 0.01)], "cnn": [_trial(0, 1.0, 0.01)]}, "latency", 144)
    assert "neither is ahead by more than 2 standard errors" in text
    assert "the CNN is ahead" not in text and "the ANN is ahead" not in text and "crossover" not in text


def test_a_small_gap_on_a_tiny_validation_set_is_a_tie_but_on_a_large_one_a_lead():
    trials = {"ann": [_trial(0, 0.96, 0.01)], "cnn": [_trial(0, 0.98, 0.01)]}
    assert "neither is ahead" in fronts.sentence(trials, "latency", 100)
    assert "the CNN is ahead" in fronts.sentence(trials, "latency", 60_000)


def test_paired_margins_use_the_images_each_trial_got_right():
    ann_right = _correct(0.98, 0)
    cnn_right = ann_right.copy()
    cnn_right[np.flatnonzero(~ann_right)[:30]] = True  # the CNN gets right 30 of the ANN's mistakes, nothing else differs
    trials = {"ann": [_trial(0, ann_right.mean(), 0.01, correct=ann_right)], "cnn": [_trial(0, cnn_right.mean(), 0.01, correct=cnn_right)]}
    assert "the CNN is ahead by 0.30 points" in fronts.sentence(trials, "latency", N)  # unpaired, 0.3 points would be a tie
    unpaired = {f: [{k: v for k, v in t[0].items() if k != record.VAL_CORRECT}] for f, t in trials.items()}
    assert "neither is ahead" in fronts.sentence(unpaired, "latency", N)


def test_a_family_without_a_measured_trial_has_no_front_to_compare():
    assert fronts.sentence({"ann": [_trial(0, 0.9, 0.01)], "cnn": []}, "latency", N) == (
        "No front to compare: the CNN has no complete trial with its latency measured.")
    assert "the ANN and the CNN have" in fronts.sentence({"ann": [], "cnn": []}, "latency", N)


def test_without_a_validation_size_nothing_is_called_ahead():
    text = fronts.sentence({"ann": [_trial(0, 0.90, 0.01)], "cnn": [_trial(0, 0.99, 0.01)]}, "latency", None)
    assert "the difference cannot be judged" in text and "is ahead" not in text
