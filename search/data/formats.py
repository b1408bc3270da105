"""Reading the file formats a user points bakeoff at: a Keras-layout ``.npz``, a folder of IDX files (plain or
gzip-compressed, the original MNIST distribution), and scikit-learn's bundled digits. Each returns the four raw
arrays; a file that cannot be read is a one-line ``UserError`` naming it."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np

from bakeoff.search.errors import UserError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IDX_FILES = {
    "x_train": ("train-images",),
    "y_train": ("train-labels",),
    "x_test": ("t10k-images", "test-images"),
    "y_test": ("t10k-labels", "test-labels"),
}
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

def load_digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.2, stratify=digits.target, random_state=0
    )
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def load_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a readable .npz file (not a zip archive); save arrays with np.savez")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise UserError(
                    f"{path} lacks {', '.join(missing)}; an .npz needs the keys {', '.join(NPZ_KEYS)} "
                    f"(found: {', '.join(npz.files) or 'none'})"
                )
            return {k: npz[k] for k in NPZ_KEYS}
    except UserError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UserError(f"{path} holds object arrays; save plain numeric arrays with np.savez") from None
        raise UserError(f"{path} is not a readable .npz file ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError: all mean an unreadable file
        raise UserError(f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})") from None


def load_idx_dir(path: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, prefixes in _IDX_FILES.items():
        found = sorted(f for f in path.iterdir() if f.is_file() and f.name.startswith(prefixes))
        if not found:
            raise UserError(
                f"{path} has no {prefixes[0]}* IDX file; a data folder needs train-images, train-labels, "
                "t10k-images and t10k-labels (plain or .gz)"
            )
        arrays[key] = read_idx(found[0])
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (the format of the original MNIST distribution), plain or gzip-compressed."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            blob = handle.read()
    except (OSError, EOFError) as exc:
        raise UserError(f"{path} cannot be read as an IDX file ({exc})") from None
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _IDX_DTYPES:
        raise UserError(f"{path} is not an IDX file (bad magic number)")
    ndim = blob[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(blob) < header:
        raise UserError(f"{path} is not an IDX file (truncated header)")
    shape = tuple(int(d) for d in np.frombuffer(blob[4:header], dtype=">u4"))
    dtype = np.dtype(_IDX_DTYPES[blob[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(blob) - header != expected:
        raise UserError(f"{path} holds {len(blob) - header} data bytes, its header promises {expected}")
    return np.frombuffer(blob, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
