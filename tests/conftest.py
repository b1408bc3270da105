"""Shared fixtures: a small real MNIST subset shipped with the tests, and CI's rule that nothing may skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postgres import local_server, postgres_url

SMALL_MNIST = Path(__file__).resolve().parent / "data" / "mnist_small.npz"


@pytest.fixture(scope="session")
def small_npz() -> Path:
    """600 training and 200 test images of the real MNIST in the Keras layout (see tests/data/README.md)."""
    return SMALL_MNIST


def _needed(found, missing: str):
    if found is None:
        pytest.skip(missing)
    return found


@pytest.fixture(scope="module")
def postgres():
    """The URL of a PostgreSQL server: BAKEOFF_TEST_POSTGRES_URL's, or a throw-away one on 127.0.0.1."""
    with postgres_url() as url:
        yield _needed(url, "no PostgreSQL: install Debian's postgresql or set BAKEOFF_TEST_POSTGRES_URL")


@pytest.fixture(scope="module")
def postgres_server():
    """A throw-away PostgreSQL server on 127.0.0.1 that the tests may stop and start."""
    with local_server() as server:
        yield _needed(server, "no PostgreSQL binaries: install Debian's postgresql")


@pytest.fixture(autouse=True)
def _no_ambient_data(monkeypatch):
    """Tests say which data they use; a developer's BAKEOFF_DATA must not leak in."""
    monkeypatch.delenv("BAKEOFF_DATA", raising=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (``CI`` set, as ``.ci/run`` runs), a test that skips for a missing service or file fails:
    a green run must mean every test ran."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped under CI, where every test must run: {reason}"
