"""Export each family's retrained model to the formats people ship, and verify every file in its own runtime.

Formats, all made from one inference copy of the trained model (no augmentation layers, float32): the Keras
file, a TensorFlow SavedModel, LiteRT (TFLite) float32, LiteRT full-integer int8 (weights and
activations int8, calibrated on training images; float32 input and output, quantised at the edges) and ONNX.
Each file is loaded back by its own runtime (``search/deploy/runtimes.py``) and run on the whole test split: accuracy,
agreement with the Keras model's predictions, the largest probability difference, size and latency. A format
that cannot be produced or loaded is recorded with its reason and the others go on.

The exported model is the first retraining seed's: picking the best seed by test accuracy would select on the
test split. The model card gives the spread over every seed.
"""

from __future__ import annotations

import math
import shutil
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from bakeoff.search import layout
from bakeoff.search.data import Dataset
from bakeoff.search.deploy import runtimes
from bakeoff.search.errors import disk_full
from bakeoff.search.files import atomic, read_json, write_json
from bakeoff.search.manifest import machine
from bakeoff.search.train.backend import import_keras, quiet_stderr

#: Exports made by older code are redone: version 1 exported the trained model as it was (augmentation and all);
#: version 2 could not export a model with GELU to ONNX.
VERSION = 3
#: Training images the int8 converter calibrates its activation ranges on.
CALIBRATION_IMAGES = 500
#: Timed calls per batch size (after one warm-up call); the median per image is reported.
LATENCY_CALLS = {1: 50, 256: 5}
BATCH = 256


def _keras_copy(model, source: Path, target: Path, data: Dataset) -> None:
    shutil.copyfile(source, target)


def _saved_model(model, source: Path, target: Path, data: Dataset) -> None:
    model.export(str(target), format="tf_saved_model", verbose=False)


def _tflite_float32(model, source: Path, target: Path, data: Dataset) -> None:
    model.export(str(target), format="litert", verbose=False)


def _tflite_int8(model, source: Path, target: Path, data: Dataset, calibration: int = CALIBRATION_IMAGES) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = data.x_train[rng.choice(len(data.x_train), min(calibration, len(data.x_train)), replace=False)]

    def representative():
        for image in images:
            yield [image[None].astype(np.float32)]

    model.export(
        str(target), format="litert", verbose=False, optimizations=[tf.lite.Optimize.DEFAULT],
        representative_dataset=representative, target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
    )


def _onnx(model, source: Path, target: Path, data: Dataset) -> None:
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        raise RuntimeError(f"ONNX export needs tf2onnx and onnx: {runtimes.EXTRA}") from None
    with _gelu_through_erf(model):
        model.export(str(target), format="onnx", verbose=False)


@contextmanager
def _gelu_through_erf(model) -> Iterator[None]:
    """GELU written as 0.5 x (1 + erf(x / sqrt 2)) while the model is traced for ONNX.

    TensorFlow computes the exact GELU through ``Erfc``, which tf2onnx emits but no ONNX opset defines, so
    ONNX Runtime refused every model with GELU; ``Erf`` is a standard ONNX op. The same function, written
    differently: verification compares the file with the Keras model as for every format.
    """
    keras = import_keras()
    gelu = keras.activations.get("gelu")

    def erf_gelu(x):
        return 0.5 * x * (1.0 + keras.ops.erf(x / math.sqrt(2.0)))

    swapped = [layer for layer in model.layers if getattr(layer, "activation", None) is gelu]
    for layer in swapped:
        layer.activation = erf_gelu
    try:
        yield
    finally:
        for layer in swapped:
            layer.activation = gelu


#: name: (file or folder name, how to make it). The Keras file comes first: it is the reference.
FORMATS: dict[str, tuple[str, Callable[..., None]]] = {
    "keras": (layout.MODEL_FILE, _keras_copy),
    "saved_model": ("saved_model", _saved_model),
    "tflite_float32": ("model_float32.tflite", _tflite_float32),
    "tflite_int8": ("model_int8.tflite", _tflite_int8),
    "onnx": ("model.onnx", _onnx),
}


