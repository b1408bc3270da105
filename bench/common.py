"""Helpers shared by the benchmarks: where results go, and how they are written."""

from __future__ import annotations

import json
import math
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "tests"))  # the fake-study builder shared with the report tests


def record(name: str, result: dict) -> Path:
    """Write ``bench/results/NAME.json`` with the machine and time of the run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {**machine(), "python": platform.python_version()},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        **result,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"recorded {path.relative_to(ROOT)}")
    return path


def commit() -> str:
    """The short commit the benchmark runs from: results of different code are told apart."""
    import subprocess

    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB, 0.0 once it has gone (or before /proc shows it)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return 0.0


def machine() -> dict:
    """CPU model, cores and CPU flags that decide speed settings: every figure names its machine."""
    from bakeoff.search.manifest import machine as described

    found = described()
    found.pop("node", None)
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
        found["speed_flags"] = sorted(f for f in flags if f.startswith(("amx", "avx512_bf16", "avx512f", "avx2")))
    except (OSError, StopIteration):
        pass
    return found


def mnist_path() -> str:
    import os

    path = os.environ.get("BAKEOFF_TEST_MNIST") or str(ROOT.parent / "shared" / "data" / "mnist.npz")
    if not Path(path).is_file():
        sys.exit(f"bench: MNIST not found at {path}; set BAKEOFF_TEST_MNIST")
    return path


def train_like_a_trial(family: str, config: dict, data, epochs: int, speed=None):
    """Build and fit one model as a trial does (fresh Keras state, seed 0) on ``data``'s train/validation split.

    ``speed`` defaults to the trial settings (``search.speed.default_speed``). Returns (model, FitResult).
    """
    from bakeoff.search.backend import import_keras
    from bakeoff.search.builders import build_model
    from bakeoff.search.training import fit, release_models

    release_models()
    import_keras().utils.set_random_seed(0)
    steps = -(-len(data.x_train) // config["batch_size"]) * epochs
    model = build_model(config, family, data.input_shape, data.num_classes, steps, speed=speed)
    result = fit(model, data.x_train, data.y_train, epochs=epochs, batch_size=config["batch_size"],
                 validation=(data.x_val, data.y_val))
    return model, result


def one_search_trial(family: str, config: dict, data, epochs: int, cap: float):
    """Train ``config`` as the search's first queued trial would be, under a time cap of ``cap`` seconds
    (its epochs fitted to the cap by the search's pace); returns (frozen trial, objective)."""
    import optuna

    from bakeoff.search.objective import Objective
    from bakeoff.spaces import DEFAULT_SPACES

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(DEFAULT_SPACES[family].to_trial_params(config))
    objective = Objective(family, DEFAULT_SPACES[family], data.search_data(), epochs=epochs, seed=0, max_seconds=cap)
    study.optimize(objective, n_trials=1)
    return study.trials[0], objective


def censored_median(times: list[float | None]) -> float | None:
    """Median time to a target over repetitions, a miss (None) counting as "later than the budget": defined only
    when more than half the repetitions hit (the Kaplan-Meier median, every miss being censored at the budget's
    end, after every hit). None where the median was not reached: a miss never stands in for a time."""
    ordered = sorted(math.inf if t is None else t for t in times)
    middle = (ordered[(len(ordered) - 1) // 2] + ordered[len(ordered) // 2]) / 2
    return round(middle, 1) if math.isfinite(middle) else None
