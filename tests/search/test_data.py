import gzip
import struct

import numpy as np
import pytest

from bakeoff.search.data import load_dataset
from bakeoff.search.data.formats import read_idx
from bakeoff.search.errors import UserError


def _write_idx(path, array, compress=False):
    codes = {np.dtype("uint8"): 0x08, np.dtype("float32"): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    blob = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    (gzip.open if compress else open)(path, "wb").write(blob)


def _arrays(n_train=200, n_test=50, shape=(28, 28), classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % classes,
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % classes,
    }


def test_real_mnist_npz_is_scaled_split_and_stratified(small_npz):
    data = load_dataset(str(small_npz), subset=500, seed=3)
    assert data.x_train.dtype == np.float32 and data.x_train.shape[1:] == (28, 28, 1)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert len(data.y_train) + len(data.y_val) == 500 and len(data.y_val) == 50
    assert len(data.y_test) == 200  # the test split is never subset or touched by the split
    assert np.bincount(data.y_val, minlength=10).tolist() == [5] * 10  # stratified
    again = load_dataset(str(small_npz), subset=500, seed=3)
    assert np.array_equal(again.y_val, data.y_val) and again.sha256 == data.sha256


def test_idx_folder_plain_and_gzip(tmp_path):
    arrays = _arrays()
    names = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for i, (key, name) in enumerate(names.items()):
        gz = i % 2 == 0
        _write_idx(tmp_path / (name + (".gz" if gz else "")), arrays[key], compress=gz)
    data = load_dataset(str(tmp_path))
    assert data.input_shape == (28, 28, 1) and data.num_classes == 10
    assert len(data.y_train) + len(data.y_val) == 200
    assert np.array_equal(read_idx(tmp_path / "t10k-labels-idx1-ubyte"), arrays["y_test"])


def test_digits_is_offline_and_small():
    data = load_dataset("digits")
    assert data.input_shape == (8, 8, 1) and data.num_classes == 10 and len(data.y_test) == 360


def test_non_contiguous_labels_are_encoded(tmp_path):
    arrays = _arrays(classes=3)
    arrays["y_train"] = arrays["y_train"] * 10 + 5
    arrays["y_test"] = arrays["y_test"] * 10 + 5
    np.savez(tmp_path / "d.npz", **arrays)
    data = load_dataset(str(tmp_path / "d.npz"))
    assert data.class_names == ["5", "15", "25"] and set(np.unique(data.y_train)) == {0, 1, 2}


def _broken(mutate):
    def make(tmp_path):
        arrays = _arrays()
        mutate(arrays)
        np.savez(tmp_path / "bad.npz", **arrays)
        return str(tmp_path / "bad.npz")
    return make


def _nan(a):
    a["x_train"] = a["x_train"].astype(np.float32)
    a["x_train"][0, 0, 0] = np.nan


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: str(p / "missing.npz"), "neither a file nor a directory"),
        (lambda p: (p / "junk.npz").write_text("not a zip") and str(p / "junk.npz"), "not a readable .npz"),
        (_broken(lambda a: a.pop("y_test")), "lacks y_test"),
        (_broken(lambda a: a.update(x_train=a["x_train"][:, :, 0])), "must be \\(N, H, W\\)"),
        (_broken(lambda a: a.update(y_train=a["y_train"][:-1])), "200 images but y_train has 199"),
        (_broken(lambda a: a.update(y_train=a["y_train"].astype(np.float32))), "labels must be integers"),
        (_broken(lambda a: a.update(y_train=np.zeros(200, np.uint8), y_test=np.zeros(50, np.uint8))), "at least 2 are needed"),
        (_broken(_nan), "NaN or infinite"),
        (_broken(lambda a: a.update(x_test=a["x_test"][:, :20, :20])), "train images are"),
        (_broken(lambda a: a.update(y_test=a["y_test"] + 20)), "never seen in y_train"),
        (_broken(lambda a: a.update(x_train=a["x_train"].astype(str))), "images must be numbers"),
        (_broken(lambda a: a.update(y_train=a["y_train"].reshape(20, 10))), "one integer per image"),
        (lambda p: (p / "empty").mkdir() or str(p / "empty"), "is empty; --data takes a folder of class folders of images, or of the four IDX files"),
    ],
)
def test_every_validation_error_is_one_clear_line(tmp_path, make, message):
    source = make(tmp_path)
    with pytest.raises(UserError, match=message) as info:
        load_dataset(source)
    assert "\n" not in str(info.value)