def export_family(out: Path, family: str, data: Dataset, log=print, limits: dict[str, float] | None = None) -> dict[str, Any] | None:
    """Export and verify ``family``'s first retrained seed (of those retrained under ``limits``, as the manifest
    records them: a model chosen under other limits may break these); None when it has none. Skips work already done."""
    seeds = [{**metrics, "folder": str(folder)} for folder, metrics in layout.retrained(out, family)
             if (folder / layout.MODEL_FILE).exists() and (metrics.get("limits") or {}) == (limits or {})]
    if not seeds:
        log(f"[{family}] no model retrained" + (" under these limits" if limits else "") + ": nothing to export")
        return None
    source = seeds[0]
    folder = out / layout.EXPORT_DIR / family
    card = model_card(family, source, seeds, data)
    done = read_json(folder / layout.EXPORTS_FILE)
    if done and done.get("card") == card and done.get("version") == VERSION:
        log(f"[{family}] already exported from {source['folder']}, skipped")
        return done
    from bakeoff.search.train.fit import release_models

    release_models()
    model_file = Path(source["folder"]) / layout.MODEL_FILE
    trained = runtimes.load_given(model_file, lambda path: import_keras().models.load_model(path, compile=False))
    model = inference_copy(trained, source["config"], family, data)
    summary = {"version": VERSION, "card": card, "machine": machine()}
    with atomic(folder) as partial:  # an export made from an older model stays until this one is complete
        partial.mkdir()
        model_file = partial / "inference.keras"
        model.save(model_file)
        summary["formats"] = export_model(model, model_file, partial, data, lambda line: log(f"[{family}] {line}"))
        model_file.unlink()
        write_json(partial / layout.CARD_FILE, card)
        write_json(partial / layout.EXPORTS_FILE, summary)
    release_models()
    return summary


def export_model(model, model_file: Path, folder: Path, data: Dataset, log=print) -> dict[str, dict[str, Any]]:
    """Every format of ``model`` (saved as ``model_file``) in ``folder``, each verified in its runtime against
    the Keras file; a format that fails is recorded with its reason and the others go on."""
    reference = None
    formats: dict[str, dict[str, Any]] = {}
    for name, (filename, make) in FORMATS.items():
        target = folder / filename
        started = time.perf_counter()
        try:
            with quiet_stderr():  # converters print their own lines; the outcome is logged below
                make(model, model_file, target, data)
            seconds = time.perf_counter() - started
            found = verify(runtimes.load(target), target, data, reference)
        except Exception as exc:  # noqa: BLE001 - a converter may fail in many ways; the other formats go on
            if (fault := disk_full(exc, target)) is not None:
                raise fault from None  # the other formats would not fit either
            reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
            formats[name] = {"file": filename, "error": reason, "detail": traceback.format_exc(limit=3)[-2000:]}
            log(f"{name}: not produced ({reason})")
            continue
        if reference is None:
            reference = found.pop("probabilities")
        found.pop("probabilities", None)
        formats[name] = {"file": filename, "export_seconds": round(seconds, 2), **found}
        log(f"{name}: accuracy {found['accuracy']:.4f}, agreement {found['agreement']:.4%}, "
            f"{found['size_bytes'] / 1e6:.2f} MB, {found['latency_ms_batch1']:.3f} ms/image at batch 1")
    return formats


def tflite_float32(model, target: Path) -> None:
    """The LiteRT float32 file of ``model`` (no verification: the cost of a search's trial, ``cost.py``)."""
    _tflite_float32(model, None, target, None)


def tflite_int8(model, target: Path, data, calibration: int) -> None:
    """The LiteRT int8 file of ``model``, calibrated on ``calibration`` training images of ``data``."""
    _tflite_int8(model, None, target, data, calibration)


