import numpy as np
import pytest

from bakeoff.reports.stats import mcnemar_exact, most_confused, pareto_front, spread


def test_mcnemar_exact_matches_the_hand_computed_binomial_tail():
    # 3 images right by A only, 10 by B only, 87 right by both: p = 2 * P(X <= 3 | n=13, 1/2)
    a = np.array([1] * 3 + [0] * 10 + [1] * 87, dtype=bool)
    b = np.array([0] * 3 + [1] * 10 + [1] * 87, dtype=bool)
    result = mcnemar_exact(a, b)
    assert (result["a_only"], result["b_only"]) == (3, 10)
    assert result["p_value"] == pytest.approx(2 * (1 + 13 + 78 + 286) / 2**13)


def test_mcnemar_with_no_discordant_images_is_one():
    same = np.array([True, False, True])
    assert mcnemar_exact(same, same)["p_value"] == 1.0


def test_mcnemar_symmetric_case():
    # b = c = 5: two-sided p = 1
    a = np.array([1] * 5 + [0] * 5, dtype=bool)
    assert mcnemar_exact(a, ~a)["p_value"] == pytest.approx(1.0)


def test_spread_uses_the_sample_standard_deviation():
    s = spread([0.90, 0.92, 0.94])
    assert s["mean"] == pytest.approx(0.92) and s["std"] == pytest.approx(0.02) and s["n"] == 3
    assert spread([0.5])["std"] == 0.0


def test_pareto_front_keeps_only_undominated_points():
    cost = [10, 20, 30, 15, 40]
    score = [0.90, 0.95, 0.94, 0.89, 0.97]
    assert pareto_front(cost, score) == [0, 1, 4]


def test_most_confused_pairs():
    matrix = np.array([[50, 3, 0], [7, 40, 1], [0, 0, 9]])
    pairs = most_confused(matrix, ["a", "b", "c"], top=2)
    assert pairs == [{"true": "b", "predicted": "a", "count": 7}, {"true": "a", "predicted": "b", "count": 3}]
