"""Perturbations of the robustness analysis (plain numpy) and one real model scored under them."""

import json

import numpy as np
import pytest

from bakeoff.search.evaluation import robustness
from bakeoff.search.evaluation.robustness import PERTURBATIONS, measure, occlude, perturbed, rotate, shift


def _dots(n=40, size=28):
    """One lit pixel per image, away from the border, so every move is visible."""
    x = np.zeros((n, size, size, 1), np.float32)
    x[:, 12, 15, 0] = 1.0
    return x


@pytest.mark.parametrize("pixels", [1, 4])
def test_a_shift_moves_every_image_by_exactly_that_many_pixels_without_wrapping(pixels):
    x = _dots()
    moved = shift(x, pixels, np.random.default_rng(0))
    for image in moved[..., 0]:
        (row,), (col,) = np.nonzero(image)
        assert max(abs(row - 12), abs(col - 15)) == pixels and (row, col) != (12, 15)
    edge = np.zeros((8, 6, 6, 1), np.float32)
    edge[:, 0, :] = 1.0  # a lit top row must leave the image, not come back at the bottom
    rolled = shift(edge, 1, np.random.default_rng(1))
    assert not rolled[:, -1].any() and rolled.sum() < edge.sum()


def test_several_directions_are_drawn():
    moved = shift(_dots(200), 2, np.random.default_rng(0))
    places = {tuple(np.argwhere(image[..., 0])[0]) for image in moved}
    assert len(places) == 8


def test_rotation_keeps_shape_range_and_mass_of_a_centred_blob():
    x = np.zeros((10, 28, 28, 1), np.float32)
    x[:, 10:18, 12:16] = 1.0
    turned = rotate(x, 30, np.random.default_rng(0))
    assert turned.shape == x.shape and turned.min() >= 0 and turned.max() <= 1
    assert not np.allclose(turned, x)
    assert abs(turned.sum() - x.sum()) / x.sum() < 0.05


def test_occlusion_blacks_out_exactly_one_square_inside_the_image():
    x = np.ones((30, 28, 28, 1), np.float32)
    covered = occlude(x, 8, np.random.default_rng(0))
    assert np.all((covered == 0).sum(axis=(1, 2, 3)) == 64)
    corners = [tuple(np.argwhere(c[..., 0] == 0).min(axis=0)) for c in covered]
    assert len(set(corners)) > 1


def test_noise_is_clipped_and_every_perturbation_is_the_same_draw_each_time():
    x = _dots()
    for kind, (_, strengths, _) in PERTURBATIONS.items():
        a, b = perturbed(x, kind, strengths[-1]), perturbed(x, kind, strengths[-1])
        assert np.array_equal(a, b) and a.shape == x.shape and a.min() >= 0 and a.max() <= 1, kind
    assert not np.array_equal(perturbed(x, "noise", 0.1), perturbed(x, "noise", 0.5))


def test_measure_scores_a_real_classifier_that_breaks_under_shifts():
    """A nearest-pixel rule that is right on the clean images and wrong once they move."""
    x = np.zeros((20, 28, 28, 1), np.float32)
    y = np.arange(20) % 10
    x[np.arange(20), 10, 5 + 2 * y, 0] = 1.0

    def predict(images):
        columns = images[..., 0].max(axis=1)
        lit = np.argmax(columns, axis=1)
        scores = np.zeros((len(images), 10))
        scores[np.arange(len(images)), np.clip((lit - 5) // 2, 0, 9)] = 1.0
        return scores

    found = measure(predict, x, y)
    assert found["clean"] == 1.0
    assert set(found["kinds"]) == set(PERTURBATIONS)
    for kind in found["kinds"].values():
        assert len(kind["accuracy"]) == len(kind["strengths"]) and all(0.0 <= a <= 1.0 for a in kind["accuracy"])
    assert found["kinds"]["shift"]["accuracy"][0] < 1.0


def test_small_images_get_only_the_squares_that_fit_inside_them():
    """sklearn's 8x8 digits, bakeoff's offline default: a 12-pixel square cannot be placed."""
    x = np.random.default_rng(0).random((30, 8, 8, 1), dtype=np.float32)
    found = measure(lambda images: np.eye(10)[np.zeros(len(images), int)], x, np.zeros(30, int))
    assert found["kinds"]["occlusion"]["strengths"] == [4] and found["kinds"]["shift"]["strengths"] == [1, 2, 3, 4]
    assert all(a == 1.0 for kind in found["kinds"].values() for a in kind["accuracy"])


@pytest.mark.slow
def test_analyse_seed_scores_a_saved_keras_model_once(tmp_path, small_npz):
    from bakeoff.search.data import load_dataset
    from bakeoff.search.train.backend import import_keras

    keras = import_keras()
    data = load_dataset(str(small_npz), val_fraction=0.1, subset=None, seed=0)
    model = keras.Sequential([keras.Input(data.input_shape), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=2, verbose=0)
    model.save(tmp_path / "model.keras")
    lines = []
    assert robustness.analyse_seed(tmp_path, data.x_test, data.y_test, log=lines.append)
    found = json.loads((tmp_path / "robustness.json").read_text())
    assert 0.3 < found["clean"] <= 1.0 and found["kinds"]["noise"]["strengths"] == [0.1, 0.2, 0.3, 0.5]
    assert "robustness clean" in lines[0]
    assert not robustness.analyse_seed(tmp_path, data.x_test, data.y_test, log=lines.append)  # done: skipped
    assert not robustness.analyse_seed(tmp_path / "empty", data.x_test, data.y_test)  # no model: nothing to do
