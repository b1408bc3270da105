"""Every branch of the verdict, from plain retraining records (no study, no figure)."""

import subprocess
import sys

import numpy as np
import pytest

from bakeoff.reports.verdict import compare

N = 2000


def _pair(seed, ann_only, cnn_only):
    """Retraining records of one seed: ``ann_only`` images right by the ANN only, ``cnn_only`` by the CNN only."""
    labels = np.arange(N) % 10
    ann, cnn = labels.copy(), labels.copy()
    cnn[:ann_only] = (labels[:ann_only] + 1) % 10
    ann[ann_only:ann_only + cnn_only] = (labels[ann_only:ann_only + cnn_only] + 1) % 10

    def run(predictions):
        return {"seed": seed, "labels": labels, "predictions": predictions, "test_accuracy": float((predictions == labels).mean())}

    return run(ann), run(cnn)


def _runs(*pairs, seeds=None):
    made = [_pair(seed, a, c) for seed, (a, c) in zip(seeds or range(len(pairs)), pairs)]
    return {"ann": [m[0] for m in made], "cnn": [m[1] for m in made]}


def test_significant_in_every_pair_for_the_cnn():
    verdict = compare(_runs((10, 300), (12, 280)))
    assert verdict["winner"] == "cnn" and verdict["significant"]
    assert verdict["sentence"].startswith("CNN wins:") and "every seed pair favours it" in verdict["sentence"]
    assert "as many test errors" in verdict["sentence"]
    assert [p["favours"] for p in verdict["pairs"]] == ["cnn", "cnn"]
    assert "does not cover the randomness of the search itself" in verdict["scope"]
    assert "not the two families in general" in verdict["scope"]


def test_significant_in_every_pair_for_the_ann():
    verdict = compare(_runs((300, 10), (280, 12)))
    assert verdict["winner"] == "ann" and verdict["sentence"].startswith("ANN wins:")


def test_opposite_directions_name_no_winner_even_when_each_pair_is_significant():
    verdict = compare(_runs((10, 300), (100, 10)))
    assert all(p["p_value"] < 0.05 for p in verdict["pairs"])
    assert verdict["winner"] is None and not verdict["significant"]
    sentence = verdict["sentence"]
    assert "wins" not in sentence and "No significant difference" in sentence
    assert "the seed pairs disagree (1 favours the CNN, 1 the ANN)" in sentence
    # (+290 - 90) / 2 images favour the CNN on average, but two seeds that disagree this much show no lean
    assert "lean" not in sentence and "inside the noise" in sentence and "neither family leads" in sentence


def test_not_significant_and_a_difference_inside_the_noise_names_no_direction():
    verdict = compare(_runs((10, 14), (10, 13)))
    assert verdict["winner"] is None
    assert "wins" not in verdict["sentence"]
    assert "not every seed pair has exact McNemar p < 0.05" in verdict["sentence"]
    assert "lean" not in verdict["sentence"]
    assert "The means differ by 0.1" in verdict["sentence"] and "pp, inside the noise (95 % interval -" in verdict["sentence"]


def test_a_clear_difference_of_the_means_leans_even_when_one_pair_is_not_significant():
    verdict = compare(_runs((10, 60), (10, 55), (10, 62), (10, 18)))
    assert verdict["winner"] is None and "not every seed pair has exact McNemar p < 0.05" in verdict["sentence"]
    lean = verdict["sentence"].split("The means lean towards the CNN (")[1]
    high, low = lean.split(";")[0].split(" against ")
    assert high != low  # the numbers beside a direction differ as printed
    assert "95 % interval +" in lean and "though not significantly in every seed pair" in lean


def test_the_lean_towards_the_ann_is_the_mirror_image():
    verdict = compare(_runs((60, 10), (55, 10), (62, 10), (18, 10)))
    assert "The means lean towards the ANN (" in verdict["sentence"] and "95 % interval -" in verdict["sentence"]


