"""Shared fixtures: the real MNIST file from ../shared/data and small real subsets of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smalldata import write_small_mnist

ROOT = Path(__file__).resolve().parents[1]


def _mnist_path() -> Path | None:
    candidates = [os.environ.get("BAKEOFF_TEST_MNIST"), ROOT.parent / "shared" / "data" / "mnist.npz"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = _mnist_path()
    if path is None:
        pytest.skip("real MNIST not found: set BAKEOFF_TEST_MNIST or put it in ../shared/data/mnist.npz")
    return path


@pytest.fixture(scope="session")
def small_npz(tmp_path_factory, mnist_path) -> Path:
    """A few hundred real MNIST images in the Keras layout: fast enough for real training in tests."""
    return write_small_mnist(mnist_path, tmp_path_factory.mktemp("data") / "small.npz")


@pytest.fixture(autouse=True)
def _no_ambient_data(monkeypatch):
    """Tests say which data they use; a developer's BAKEOFF_DATA must not leak in."""
    monkeypatch.delenv("BAKEOFF_DATA", raising=False)
