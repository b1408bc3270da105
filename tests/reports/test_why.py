"""The Why section's numbers and sentences, from hand-made predictions: every branch, ties and edge cases."""

import math

import numpy as np
import pytest

from bakeoff.reports import robustness
from bakeoff.reports.calibration import calibration
from bakeoff.reports.disagreements import disagreements
from bakeoff.reports.why import calibration_sentence, disagreement_sentence, why_section

LABELS = [str(i) for i in range(10)]


def _probabilities(predictions, confidence):
    """Top probability ``confidence`` on the prediction, the rest spread evenly."""
    p = np.full((len(predictions), 10), (1 - confidence) / 9)
    p[np.arange(len(predictions)), predictions] = confidence
    return p


def test_a_model_right_as_often_as_it_is_confident_has_no_calibration_error():
    labels = np.arange(100) % 10
    predictions = labels.copy()
    predictions[:20] = (labels[:20] + 1) % 10  # 80 % right at 80 % confidence
    found = calibration(_probabilities(predictions, 0.8), labels)
    assert found["ece"] == pytest.approx(0.0, abs=1e-12)
    assert found["count"][11] == 100 and sum(found["count"]) == 100  # 0.8 falls in (11/15, 12/15]
    assert found["nll"] == pytest.approx(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2 / 9)))


def test_an_over_confident_model_has_the_gap_as_its_error_and_100_percent_is_handled():
    labels = np.arange(50) % 10
    predictions = labels.copy()
    predictions[:10] = (labels[:10] + 1) % 10  # 80 % right, 100 % sure
    found = calibration(np.eye(10)[predictions], labels)
    assert found["ece"] == pytest.approx(0.2)
    assert found["count"][-1] == 50  # confidence exactly 1 lands in the last bin
    assert math.isfinite(found["nll"]) and found["nll"] == pytest.approx(0.2 * -math.log(1e-12))
    perfect = calibration(np.eye(10)[labels], labels)
    assert perfect["ece"] == 0.0 and perfect["nll"] == 0.0


def _wrong_at(labels, where, to=None):
    """``labels`` with the images at ``where`` misclassified (as ``to``, or as the next class)."""
    predictions = np.asarray(labels).copy()
    predictions[where] = (predictions[where] + 1) % 10 if to is None else to
    return predictions


def _run(seed, predictions, labels, confidence=0.9, folder="."):
    return {"seed": seed, "predictions": np.asarray(predictions), "labels": np.asarray(labels),
            "probabilities": _probabilities(np.asarray(predictions), confidence), "folder": folder, "robustness": None}


def test_disagreements_count_both_directions_per_pair_and_the_class_difference():
    labels = np.arange(20) % 10
    ann = _wrong_at(labels, [0, 1, 2], to=5)  # wrong on images 0-2 (classes 0, 1, 2)
    cnn = _wrong_at(labels, [2, 13], to=0)  # wrong on images 2 and 13 (classes 2, 3)
    found = disagreements([_run(0, ann, labels)], [_run(0, cnn, labels)], 10)
    pair = found["pairs"][0]
    assert pair["cnn_only"] == [0, 1] and pair["ann_only"] == [13]
    assert found["class_difference"][:4] == [-1, -1, 0, 1]
    text = disagreement_sentence(found, LABELS)
    assert text.startswith("In the one seed pair, the CNN gets 2.0 ± 0.0 test images right that the ANN gets wrong, and the ANN 1.0 ± 0.0")
    assert "largest per-class gap is class 0, where the CNN makes 1.0 fewer errors" in text


def test_disagreements_pair_only_common_seeds_and_say_when_classes_tie():
    labels = np.arange(10)
    same = _wrong_at(labels, [0])
    other = _wrong_at(labels, [1])  # seed 2 of the CNN only: never paired
    found = disagreements([_run(0, same, labels), _run(1, same, labels)], [_run(1, same, labels), _run(2, other, labels)], 10)
    assert found["seeds"] == [1] and found["pairs"][0]["cnn_only"] == [] and found["pairs"][0]["ann_only"] == []
    assert disagreement_sentence(found, LABELS).endswith("Per class, both make the same number of errors.")
    assert disagreements([_run(0, same, labels)], [_run(3, same, labels)], 10) is None


