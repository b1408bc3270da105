"""The run's manifest: what ran, where, on what data, with which versions; enough to reproduce it."""

from __future__ import annotations

import json
import os
import platform
import shlex
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from bakeoff.search import layout

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
    path = out / layout.MANIFEST_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


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


def write_json(path: Path, value: Any) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, default=str))


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
