"""Import Keras (and its TensorFlow backend) once, quietly, only where training needs it.

TensorFlow writes start-up lines (oneDNN, CPU features) straight to file descriptor 2 when it loads, and
whether ``TF_CPP_MIN_LOG_LEVEL`` silences them depends on what was imported before. A user error must stay
one line on stderr, so the import runs with fd 2 pointed at a temporary file, replayed only on failure.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType

_keras: ModuleType | None = None


def import_keras() -> ModuleType:
    global _keras
    if _keras is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _keras = _import_silently()
    return _keras


def _import_silently() -> ModuleType:
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return keras
