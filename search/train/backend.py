"""Which Keras backend trains (TensorFlow, JAX or PyTorch), and importing Keras once, quietly, only where training
needs it.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so the choice is made before that import and
passed to worker processes through the same variable. The default is TensorFlow where installed (on CPUs it
trains these convnets 4-5x faster than JAX, bench/backends.py), else JAX, else PyTorch; a ``KERAS_BACKEND`` the
user set is respected.

TensorFlow writes start-up lines (oneDNN, CPU features) straight to file descriptor 2 when it loads, and
whether ``TF_CPP_MIN_LOG_LEVEL`` silences them depends on what was imported before. A user error must stay
one line on stderr, so the import runs with fd 2 pointed at a temporary file, replayed only on failure.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from functools import lru_cache
from types import ModuleType
from typing import Iterator

from bakeoff.search.errors import UserError

BACKENDS = ("tensorflow", "jax", "torch")
#: What ``pip`` installs for each backend on a CPU (README "Backends" has the GPU variants).
_INSTALL = {"tensorflow": 'pip install "bakeoff[cpu]"', "jax": 'pip install "bakeoff[jax]"', "torch": 'pip install "bakeoff[torch]"'}

_keras: ModuleType | None = None


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def default_backend() -> str:
    """``KERAS_BACKEND`` if set, else the first installed of TensorFlow, JAX, PyTorch (TensorFlow if none is)."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    return next((name for name in BACKENDS if installed(name)), "tensorflow")


def choose_backend(requested: str | None) -> str:
    """Fix the backend for this process (and its workers) before Keras loads; a backend that is not installed,
    or a second choice after Keras loaded with another, is a one-line user error."""
    name = requested or default_backend()
    if name not in BACKENDS:
        raise UserError(f"KERAS_BACKEND={name!r} is not a backend bakeoff trains with; use one of {', '.join(BACKENDS)}")
    if not installed(name):
        raise UserError(f"the {name} backend is not installed; {_INSTALL[name]}, or choose another --backend")
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != name:
        raise UserError(f"Keras is already loaded with the {loaded.backend.backend()} backend in this process, not {name}")
    os.environ["KERAS_BACKEND"] = name
    return name


def import_keras() -> ModuleType:
    global _keras
    if _keras is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _keras = _import_silently()
    return _keras


def _import_silently() -> ModuleType:
    with quiet_stderr(replay_on_error=True):
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
    return keras


@contextmanager
def quiet_stderr(replay_on_error: bool = False) -> Iterator[None]:
    """Keep third-party chatter off the console: the C++ runtimes' lines on file descriptor 2 (TensorFlow's
    start-up, the LiteRT converter's "fully_quantize: ..."), Python warnings and library loggers (tf2onnx's
    ERROR lines). bakeoff prints its own one line about what happened; with ``replay_on_error`` the hidden text
    is shown when the block fails, for a traceback that needs it."""
    sys.stderr.flush()
    saved = os.dup(2)
    previous = logging.root.manager.disable
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            if replay_on_error:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            logging.disable(previous)


@lru_cache(maxsize=1)
def gpu_name() -> str | None:
    """The GPU Keras' backend computes on in this process, as the backend names it (the key of measured
    choices), or None on the CPU. Asked of the backend itself: a machine with a GPU may still train on its CPU,
    e.g. with tensorflow-cpu."""
    name = import_keras().backend.backend()
    if name == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else None
    if name == "jax":
        import jax

        return jax.devices()[0].device_kind if jax.default_backend() == "gpu" else None
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else None


def trains_on_gpu() -> bool:
    """Whether this process's Keras backend computes on a GPU (the speed settings differ there)."""
    return gpu_name() is not None
