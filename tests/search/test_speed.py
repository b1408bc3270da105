"""Speed settings per trial: XLA only where the measured compile cost pays back (bench/fixed_cost.py)."""

from bakeoff.search.speed import XLA_MIN_STEPS, default_speed

DENSE = {"augment": False, "batch_norm": False}


def test_xla_only_for_a_dense_net_that_trains_long_enough(monkeypatch):
    monkeypatch.delenv("BAKEOFF_XLA", raising=False)
    assert default_speed("ann", DENSE, total_steps=XLA_MIN_STEPS).jit_compile is True
    assert default_speed("ann", DENSE, total_steps=XLA_MIN_STEPS - 1).jit_compile == "auto"  # 15 epochs of 10,000 images
    assert default_speed("ann", DENSE).jit_compile is True  # no plan given: long enough
    assert default_speed("ann", {**DENSE, "augment": True}, total_steps=10**6).jit_compile == "auto"
    assert default_speed("cnn", DENSE, total_steps=10**6).jit_compile == "auto"


def test_the_environment_forces_xla_either_way(monkeypatch):
    monkeypatch.setenv("BAKEOFF_XLA", "1")
    assert default_speed("ann", DENSE, total_steps=10).jit_compile is True
    monkeypatch.setenv("BAKEOFF_XLA", "0")
    assert default_speed("ann", DENSE, total_steps=10**6).jit_compile == "auto"
