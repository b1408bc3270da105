"""The per-trial time cap: a trial is projected from the pace of its batches, so a slow one stops early."""

import time

import numpy as np

from bakeoff.search.data import SearchData
from bakeoff.search.objective import PACE_SECONDS, Objective
from bakeoff.spaces import DEFAULT_SPACES

TOTAL = 844 * 15  # 15 epochs of 844 batches


def _objective(max_seconds: float, epochs: int = 15) -> Objective:
    empty = np.zeros((0, 28, 28, 1), np.float32), np.zeros(0, np.int64)
    data = SearchData("none", *empty, *empty, [str(c) for c in range(10)])
    objective = Objective("cnn", DEFAULT_SPACES["cnn"], data, epochs=epochs, seed=0, max_seconds=max_seconds)
    objective.fit_started = time.perf_counter() - PACE_SECONDS - 1.0
    return objective


def test_a_trial_too_slow_for_its_cap_is_cut_within_its_first_epoch():
    objective = _objective(max_seconds=450)
    assert objective._too_slow(32, TOTAL) is None  # the first poll only starts the pace (it includes compiling)
    since, done = objective.pace_mark
    objective.pace_mark = (since - PACE_SECONDS, done)  # 32 batches took PACE_SECONDS: 15 epochs take far longer
    reason = objective._too_slow(64, TOTAL)
    assert reason is not None and reason.startswith("too slow: 15 epochs would take")


def test_a_trial_on_pace_is_left_alone_and_the_cap_still_holds():
    objective = _objective(max_seconds=450)
    objective._too_slow(32, TOTAL)
    since, done = objective.pace_mark
    objective.pace_mark = (since - PACE_SECONDS, done)
    assert objective._too_slow(32 + 10_000, TOTAL) is None  # 10,000 batches in PACE_SECONDS: 15 epochs fit easily
    objective.fit_started -= 450
    assert objective._too_slow(32 + 10_032, TOTAL) == "too slow: passed the 450s cap per trial"


def test_the_pace_is_not_judged_on_too_few_batches():
    objective = _objective(max_seconds=450)
    objective._too_slow(32, TOTAL)
    assert objective._too_slow(64, TOTAL) is None  # a moment after the first poll: not yet PACE_SECONDS of batches
