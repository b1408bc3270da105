"""Data efficiency and the shuffled-pixel control: the data they train on, the shuffle inside the model, one real run."""

import json

import numpy as np
import pytest

from bakeoff.search.evaluation.analyses import fraction_subset, permutation, run_analyses, shuffle_pixels


def test_one_fixed_permutation_moves_pixels_and_channels_together_and_can_be_undone():
    order = permutation((4, 5))
    assert np.array_equal(order, permutation((4, 5))) and sorted(order) == list(range(20)) and not np.array_equal(order, np.arange(20))
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    shuffled = shuffle_pixels(x, order)
    assert shuffled.shape == x.shape and not np.array_equal(shuffled, x)
    assert np.array_equal(np.sort(shuffled.reshape(-1)), np.sort(x.reshape(-1)))
    assert np.array_equal(shuffled[0, 0, 0], x[0].reshape(20, 3)[order[0]])  # a pixel keeps its channels
    undone = np.empty_like(x.reshape(2, 20, 3))
    undone[:, order] = shuffled.reshape(2, 20, 3)
    assert np.array_equal(undone.reshape(x.shape), x)


def test_fractions_are_stratified_and_refused_below_two_images_per_class():
    y = np.repeat(np.arange(10), 100)
    x = np.arange(len(y))
    x_sub, y_sub = fraction_subset(x, y, 0.05, seed=0)
    assert len(y_sub) == 50 and np.all(np.bincount(y_sub) == 5) and np.array_equal(y[x_sub], y_sub)
    assert not np.array_equal(fraction_subset(x, y, 0.05, seed=1)[0], x_sub)
    assert fraction_subset(x, y, 0.01, seed=0) is None  # 10 images for 10 classes


def test_a_retraining_is_projected_from_the_pace_of_its_trial_scaled_to_the_images_it_trains_on():
    from bakeoff.search.evaluation.retrain import Plan
    from bakeoff.search.train.rungs import DECAY_SHARE
    from bakeoff.spaces import LADDER_SCHEDULE

    # the first 1-hour ladder search on this machine: the recipe ANN, 8.2 s per epoch on 54,000 images, rung 64
    ladder = Plan(trial=11, val_accuracy=0.99, config={"schedule": LADDER_SCHEDULE}, epochs=64, schedule_epochs=64, epoch_seconds=8.2)
    assert ladder.projected_seconds(60_000, 54_000) == pytest.approx(8.2 * 64 * (1 + DECAY_SHARE) * 60_000 / 54_000)
    cosine = Plan(trial=4, val_accuracy=0.98, config={"schedule": "cosine"}, epochs=12, schedule_epochs=15, epoch_seconds=2.0)
    assert cosine.projected_seconds(1000, 1000) == pytest.approx(24.0)  # the epochs retraining trains, no decay after them
    assert Plan(trial=4, val_accuracy=0.98, config={}, epochs=12, schedule_epochs=15).projected_seconds(1000, 900) is None


@pytest.mark.slow
def test_run_analyses_trains_each_job_once_and_records_what_the_report_needs(tmp_path, small_npz):
    from bakeoff.search.data import load_dataset
    from bakeoff.search.evaluation.retrain import Plan
    from bakeoff.spaces import BASELINES

    data = load_dataset(str(small_npz), val_fraction=0.1, seed=0)
    chosen = Plan(trial=3, val_accuracy=0.9, config=dict(BASELINES["ann"]), epochs=1, schedule_epochs=1)
    lines = []
    files = run_analyses(chosen, "ann", data, tmp_path, log=lines.append)
    names = sorted(f.name for f in files)
    assert names == ["efficiency-20pct-seed-0.json", "efficiency-20pct-seed-1.json", "efficiency-5pct-seed-0.json",
                     "efficiency-5pct-seed-1.json", "shuffled-seed-0.json", "shuffled-seed-1.json"]
    assert sum("under 2 per class, skipped" in line for line in lines) == 2  # 1 % of 600 images is 6
    shuffled = json.loads((tmp_path / "analyses" / "ann" / "shuffled-seed-0.json").read_text())
    assert shuffled["trial"] == 3 and len(shuffled["predictions"]) == len(data.y_test) == len(shuffled["labels"])
    assert shuffled["test_accuracy"] == np.mean(np.array(shuffled["predictions"]) == data.y_test)
    small = json.loads((tmp_path / "analyses" / "ann" / "efficiency-5pct-seed-0.json").read_text())
    assert small["train_images"] == 30 and small["fraction"] == 0.05 and small["data_sha256"] == data.sha256
    batch = BASELINES["ann"]["batch_size"]
    assert small["steps"] == -(-30 // batch) and small["full_steps"] == -(-(len(data.y_train) + len(data.y_val)) // batch)
    stamps = {f: f.stat().st_mtime_ns for f in files}
    lines.clear()
    assert run_analyses(chosen, "ann", data, tmp_path, log=lines.append) == files and {f: f.stat().st_mtime_ns for f in files} == stamps
    assert not any("test accuracy" in line for line in lines)  # nothing retrained again
    newer = Plan(trial=7, val_accuracy=0.95, config=dict(BASELINES["ann"]), epochs=1, schedule_epochs=1)  # the search went on
    lines.clear()
    run_analyses(newer, "ann", data, tmp_path, log=lines.append)
    assert sum("test accuracy" in line for line in lines) == 6  # every result of the earlier best trial is made again
    assert {json.loads(f.read_text())["trial"] for f in files} == {7}


@pytest.mark.slow
def test_the_model_shuffles_its_input_exactly_as_the_fixed_permutation_does():
    from bakeoff.search.train.backend import import_keras
    from bakeoff.search.train.builders import _shuffle_pixels

    keras = import_keras()
    order = permutation((28, 28))
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, _shuffle_pixels(inputs, order.tolist(), keras))
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    assert np.array_equal(model.predict(x, verbose=0), shuffle_pixels(x, order))
