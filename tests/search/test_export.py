"""The model that gets exported: the trained one without augmentation layers, in float32, predicting the same."""

import numpy as np
import pytest


@pytest.mark.slow
def test_the_inference_copy_drops_augmentation_and_bf16_and_predicts_as_the_trained_model(small_npz, tmp_path):
    from bakeoff.search.builders import build_model
    from bakeoff.search.data import load_dataset
    from bakeoff.search.export import inference_copy
    from bakeoff.search.runtimes import load
    from bakeoff.search.speed import Speed
    from bakeoff.spaces import BASELINES

    data = load_dataset(str(small_npz), val_fraction=0.1, seed=0)
    config = {**BASELINES["cnn"], "augment": True, "translate": 0.1, "rotate": 0.1, "zoom": 0.1}
    trained = build_model(config, "cnn", data.input_shape, data.num_classes, 10, speed=Speed(bf16=True))
    assert any(type(layer).__name__.startswith("Random") for layer in trained.layers)
    clean = inference_copy(trained, config, "cnn", data)
    assert not any(type(layer).__name__.startswith("Random") for layer in clean.layers)
    assert {layer.dtype_policy.name for layer in clean.layers} == {"float32"}
    x = data.x_test[:64]
    expected = trained.predict(x, verbose=0)  # predict calls with training=False: no augmentation
    assert np.abs(clean.predict(x, verbose=0) - expected).max() < 2e-2  # bf16 against float32 arithmetic
    clean.export(str(tmp_path / "saved_model"), format="tf_saved_model", verbose=False)
    served = load(tmp_path / "saved_model")(x)
    assert np.abs(served - clean.predict(x, verbose=0)).max() < 1e-5  # serving does not augment
