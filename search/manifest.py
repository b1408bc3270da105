"""The run's manifest: what ran, where, on what data, with which versions; enough to reproduce it."""

from __future__ import annotations

import functools
import os
import platform
import shlex
import uuid
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
    """CPU, cores, system and host of this process's machine (a fresh dict each call, to keep or change)."""
    return dict(_machine())


@functools.cache
def _machine() -> dict[str, Any]:
    """Looked up once a process: every command, every retrained seed and every measured trial cost names its machine,
    and ``platform.processor()`` runs ``uname -p`` in a subprocess, needed only where /proc/cpuinfo names no model."""
    cpu = None
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), None)
    except OSError:
        pass
    cpu = cpu or platform.processor() or platform.machine()
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(), "node": platform.node()}


def read_manifest(out: Path) -> dict[str, Any]:
    return read_json(out / layout.MANIFEST_FILE, missing={})


def command_line(argv: list[str]) -> dict[str, Any]:
    """This invocation's entry in the manifest's list of commands, made once as it starts: ``bakeoff run``
    updates the manifest at each of its stages and is still one command, listed once, at its start. It names its
    machine: a run resumed after a reboot may go on elsewhere."""
    return {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": shlex.join(["bakeoff", *argv]),
            "invocation": uuid.uuid4().hex, "machine": machine()}


def update_manifest(out: Path, section: str, values: dict[str, Any], command: dict[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into ``section`` and list ``command`` (``command_line``) unless it is listed already;
    written atomically."""
    manifest = read_manifest(out)
    commands = manifest.setdefault("commands", [])
    if not any(c.get("invocation") == command["invocation"] for c in commands):
        commands.append(command)
    manifest[section] = {**manifest.get(section, {}), **values}
    manifest["versions"] = versions()
    manifest["machine"] = machine()
    write_json(out / layout.MANIFEST_FILE, manifest)
    return manifest
