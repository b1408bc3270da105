"""Files bakeoff writes and reads back: every file that replaces another is written beside it and renamed into
place, so a kill or a full disk never leaves half a file where a good one was; a results file that is not what
bakeoff wrote is refused in one line rather than overwritten."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from bakeoff.search.errors import UserError, disk_full, first_line


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """A temporary path to write to, in a scratch folder beside ``path`` (so no glob of finished files sees it,
    and it keeps its suffix, which Keras and NumPy insist on); renamed onto ``path`` only when the block
    succeeds. A full disk becomes a ``Fault`` naming ``path``; the temporary file is removed on any failure."""
    path = Path(path)
    scratch = path.parent / f".partial-{os.getpid()}"
    partial = scratch / path.name
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        yield partial
        if partial.is_dir() and path.is_dir():  # a folder: the old one goes only once the new one is complete
            os.replace(path, scratch / "previous")
        os.replace(partial, path)
    except BaseException as exc:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        if (fault := disk_full(exc, path)) is not None:
            raise fault from None
        raise
    finally:
        shutil.rmtree(scratch / "previous", ignore_errors=True)
        try:
            scratch.rmdir()
        except OSError:  # another write of this process is under way there, or it is already gone
            pass


def write_text_atomic(path: Path, text: str) -> None:
    with atomic(path) as partial:
        partial.write_text(text, encoding="utf-8")


def write_json(path: Path, value: Any) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, default=str))


def read_json(path: Path, missing: Any = None) -> Any:
    """What a JSON file bakeoff wrote says; ``missing`` when there is no such file. A file that is not JSON was
    not written by bakeoff (its writes are atomic): a ``UserError`` naming it, and nothing is overwritten."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return missing
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {first_line(exc)}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UserError(f"{path} is not a JSON file bakeoff wrote ({first_line(exc)}): move it away and re-run") from None


def read_arrays(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """The arrays ``keys`` of an ``.npz`` file bakeoff wrote, read whole; a damaged or foreign file is a
    ``UserError`` naming it."""
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in keys}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path} is not an array file bakeoff wrote ({first_line(exc)}): move it away and re-run") from None
