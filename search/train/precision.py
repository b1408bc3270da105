"""Mixed precision on a GPU, chosen by measuring the GPU at hand instead of assuming.

GPUs differ: bfloat16 needs NVIDIA Ampere or newer, float16 (Keras adds loss scaling itself) runs on tensor cores
since Volta, and for small models neither need beat float32. The first trial on a GPU times a few training steps
of the seed notebook's CNN under each policy and keeps the fastest, if it beats float32 by at least ``MIN_GAIN``;
the choice is cached per device and backend (``~/.cache/bakeoff/precision.json``), so other workers and later
runs do not measure again. A policy that fails on the device is skipped. CPUs keep their own rule (``speed.py``).
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from bakeoff.search.errors import UserError
from bakeoff.search.files import read_json, write_json
from bakeoff.search.train import backend
from bakeoff.search.train.builders import build_model
from bakeoff.search.train.settings import Speed
from bakeoff.spaces import BASELINES

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
MIN_GAIN = 1.1
STEPS = 30


def cache_file() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bakeoff" / "precision.json"


def choose(seconds: dict[str, float | None]) -> str:
    """The policy with the fewest seconds per step, unless float32 is within ``MIN_GAIN`` of it (None: failed)."""
    ran = {policy: s for policy, s in seconds.items() if s is not None}
    if not ran:
        return "float32"
    fastest = min(ran, key=ran.get)
    base = ran.get("float32")
    return fastest if base is None or ran[fastest] * MIN_GAIN <= base else "float32"


def seconds_per_step(policy: str, steps: int = STEPS) -> float | None:
    """Median seconds of a training step of the seed CNN (batch 128) under ``policy``, after two warm-up calls."""

    config = {**BASELINES["cnn"], "batch_size": 128}
    try:
        model = build_model(config, "cnn", (28, 28, 1), 10, 100, speed=Speed(bf16=policy == "mixed_bfloat16", float16=policy == "mixed_float16"))
        x = np.random.default_rng(0).random((128, 28, 28, 1), dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[np.arange(128) % 10]
        times = []
        for step in range(steps + 2):
            started = time.perf_counter()
            model.train_on_batch(x, y)
            if step >= 2:
                times.append(time.perf_counter() - started)
    except Exception:  # e.g. bf16 kernels missing on an older GPU
        return None
    return float(np.median(times))


@lru_cache(maxsize=1)
def gpu_policy() -> str:
    """This process's GPU's policy: from the cache, else measured once and cached."""

    key = f"{backend.gpu_name()} | {os.environ.get('KERAS_BACKEND', 'tensorflow')}"
    path = cache_file()
    try:
        known = read_json(path, missing={})
    except UserError:  # a cache: measured again and rewritten
        known = {}
    if key not in known:
        seconds = {policy: seconds_per_step(policy) for policy in POLICIES}
        known[key] = {"policy": choose(seconds), "seconds_per_step": seconds}
        write_json(path, known)
    return known[key]["policy"]