def inference_copy(trained, config: dict[str, Any], family: str, data):
    """The trained model rebuilt for inference: no augmentation layers, every layer in float32, same weights.

    Keras' random augmentation layers augment whenever they are called without ``training=False``, which a
    SavedModel's or ONNX file's serving function does: exported as trained, the SavedModel shifted and rotated
    test images (99.35 % agreement with Keras on full MNIST) and ONNX could not load the random ops at all. A CNN
    trained with mixed bfloat16 would export bf16 convolutions, which LiteRT runs only as TensorFlow ops.
    """
    from bakeoff.search.train.builders import build_model
    from bakeoff.search.train.settings import Speed

    clean = build_model({**config, "augment": False}, family, data.input_shape, data.num_classes, 1, speed=Speed())
    source = [layer for layer in trained.layers if layer.weights and not type(layer).__name__.startswith("Random")]
    target = [layer for layer in clean.layers if layer.weights]
    if len(source) != len(target):
        raise RuntimeError(f"cannot rebuild the {family} model for inference: {len(source)} layers with weights against {len(target)}")
    for old, new in zip(source, target):
        new.set_weights(old.get_weights())
    return clean


def verify(predict: runtimes.Predict, path: Path, data: Dataset, reference: np.ndarray | None) -> dict[str, Any]:
    """Run one exported file on the whole test split against the Keras model's probabilities (None: it is Keras)."""
    probabilities = np.concatenate([predict(data.x_test[i:i + BATCH]) for i in range(0, len(data.x_test), BATCH)])
    predictions = probabilities.argmax(axis=1)
    against = probabilities if reference is None else reference
    return {
        "accuracy": float((predictions == data.y_test).mean()),
        "agreement": float((predictions == against.argmax(axis=1)).mean()),
        "max_probability_difference": float(np.abs(probabilities - against).max()),
        "size_bytes": _size(path),
        **latency(predict, data.x_test),
        "probabilities": probabilities,
    }


def latency(predict: runtimes.Predict, x: np.ndarray, calls: dict[int, int] = LATENCY_CALLS, warmup: int = 1) -> dict[str, float]:
    """Median milliseconds per image at each batch size (timed ``calls[batch]`` times, after ``warmup`` calls)."""
    found = {}
    for batch, repeats in calls.items():
        sample = np.ascontiguousarray(x[:batch])
        for _ in range(warmup):
            predict(sample)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            predict(sample)
            times.append(time.perf_counter() - started)
        found[f"latency_ms_batch{batch}"] = round(1000 * float(np.median(times)) / len(sample), 5)
    return found


def model_card(family: str, source: dict[str, Any], seeds: list[dict[str, Any]], data: Dataset) -> dict[str, Any]:
    """What a user of the exported model needs: where it came from, how good it is, what input it expects."""
    from bakeoff.search.stats import spread

    scaling = data.info.get("scaling", {"offset": 0.0, "scale": 1.0})
    return {
        "family": family,
        "model": f"{layout.RETRAIN_DIR}/{family}/seed-{source['seed']}/{layout.MODEL_FILE}",
        "trial": source.get("trial"),
        "config": source.get("config"),
        "epochs": source.get("epochs"),
        "data": {"source": data.source, "sha256": data.sha256, "train_and_validation": int(len(data.y_train) + len(data.y_val)), "test": int(len(data.y_test))},
        "test_accuracy": {"this_model": source["test_accuracy"], "over_seeds": spread([s["test_accuracy"] for s in seeds])},
        "input": {
            "shape": list(data.input_shape),
            "dtype": "float32",
            "layout": "batch, height, width, channels",
            "scaling": {**scaling, "rule": "(pixel - offset) / scale, so the training images lie in [0, 1]"},
        },
        "output": "probabilities over the classes below, in that order",
        "classes": list(data.class_names),
    }


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
