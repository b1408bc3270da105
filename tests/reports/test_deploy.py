"""The Deploy section's sentence: what was measured, in every branch, and no judgement against targets nobody set."""

from bakeoff.reports.deploy import sentence


def _row(accuracy=0.99, agreement=1.0, size=4_000_000):
    return {"accuracy": accuracy, "agreement": agreement, "size_bytes": size, "max_probability_difference": 1e-6}


def test_everything_made_says_what_was_measured():
    formats = {"keras": _row(), "saved_model": _row(), "tflite_float32": _row(), "tflite_int8": _row(0.9885, 0.998, 1_000_000), "onnx": _row()}
    text = sentence("cnn", formats)
    assert text.startswith("CNN: 5 of 5 formats exported and verified.")
    assert "Test images on which each float format gives the Keras model's prediction: saved_model all, tflite_float32 all, onnx all." in text
    assert text.endswith("int8 is 4.00× smaller than float32 LiteRT (1.00 MB against 4.00 MB) and its test accuracy differs by -0.15 pp "
                         "(98.85 % against 99.00 %).")
    assert "goal" not in text and "within" not in text and "meets" not in text


def test_a_failed_format_a_disagreement_and_a_worse_int8_are_each_said():
    formats = {"keras": _row(), "saved_model": _row(agreement=0.998), "tflite_float32": _row(agreement=0.99999), "tflite_int8": _row(0.95, 0.96, 2_000_000),
               "onnx": {"file": "model.onnx", "error": "RuntimeError: ONNX export needs tf2onnx"}}
    text = sentence("ann", formats)
    assert "ANN: 4 of 5 formats exported and verified (onnx could not be: see the table)." in text
    assert "saved_model 99.80 %, tflite_float32 99.999 %." in text  # never "100.00 %" for a share below 1
    assert "2.00× smaller than float32 LiteRT" in text and "differs by -4.00 pp" in text


def test_a_size_ratio_just_under_three_is_not_rounded_to_three_and_a_better_int8_is_positive():
    formats = {"tflite_float32": _row(0.990, size=2_970_000), "tflite_int8": _row(0.993, size=1_000_000)}
    text = sentence("cnn", formats)
    assert "2.97× smaller" in text and "differs by +0.30 pp" in text
    assert "tflite_float32 all" in text
