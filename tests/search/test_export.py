"""The model that gets exported: the trained one without augmentation layers, in float32, predicting the same."""

import numpy as np
import pytest


@pytest.mark.slow
def test_the_inference_copy_drops_augmentation_and_bf16_and_predicts_as_the_trained_model(small_npz, tmp_path):
    from bakeoff.search.data import load_dataset
    from bakeoff.search.deploy.export import inference_copy
    from bakeoff.search.deploy.runtimes import load
    from bakeoff.search.train.builders import build_model
    from bakeoff.search.train.settings import Speed
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


#: Models that between them use every activation, pooling and head of the default spaces, with and without
#: batch normalisation.
EVERY_CHOICE = [
    ("ann", {"activation": "gelu", "batch_norm": True}),
    ("ann", {"activation": "silu", "batch_norm": False}),
    ("ann", {"activation": "relu", "batch_norm": False}),
    ("cnn", {"activation": "gelu", "pooling": "max", "head": "flatten", "batch_norm": True}),
    ("cnn", {"activation": "silu", "pooling": "avg", "head": "gap", "batch_norm": False}),
    ("cnn", {"activation": "relu", "pooling": "strided", "head": "gap", "batch_norm": True}),
]


def test_the_export_models_cover_every_activation_pooling_and_head_of_the_default_spaces():
    from bakeoff.spaces import DEFAULT_SPACES

    for name in ("activation", "pooling", "head"):
        for family, space in DEFAULT_SPACES.items():
            param = next((p for p in space.params if p.name == name), None)
            if param is not None:
                covered = {c[name] for f, c in EVERY_CHOICE if f == family and name in c}
                assert covered == set(param.values), (family, name)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "choices"), EVERY_CHOICE)
def test_every_choice_of_the_spaces_exports_to_every_format_and_predicts_as_keras(small_npz, tmp_path, family, choices, capfd):
    from bakeoff.reports.deploy import FLOAT_FORMATS
    from bakeoff.search.data import load_dataset
    from bakeoff.search.deploy.export import FORMATS, export_model, inference_copy
    from bakeoff.search.train.builders import build_model
    from bakeoff.search.train.settings import Speed
    from bakeoff.spaces import BASELINES

    data = load_dataset(str(small_npz), val_fraction=0.1, seed=0)
    config = {**BASELINES[family], **choices}
    trained = build_model(config, family, data.input_shape, data.num_classes, 10, speed=Speed())
    model = inference_copy(trained, config, family, data)
    model.save(tmp_path / "inference.keras")
    capfd.readouterr()
    lines = []
    formats = export_model(model, tmp_path / "inference.keras", tmp_path, data, lines.append)
    printed = capfd.readouterr()
    assert set(formats) == set(FORMATS)
    assert not [name for name, found in formats.items() if "error" in found], formats
    for name in FLOAT_FORMATS:
        assert formats[name]["max_probability_difference"] < 1e-4, (name, formats[name])
    assert formats["tflite_int8"]["size_bytes"] < formats["tflite_float32"]["size_bytes"]
    assert printed.out == "" and printed.err == "", printed  # no converter's own lines on the console
    assert len(lines) == len(FORMATS)
