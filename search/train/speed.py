"""How a model is compiled for speed on this machine: per backend and family, the settings the benchmarks chose.

TensorFlow (bench/trial_throughput.py; 2-core AMD EPYC with AVX-512 BF16 and Intel Xeon with AMX): running many
steps per ``tf.function`` call (``steps_per_execution``) helps both families, since small models spend much of a
step in Python and dispatch; XLA helps dense networks and slows convolutions, and pays back its compiling only
over ``XLA_MIN_STEPS``; bfloat16 mixed precision helps convolutions where the CPU computes bf16 natively, unless
the network has batch normalisation (Keras normalises in float32, and the casts cost about what bf16 saves).

JAX and PyTorch (bench/backends.py, Intel Xeon with AMX, one lever at a time against Keras' defaults): JAX always
compiles with XLA; 32 steps per call sped up networks without augmentation (seed ANN 1.65x, seed CNN 1.04x) and
slowed augmented ones (recipe ANN 0.89x, recipe CNN 0.95x); bf16 slowed its convnets (0.88x both). PyTorch takes
one step per call only (Keras refuses more); ``torch.compile`` made the seed ANN's epochs 2.9x faster after 66 s
of compiling, more than a short trial trains, so it stays off; bf16 sped up its convnets (1.05x, 1.17x). On CPUs
TensorFlow stays the default backend: JAX trained the seed ANN about 3x faster, but augmented models and convnets,
what the searches' winners are, 3-8x slower; PyTorch was slower on every model.

On a GPU the CPU's bf16 rule does not apply: the precision is measured on the GPU itself (``precision.py``); the
other levers keep their CPU choices there until a GPU benchmark says otherwise.
Each lever can be switched off with an environment variable for comparison (BAKEOFF_STEPS_PER_EXECUTION=1,
BAKEOFF_XLA=0, BAKEOFF_BF16=0; BAKEOFF_XLA=1 compiles with XLA however few steps a trial plans).
"""

from __future__ import annotations

import os
from functools import lru_cache

from bakeoff.search.environment import Number, Switch
from bakeoff.search.train import backend as keras_backend
from bakeoff.search.train import precision
from bakeoff.search.train.builders import build_model
from bakeoff.search.train.settings import Speed

STEPS_PER_EXECUTION = 32
#: Planned training steps below which XLA does not pay back its extra compiling (bench/fixed_cost.py, 2-core Intel
#: Xeon with AMX: for the seed ANN on full MNIST XLA cost 3.1 s more to compile and saved 0.45 ms a step, even
#: after about 6,900 steps; on 10,000 images its epochs were no faster and every trial paid 2.3 s more).
XLA_MIN_STEPS = 7000
#: The levers' switches for benchmarks (the module's docstring): steps per call; XLA "0" never, "1" whatever the
#: steps; bf16 "0" never.
STEPS_SETTING = Number("BAKEOFF_STEPS_PER_EXECUTION", STEPS_PER_EXECUTION, least=1)
XLA_SETTING = Switch("BAKEOFF_XLA", ("0", "1"))
BF16_SETTING = Switch("BAKEOFF_BF16", ("0", "1"))
SETTINGS = (STEPS_SETTING, XLA_SETTING, BF16_SETTING)




@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Native bfloat16 arithmetic: AVX-512 BF16 or AMX (else bf16 is emulated and slower)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def default_speed(family: str, config: dict, total_steps: int | None = None, backend: str | None = None, gpu: bool | None = None) -> Speed:
    """The settings of one trial on ``backend`` (default: this process's Keras backend) and device (default:
    asked of the backend). XLA only on TensorFlow, for dense networks without augmentation (the random image
    layers do not compile with it) that will train at least ``XLA_MIN_STEPS`` steps (None: long enough)."""
    backend = backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    augment, batch_norm = bool(config.get("augment")), bool(config.get("batch_norm"))
    steps, bf16_allowed = STEPS_SETTING.value(), BF16_SETTING.value() != "0"
    if keras_backend.trains_on_gpu() if gpu is None else gpu:
        policy = precision.gpu_policy() if bf16_allowed else "float32"
        spe = 1 if backend == "torch" or (backend == "jax" and augment) else steps
        return Speed(steps_per_execution=spe, jit_compile=False if backend == "torch" else "auto",
                     bf16=policy == "mixed_bfloat16", float16=policy == "mixed_float16")
    bf16_wanted = bf16_allowed and family == "cnn" and not batch_norm and cpu_has_bf16()
    if backend == "jax":
        return Speed(steps_per_execution=1 if augment else steps, bf16=False)
    if backend == "torch":
        return Speed(steps_per_execution=1, jit_compile=False, bf16=bf16_wanted)
    setting = XLA_SETTING.value()
    long_enough = setting == "1" or total_steps is None or total_steps >= XLA_MIN_STEPS
    xla = setting != "0" and family == "ann" and not augment and long_enough
    return Speed(steps_per_execution=steps, jit_compile=True if xla else "auto", bf16=bf16_wanted)


def tuned_model(config: dict, family: str, input_shape: tuple[int, ...], num_classes: int, total_steps: int):
    """A compiled model with this machine's settings for it (``default_speed``): what trials and retraining train."""
    return build_model(config, family, input_shape, num_classes, total_steps, default_speed(family, config, total_steps))
