"""Fault injection shared by the fault tests and ``bench/faults.py``: a small real filesystem that can be filled
up, the search command, and a wait with a deadline."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

BAKEOFF = [sys.executable, "-m", "bakeoff.search"]


def search_command(data: Path, storage: str, name: str, *, trials: int, epochs: int) -> list[str]:
    return [*BAKEOFF, "search", "--data", str(data), "--epochs", str(epochs), "--trials", str(trials),
            "--storage", storage, "--study", name]


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not ready():
        if time.time() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.5)


def files_of(folder: Path) -> dict[Path, str]:
    """Every file under ``folder`` (but the manifest, which each command appends to) and its digest."""
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"}


class SmallDisk:
    """A tmpfs of a few MB mounted for one test: ``fill`` leaves only a few bytes free, ``free`` gives them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ballast = path / "ballast"

    @classmethod
    @contextmanager
    def mounted(cls, path: Path, megabytes: int) -> Iterator["SmallDisk | None"]:
        """The mounted disk, or None where mounting is not allowed (not root)."""
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or not shutil.which("mount"):
            yield None
            return
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)], capture_output=True)
        if made.returncode != 0:
            yield None
            return
        try:
            yield cls(path)
        finally:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)

    def fill(self, leave: int) -> None:
        """Take all but ``leave`` bytes of the free space."""
        self.free()
        stats = os.statvfs(self.path)
        size = stats.f_bavail * stats.f_frsize - leave
        with open(self.ballast, "wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, max(size, 0))

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)