def test_subset_too_small(small_npz):
    with pytest.raises(UserError, match="too small"):
        load_dataset(str(small_npz), subset=5)


def test_bad_idx_magic(tmp_path):
    (tmp_path / "x").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "x")


def _no_internet(name):
    """What a download raises on a machine without internet (the cause, as urllib gives it on the build machines)."""
    from bakeoff.search.data.downloads import DownloadError

    raise DownloadError("[Errno -3] Temporary failure in name resolution")


def test_offline_default_falls_back_to_digits_but_a_named_mnist_fails_with_advice(capfd, monkeypatch):
    monkeypatch.setattr("bakeoff.search.data.downloads.load", _no_internet)  # offline, also on a machine that is online
    lines = []
    data = load_dataset(None, warn=lines.append)
    assert data.source == "digits" and data.info["fallback_from"] == "mnist"
    assert len(lines) == 1 and "--data PATH/mnist.npz" in lines[0] and "BAKEOFF_DATA" in lines[0]
    assert "Temporary failure in name resolution" in lines[0]
    with pytest.raises(UserError, match="could not download mnist .*--data PATH/mnist.npz"):
        load_dataset("mnist")


@pytest.fixture
def mnist_server(tmp_path, small_npz, monkeypatch):
    """A real HTTP server on loopback serving the tests' small MNIST as mnist.npz, with its hash as the expected one,
    and an empty Keras cache."""
    import functools
    import http.server
    import threading

    from bakeoff.search.data import downloads

    served = tmp_path / "served"
    served.mkdir()
    (served / "mnist.npz").write_bytes(small_npz.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setitem(downloads.SETS, "mnist", ("datasets", {"npz": ("mnist.npz", downloads._sha256(small_npz))}))
    yield f"http://127.0.0.1:{server.server_address[1]}/", served
    server.shutdown()


def test_mnist_is_downloaded_once_into_keras_cache_without_loading_keras(mnist_server, small_npz, tmp_path, capsys):
    import sys

    from bakeoff.search.data import downloads

    url, served = mnist_server
    arrays = downloads.load("mnist", base_url=url)
    with np.load(small_npz) as npz:
        assert np.array_equal(arrays["x_train"], npz["x_train"]) and np.array_equal(arrays["y_test"], npz["y_test"])
    cached = tmp_path / "keras-home" / "datasets" / "mnist.npz"
    assert cached.read_bytes() == small_npz.read_bytes() and "downloaded" in capsys.readouterr().out
    (served / "mnist.npz").unlink()  # the second load reads the cache
    assert np.array_equal(downloads.load("mnist", base_url=url)["y_train"], arrays["y_train"])
    assert not list(cached.parent.glob("*.part"))
    probe = ("import sys\nfrom bakeoff.search.data import downloads\nfrom bakeoff.search.data import load_dataset\n"
             f"downloads.SETS['mnist'] = {downloads.SETS['mnist']!r}\n"
             "data = load_dataset('mnist')\nprint(len(data.y_test), 'keras' in sys.modules, 'tensorflow' in sys.modules)")
    import os
    import subprocess

    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=os.environ.copy())
    assert done.stdout.split() == ["200", "False", "False"]  # read from the cache; no backend loaded for it


def test_a_download_that_is_not_kerass_file_is_refused_and_leaves_no_file(mnist_server, tmp_path):
    from bakeoff.search.data import downloads

    url, served = mnist_server
    (served / "mnist.npz").write_bytes(b"not the file Keras publishes")
    with pytest.raises(downloads.DownloadError, match="SHA-256 is not Keras'"):
        downloads.load("mnist", base_url=url)
    assert not list((tmp_path / "keras-home" / "datasets").iterdir())


def test_an_unreachable_server_is_a_download_error_with_its_cause(tmp_path, monkeypatch):
    from bakeoff.search.data import downloads

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(downloads.DownloadError, match="refused"):
        downloads.load("mnist", base_url="http://127.0.0.1:9/")  # the discard port: nothing listens here
