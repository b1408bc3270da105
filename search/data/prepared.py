"""The split data, prepared once per run by the process that loaded, validated and hashed it.

The search parent writes the scaled split as ``.npy`` files into ``OUT/prepared/KEY/`` (KEY names the data's hash
and the split options); its workers, their recycled successors and the later stages (retraining, analyses,
export) memory-map those files instead of reading, validating, hashing and splitting the source again. Workers
are pointed at it with ``--data OUT/prepared/KEY``, so a prepared split is simply one more kind of data source,
and one that only opens with the split options it was made with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.search import layout
from bakeoff.search.data.dataset import Dataset
from bakeoff.search.errors import UserError, first_line
from bakeoff.search.files import atomic, read_json, write_json

MARKER = "prepared.json"
ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def split_options(subset: int | None, val_fraction: float, seed: int) -> dict[str, Any]:
    return {"subset": subset, "val_fraction": val_fraction, "seed": seed}


def folder_for(out: Path, sha256: str, options: dict[str, Any]) -> Path:
    subset = options["subset"] or "all"
    return out / layout.PREPARED_DIR / f"{sha256[:16]}-subset-{subset}-val-{options['val_fraction']}-seed-{options['seed']}"


def is_prepared(path: Path) -> bool:
    return (path / MARKER).is_file()


def write_prepared(out: Path, data, options: dict[str, Any]) -> Path:
    """The data's prepared folder, written unless it exists; built in a temporary folder renamed into place,
    so a kill never leaves a folder that looks complete."""
    folder = folder_for(out, data.sha256, options)
    if is_prepared(folder):
        return folder
    meta = {"source": data.source, "sha256": data.sha256, "class_names": data.class_names, "info": data.info, "split": options}
    try:
        with atomic(folder) as partial:
            partial.mkdir()
            for name in ARRAYS:
                np.save(partial / f"{name}.npy", np.ascontiguousarray(getattr(data, name)))
            write_json(partial / MARKER, meta)
    except OSError:
        if not is_prepared(folder):
            raise
        # another process prepared it first: theirs is the same data
    return folder


def read_prepared(folder: Path, options: dict[str, Any]):
    """The prepared split, memory-mapped read-only; asked for with other split options it is refused."""

    meta = read_json(folder / MARKER)
    fields = ("split", "source", "class_names", "sha256", "info")
    if not isinstance(meta, dict) or any(field not in meta for field in fields):
        raise UserError(f"{folder / MARKER} is not a prepared split bakeoff wrote: pass the original data with --data")
    if meta["split"] != options:
        raise UserError(f"{folder} holds data prepared with {meta['split']}, not {options}; pass the original data with --data")
    arrays = {}
    for name in ARRAYS:
        try:
            arrays[name] = np.load(folder / f"{name}.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:  # missing, truncated or not an .npy file
            raise UserError(f"{folder / name}.npy is unreadable ({first_line(exc)}): pass the original data with --data") from None
    return Dataset(meta["source"], **arrays, class_names=meta["class_names"], sha256=meta["sha256"], info=meta["info"])
