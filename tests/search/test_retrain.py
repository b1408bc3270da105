"""The retraining epoch rule: the last epoch within one standard error of the trial's best."""

import pytest

from bakeoff.search.retrain import retrain_epochs

CURVE = [0.90, 0.95, 0.96, 0.955]


@pytest.mark.parametrize(
    ("n_val", "expected"),
    [
        (100, 4),  # one error is 2 %: the dip in epoch 4 is noise, so the schedule runs to its end
        (100_000, 3),  # one error is 0.06 %: epoch 4 is really worse, so retraining stops at the peak
    ],
)
def test_retrain_epochs_keeps_the_schedule_unless_the_drop_is_beyond_noise(n_val, expected):
    assert retrain_epochs(CURVE, n_val) == expected


def test_retrain_epochs_of_a_rising_curve_is_its_length():
    assert retrain_epochs([0.5, 0.7, 0.8], 1000) == 3
