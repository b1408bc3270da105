"""User mistakes across every command: exit code 2, one line on stderr, no traceback, storage unchanged."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import optuna
import pytest

from bakeoff.search.app.main import main

from fakes import fake_study


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A run directory with real Optuna studies (built without training) and a set of bad input files."""
    root = tmp_path_factory.mktemp("bad")
    run = root / "run"
    run.mkdir()
    storage = f"sqlite:///{run}/study.db"
    for family in ("ann", "cnn"):
        fake_study(storage, "k", family, 5)
    from bakeoff.search.data import load_dataset

    digits = load_dataset("digits")  # a study of digits searched on JAX: resuming it on TensorFlow is refused
    for family in ("ann", "cnn"):
        study = fake_study(storage, "j", family, 3)
        for key, value in {"data_sha256": digits.sha256, "subset": None, "val_fraction": 0.1, "seed": 0, "engine": "optuna", "backend": "jax"}.items():
            study.set_user_attr(key, value)
    for family in ("ann", "cnn"):  # a multi-objective study (accuracy and latency)
        fake_study(storage, "m", family, 4, cost="latency")
    failed = optuna.create_study(storage=storage, study_name="failed-ann", direction="maximize")
    failed.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    files = root / "files"
    files.mkdir()
    rng = np.random.default_rng(0)
    good = {"x_train": rng.integers(0, 255, (100, 28, 28), dtype=np.uint8), "y_train": np.arange(100) % 10,
            "x_test": rng.integers(0, 255, (20, 28, 28), dtype=np.uint8), "y_test": np.arange(20) % 10}
    variants = {
        "nokey": {k: v for k, v in good.items() if k != "y_test"},
        "shape": {**good, "x_train": good["x_train"].reshape(100, 784)},
        "nan": {**good, "x_train": np.where(np.arange(784).reshape(28, 28) == 0, np.nan, good["x_train"].astype(np.float32))},
        "floatlabels": {**good, "y_train": good["y_train"].astype(np.float32)},
        "oneclass": {**good, "y_train": np.zeros(100, np.int64), "y_test": np.zeros(20, np.int64)},
        "lengths": {**good, "y_train": good["y_train"][:50]},
    }
    for name, arrays in variants.items():
        np.savez(files / f"{name}.npz", **arrays)
    (files / "junk.npz").write_text("this is not a zip archive")
    _bad_image_data(files, rng)
    (files / "syntax.toml").write_text("[cnn\nconv_blocks = 2")
    (files / "unknown.toml").write_text("[cnn]\nwidth = 3")
    (files / "lowhigh.toml").write_text("[ann]\nhidden_layers = {low = 4, high = 1}")
    (files / "empty.toml").write_text("[ann]\nactivation = []")
    (files / "section.toml").write_text("[rnn]\nlayers = 2")
    (files / "a-file").write_text("not a directory")
    (root / "empty-run").mkdir()
    _damaged_files(root, run, files)
    return root


def _damaged_files(root: Path, run: Path, files: Path) -> None:
    """Files bakeoff reads back, damaged or written by something else (issue 28): a study, a prepared split, a
    model, a manifest and a results file."""
    (files / "notadb.db").write_bytes(b"SQLite format 2\0" + bytes(range(256)) * 8)
    for name, meta in {"prepared-junk": "{not json", "prepared-foreign": '{"hello": "world"}'}.items():
        (files / name).mkdir()
        (files / name / "prepared.json").write_text(meta)
    split = {"subset": None, "val_fraction": 0.1, "seed": 0}
    (files / "prepared-npy").mkdir()
    (files / "prepared-npy" / "prepared.json").write_text(json.dumps(
        {"split": split, "source": "x", "class_names": None, "sha256": "0", "info": {}}))
    (files / "prepared-npy" / "x_train.npy").write_bytes(b"\x93NUMPY garbage")
    (files / "model").mkdir()
    card = {"input": {"shape": [28, 28, 1], "scaling": {"offset": 0, "scale": 255}}, "classes": list("0123456789")}
    (files / "model" / "card.json").write_text(json.dumps(card))
    for name in ("model.keras", "model.tflite", "model.onnx"):
        (files / "model" / name).write_bytes(b"PK\3\4 not really a model")
    from PIL import Image

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(files / "digit.png")
    for name, relative in {"manifest": "manifest.json", "metrics": "retrain/ann/seed-0/metrics.json"}.items():
        damaged = root / f"damaged-{name}"
        (damaged / relative).parent.mkdir(parents=True)
        shutil.copy(run / "study.db", damaged / "study.db")
        (damaged / relative).write_text('{"test_accuracy": 0.99, "epo')  # cut off mid-write by someone else


