"""A decayed validation at a rung: the rate falls to zero on a copy of the run, and the run continues unchanged."""

import math

import numpy as np
import pytest

from bakeoff.search.data import load_dataset
from bakeoff.search.train.backend import import_keras
from bakeoff.search.train.builders import NEVER, build_model, load_checkpoint, resize_schedule
from bakeoff.search.train.fit import fit, release_models, steps_per_epoch, validation_pass
from bakeoff.search.train.rungs import DECAY_SHARE, decay_steps, decayed_validation, warm_up
from bakeoff.search.train.settings import PLAIN
from bakeoff.spaces import BASELINES

CONFIG = {**BASELINES["ann"], "units": [64, 32], "schedule": "wsd", "learning_rate": 3e-3, "dropout": 0.1}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _model(data, seed=0):
    release_models()
    import_keras().utils.set_random_seed(seed)
    return build_model(CONFIG, "ann", data.input_shape, data.num_classes, 1, PLAIN)


def _state(model):
    return [v.numpy().copy() for v in [*model.weights, *model.optimizer.variables]]


def test_the_schedule_is_constant_until_told_then_falls_linearly_to_zero(digits):
    schedule = _model(digits).optimizer._learning_rate
    assert float(schedule(10**6)) == pytest.approx(3e-3)  # the stable phase never ends by itself
    schedule.decay_from.assign(100.0)
    schedule.decay_steps.assign(50.0)
    assert [round(float(schedule(s)) / 3e-3, 4) for s in (100, 125, 150, 400)] == [1.0, 0.5, 0.0, 0.0]
    assert not resize_schedule(_model(digits), 10)  # the cosine's resizing leaves it alone


def test_a_warm_up_climbs_linearly_to_the_stable_rate_and_a_checkpoint_keeps_it(digits, tmp_path):
    model = _model(digits)
    schedule = model.optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(3e-3)  # no warm-up unless told: the full rate from the first step
    warm_up(model, 10)
    assert [round(float(schedule(s)) / 3e-3, 4) for s in (0, 4, 9, 10, 10**6)] == [0.1, 0.5, 1.0, 1.0, 1.0]
    schedule.decay_from.assign(100.0)
    schedule.decay_steps.assign(50.0)
    assert round(float(schedule(125)) / 3e-3, 4) == 0.5  # the decay after it is unchanged
    model.save(tmp_path / "run.keras")
    assert float(load_checkpoint(tmp_path / "run.keras").optimizer._learning_rate.warmup_steps.numpy()) == 10.0
    older = type(schedule).from_config({"initial_learning_rate": 3e-3, "decay_from": NEVER, "decay_steps": 1.0})
    assert float(older.warmup_steps.numpy()) == 0.0  # a checkpoint saved before warm-ups existed loads without one
    with pytest.raises(ValueError, match="stable-then-decay"):
        warm_up(build_model({**CONFIG, "schedule": "constant"}, "ann", digits.input_shape, digits.num_classes, 1, PLAIN), 10)


def test_a_decayed_validation_trains_a_copy_and_puts_the_run_back_exactly(digits):
    model = _model(digits)
    batch = CONFIG["batch_size"]
    fit(model, digits.x_train, digits.y_train, epochs=2, batch_size=batch)
    before = _state(model)
    steps_done = 2 * steps_per_epoch(len(digits.x_train), batch)
    constant = validation_pass(model, digits.x_val, digits.y_val)[0].mean()

    decayed = decayed_validation(model, digits.x_train, digits.y_train, (digits.x_val, digits.y_val), batch_size=batch, seed=0)

    assert decayed.steps == decay_steps(steps_done) == math.ceil(DECAY_SHARE * steps_done)
    after = _state(model)
    assert len(after) == len(before) and all(np.array_equal(a, b) for a, b in zip(before, after))
    assert float(model.optimizer._learning_rate.decay_from.numpy()) == NEVER
    assert validation_pass(model, digits.x_val, digits.y_val)[0].mean() == constant  # the run itself is untouched
    assert decayed.correct.shape == digits.y_val.shape


def test_a_run_continued_after_a_decayed_validation_ends_where_one_trained_straight_through_does(digits):
    """Continuation changes nothing but the order the images are shuffled in: within the noise of that."""
    batch = CONFIG["batch_size"]
    branched = _model(digits, seed=1)
    fit(branched, digits.x_train, digits.y_train, epochs=3, batch_size=batch)
    decayed_validation(branched, digits.x_train, digits.y_train, (digits.x_val, digits.y_val), batch_size=batch, seed=0)
    fit(branched, digits.x_train, digits.y_train, epochs=3, batch_size=batch)
    straight = _model(digits, seed=1)
    fit(straight, digits.x_train, digits.y_train, epochs=6, batch_size=batch)

    steps = 6 * steps_per_epoch(len(digits.x_train), batch)
    assert int(branched.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy()) == steps
    a = validation_pass(branched, digits.x_val, digits.y_val)[0]
    b = validation_pass(straight, digits.x_val, digits.y_val)[0]
    disagree = int(np.sum(a != b))
    # McNemar-style noise: two runs of one configuration that differ in shuffling disagree on a few images;
    # their accuracies differ by well under three standard errors of the disagreement count.
    assert abs(int(a.sum()) - int(b.sum())) <= 3 * math.sqrt(max(disagree, 1)) + 1
    assert min(a.mean(), b.mean()) > 0.85  # both learned: the comparison is between trained models
