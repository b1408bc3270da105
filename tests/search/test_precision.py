"""Mixed precision on a GPU: the fastest policy measured on the device, float32 unless another clearly beats it,
measured once per device and backend. The measuring itself runs here on the CPU (the same code on any device)."""

from __future__ import annotations

import json

import pytest

from bakeoff.search.train import backend, precision
from bakeoff.search.train.speed import default_speed


@pytest.mark.parametrize(
    "seconds, expected",
    [
        ({"float32": 1.0, "mixed_bfloat16": 0.6, "mixed_float16": 0.7}, "mixed_bfloat16"),
        ({"float32": 1.0, "mixed_bfloat16": 0.8, "mixed_float16": 0.5}, "mixed_float16"),
        ({"float32": 1.0, "mixed_bfloat16": 0.95, "mixed_float16": 0.99}, "float32"),  # within 10 %: not worth the risk
        ({"float32": 1.0, "mixed_bfloat16": 1.0, "mixed_float16": 1.0}, "float32"),  # a tie
        ({"float32": 0.5, "mixed_bfloat16": 0.9, "mixed_float16": 0.7}, "float32"),  # the other way round
        ({"float32": 1.0, "mixed_bfloat16": None, "mixed_float16": 0.8}, "mixed_float16"),  # bf16 failed on this GPU
        ({"float32": None, "mixed_bfloat16": None, "mixed_float16": None}, "float32"),
    ],
)
def test_the_fastest_policy_wins_only_by_a_clear_margin(seconds, expected):
    assert precision.choose(seconds) == expected


@pytest.mark.slow
def test_each_policy_is_timed_on_the_device_at_hand():
    for policy in precision.POLICIES:
        seconds = precision.seconds_per_step(policy, steps=3)
        assert seconds is not None and 0 < seconds < 10, policy


def test_a_gpus_choice_is_measured_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(backend, "gpu_name", lambda: "Fake GPU 80GB")
    timed = []
    monkeypatch.setattr(precision, "seconds_per_step", lambda policy: timed.append(policy) or {"mixed_float16": 0.4}.get(policy, 1.0))
    precision.gpu_policy.cache_clear()
    assert precision.gpu_policy() == "mixed_float16" and timed == list(precision.POLICIES)
    precision.gpu_policy.cache_clear()
    assert precision.gpu_policy() == "mixed_float16" and len(timed) == 3  # from the cache file: not timed again
    cached = json.loads((tmp_path / "bakeoff" / "precision.json").read_text())
    assert cached["Fake GPU 80GB | " + backend.default_backend()]["seconds_per_step"]["mixed_float16"] == 0.4
    precision.gpu_policy.cache_clear()


def test_on_a_gpu_trials_take_the_measured_policy(monkeypatch):
    monkeypatch.delenv("BAKEOFF_BF16", raising=False)
    monkeypatch.setattr(precision, "gpu_policy", lambda: "mixed_float16")
    speed = default_speed("ann", {"augment": False}, backend="tensorflow", gpu=True)
    assert speed.float16 and not speed.bf16 and speed.policy == "mixed_float16"
    monkeypatch.setenv("BAKEOFF_BF16", "0")  # the switch that turns mixed precision off turns it off on GPUs too
    assert default_speed("cnn", {}, backend="tensorflow", gpu=True).policy == "float32"
