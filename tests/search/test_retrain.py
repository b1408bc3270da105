"""The retraining epoch rule: the last epoch within one standard error of the difference from the trial's best."""

import pytest

from bakeoff.search.stats import margin_in_se, retrain_epochs, se_difference

CURVE = [0.90, 0.95, 0.96, 0.955]


@pytest.mark.parametrize(
    ("n_val", "expected"),
    [
        (100, 4),  # one error of the difference is 2.7 %: the dip in epoch 4 is noise, the schedule runs to its end
        (100_000, 3),  # 0.09 %: epoch 4 is really worse, so retraining stops at the peak
    ],
)
def test_retrain_epochs_keeps_the_schedule_unless_the_drop_is_beyond_noise(n_val, expected):
    assert retrain_epochs(CURVE, n_val) == expected


def test_retrain_epochs_of_a_rising_curve_is_its_length():
    assert retrain_epochs([0.5, 0.7, 0.8], 1000) == 3


def test_a_one_image_spike_on_144_validation_images_does_not_cut_retraining_short():
    # digits: 144 validation images; 1.0 at epoch 3 is 144/144, the plateau 0.9931 is 143/144
    curve = [0.97, 0.986, 1.0] + [0.9931] * 7
    assert retrain_epochs(curve, 144) == 10


def test_the_error_does_not_collapse_at_100_percent():
    assert se_difference(1.0, 1.0, 144) > 0
    assert retrain_epochs([0.9, 1.0, 1.0, 1.0], 144) == 4
    # a real drop from 100 % is still seen: 20 images fewer out of 144 is far beyond one error
    assert retrain_epochs([0.9, 1.0, 0.86], 144) == 2


def test_the_margin_in_standard_errors():
    assert margin_in_se(0.99, 0.99, 6000) == 0.0
    assert margin_in_se(0.9965, 0.9962, 6000) == pytest.approx(0.3, abs=0.1)  # the 1-hour CNN: a tie with the recipe
    assert margin_in_se(0.99, 0.97, 6000) > 5
    assert margin_in_se(0.97, 0.99, 6000) < -5


def test_the_paired_se_of_shared_mistakes_is_smaller_and_never_zero():
    from bakeoff.search.stats import paired_se

    assert paired_se(6, 30, 6000) == pytest.approx(0.001012, abs=2e-6)  # 99.0 % vs 99.4 %, 30 errors shared
    assert paired_se(0, 0, 144) > 0  # the same predictions, even at 100 %


def test_retrain_epochs_paired_keeps_an_epoch_that_differs_from_the_best_on_few_images():
    curve = [0.90, 0.99, 0.985]  # the last epoch 0.5 pp below the best, on 1,000 images
    assert retrain_epochs(curve, 1000, [[90, 0], [0, 0], [5, 0]]) == 2  # 5 images lost, none gained: beyond one paired SE
    assert retrain_epochs(curve, 1000, [[90, 0], [0, 0], [25, 20]]) == 3  # 45 images changed: within the noise
    assert retrain_epochs(curve, 1000, [[0, 0]]) == retrain_epochs(curve, 1000)  # a record of another length: unpaired