CASES = [
    (["search", "--data", "{files}/missing.npz"], "neither a file nor a directory"),
    (["search", "--data", "{files}/junk.npz"], "not a readable .npz"),
    (["search", "--data", "{files}/nokey.npz"], "lacks y_test"),
    (["search", "--data", "{files}/shape.npz"], "(N, H, W)"),
    (["search", "--data", "{files}/nan.npz"], "NaN"),
    (["search", "--data", "{files}/floatlabels.npz"], "labels must be integers"),
    (["search", "--data", "{files}/oneclass.npz"], "at least 2 are needed"),
    (["search", "--data", "{files}/lengths.npz"], "100 images but y_train has 50"),
    (["search", "--data", "{files}/emptydir"], "is empty; --data takes a folder of class folders"),
    (["search", "--data", "{files}/oneclass"], "holds one class folder (a); at least 2 classes"),
    (["search", "--data", "{files}/few"], "too few images for the splits (at least 3 a class): b (1)"),
    (["search", "--data", "{files}/truncated"], "1 image file(s) are truncated or corrupt: "),
    (["search", "--data", "{files}/notimage"], "1 image file(s) cannot be read: "),
    (["search", "--data", "{files}/floats"], "1 image file(s) decode to 32-bit integer or floating-point pixels"),
    (["search", "--data", "{files}/lab", "--channels", "1"], "1 image file(s) cannot be converted to grayscale: "),
    (["search", "--data", "{files}/pixels.csv"], "line 3 has pixels that are not numbers"),
    (["search", "--data", "{files}/ragged.csv"], "line 4 has 16 columns, the others 17"),
    (["search", "--data", "{files}/decimal.csv"], "labels must be whole numbers or names"),
    (["search", "--data", "{files}/nonsquare.csv"], "10 pixel columns are not a square image"),
    (["search", "--data", "{files}/few.csv"], "too few images for the splits"),
    (["search", "--data", "digits", "--image-size", "7"], "is not HEIGHTxWIDTH"),
    (["search", "--data", "digits", "--channels", "2"], "argument --channels: invalid choice: 2"),
    (["search", "--data", "digits", "--storage", "mysql://user@localhost/db"], "not supported"),
    (["search", "--data", "digits", "--storage", "postgresql://user@127.0.0.1:1/db"], "cannot open storage"),
    (["search", "--data", "digits", "--storage", "results.txt"], "is not a URL"),
    (["search", "--data", "digits", "--study", ""], "not a usable study name"),
    (["search", "--data", "digits", "--timeout", "8x"], "not understood"),
    (["run", "--data", "digits", "--timeout", "0s"], "must be positive"),
    (["search", "--data", "digits", "--trials", "0"], "must be at least 1"),
    (["search", "--data", "digits", "--epochs", "-1"], "must be at least 1"),
    (["search", "--data", "digits", "--workers", "0"], "must be at least 1"),
    (["search", "--data", "digits", "--val-fraction", "1.5"], "fraction between 0 and 0.9"),
    (["search", "--data", "digits", "--subset", "5"], "too small"),
    (["search", "--data", "digits", "--family", "rnn"], "invalid choice"),
    (["search", "--data", "digits", "--sampler", "bayes"], "argument --sampler: invalid choice: 'bayes'"),
    (["search", "--data", "digits", "--pruner", "asha"], "argument --pruner: invalid choice: 'asha'"),
    (["search", "--data", "digits", "--engine", "kerastuner", "--timeout", "1m", "--pruner", "none"], "--engine kerastuner runs Hyperband"),
    (["search", "--data", "digits", "--engine", "kerastuner", "--timeout", "1m", "--backend", "jax"], "runs on the tensorflow backend only, not jax"),
    (["search", "--data", "digits", "--backend", "theano"], "argument --backend: invalid choice: 'theano'"),
    (["search", "--data", "digits", "--study", "j", "--backend", "tensorflow"], "was searched with backend='jax', not 'tensorflow'"),
    (["search", "--data", "digits", "--workers", "many"], "'many' is not a whole number"),
    (["search", "--data", "digits", "--space", "{files}/syntax.toml"], "not valid TOML"),
    (["search", "--data", "digits", "--space", "{files}/unknown.toml"], "unknown parameter 'width'"),
    (["search", "--data", "digits", "--space", "{files}/lowhigh.toml"], "above high"),
    (["search", "--data", "digits", "--space", "{files}/empty.toml"], "choices are empty"),
    (["search", "--data", "digits", "--space", "{files}/section.toml"], "unknown section [rnn]"),
    (["search", "--data", "digits", "--space", "{files}/nowhere.toml"], "does not exist"),
    (["search", "--data", "digits", "--out", "{files}/a-file/run"], "cannot write"),
    (["search", "--data", "digits", "--storage", "sqlite:///{run}/study.db"], "was searched with data_sha256"),
    (["search", "--data", "digits", "--objective", "accuracy,speed"], "--objective 'accuracy,speed' is not one of accuracy, accuracy,latency, accuracy,size"),
    (["run", "--data", "digits", "--max-latency", "5"], "--max-latency '5' is not understood; write a number and a unit"),
    (["run", "--data", "digits", "--max-size", "0MB"], "--max-size '0MB' must be positive"),
    (["run", "--data", "digits", "--max-latency", "1ms"], "--max-latency needs each trial's latency measured, and this run searches accuracy:"),
    (["run", "--data", "digits", "--objective", "accuracy,size", "--max-latency", "1ms"], "and this run searches accuracy,size"),
    (["search", "--data", "digits", "--pruner", "front"], "--pruner front judges a trial against cheaper ones"),
    (["search", "--data", "digits", "--objective", "accuracy,latency", "--pruner", "median"], "--pruner median judges accuracy alone"),
    (["search", "--data", "digits", "--objective", "accuracy,latency", "--engine", "kerastuner", "--timeout", "1m"], "needs Optuna's engine"),
    (["search", "--data", "digits", "--objective", "accuracy,size", "--backend", "jax"], "which Keras exports from the tensorflow or torch backend, not jax"),
    (["search", "--data", "digits", "--objective", "accuracy,latency"],
     "study 'k-ann' was searched for accuracy alone, not accuracy and latency: re-run with --objective accuracy, or start a new --study"),
    (["search", "--data", "digits", "--study", "m"],
     "study 'm-ann' was searched for accuracy and latency, not accuracy alone: re-run with --objective accuracy,latency"),
    (["search", "--data", "digits", "--study", "m", "--objective", "accuracy,size"], "was searched for accuracy and latency, not accuracy and size"),
    (["retrain", "--max-latency", "1ms"], "--max-latency needs each trial's latency measured, and study 'k-ann' searches accuracy"),
    (["retrain", "--study", "m", "--max-size", "1MB"], "--max-size needs each trial's size measured, and study 'm-ann' searches accuracy,latency"),
    (["retrain", "--study", "nope"], "no study named 'nope'"),
    (["retrain", "--seeds", "0"], "must be at least 1"),
    (["retrain"], "neither a file nor a directory"),  # the fake study's data is gone
    (["retrain", "--study", "failed"], "nothing to retrain"),
    (["retrain", "--out", "{root}/empty-run"], "no study storage at"),
    (["analyse"], "has no retrained models yet; run 'bakeoff retrain' first"),
    (["analyse", "--analyses", "all"], "argument --analyses: invalid choice: 'all'"),
    (["report", "--study", "nope"], "no study named 'nope'"),
    (["report", "--output", "{files}/a-file/report.html"], "cannot write"),
    (["status", "--study", "nope"], "studies here: failed, j, k, m"),
    (["spaces", "show", "cnn", "--space", "{files}/syntax.toml"], "not valid TOML"),
    (["frobnicate"], "invalid choice"),
    (["status", "--storage", "{files}/notadb.db"], "cannot open storage"),
    (["search", "--data", "{files}/prepared-junk"], "prepared.json is not a JSON file bakeoff wrote"),
    (["search", "--data", "{files}/prepared-foreign"], "prepared.json is not a prepared split bakeoff wrote"),
    (["search", "--data", "{files}/prepared-npy"], "x_train.npy is unreadable"),
    (["predict", "--model", "{files}/model/model.keras", "{files}/digit.png"], "model.keras cannot be loaded"),
    (["predict", "--model", "{files}/model/model.tflite", "{files}/digit.png"], "model.tflite cannot be loaded"),
    (["predict", "--model", "{files}/model/model.onnx", "{files}/digit.png"], "model.onnx cannot be loaded"),
    (["report", "--out", "{root}/damaged-manifest", "--study", "k"], "manifest.json is not a JSON file bakeoff wrote"),
    (["report", "--out", "{root}/damaged-metrics", "--study", "k"], "metrics.json is not a JSON file bakeoff wrote"),
]


