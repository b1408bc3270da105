"""Load, validate and split image-classification data, before anything is written or trained.

Sources: ``mnist`` / ``fashion_mnist`` (downloaded into Keras' cache, ``search/data/downloads.py``), ``digits`` (scikit-learn, offline), an ``.npz``
in the Keras layout, a directory of the four IDX files, a folder of class folders of images or a CSV file
(``search/data/images.py``). The test split is kept apart: the search only ever
sees ``Dataset.search_data()``, a type without the test split. The test arrays are read only after selection:
by the final evaluation, the analyses of the retrained models and the export checks, none of which feeds back.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.search.data import downloads
from bakeoff.search.data.dataset import Dataset
from bakeoff.search.data.formats import NPZ_KEYS, load_digits, load_idx_dir, load_npz
from bakeoff.search.data.images import is_class_folder, load_class_folders, load_csv, parse_size
from bakeoff.search.data.prepared import is_prepared, read_prepared, split_options
from bakeoff.search.errors import UserError, first_line

DATA_ENV = "BAKEOFF_DATA"
#: The share of the training images held out for validation unless ``--val-fraction`` says otherwise.
VAL_FRACTION = 0.1
KERAS_SETS = ("mnist", "fashion_mnist")
_HINT = f"point at a local copy with --data PATH/mnist.npz or the {DATA_ENV} environment variable"


def resolve_source(data: str | None) -> tuple[str, bool]:
    """The data the user asked for (flag, then environment), and whether they named it at all."""
    if data:
        return data, True
    env = os.environ.get(DATA_ENV, "").strip()
    return (env, True) if env else ("mnist", False)


def check_source(source: str) -> None:
    """Fail fast on a source that cannot be data, before any output directory is made."""
    if source in KERAS_SETS or source == "digits":
        return
    path = Path(source).expanduser()
    if not path.exists():
        raise UserError(
            f"data {source!r} is neither a file nor a directory; use mnist, fashion_mnist, digits, "
            "a Keras-layout .npz, a folder of IDX files, a folder of class folders of images, or a CSV file"
        )


def load_dataset(
    data: str | None = None,
    *,
    val_fraction: float = VAL_FRACTION,
    subset: int | None = None,
    seed: int = 0,
    image_size: str | None = None,
    channels: int | None = None,
    warn=lambda line: print(line, file=sys.stderr),
) -> Dataset:
    """Load, validate, scale and split; the split depends only on the data, ``seed`` and ``subset``. A folder
    prepared by ``search/data/prepared.py`` is memory-mapped as it is (it was validated when it was written)."""
    source, named = resolve_source(data)
    check_source(source)
    if is_prepared(Path(source).expanduser()):
        return read_prepared(Path(source).expanduser(), split_options(subset, val_fraction, seed))
    raw, info = _load_raw(source, named, warn, {"image_size": parse_size(image_size) if image_size else None, "channels": channels, "seed": seed})
    if info.get("source"):
        source = info.pop("source")
    _validate(raw, source)
    digest = _hash(raw)
    scaling = _scaling(raw["x_train"])
    info = {**info, "scaling": scaling}
    y_train, y_test, class_names = _encode_labels(raw["y_train"], raw["y_test"], source)
    if "class_names" in info:  # a class folder's or a CSV's names, in the order of the labels
        class_names = [info["class_names"][int(c)] for c in np.unique(raw["y_train"])]
    # Split the images as they came (uint8, a quarter of float32's bytes), then scale each part: a large data set
    # is never held as float32 twice (the split's copies are the only float32 arrays).
    x_train = raw.pop("x_train")
    if subset is not None:
        x_train, y_train = _stratified_subset(x_train, y_train, subset, seed, source)
    x_tr, x_val, y_tr, y_val = _split(x_train, y_train, val_fraction, seed, source)
    del x_train
    x_tr, x_val, x_test = (_scaled(x, scaling) for x in (x_tr, x_val, raw.pop("x_test")))
    return Dataset(source, x_tr, y_tr, x_val, y_val, x_test, y_test, class_names, digest, info)


def _load_raw(source: str, named: bool, warn, options: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    if source == "digits":
        return load_digits(), {}
    if source in KERAS_SETS:
        try:
            return downloads.load(source), {}
        except (downloads.DownloadError, OSError, ValueError, EOFError) as exc:  # offline, proxy, corrupt cache: all end alike
            reason = first_line(exc, 160)
            if named:
                raise UserError(f"could not download {source} ({reason}); {_HINT}") from None
            warn(f"bakeoff: warning: MNIST download failed ({reason}); using scikit-learn's digits; {_HINT}")
            return load_digits(), {"source": "digits", "fallback_from": source}
    path = Path(source).expanduser()
    if path.is_dir() and is_class_folder(path):
        return load_class_folders(path, **options, progress=warn)
    if path.is_dir():
        if not any(path.iterdir()):
            raise UserError(f"{path} is empty; --data takes a folder of class folders of images, or of the four IDX files")
        return load_idx_dir(path), {}
    if path.suffix.lower() == ".csv":
        return load_csv(path, **options)
    return load_npz(path), {}


def _validate(raw: dict[str, np.ndarray], source: str) -> None:
    for part in ("train", "test"):
        x, y = raw[f"x_{part}"], raw[f"y_{part}"]
        if x.dtype.kind not in "uif":
            raise UserError(f"{source}: x_{part} has dtype {x.dtype}; images must be numbers")
        if x.ndim not in (3, 4):
            raise UserError(
                f"{source}: x_{part} has shape {x.shape}; images must be (N, H, W) or (N, H, W, C)"
            )
        if y.ndim == 2 and y.shape[1] == 1:
            raw[f"y_{part}"] = y = y[:, 0]
        if y.ndim != 1:
            raise UserError(f"{source}: y_{part} has shape {y.shape}; labels must be one integer per image")
        if len(x) != len(y):
            raise UserError(f"{source}: x_{part} has {len(x)} images but y_{part} has {len(y)} labels")
        if len(x) == 0:
            raise UserError(f"{source}: x_{part} is empty")
        if y.dtype.kind not in "ui":
            raise UserError(f"{source}: y_{part} has dtype {y.dtype}; labels must be integers")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise UserError(f"{source}: x_{part} contains NaN or infinite pixels")
    if raw["x_train"].shape[1:] != raw["x_test"].shape[1:]:
        raise UserError(
            f"{source}: train images are {raw['x_train'].shape[1:]} but test images are {raw['x_test'].shape[1:]}"
        )
    if raw["x_train"].shape[1] < 4 or raw["x_train"].shape[2] < 4:
        raise UserError(f"{source}: images of {raw['x_train'].shape[1:3]} pixels are too small (at least 4x4)")


def _scaling(x_train: np.ndarray) -> dict[str, float]:
    """How pixels become [0, 1], from the train range only: (pixel - offset) / scale."""
    low, high = float(x_train.min()), float(x_train.max())
    if low >= 0 and high <= 1:
        return {"offset": 0.0, "scale": 1.0}
    if low >= 0 and high <= 255:
        return {"offset": 0.0, "scale": 255.0}
    return {"offset": low, "scale": max(high - low, 1e-12)}


def _scaled(x: np.ndarray, scaling: dict[str, float]) -> np.ndarray:
    """Float32 in [0, 1] with a channel axis, computed in place in the one new array."""
    out = x.astype(np.float32)
    out -= np.float32(scaling["offset"])
    out /= np.float32(scaling["scale"])
    return out[..., None] if out.ndim == 3 else out


def _encode_labels(y_train: np.ndarray, y_test: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise UserError(f"{source}: y_train has only {len(classes)} class; at least 2 are needed")
    unseen = np.setdiff1d(np.unique(y_test), classes)
    if len(unseen):
        raise UserError(f"{source}: y_test has labels never seen in y_train: {unseen[:5].tolist()}")
    return (
        np.searchsorted(classes, y_train).astype(np.int32),
        np.searchsorted(classes, y_test).astype(np.int32),
        [str(c) for c in classes.tolist()],
    )


def _stratified_subset(x: np.ndarray, y: np.ndarray, size: int, seed: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    if size < 2 * len(np.unique(y)):
        raise UserError(f"--subset {size} is too small: it needs at least 2 images per class")
    if size >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    x_sub, _, y_sub, _ = train_test_split(x, y, train_size=size, stratify=y, random_state=seed)
    return x_sub, y_sub


def _split(x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int, source: str):
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(x, y, test_size=val_fraction, stratify=y, random_state=seed)
    except ValueError as exc:
        raise UserError(f"{source}: cannot split off a stratified validation set ({exc})") from None


def _hash(raw: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in NPZ_KEYS:
        array = np.ascontiguousarray(raw[key])
        digest.update(f"{key}{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()
