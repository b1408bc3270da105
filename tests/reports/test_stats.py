import numpy as np
import pytest

from bakeoff.search.stats import (
    accuracy_statistic,
    digits_apart,
    format_p,
    interval,
    mcnemar_exact,
    mean_pm,
    most_confused,
    pareto_front,
    sign,
    spread,
)


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
    assert spread([0.5])["std"] is None  # one value: unknown spread, not a spread of 0


def test_one_seed_is_said_to_have_no_spread():
    assert mean_pm(spread([0.99]), lambda v: f"{100 * v:.2f} %") == "99.00 % (one seed, no spread)"
    assert mean_pm(spread([0.99, 0.98]), lambda v: f"{100 * v:.2f} %") == "98.50 % ± 0.71 %"


@pytest.mark.parametrize(("p", "text"), [(0.0498, "0.0498"), (0.0501, "0.0501"), (0.05, "0.05"), (0.00064, "0.00064"), (0.5, "0.5"),
                                         (0.04999, "0.04999"), (1.0, "1")])
def test_a_p_value_never_prints_on_the_other_side_of_alpha(p, text):
    assert format_p(p) == text


def test_digits_grow_until_two_numbers_print_apart():
    assert digits_apart(6.30, 6.31, 2) == 2 and digits_apart(50.0, 50.04, 1) == 2 and digits_apart(1.0, 1.0, 2) == 2  # equal: the report printed 97.916667 % for a tie on 144 images


def test_the_bootstrap_interval_is_paired_and_holds_zero_for_noise():
    rng = np.random.default_rng(0)
    n = 5000
    base = rng.random(n) < 0.9
    better = base.copy()
    better[np.flatnonzero(~base)[:60]] = True  # 60 more right, on the same images
    found = interval({"a": [accuracy_statistic(base)], "b": [accuracy_statistic(better)]}, lambda m: m["b"] - m["a"], n, 60 / n)
    assert 0 < found["low"] < 60 / n < found["high"] and sign(found) == 1  # paired: 60 one-sided images are clear
    noise = interval({"a": [accuracy_statistic(rng.random(n) < 0.9)], "b": [accuracy_statistic(rng.random(n) < 0.9)]},
                     lambda m: m["b"] - m["a"], n, 0.0)
    assert sign(noise) == 0 and noise["low"] < 0 < noise["high"]
    same = interval({"a": [accuracy_statistic(base)], "b": [accuracy_statistic(base)]}, lambda m: m["b"] - m["a"], n, 0.0)
    assert same["low"] == same["high"] == 0.0 and sign(same) == 0  # identical models: no direction, even at 100 %
    perfect = np.ones(n, dtype=bool)
    assert sign(interval({"a": [accuracy_statistic(perfect)], "b": [accuracy_statistic(perfect)]}, lambda m: m["b"] - m["a"], n, 0.0)) == 0


def test_pareto_front_keeps_only_undominated_points():
    cost = [10, 20, 30, 15, 40]
    score = [0.90, 0.95, 0.94, 0.89, 0.97]
    assert pareto_front(cost, score) == [0, 1, 4]


def test_most_confused_pairs():
    matrix = np.array([[50, 3, 0], [7, 40, 1], [0, 0, 9]])
    pairs = most_confused(matrix, ["a", "b", "c"], top=2)
    assert pairs == [{"true": "b", "predicted": "a", "count": 7}, {"true": "a", "predicted": "b", "count": 3}]
