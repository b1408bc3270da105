"""The split prepared once by the search parent: written whole or not at all, memory-mapped by workers and by
the later stages, and opened only with the split options it was made with."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bakeoff.search.app.main import main
from bakeoff.search.data import load_dataset
from bakeoff.search.data.prepared import ARRAYS, MARKER, folder_for, is_prepared, split_options, write_prepared
from bakeoff.search.errors import UserError

# Under pytest-xdist (the default), this file's tests run on one worker: they share a module fixture.
pytestmark = pytest.mark.xdist_group("prepared")


def test_a_prepared_split_reads_back_equal_and_memory_mapped(small_npz, tmp_path):
    options = split_options(500, 0.2, 3)
    data = load_dataset(str(small_npz), **options)
    folder = write_prepared(tmp_path, data, options)
    assert folder == folder_for(tmp_path, data.sha256, options) and is_prepared(folder)
    again = load_dataset(str(folder), **options)
    for name in ARRAYS:
        assert isinstance(getattr(again, name), np.memmap) and np.array_equal(getattr(again, name), getattr(data, name))
    assert (again.source, again.sha256, again.class_names, again.info) == (data.source, data.sha256, data.class_names, data.info)
    assert write_prepared(tmp_path, data, options) == folder  # written once


def test_a_prepared_split_opened_with_other_split_options_is_refused(small_npz, tmp_path):
    options = split_options(None, 0.1, 0)
    folder = write_prepared(tmp_path, load_dataset(str(small_npz), **options), options)
    with pytest.raises(UserError, match="prepared with .*'seed': 0.*not .*'seed': 1"):
        load_dataset(str(folder), **split_options(None, 0.1, 1))


def test_a_half_written_folder_is_not_a_prepared_split(small_npz, tmp_path):
    options = split_options(None, 0.1, 0)
    folder = write_prepared(tmp_path, load_dataset(str(small_npz), **options), options)
    (folder / MARKER).unlink()  # what a kill before the rename would leave, were it not built aside
    assert not is_prepared(folder)


@pytest.fixture(scope="module")
def searched(small_npz, tmp_path_factory):
    """One real search parent in a fresh process, on a copy of the data; its output folder and what it reported."""
    import subprocess
    import sys

    source = tmp_path_factory.mktemp("prepared") / "mine.npz"
    shutil.copy(small_npz, source)
    out = source.parent / "run"
    argv = ["search", "--data", str(source), "--family", "ann", "--trials", "1", "--epochs", "1", "--out", str(out), "--study", "p"]
    probe = (f"import sys\nfrom bakeoff.search.app.main import main\ncode = main({argv!r})\n"
             "print('PARENT', code, *[name in sys.modules for name in ('keras', 'tensorflow', 'jax', 'torch')])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return source, out, done.stdout + done.stderr


@pytest.mark.slow
def test_the_search_parent_loads_no_training_backend(searched):
    """The parent validates the data and runs the workers; only the workers import Keras and its backend."""
    _, _, printed = searched
    assert printed.rsplit("PARENT ", 1)[1].split()[:5] == ["0", "False", "False", "False", "False"], printed


@pytest.mark.slow
def test_retraining_reads_the_runs_prepared_split_when_the_source_is_gone(searched):
    source, out, _ = searched
    assert len(list((out / "prepared").iterdir())) == 1
    source.unlink(missing_ok=True)  # retraining must not need it: the split it was searched on is in the run directory
    assert main(["retrain", "--out", str(out), "--study", "p", "--seeds", "1"]) == 0
    assert (out / "retrain" / "ann" / "seed-0" / "metrics.json").is_file()
