"""MNIST and Fashion-MNIST from the same address and into the same cache as Keras' ``load_data``, without
importing Keras: the search parent must not load a training backend just to fetch the data (workers and the
retraining then read the prepared split, ``search/data/prepared.py``).

A cached file is used as it is (MNIST's is checked against Keras' SHA-256); a download goes to a temporary
file renamed into place when complete, so a broken connection leaves no half file in the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np

from bakeoff.search.data.formats import read_idx

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
#: name: (cache folder under KERAS_HOME, {array: (file, SHA-256 or None)}); Keras' own layout and hashes.
SETS = {
    "mnist": ("datasets", {"npz": ("mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")}),
    "fashion_mnist": ("datasets/fashion-mnist", {
        "y_train": ("train-labels-idx1-ubyte.gz", None), "x_train": ("train-images-idx3-ubyte.gz", None),
        "y_test": ("t10k-labels-idx1-ubyte.gz", None), "x_test": ("t10k-images-idx3-ubyte.gz", None),
    }),
}
TIMEOUT_SECONDS = 60


class DownloadError(Exception):
    """The data could not be fetched; the message is the cause alone (e.g. a failed name lookup)."""


def cache_dir() -> Path:
    """Keras' cache: ``$KERAS_HOME``, else ``~/.keras``, else ``/tmp/.keras`` when home is not writable."""
    if os.environ.get("KERAS_HOME"):
        return Path(os.environ["KERAS_HOME"])
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def load(name: str, base_url: str = BASE_URL) -> dict[str, np.ndarray]:
    """The four arrays of ``name`` (``mnist`` or ``fashion_mnist``), downloaded once into the cache."""
    folder, files = SETS[name]
    paths = {key: _fetch(cache_dir() / folder / file, base_url + file, digest) for key, (file, digest) in files.items()}
    if "npz" in paths:
        with np.load(paths["npz"], allow_pickle=False) as npz:
            return {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")}

    return {key: read_idx(path) for key, path in paths.items()}


def _fetch(path: Path, url: str, digest: str | None) -> Path:
    if path.is_file() and (digest is None or _sha256(path) == digest):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, open(partial, "wb") as handle:
            shutil.copyfileobj(response, handle)
    except OSError as exc:  # URLError, HTTPError, timeouts and a full disk all derive from OSError
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(str(reason)) from None
    if digest is not None and _sha256(partial) != digest:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{url} sent a file whose SHA-256 is not Keras' ({digest[:12]}...)")
    os.replace(partial, path)
    print(f"downloaded {url} to {path}", flush=True)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
