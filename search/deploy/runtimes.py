"""Load a model file in the runtime made for it and return a predict function: images in, probabilities out.

One loader per format, chosen by the file name: ``.keras`` (Keras), a SavedModel folder (TensorFlow),
``.tflite`` (the LiteRT interpreter), ``.onnx`` (ONNX Runtime). Only the Keras and SavedModel loaders import
TensorFlow, so ``bakeoff predict`` on a LiteRT or ONNX file starts without it. Export verification and
``bakeoff predict`` share these loaders, so what was verified is what predicts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from bakeoff.search.errors import UserError, first_line
from bakeoff.search.train.backend import quiet_stderr

Predict = Callable[[np.ndarray], np.ndarray]
#: What each optional runtime is installed by.
EXTRA = 'pip install "bakeoff[export]"'


def format_of(path: Path) -> str:
    if path.is_dir() and (path / "saved_model.pb").exists():
        return "saved_model"
    formats = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx"}
    if path.suffix in formats and path.is_file():
        return formats[path.suffix]
    raise UserError(f"{path} is not a model bakeoff can load: a .keras, .tflite or .onnx file, or a SavedModel folder")


def load(path: Path) -> Predict:
    """A predict function for the model at ``path`` (float32 images, batch first, in the model's input shape)."""
    return {"keras": _keras, "saved_model": _saved_model, "tflite": _tflite, "onnx": _onnx}[format_of(path)](path)


def load_given(path: Path, loader: Callable[[Path], object] = load):
    """``loader(path)`` for a model file bakeoff did not just write: a damaged or foreign file, which no runtime
    reads, is one line naming it rather than a runtime's traceback."""
    try:
        return loader(path)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - each runtime fails on a bad file in its own way
        raise UserError(f"{path} cannot be loaded ({first_line(exc)}): it is damaged or not a model bakeoff wrote") from None


def _keras(path: Path) -> Predict:
    from bakeoff.search.train.backend import import_keras

    model = import_keras().models.load_model(path, compile=False)
    return lambda x: np.asarray(model.predict_on_batch(x))


def _saved_model(path: Path) -> Predict:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return lambda x: loaded.serve(tf.constant(x)).numpy()


def require_litert(why: str) -> None:
    """One line naming the extra when the LiteRT interpreter is not installed."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        raise UserError(f"{why} needs the LiteRT interpreter: {EXTRA}") from None


def _tflite(path: Path, threads: int | None = None) -> Predict:
    """``threads``: the interpreter's thread count (default: every core; a cost measurement fixes it)."""
    require_litert(path.name)
    from ai_edge_litert.interpreter import Interpreter

    with quiet_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = Interpreter(model_path=str(path), num_threads=threads or os.cpu_count())
        interpreter.allocate_tensors()
    given, taken = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    if given["dtype"] != np.float32 or taken["dtype"] != np.float32:
        raise UserError(f"{path.name} has {given['dtype'].__name__} input or output; bakeoff's exports (and predict) use float32")

    def predict(x: np.ndarray) -> np.ndarray:
        if tuple(interpreter.get_input_details()[0]["shape"]) != x.shape:  # batch size changes: re-plan once
            interpreter.resize_tensor_input(given["index"], x.shape)
            with quiet_stderr():
                interpreter.allocate_tensors()
        interpreter.set_tensor(given["index"], x.astype(np.float32, copy=False))
        interpreter.invoke()
        return interpreter.get_tensor(taken["index"]).copy()

    return predict


def tflite(path: Path, threads: int) -> Predict:
    """A LiteRT file's predict function on a fixed number of threads (latency measured the same way everywhere)."""
    return _tflite(path, threads)


def _onnx(path: Path) -> Predict:
    try:
        import onnxruntime
    except ImportError:
        raise UserError(f"{path.name} needs ONNX Runtime: {EXTRA}") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.astype(np.float32, copy=False)})[0]
