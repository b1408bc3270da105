"""How a model is compiled for speed on this machine: the per-family defaults bench/trial_throughput.py chose.

On the 2-core AMD EPYC (AVX-512 BF16, no AMX) the benchmark measured, against plain fp32 ``model.fit``:
running many steps per ``tf.function`` call (``steps_per_execution``) helps both families, since small
models spend much of a step in Python and dispatch; XLA helps dense networks and slows convolutions;
bfloat16 mixed precision helps convolutions where the CPU computes bf16 natively, unless the network has
batch normalisation: Keras normalises in float32, and the casts around every normalisation cost about what
bf16 saves (with bf16, without/with augmentation: the seed CNN ran 1.24x/1.43x as fast, the batch-normalised
recipe CNN 0.79x/0.90x, the heavier mid-size CNN 1.03x/1.12x; short searches mostly train the lighter kind).
The Keras backend stays TensorFlow (bench/backends.py): JAX trains the seed ANN 1.9x faster but augmented models
and convnets 4-5x slower, and the winners of the searches use augmentation. Each lever can be switched off with
an environment variable for comparison (BAKEOFF_STEPS_PER_EXECUTION=1, BAKEOFF_XLA=0, BAKEOFF_BF16=0;
BAKEOFF_XLA=1 compiles with XLA however few steps a trial plans).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

STEPS_PER_EXECUTION = 32
#: Planned training steps below which XLA does not pay back its extra compiling (bench/fixed_cost.py, 2-core Intel
#: Xeon with AMX: for the seed ANN on full MNIST XLA cost 3.1 s more to compile and saved 0.45 ms a step, even
#: after about 6,900 steps; on 10,000 images its epochs were no faster and every trial paid 2.3 s more).
XLA_MIN_STEPS = 7000


@dataclass(frozen=True)
class Speed:
    steps_per_execution: int = 1
    jit_compile: bool | str = "auto"
    bf16: bool = False


PLAIN = Speed()


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Native bfloat16 arithmetic: AVX-512 BF16 or AMX (else bf16 is emulated and slower)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def default_speed(family: str, config: dict, total_steps: int | None = None) -> Speed:
    """XLA only for dense networks without augmentation (the random image layers do not compile with it) that
    will train at least ``XLA_MIN_STEPS`` steps (None: long enough); bf16 only for convnets without batch
    normalisation."""
    steps = int(os.environ.get("BAKEOFF_STEPS_PER_EXECUTION", STEPS_PER_EXECUTION))
    setting = os.environ.get("BAKEOFF_XLA")  # "0": never, "1": whatever the steps (for benchmarks)
    long_enough = setting == "1" or total_steps is None or total_steps >= XLA_MIN_STEPS
    xla = setting != "0" and family == "ann" and not config.get("augment") and long_enough
    bf16 = os.environ.get("BAKEOFF_BF16", "1") != "0" and family == "cnn" and not config.get("batch_norm") and cpu_has_bf16()
    return Speed(steps_per_execution=max(1, steps), jit_compile=True if xla else "auto", bf16=bf16)
