"""GPU detection and the device each worker gets, on a machine without GPUs: the GPU list comes from
CUDA_VISIBLE_DEVICES or from an ``nvidia-smi`` stand-in on PATH that prints what the real one prints."""

from __future__ import annotations

import os
import stat

import pytest

from bakeoff.search.app.devices import SHARE_GPU_MEMORY, describe, device_env, visible_gpus, worker_count
from bakeoff.search.app.workers import WORKER_ENV, WORKERS_ENV, worker_env

NVIDIA_SMI_L = """GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-6a1b2c3d-0000-1111-2222-333344445555)
GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-7b2c3d4e-0000-1111-2222-333344445555)
"""


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """An executable ``nvidia-smi`` first on PATH; returns a function setting what ``-L`` prints and its exit code."""
    script = tmp_path / "bin" / "nvidia-smi"
    script.parent.mkdir()
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def prints(text: str, code: int = 0) -> None:
        (tmp_path / "out.txt").write_text(text)
        script.write_text(f"#!/bin/sh\ncat {tmp_path / 'out.txt'}\nexit {code}\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)

    return prints


def test_gpus_listed_by_nvidia_smi(fake_nvidia_smi):
    fake_nvidia_smi(NVIDIA_SMI_L)
    assert visible_gpus() == ["0", "1"]


def test_a_failing_nvidia_smi_means_no_gpu(fake_nvidia_smi):
    fake_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", code=9)
    assert visible_gpus() == []


def test_no_nvidia_smi_means_no_gpu(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert visible_gpus() == []


@pytest.mark.parametrize("value, expected", [("2,3", ["2", "3"]), ("", []), ("-1", []), ("0,-1,1", ["0"]),
                                             ("GPU-6a1b2c3d", ["GPU-6a1b2c3d"])])
def test_cuda_visible_devices_wins_over_nvidia_smi(fake_nvidia_smi, monkeypatch, value, expected):
    fake_nvidia_smi(NVIDIA_SMI_L)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert visible_gpus() == expected


def test_auto_is_one_worker_per_gpu_and_one_without_gpus():
    assert worker_count("auto", ["0", "1", "2"]) == 3
    assert worker_count("auto", []) == 1
    assert worker_count(4, ["0"]) == 4


def test_one_worker_per_gpu_is_pinned_and_keeps_the_backends_memory_defaults():
    envs = [device_env(i, 2, ["0", "1"]) for i in range(2)]
    assert envs == [{"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"}]
    assert describe(2, ["0", "1"]) == "one per GPU (0, 1)"


def test_workers_sharing_gpus_go_round_robin_and_take_memory_as_needed():
    envs = [device_env(i, 4, ["0", "1"]) for i in range(4)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "0", "1"]
    for env in envs:
        assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"  # TensorFlow: grow instead of taking the whole GPU
        assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"  # JAX: no 75 % preallocation
        assert set(SHARE_GPU_MEMORY) <= set(env)
    assert "sharing GPUs 0, 1" in describe(4, ["0", "1"])


def test_a_cpu_machine_gets_no_device_settings_but_splits_its_cores():
    env = worker_env(1, 2, [])
    assert "CUDA_VISIBLE_DEVICES" not in env and not set(SHARE_GPU_MEMORY) & set(env)
    assert env[WORKER_ENV] == "1" and env[WORKERS_ENV] == "2"
    assert int(env["OMP_NUM_THREADS"]) == max(1, (os.cpu_count() or 1) // 2)
    assert worker_env(0, 1, []) == {WORKER_ENV: "0", WORKERS_ENV: "1"}  # one worker: all cores, nothing else


def test_a_gpu_worker_gets_its_device_and_its_share_of_the_cores():
    env = worker_env(1, 2, ["0", "1"])
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and "OMP_NUM_THREADS" in env


@pytest.mark.slow
def test_retraining_seeds_run_one_process_per_gpu(small_npz, tmp_path, monkeypatch, capsys):
    """Two GPUs, faked with CUDA_VISIBLE_DEVICES on this CPU machine (TensorFlow's CPU build ignores it): each of
    two retraining processes is pinned to one GPU and trains its own seed."""
    import json

    from bakeoff.search.app.main import main

    out = tmp_path / "run"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU while searching: one worker
    assert main(["search", "--data", str(small_npz), "--family", "ann", "--trials", "1", "--epochs", "1", "--out", str(out), "--study", "g"]) == 0
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert main(["retrain", "--out", str(out), "--study", "g", "--seeds", "2"]) == 0
    assert "retraining finished in" in capsys.readouterr().out
    found = {seed: json.loads((out / "retrain" / "ann" / f"seed-{seed}" / "metrics.json").read_text()) for seed in range(2)}
    assert {seed: m["cuda_visible_devices"] for seed, m in found.items()} == {0: "0", 1: "1"}
    assert all(m["backend"] == "tensorflow" and 0 < m["test_accuracy"] <= 1 for m in found.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(c["argv"].startswith("bakeoff retrain") for c in manifest["commands"]) == 1  # the children add no command