def _bad_image_data(files: Path, rng) -> None:
    """Class folders and CSV files with one mistake each."""
    from PIL import Image

    def picture(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(path)

    (files / "emptydir").mkdir()
    for i in range(4):
        picture(files / "oneclass" / "a" / f"{i}.png")
        picture(files / "few" / "a" / f"{i}.png")
        for name in ("truncated", "notimage"):
            for label in ("a", "b"):
                picture(files / name / label / f"{i}.png")
    picture(files / "few" / "b" / "0.png")
    whole = (files / "truncated" / "b" / "3.png").read_bytes()
    (files / "truncated" / "b" / "3.png").write_bytes(whole[: len(whole) // 2])
    (files / "notimage" / "a" / "2.png").write_text("not a picture")
    for name in ("floats", "lab"):  # pixels of no fixed range; a colour space Pillow cannot turn into gray
        shutil.copytree(files / "few", files / name, dirs_exist_ok=True)
        picture(files / name / "b" / "1.png")
        picture(files / name / "b" / "2.png")
    Image.fromarray(rng.random((8, 8), dtype=np.float32)).save(files / "floats" / "b" / "3.tif")
    Image.new("LAB", (8, 8)).save(files / "lab" / "b" / "3.tif")
    rows = [["label", *(f"p{i}" for i in range(16))]] + [[str(i % 2), *map(str, range(16))] for i in range(8)]
    with_text = [list(r) for r in rows]
    with_text[2][5] = "dark"
    ragged = [list(r) for r in rows]
    ragged[3] = ragged[3][:-1]
    decimal = [rows[0]] + [["0.5", *r[1:]] for r in rows[1:]]
    nonsquare = [["label", *(f"p{i}" for i in range(10))]] + [[str(i % 2), *map(str, range(10))] for i in range(8)]
    few = rows[:4]
    for name, table in {"pixels": with_text, "ragged": ragged, "decimal": decimal, "nonsquare": nonsquare, "few": few}.items():
        (files / f"{name}.csv").write_text("\n".join(",".join(r) for r in table) + "\n")


def _fill(argv, root):
    values = {"root": root, "files": root / "files", "run": root / "run"}
    return [a.format(**values) for a in argv]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("argv, fragment", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_user_mistake_is_one_line_exit_2_and_changes_nothing(template, tmp_path, capsys, argv, fragment):
    root = tmp_path / "copy"
    shutil.copytree(template, root)
    before = {path: _digest(path) for path in root.rglob("*") if path.is_file()}
    listing = sorted(p.relative_to(root) for p in root.rglob("*"))
    argv = _fill(argv, root)
    if argv[0] in ("search", "run", "retrain", "analyse", "report", "status") and "--out" not in argv:
        argv += ["--out", str(root / "run"), *(["--study", "k"] if "--study" not in argv else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert fragment in lines[0] and lines[0].startswith("bakeoff: error: ")
    assert "Traceback" not in err
    assert {path: _digest(path) for path in before} == before  # the study, and every damaged file, unchanged
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == listing  # nothing new written either


def test_there_are_at_least_25_mistakes():
    assert len(CASES) >= 25


@pytest.mark.parametrize(("missing", "option", "message"), [
    ("torch", ["--sampler", "gp"], '--sampler gp needs PyTorch: pip install "bakeoff[gp]"'),  # this machine may have it; a user's may not
    ("ai_edge_litert", ["--objective", "accuracy,latency"],  # the README's install has no export extra
     '--objective accuracy,latency needs the LiteRT interpreter: pip install "bakeoff[export]"'),
])
def test_an_option_whose_optional_package_is_missing_is_one_line(template, capsys, monkeypatch, missing, option, message):
    import builtins

    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name == missing or name.startswith(missing + "."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    assert main(["search", "--data", "digits", *option, "--out", str(template / "optional-run")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"bakeoff: error: {message}"]
    assert not (template / "optional-run").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--warm-start", "nowhere", "--trials", "1"], "bakeoff: error: no study named 'nowhere' to warm-start from"),
    (["--warm-start", "explore", "--seed", "1", "--trials", "1"], "bakeoff: error: cannot warm-start from 'explore-ann': it was searched with seed=0, this search with 1"),
    (["--warm-start", "explore", "--engine", "kerastuner", "--timeout", "1m"], "bakeoff: error: --sampler, --pruner and --warm-start are for Optuna's engine"),
    (["--warm-start", "explore", "--objective", "accuracy,latency", "--pruner", "none", "--trials", "1"],  # explore's space is off the ladder
     "bakeoff: error: cannot warm-start from 'explore-ann': it was searched for accuracy alone, this search for accuracy and latency"),
])
def test_a_bad_warm_start_is_one_line_exit_2_and_changes_nothing(tmp_path, capsys, extra, message):
    from optuna.trial import create_trial

    from bakeoff.search.data import load_dataset
    from bakeoff.search.engine import studies
    from bakeoff.search.engine.storage import open_storage
    from bakeoff.spaces import DEFAULT_SPACES

    out = tmp_path / "run"
    out.mkdir()
    storage = open_storage(f"sqlite:///{out}/study.db", create=True)
    data = load_dataset("digits")
    identity = {"data_source": "digits", "data_sha256": data.sha256, "subset": None, "val_fraction": 0.1, "seed": 0, "engine": "optuna",
                "backend": "tensorflow", "val_size": len(data.y_val)}
    explore = studies.open_study(storage, "explore", "ann", DEFAULT_SPACES["ann"], identity, seed=0, starts=False)
    explore.add_trial(create_trial(state=optuna.trial.TrialState.COMPLETE, value=0.9, params={}, distributions={}))
    before = (out / "study.db").read_bytes()
    code = main(["search", "--data", "digits", "--family", "ann", "--out", str(out), "--study", "night", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(message), err
    assert (out / "study.db").read_bytes() == before  # nothing stored changed


@pytest.mark.parametrize(("name", "value", "must"), [
    ("BAKEOFF_FIRST_RUNG_PARTS", "1/16", "a whole number of at least 0"), ("BAKEOFF_LADDER_FACTOR", "1", "a whole number of at least 2"),
    ("BAKEOFF_TPE_STARTUP", "-3", "a whole number of at least 0"), ("BAKEOFF_STEPS_PER_EXECUTION", "0", "a whole number of at least 1"),
    ("BAKEOFF_XLA", "yes", "one of 0, 1"), ("BAKEOFF_BF16", "off", "one of 0, 1"),
    ("BAKEOFF_RECYCLE_MB", "lots", "a number of at least 1"), ("BAKEOFF_STORAGE_PATIENCE", "nan", "a number of at least 0")])
def test_a_bad_developer_setting_is_one_line_exit_2_before_anything_is_written(tmp_path, capsys, monkeypatch, name, value, must):
    monkeypatch.setenv(name, value)
    out = tmp_path / "run"
    assert main(["search", "--data", "digits", "--trials", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"bakeoff: error: {name}={value!r} must be {must}"), err
    assert not out.exists()


def test_retrain_checks_the_developer_settings_first(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BAKEOFF_STEPS_PER_EXECUTION", "many")
    out = tmp_path / "run"
    assert main(["retrain", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bakeoff: error: BAKEOFF_STEPS_PER_EXECUTION='many' must be a whole number of at least 1"), err
    assert not out.exists()
