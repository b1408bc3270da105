"""What a model is compiled with for speed: steps per call, XLA, mixed precision. ``speed.py`` decides them per
backend, family and device; the builders only apply them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Speed:
    steps_per_execution: int = 1
    jit_compile: bool | str = "auto"
    bf16: bool = False
    float16: bool = False  # mixed float16 with loss scaling: GPUs only, when measured faster (precision.py)

    @property
    def policy(self) -> str:
        return "mixed_bfloat16" if self.bf16 else "mixed_float16" if self.float16 else "float32"


PLAIN = Speed()
