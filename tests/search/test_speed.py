"""Speed settings per trial: XLA only where the measured compile cost pays back (bench/fixed_cost.py)."""

from bakeoff.search.train.speed import XLA_MIN_STEPS, cpu_has_bf16, default_speed

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


def test_jax_takes_many_steps_per_call_only_without_augmentation_and_never_bf16(monkeypatch):
    monkeypatch.delenv("BAKEOFF_STEPS_PER_EXECUTION", raising=False)
    conv = {"augment": False, "batch_norm": False}
    assert default_speed("ann", DENSE, backend="jax", gpu=False).steps_per_execution == 32
    assert default_speed("ann", {**DENSE, "augment": True}, backend="jax", gpu=False).steps_per_execution == 1
    assert default_speed("cnn", conv, backend="jax", gpu=False).bf16 is False
    assert default_speed("ann", DENSE, total_steps=10**6, backend="jax", gpu=False).jit_compile == "auto"  # JAX always jits


def test_pytorch_takes_one_step_per_call_and_no_compile(monkeypatch):
    monkeypatch.delenv("BAKEOFF_BF16", raising=False)
    speed = default_speed("ann", DENSE, total_steps=10**6, backend="torch", gpu=False)
    assert speed.steps_per_execution == 1 and speed.jit_compile is False  # Keras refuses more steps on PyTorch
    assert default_speed("cnn", DENSE, backend="torch", gpu=False).bf16 == cpu_has_bf16()


def test_the_cpus_bf16_rule_is_not_applied_on_a_gpu(monkeypatch):
    from bakeoff.search.train import precision

    monkeypatch.delenv("BAKEOFF_BF16", raising=False)
    monkeypatch.setattr(precision, "gpu_policy", lambda: "float32")  # what a GPU measured (tests/search/test_precision.py)
    for backend in ("tensorflow", "torch"):
        assert default_speed("cnn", DENSE, backend=backend, gpu=True).bf16 is False
        assert default_speed("cnn", DENSE, backend=backend, gpu=False).bf16 == cpu_has_bf16()
