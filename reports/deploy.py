"""The report's "Deploy" section: each family's exported formats as verified in their own runtimes, and a sentence.

Goals the sentence checks (from the export issue): float formats agree with the Keras model on at least
``AGREEMENT_GOAL`` of the test images; int8 stays within ``INT8_ACCURACY_GOAL`` of float accuracy and is at
least ``INT8_SIZE_GOAL`` times smaller than the float32 LiteRT file.
"""

from __future__ import annotations

from typing import Any

AGREEMENT_GOAL = 0.999
INT8_ACCURACY_GOAL = 0.003
INT8_SIZE_GOAL = 3.0
FLOAT_FORMATS = ("saved_model", "tflite_float32", "onnx")


def deploy_section(exports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    families = {}
    for family, found in exports.items():
        families[family] = {"card": found["card"], "rows": _rows(found["formats"]), "sentence": sentence(family, found["formats"])}
    return {"families": families}


def _rows(formats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"format": name, **values} for name, values in formats.items()]


def sentence(family: str, formats: dict[str, dict[str, Any]]) -> str:
    """Which formats were made, whether the float ones agree with Keras, and how int8 compares."""
    name = family.upper()
    made = [f for f, v in formats.items() if "error" not in v]
    failed = [f for f, v in formats.items() if "error" in v]
    parts = [f"{name}: {len(made)} of {len(formats)} formats exported and verified" + (f" ({', '.join(failed)} could not be: see the table)" if failed else "") + "."]
    floats = [f for f in FLOAT_FORMATS if f in made]
    if floats:
        below = [f"{f} {100 * formats[f]['agreement']:.2f} %" for f in floats if formats[f]["agreement"] < AGREEMENT_GOAL]
        if below:
            parts.append(f"Below {100 * AGREEMENT_GOAL:g} % agreement with the Keras model: {', '.join(below)}.")
        else:
            parts.append(f"{', '.join(floats)}: each agrees with the Keras model on at least {100 * AGREEMENT_GOAL:g} % of test images.")
    if "tflite_int8" in made and "tflite_float32" in made:
        small, big = formats["tflite_int8"], formats["tflite_float32"]
        ratio = big["size_bytes"] / small["size_bytes"]
        change = 100 * (small["accuracy"] - big["accuracy"])
        within = abs(small["accuracy"] - big["accuracy"]) <= INT8_ACCURACY_GOAL + 1e-12
        parts.append(
            f"int8 is {ratio:.1f}× smaller than float32 LiteRT ({'meets' if ratio >= INT8_SIZE_GOAL else 'misses'} the {INT8_SIZE_GOAL:g}× goal) "
            f"and its test accuracy differs by {change:+.2f} pp ({'within' if within else 'outside'} ±{100 * INT8_ACCURACY_GOAL:.1f} pp)."
        )
    return " ".join(parts)
