"""The run's manifest: what ran, where, on what data, with which versions; enough to reproduce it."""

from __future__ import annotations

import os
import platform
import shlex
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from bakeoff.search import layout
from bakeoff.search.files import read_json, write_json

_PACKAGES = ("bakeoff", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "keras", "optuna", "keras-tuner", "numpy", "scikit-learn", "scipy")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(), "node": platform.node()}


def read_manifest(out: Path) -> dict[str, Any]:
    return read_json(out / layout.MANIFEST_FILE, missing={})


def update_manifest(out: Path, section: str, values: dict[str, Any], argv: list[str]) -> dict[str, Any]:
    """Merge ``values`` into ``section`` and append this command line; written atomically."""
    manifest = read_manifest(out)
    manifest.setdefault("commands", []).append(
        {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": shlex.join(["bakeoff", *argv])}
    )
    manifest[section] = {**manifest.get(section, {}), **values}
    manifest["versions"] = versions()
    manifest["machine"] = machine()
    write_json(out / layout.MANIFEST_FILE, manifest)
    return manifest