def test_a_p_value_near_the_threshold_prints_on_its_own_side():
    verdict = compare(_runs((10, 300), (12, 280)))
    verdict_pairs = verdict["pairs"]
    from bakeoff.search.stats import format_p

    assert format_p(0.0498) == "0.0498" and format_p(0.0501) == "0.0501" and format_p(0.05) == "0.05"
    assert f"largest p = {format_p(max(p['p_value'] for p in verdict_pairs))}" in verdict["sentence"]


def test_one_seed_says_it_has_no_spread_and_compares_two_single_models():
    verdict = compare(_runs((10, 300)))
    assert "± 0.00" not in verdict["sentence"] and verdict["sentence"].count("(one seed, no spread)") == 2
    assert "With one seed per family, McNemar's test compares two single trained models." in verdict["sentence"]
    assert verdict["rows"]["ann"]["std"] is None


def test_one_significant_pair_and_one_not_is_no_winner():
    verdict = compare(_runs((10, 300), (10, 14)))
    assert verdict["winner"] is None and "not every seed pair" in verdict["sentence"]


def test_an_exact_tie_names_no_winner():
    verdict = compare(_runs((0, 0), (0, 0)))
    assert verdict["winner"] is None and "wins" not in verdict["sentence"]
    assert "The means are equal: neither family leads." in verdict["sentence"]
    assert [p["favours"] for p in verdict["pairs"]] == [None, None] and verdict["pairs"][0]["p_value"] == 1.0


def test_balanced_disagreements_are_a_tie():
    verdict = compare(_runs((40, 40)))
    assert verdict["winner"] is None and "neither family leads" in verdict["sentence"]
    assert "both models get the same number of test images right" in verdict["sentence"]


def test_unequal_seed_sets_compare_the_shared_seeds_and_show_both_n():
    runs = _runs((10, 300), (12, 280), (11, 290))
    runs["cnn"] = runs["cnn"][:2]
    verdict = compare(runs)
    assert [p["seed"] for p in verdict["pairs"]] == [0, 1]
    assert verdict["rows"]["ann"]["n"] == 3 and verdict["rows"]["cnn"]["n"] == 2
    assert "the ANN has n = 3 seeds, the CNN n = 2; only seeds 0, 1 are compared" in verdict["sentence"]
    assert verdict["winner"] == "cnn"


def test_pairs_are_matched_by_seed_id_not_by_position():
    runs = _runs((10, 300), (300, 10), seeds=[4, 7])
    runs["cnn"].reverse()  # listed in another order: seed 4 must still meet seed 4
    verdict = compare(runs)
    assert [(p["seed"], p["favours"]) for p in verdict["pairs"]] == [(4, "cnn"), (7, "ann")]


def test_no_shared_seed_is_said_plainly():
    runs = _runs((10, 300), (10, 300))
    runs["cnn"] = runs["cnn"][1:]
    runs["ann"] = runs["ann"][:1]
    verdict = compare(runs)
    assert verdict["pairs"] == [] and "share no retraining seed (ANN seeds 0, CNN seeds 1)" in verdict["sentence"]


def test_a_perfect_winner_has_no_error_ratio_to_divide_by():
    made = [_pair(0, 0, 300)]
    made[0][1]["test_accuracy"] = 1.0  # the CNN got every image right
    verdict = compare({"ann": [made[0][0]], "cnn": [made[0][1]]})
    assert verdict["winner"] == "cnn" and "its one seed pair favours it" in verdict["sentence"]
    assert "The CNN makes no test error, the ANN 15.00 %." in verdict["sentence"]


def test_one_family_only_and_nothing_retrained():
    assert compare({"ann": [], "cnn": []}) is None
    verdict = compare({"ann": _runs((1, 2))["ann"], "cnn": []})
    assert verdict["winner"] is None and verdict["sentence"] == "Only the ANN has retrained models, so there is nothing to compare yet."


@pytest.mark.parametrize("module", ["bakeoff.reports.verdict", "bakeoff.reports.selection", "bakeoff.reports.notes"])
def test_the_prose_logic_needs_neither_matplotlib_nor_tensorflow(module):
    probe = f"import sys, {module}; print(sorted(m for m in ('matplotlib', 'tensorflow', 'keras') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"
