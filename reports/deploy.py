"""The report's "Deploy" section: each family's exported formats as verified in their own runtimes, and a sentence.

The sentence states what was measured (formats made, agreement with the Keras model, int8's size and accuracy
against float32 LiteRT) without judging it against targets the user never set.
"""

from __future__ import annotations

from typing import Any

from bakeoff.reports.machines import measured_on

FLOAT_FORMATS = ("saved_model", "tflite_float32", "onnx")


def deploy_section(exports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    families = {}
    for family, found in exports.items():
        families[family] = {"card": found["card"], "rows": _rows(found["formats"]), "sentence": sentence(family, found["formats"])}
    return {"families": families, "measured_on": measured_on([found.get("machine") for found in exports.values()])}


def _rows(formats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"format": name, **values} for name, values in formats.items()]


def sentence(family: str, formats: dict[str, dict[str, Any]]) -> str:
    """Which formats were made, how often the float ones give the Keras model's prediction, and how int8 compares."""
    name = family.upper()
    made = [f for f, v in formats.items() if "error" not in v]
    failed = [f for f, v in formats.items() if "error" in v]
    parts = [f"{name}: {len(made)} of {len(formats)} formats exported and verified" + (f" ({', '.join(failed)} could not be: see the table)" if failed else "") + "."]
    floats = [f for f in FLOAT_FORMATS if f in made]
    if floats:
        shares = ", ".join(f"{f} {'all' if formats[f]['agreement'] == 1.0 else _agreement(formats[f]['agreement'])}" for f in floats)
        parts.append(f"Test images on which each float format gives the Keras model's prediction: {shares}.")
    if "tflite_int8" in made and "tflite_float32" in made:
        small, big = formats["tflite_int8"], formats["tflite_float32"]
        ratio = big["size_bytes"] / small["size_bytes"]
        change = 100 * (small["accuracy"] - big["accuracy"])
        parts.append(
            f"int8 is {ratio:.2f}× smaller than float32 LiteRT ({small['size_bytes'] / 1e6:.2f} MB against {big['size_bytes'] / 1e6:.2f} MB) "
            f"and its test accuracy differs by {change:+.2f} pp ({100 * small['accuracy']:.2f} % against {100 * big['accuracy']:.2f} %)."
        )
    return " ".join(parts)


def _agreement(share: float) -> str:
    """A share below 1 printed so that it never reads as 100.00 %."""
    digits = 2
    while f"{100 * share:.{digits}f}" == "100." + "0" * digits and digits < 6:
        digits += 1
    return f"{100 * share:.{digits}f} %"
