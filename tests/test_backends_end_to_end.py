"""A whole run (search -> retrain -> export -> report) with Keras on JAX, in a fresh process: Keras fixes its
backend when first imported, and the tests' own process already runs TensorFlow. One trial per family (the seed
notebook's) and no analyses keep it short: the analyses only predict with the retrained model, which the
TensorFlow runs check, and the export here predicts with it on JAX."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import optuna
import pytest

from bakeoff.search.app.main import main

# Under pytest-xdist (the default), this file's tests run on one worker: they share a module fixture.
pytestmark = pytest.mark.xdist_group("backends_end_to_end")


def whole_run(backend: str, out, data) -> str:
    """``bakeoff run`` on ``backend`` in a fresh process; its standard output."""
    argv = [sys.executable, "-m", "bakeoff.search", "run", "--backend", backend, "--data", str(data), "--trials", "1",
            "--epochs", "1", "--seeds", "1", "--analyses", "none", "--out", str(out), "--study", "j"]
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def check_trained_and_recorded(out, stdout: str, backend: str) -> None:
    assert f"with Keras on {backend}" in stdout
    storage = f"sqlite:///{out}/study.db"
    for family in ("ann", "cnn"):
        study = optuna.load_study(study_name=f"j-{family}", storage=storage)
        assert study.user_attrs["backend"] == backend
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        ran = [t for t in study.trials if t.state != optuna.trial.TrialState.WAITING]  # with --trials 1 the recipe stays queued
        assert complete and all(t.user_attrs["backend"] == backend for t in ran)
        metrics = json.loads((out / "retrain" / family / "seed-0" / "metrics.json").read_text())
        assert 0.0 < metrics["test_accuracy"] <= 1.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["search"]["backend"] == backend and manifest["retrain"]["backend"] == backend
    html = (out / "report.html").read_text()
    assert f"search: {backend}, retrain: {backend}" in html and "CNN" in html


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory, small_npz):
    out = tmp_path_factory.mktemp("jax") / "run"
    return out, whole_run("jax", out, small_npz)


@pytest.mark.slow
def test_a_jax_run_trains_every_stage_on_jax_and_records_it(jax_run, capsys):
    out, stdout = jax_run
    check_trained_and_recorded(out, stdout, "jax")
    assert "jax" in json.loads((out / "manifest.json").read_text())["versions"]
    assert main(["status", "--out", str(out), "--study", "j"]) == 0
    assert capsys.readouterr().out.count("; Keras on jax") == 2


@pytest.mark.slow
def test_a_jax_run_exports_what_it_can_and_says_why_for_the_rest(jax_run):
    out, _ = jax_run
    for family in ("ann", "cnn"):
        formats = json.loads((out / "export" / family / "exports.json").read_text())["formats"]
        assert "error" not in formats["keras"] and formats["keras"]["agreement"] == 1.0
        for name, row in formats.items():
            assert "error" in row or row["agreement"] >= 0.99, (family, name, row)


@pytest.mark.slow
def test_resuming_a_jax_study_on_tensorflow_is_refused_and_changes_nothing(jax_run, small_npz, capsys):
    out, _ = jax_run
    database = out / "study.db"
    before = database.read_bytes()
    argv = ["search", "--backend", "tensorflow", "--data", str(small_npz), "--out", str(out), "--study", "j", "--trials", "3"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was searched with backend='jax', not 'tensorflow'" in err[0]
    assert database.read_bytes() == before


@pytest.mark.torch
def test_a_pytorch_run_trains_every_stage_on_pytorch_and_records_it(tmp_path, small_npz):
    """Deselected by default (``pytest -m torch`` runs it): PyPI has only PyTorch's CUDA build for Linux, several
    GB, so the test extra does not install it; the CPU build comes from PyTorch's own index."""
    out = tmp_path / "run"
    check_trained_and_recorded(out, whole_run("torch", out, small_npz), "torch")
