"""Choosing the Keras backend before Keras loads: the default order, KERAS_BACKEND, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bakeoff.search.errors import UserError
from bakeoff.search.train import backend


def test_keras_backend_variable_is_respected(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backend.default_backend() == "jax"


def test_default_is_the_first_installed_of_tensorflow_jax_torch(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(backend, "installed", lambda name: name in {"jax", "torch"})
    assert backend.default_backend() == "jax"
    monkeypatch.setattr(backend, "installed", lambda name: name == "torch")
    assert backend.default_backend() == "torch"
    monkeypatch.setattr(backend, "installed", lambda name: True)
    assert backend.default_backend() == "tensorflow"


def test_a_backend_that_is_not_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(backend, "installed", lambda name: name != "torch")
    with pytest.raises(UserError, match=r'the torch backend is not installed; pip install "bakeoff\[torch\]"'):
        backend.choose_backend("torch")


def test_an_unknown_keras_backend_variable_is_refused(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    with pytest.raises(UserError, match="KERAS_BACKEND='theano' is not a backend bakeoff trains with"):
        backend.choose_backend(None)


def test_choosing_sets_the_variable_keras_reads_before_it_loads():
    probe = ("import os, sys\nfrom bakeoff.search.train.backend import choose_backend, import_keras\n"
             "assert 'keras' not in sys.modules\nchoose_backend('jax')\n"
             "print(os.environ['KERAS_BACKEND'], import_keras().backend.backend(), 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={k: v for k, v in __import__("os").environ.items() if k != "KERAS_BACKEND"})
    assert done.stdout.split() == ["jax", "jax", "False"]  # JAX trains, and TensorFlow is never loaded


def test_a_second_choice_after_keras_loaded_is_refused():
    probe = ("from bakeoff.search.train.backend import choose_backend, import_keras\nchoose_backend('jax')\nimport_keras()\n"
             "from bakeoff.search.errors import UserError\ntry:\n    choose_backend('tensorflow')\nexcept UserError as e:\n    print(e)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "already loaded with the jax backend in this process, not tensorflow" in done.stdout