def test_calibration_sentence_names_the_lower_error_or_a_tie():
    labels = np.arange(100) % 10
    wrong = _wrong_at(labels, slice(0, 10))
    sure = [calibration(np.eye(10)[wrong], labels)] * 2  # ECE 10 %
    honest = [calibration(_probabilities(wrong, 0.9), labels)] * 2  # ECE 0
    text = calibration_sentence({"ann": sure, "cnn": honest})
    assert "ANN 10.00 % ± 0.00 %, CNN 0.00 % ± 0.00 %" in text and text.endswith("The CNN's confidence is the closer to its accuracy (lower mean ECE).")
    assert calibration_sentence({"ann": honest, "cnn": sure}).endswith("The ANN's confidence is the closer to its accuracy (lower mean ECE).")
    assert calibration_sentence({"ann": honest, "cnn": honest}).endswith("Their mean calibration errors are equal.")
    assert "CNN" not in calibration_sentence({"ann": sure})


def _robust(clean, strongest):
    """A robustness.json with the given accuracy at every perturbation's strongest setting."""
    kinds = {k: {"unit": "u", "strengths": [1, 2], "accuracy": [clean, a]} for k, a in strongest.items()}
    return {"clean": clean, "kinds": kinds}


def _summaries(ann, cnn):
    return {f: robustness.summarise([{"robustness": r} for r in rs]) for f, rs in (("ann", ann), ("cnn", cnn))}


def test_robustness_sentence_every_branch():
    cnn_all = _summaries([_robust(0.98, {"shift": 0.4, "noise": 0.9})] * 2, [_robust(0.99, {"shift": 0.9, "noise": 0.95})] * 3)
    text = robustness.sentence(cnn_all)
    assert "under 2-pixel shifts the ANN 40.0 % ± 0.0, the CNN 90.0 % ± 0.0" in text
    assert text.endswith("The CNN scores higher at the strongest setting of every perturbation.")
    ann_all = _summaries([_robust(0.98, {"shift": 0.9, "noise": 0.9})], [_robust(0.99, {"shift": 0.4, "noise": 0.5})])
    assert robustness.sentence(ann_all).endswith("The ANN scores higher at the strongest setting of every perturbation.")
    mixed = _summaries([_robust(0.98, {"shift": 0.4, "noise": 0.9, "rotation": 0.7})], [_robust(0.99, {"shift": 0.9, "noise": 0.5, "rotation": 0.7})])
    assert robustness.sentence(mixed).endswith("At the strongest settings the CNN scores higher under shift, the ANN scores higher under noise, they tie under rotation.")
    tie = _summaries([_robust(0.98, {"shift": 0.5})], [_robust(0.99, {"shift": 0.5})])
    assert robustness.sentence(tie).endswith("Both families score the same at the strongest setting of every perturbation.")
    one = {"ann": None, "cnn": robustness.summarise([{"robustness": _robust(0.99, {"shift": 0.9})}])}
    assert "ANN" not in robustness.sentence(one)
    assert robustness.sentence({"ann": None, "cnn": None}) is None


def test_robustness_spread_is_over_seeds():
    summary = robustness.summarise([{"robustness": _robust(0.98, {"shift": a})} for a in (0.4, 0.6)] + [{"robustness": None}])
    assert summary["seeds"] == 2
    assert summary["kinds"]["shift"]["mean"][-1] == pytest.approx(0.5)
    assert summary["kinds"]["shift"]["std"][-1] == pytest.approx(np.std([0.4, 0.6], ddof=1))


def test_why_section_renders_from_one_family_and_from_none():
    labels = np.arange(30) % 10
    assert why_section({"ann": [], "cnn": []}, LABELS) == {}
    only = why_section({"ann": [_run(0, labels, labels)], "cnn": []}, LABELS)
    assert only["disagreements"] is None and only["robustness"] is None
    assert only["calibration"]["figure"].startswith("data:image/png;base64,")
