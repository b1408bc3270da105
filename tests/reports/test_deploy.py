"""The Deploy section's sentence: every branch of the export goals, from hand-made verification results."""

from bakeoff.reports.deploy import sentence


def _row(accuracy=0.99, agreement=1.0, size=4_000_000):
    return {"accuracy": accuracy, "agreement": agreement, "size_bytes": size, "max_probability_difference": 1e-6}


def test_everything_made_and_every_goal_met():
    formats = {"keras": _row(), "saved_model": _row(), "tflite_float32": _row(), "tflite_int8": _row(0.9885, 0.998, 1_000_000), "onnx": _row()}
    text = sentence("cnn", formats)
    assert text.startswith("CNN: 5 of 5 formats exported and verified.")
    assert "saved_model, tflite_float32, onnx: each agrees with the Keras model on at least 99.9 % of test images." in text
    assert text.endswith("int8 is 4.0× smaller than float32 LiteRT (meets the 3× goal) and its test accuracy differs by -0.15 pp (within ±0.3 pp).")


def test_a_failed_format_disagreement_and_a_poor_int8_are_each_said():
    formats = {"keras": _row(), "saved_model": _row(agreement=0.998), "tflite_float32": _row(), "tflite_int8": _row(0.95, 0.96, 2_000_000),
               "onnx": {"file": "model.onnx", "error": "RuntimeError: ONNX export needs tf2onnx"}}
    text = sentence("ann", formats)
    assert "ANN: 4 of 5 formats exported and verified (onnx could not be: see the table)." in text
    assert "Below 99.9 % agreement with the Keras model: saved_model 99.80 %." in text
    assert "2.0× smaller than float32 LiteRT (misses the 3× goal)" in text and "differs by -4.00 pp (outside ±0.3 pp)" in text


def test_an_int8_model_more_accurate_than_float_by_exactly_the_goal_is_within():
    formats = {"tflite_float32": _row(0.990), "tflite_int8": _row(0.993, size=1_000_000)}
    assert "differs by +0.30 pp (within ±0.3 pp)" in sentence("cnn", formats)
    assert "tflite_float32: each agrees with the Keras model" in sentence("cnn", formats)
