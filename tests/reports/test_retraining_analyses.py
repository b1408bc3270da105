"""Data efficiency and the shuffled-pixel control in the report: numbers and every branch of their sentences."""

import numpy as np
import pytest

from bakeoff.reports.retraining_analyses import control, current, efficiency, efficiency_sentence, progress

N = 4000
LABELS = np.arange(N) % 10


def _predictions(wrong, n=N):
    labels = np.arange(n) % 10
    predictions = labels.copy()
    predictions[:wrong] = (labels[:wrong] + 1) % 10
    return predictions


def _shuffled(seed, accuracy, n=N):
    wrong = round(n * (1 - accuracy))
    return {"kind": "shuffled", "seed": seed, "fraction": 1.0, "test_accuracy": 1 - wrong / n, "trial": 3,
            "predictions": _predictions(wrong, n).tolist(), "labels": (np.arange(n) % 10).tolist()}


def _retrained(seed, accuracy, n=N):
    wrong = round(n * (1 - accuracy))
    return {"seed": seed, "test_accuracy": 1 - wrong / n, "trial": 3, "predictions": _predictions(wrong, n), "labels": np.arange(n) % 10}


def _efficiency(fraction, seed, accuracy, trial=3):
    return {"kind": "efficiency", "fraction": fraction, "seed": seed, "test_accuracy": accuracy, "train_images": int(fraction * 1000),
            "trial": trial, "steps": int(fraction * 1000) // 10, "full_steps": 100}


def test_efficiency_adds_the_main_retraining_as_the_full_point():
    found = efficiency([_efficiency(0.01, 0, 0.80), _efficiency(0.01, 1, 0.84), _efficiency(0.2, 0, 0.95)], [_retrained(0, 0.99), _retrained(1, 0.98)])
    assert [p["fraction"] for p in found["points"]] == [0.01, 0.2, 1.0]
    assert found["points"][0]["mean"] == pytest.approx(0.82) and found["points"][0]["images"] == 10
    assert found["points"][-1]["n"] == 2 and found["points"][-1]["mean"] == pytest.approx(0.985)
    other = efficiency([_efficiency(0.01, 0, 0.70)], [_retrained(0, 0.97)])
    text = efficiency_sentence({"ann": other, "cnn": found})
    assert text.startswith("Test accuracy (mean ± std over seeds) with 1 % of the training images, the ANN 70.00 % (one seed, no spread) after 1 "
                           "optimisation step and the CNN 82.00 % ± 2.83 % after 1 optimisation step; with all of the training images, the ANN "
                           "97.00 % (one seed, no spread) after 100 optimisation steps and the CNN 98.50 % ± 0.71 % after 100 optimisation steps.")
    assert "a smaller share also takes fewer optimisation steps" in text
    assert not any(word in text for word in ("higher", "lower", "better", "worse", "more data", "lead"))  # no comparison is claimed
    assert efficiency([], [_retrained(0, 0.9)]) is None and efficiency_sentence({"ann": None}) is None


@pytest.mark.parametrize("ordinary, shuffled, change", [
    ((0.97, 0.99), (0.96, 0.93), "it reverses"),
    ((0.97, 0.99), (0.96, 0.97), "it shrinks"),
    ((0.97, 0.99), (0.90, 0.95), "it grows"),
    ((0.97, 0.99), (0.95, 0.95), "it vanishes"),
    ((0.97, 0.97), (0.95, 0.96), "a lead appears where there was no clear one"),
    ((0.97, 0.99), (0.90, 0.92), "no clear change"),
])
def test_the_lead_on_shuffled_pixels_is_described_by_its_change(ordinary, shuffled, change):
    analyses = {f: [_shuffled(s, a) for s in (0, 1)] for f, a in zip(("ann", "cnn"), shuffled)}
    retrained = {f: [_retrained(s, a) for s in (0, 1)] for f, a in zip(("ann", "cnn"), ordinary)}
    found = control(analyses, retrained)
    assert f"on pixels shuffled by one fixed permutation: {change}" in found["sentence"]
    assert found["rows"]["cnn"]["shuffled"]["mean"] == pytest.approx(shuffled[1])
    assert len(found["pairs"]) == 2 and " On shuffled pixels: " in found["sentence"]


def test_a_change_of_the_lead_inside_the_noise_is_no_reversal():
    """+0.01 pp on ordinary images, -0.01 pp on shuffled pixels (the issue's case): no direction, no change."""
    n = 10000
    analyses = {"ann": [_shuffled(0, 0.9901, n)], "cnn": [_shuffled(0, 0.9900, n)]}
    retrained = {"ann": [_retrained(0, 0.9900, n)], "cnn": [_retrained(0, 0.9901, n)]}
    sentence = control(analyses, retrained)["sentence"]
    assert "+0.01 pp (95 % interval" in sentence and "-0.01 pp (95 % interval" in sentence
    assert "no clear change" in sentence and "reverses" not in sentence


def test_a_small_clear_change_prints_enough_digits_to_show_it():
    n = 20000
    analyses = {"ann": [_shuffled(0, 0.5, n)], "cnn": [_shuffled(0, 0.5, n)]}
    retrained = {"ann": [_retrained(0, 0.5, n)], "cnn": [_retrained(0, 0.5004, n)]}  # a lead of 8 images of 20,000
    sentence = control(analyses, retrained)["sentence"]
    assert "is +0.04 pp (95 % interval" in sentence and "and +0.00 pp (95 % interval" in sentence and "it vanishes" in sentence


def test_only_analyses_of_the_retrained_trial_are_current_and_older_ones_are_named():
    analyses = {"ann": [_efficiency(0.05, 0, 0.8, trial=3), _efficiency(0.05, 1, 0.7, trial=1)], "cnn": [_efficiency(0.05, 0, 0.9, trial=2)]}
    retrained = {"ann": [_retrained(0, 0.99)], "cnn": [_retrained(0, 0.99)]}
    kept, said = current(analyses, retrained)
    assert [a["trial"] for a in kept["ann"]] == [3] and kept["cnn"] == []
    assert said == [
        "1 ANN analysis result(s) come from trial #1 (or other data), not from trial #3 that the retrained models come from: "
        "they are left out. Run 'bakeoff analyse --analyses full' to redo them.",
        "1 CNN analysis result(s) come from trial #2 (or other data), not from trial #3 that the retrained models come from: "
        "they are left out. Run 'bakeoff analyse --analyses full' to redo them.",
    ]
    other_data = {"ann": [{**_efficiency(0.05, 0, 0.8), "data_sha256": "b"}]}
    kept, said = current(other_data, {"ann": [{**_retrained(0, 0.99), "data_sha256": "a"}]})
    assert kept["ann"] == [] and len(said) == 1


def test_the_shuffled_verdict_is_the_verdict_test_and_needs_both_families():
    analyses = {"ann": [_shuffled(0, 0.98), _shuffled(1, 0.98)], "cnn": [_shuffled(0, 0.70), _shuffled(1, 0.70)]}
    retrained = {"ann": [_retrained(0, 0.97)], "cnn": [_retrained(0, 0.99)]}
    found = control(analyses, retrained)
    assert "On shuffled pixels: ANN wins: every seed pair favours it with exact McNemar p < 0.05" in found["sentence"]
    assert control({"ann": analyses["ann"]}, retrained) is None
    assert control(analyses, {"ann": [], "cnn": retrained["cnn"]}) is None


def test_progress_counts_what_is_done_and_compares_its_time_with_the_main_retraining():
    found = [{**_efficiency(0.05, s, 0.8), "seconds": 10.0, "planned": 8} for s in (0, 1)]
    text = progress({"ann": found, "cnn": [{**f, "planned": 2} for f in found]}, {"ann": [{"train_seconds": 30.0}], "cnn": []})
    assert text == ("Analyses that retrain: ANN: 2 of 8 retrainings done (re-run 'bakeoff analyse --analyses full' for the rest), "
                    "20 s of training against 30 s for the main retraining; CNN: 2 of 2 retrainings done, 20 s of training against 0 s for the main retraining.")
    assert progress({"ann": []}, {}) is None
