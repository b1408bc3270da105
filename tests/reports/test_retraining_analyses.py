"""Data efficiency and the shuffled-pixel control in the report: numbers and every branch of their sentences."""

import numpy as np
import pytest

from bakeoff.reports.retraining_analyses import control, efficiency, efficiency_sentence, progress

LABELS = np.arange(100) % 10


def _predictions(wrong):
    predictions = LABELS.copy()
    predictions[:wrong] = (LABELS[:wrong] + 1) % 10
    return predictions


def _shuffled(seed, wrong):
    return {"kind": "shuffled", "seed": seed, "fraction": 1.0, "test_accuracy": 1 - wrong / 100,
            "predictions": _predictions(wrong).tolist(), "labels": LABELS.tolist()}


def _retrained(seed, accuracy):
    return {"seed": seed, "test_accuracy": accuracy}


def _efficiency(fraction, seed, accuracy):
    return {"kind": "efficiency", "fraction": fraction, "seed": seed, "test_accuracy": accuracy, "train_images": int(fraction * 1000)}


def test_efficiency_adds_the_main_retraining_as_the_full_point():
    found = efficiency([_efficiency(0.01, 0, 0.80), _efficiency(0.01, 1, 0.84), _efficiency(0.2, 0, 0.95)], [_retrained(0, 0.99), _retrained(1, 0.98)])
    assert [p["fraction"] for p in found["points"]] == [0.01, 0.2, 1.0]
    assert found["points"][0]["mean"] == pytest.approx(0.82) and found["points"][0]["images"] == 10
    assert found["points"][-1]["n"] == 2 and found["points"][-1]["mean"] == pytest.approx(0.985)
    other = efficiency([_efficiency(0.01, 0, 0.70)], [_retrained(0, 0.97)])
    text = efficiency_sentence({"ann": other, "cnn": found})
    assert text == ("Test accuracy (mean ± std over seeds) with 1 % of the training images, the ANN 70.00 % ± 0.00 and the CNN 82.00 % ± 2.83; "
                    "with all of the training images, the ANN 97.00 % ± 0.00 and the CNN 98.50 % ± 0.71.")
    assert efficiency([], [_retrained(0, 0.9)]) is None and efficiency_sentence({"ann": None}) is None


@pytest.mark.parametrize("ordinary, shuffled, change", [
    ((0.97, 0.99), (0.96, 0.93), "it reverses"),
    ((0.97, 0.99), (0.96, 0.97), "it shrinks"),
    ((0.97, 0.99), (0.90, 0.95), "it grows"),
    ((0.97, 0.99), (0.95, 0.95), "it vanishes"),
    ((0.97, 0.97), (0.95, 0.96), "a lead appears where there was none"),
    ((0.97, 0.99), (0.90, 0.92), "unchanged"),
])
def test_the_lead_on_shuffled_pixels_is_described_by_its_change(ordinary, shuffled, change):
    analyses = {f: [_shuffled(s, round(100 * (1 - a))) for s in (0, 1)] for f, a in zip(("ann", "cnn"), shuffled)}
    retrained = {f: [_retrained(s, a) for s in (0, 1)] for f, a in zip(("ann", "cnn"), ordinary)}
    found = control(analyses, retrained)
    assert f"pp on pixels shuffled by one fixed permutation: {change}." in found["sentence"]
    assert found["rows"]["cnn"]["shuffled"]["mean"] == pytest.approx(shuffled[1])
    assert len(found["pairs"]) == 2 and " On shuffled pixels: " in found["sentence"]


def test_the_shuffled_verdict_is_the_verdict_test_and_needs_both_families():
    analyses = {"ann": [_shuffled(0, 2), _shuffled(1, 2)], "cnn": [_shuffled(0, 30), _shuffled(1, 30)]}
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
