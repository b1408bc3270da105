"""Which GPUs this machine shows, and which device and memory settings each worker process gets.

Found without importing a backend (the search parent never loads one): ``CUDA_VISIBLE_DEVICES`` when the user
set it, else the GPUs ``nvidia-smi -L`` lists. One worker per GPU, each pinned to its GPU, is the default on a
GPU machine; more workers than GPUs share them round-robin, and only then is each backend told to take GPU
memory as it needs it instead of all at once (TensorFlow grabs the whole GPU, JAX 75 % of it, by default).
"""

from __future__ import annotations

import os
import subprocess

#: Environment that makes each backend share a GPU with other processes. PyTorch's caching allocator takes
#: memory as needed already; expandable segments keep its fragmentation from starving a neighbour.
SHARE_GPU_MEMORY = {
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
}


def visible_gpus() -> list[str]:
    """GPU ids this process may hand out. ``CUDA_VISIBLE_DEVICES`` wins when set (CUDA stops at the first
    invalid entry, so "-1" or "" means none); else ``nvidia-smi -L`` (no driver, no GPU)."""
    chosen = os.environ.get("CUDA_VISIBLE_DEVICES")
    if chosen is not None:
        ids = []
        for entry in (e.strip() for e in chosen.split(",")):
            if not entry or entry.startswith("-"):
                break
            ids.append(entry)
        return ids
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listed.returncode != 0:
        return []
    return [str(index) for index, line in enumerate(line for line in listed.stdout.splitlines() if line.startswith("GPU "))]


def worker_count(requested: int | str, gpus: list[str]) -> int:
    """``auto``: one worker per GPU, or one on a machine without GPUs; a number is taken as asked."""
    if requested == "auto":
        return max(1, len(gpus))
    return int(requested)


def device_env(index: int, workers: int, gpus: list[str]) -> dict[str, str]:
    """The GPU settings of worker ``index`` of ``workers``: its GPU (round-robin), and the memory-sharing
    settings when more than one worker lands on a GPU. Nothing on a machine without GPUs."""
    if not gpus:
        return {}
    env = {"CUDA_VISIBLE_DEVICES": gpus[index % len(gpus)]}
    if workers > len(gpus):
        env.update(SHARE_GPU_MEMORY)
    return env


def describe(workers: int, gpus: list[str]) -> str:
    """For the start line: how workers map to GPUs."""
    if not gpus:
        return ""
    if workers <= len(gpus):
        return f"one per GPU ({', '.join(gpus[:workers])})"
    return f"{workers} workers sharing GPUs {', '.join(gpus)}, memory taken as needed"
