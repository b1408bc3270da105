"""What a model costs to ship, measured the same way for every trial of a multi-objective search.

The model is rebuilt for inference (``export.inference_copy``: no augmentation layers, float32) and converted
to LiteRT float32, the fastest export measured here (bench/exports.py); its latency is the median per image
at batch 1 over ``CALLS`` calls after ``WARMUP`` on ``THREADS`` interpreter thread(s), fixed so trials measured
on different workers or machines with other core counts compare. With the size objective the int8 file is made
too (calibrated on ``CALIBRATION_IMAGES`` training images: its size does not depend on how well). Latency and
size depend on the architecture, not on the weights, so a trial is measured before it trains; the seconds
spent are part of the trial's charged time, as everything a user waits for is.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bakeoff.search.deploy import export, runtimes
from bakeoff.search.manifest import machine
from bakeoff.search.train.backend import quiet_stderr

THREADS = 1
WARMUP, CALLS = 20, 200
CALIBRATION_IMAGES = 50


def measure(model, config: dict[str, Any], family: str, data, int8: bool) -> dict[str, Any]:
    """{"latency_ms", "float32_bytes", ["int8_bytes"], "threads", "machine", "seconds"} of ``model`` (built, trained or not)."""
    started = time.perf_counter()
    copy = export.inference_copy(model, config, family, data)
    # the machine too: workers on several machines measure trials of one study, and their latencies do not compare
    found: dict[str, Any] = {"threads": THREADS, "machine": {k: v for k, v in machine().items() if k in ("cpu", "cores")}}
    with tempfile.TemporaryDirectory(prefix="bakeoff-cost-") as folder:
        float32 = Path(folder) / "model_float32.tflite"
        with quiet_stderr():
            export.tflite_float32(copy, float32)
        found["float32_bytes"] = float32.stat().st_size
        predict = runtimes.tflite(float32, THREADS)
        found["latency_ms"] = export.latency(predict, data.x_val, calls={1: CALLS}, warmup=WARMUP)["latency_ms_batch1"]
        if int8:
            path = Path(folder) / "model_int8.tflite"
            with quiet_stderr():
                export.tflite_int8(copy, path, data, CALIBRATION_IMAGES)
            found["int8_bytes"] = path.stat().st_size
    found["seconds"] = round(time.perf_counter() - started, 3)
    return found
