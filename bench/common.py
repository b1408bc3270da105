"""Helpers shared by the benchmarks: where results go, and how they are written."""

from __future__ import annotations

import json
import math
import platform
import statistics
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

    ``speed`` defaults to the trial settings (``search.train.speed.default_speed``). Returns (model, FitResult).
    """
    from bakeoff.search.train.backend import import_keras
    from bakeoff.search.train.builders import build_model
    from bakeoff.search.train.fit import fit, release_models, steps_per_epoch
    from bakeoff.search.train.speed import default_speed

    release_models()
    import_keras().utils.set_random_seed(0)
    steps = steps_per_epoch(len(data.x_train), config["batch_size"]) * epochs
    model = build_model(config, family, data.input_shape, data.num_classes, steps, speed=speed or default_speed(family, config, steps))
    result = fit(model, data.x_train, data.y_train, epochs=epochs, batch_size=config["batch_size"],
                 validation=(data.x_val, data.y_val))
    return model, result


def one_search_trial(family: str, config: dict, data, epochs: int, cap: float):
    """Train ``config`` as the search's first queued trial would be, under a time cap of ``cap`` seconds
    (its epochs fitted to the cap by the search's pace); returns (frozen trial, objective)."""
    import optuna

    from bakeoff.search.engine.objective import Objective
    from bakeoff.spaces import DEFAULT_SPACES

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(DEFAULT_SPACES[family].to_trial_params(config))
    objective = Objective(family, DEFAULT_SPACES[family], data.search_data(), epochs=epochs, seed=0, max_seconds=cap)
    study.optimize(objective, n_trials=1)
    return study.trials[0], objective


def censored_median(times: list[float | None]) -> float | None:
    """The Kaplan-Meier median time to a target over repetitions, a miss (None) censored at the budget's end.

    Every miss is censored after every hit, so the survival curve falls by 1/n at each hit and the median is
    the first time it reaches one half: the ceil(n/2)-th hit ([10, 20, 30, miss] -> 20; [10, 20, miss, miss]
    -> 20). None when fewer repetitions hit: a miss never stands in for a time."""
    hits = sorted(t for t in times if t is not None)
    needed = math.ceil(len(times) / 2)
    return round(hits[needed - 1], 1) if times and len(hits) >= needed else None


def mean_interval(values: list[float], confidence: float = 0.95) -> dict | None:
    """Mean, sample std and the two-sided t interval of the mean; None without values. With one value the
    interval is unknown (None ends): one repetition shows no spread."""
    from scipy import stats

    if not values:
        return None
    n, mean = len(values), float(sum(values) / len(values))
    if n == 1:
        return {"mean": mean, "std": None, "low": None, "high": None, "n": 1}
    std = float(statistics.stdev(values))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "low": mean - half, "high": mean + half, "n": n}


#: Differences below this are float rounding, not data: 0.9953 - 0.996 and 0.9937 - 0.9943 differ in the last bit
#: only, and 100 * (0.989 - 0.990) is -0.10000000000000009 points. Accuracy moves in whole images, far above it.
ROUNDING = 1e-9


def interval_text(found: dict, digits: int = 2, unit: str = "", what: str = "repetition", count: bool = False) -> str:
    """The mean with its 95 % interval, as every benchmark table prints it. One value, or values equal but for
    float rounding (validation accuracy moves in whole images, so two seeds can differ by the same count), have no
    spread to build an interval from: the text says so rather than print a zero-width interval. The verdicts
    (``goal_verdict``) still read the zero-width interval: every repetition met or missed the goal alike.
    ``count`` adds "(n = N)" to an interval; the no-interval texts already say how many."""
    mean = f"{found['mean']:+.{digits}f}{unit}"
    if found["low"] is None:
        return f"{mean} (one {what}: no interval)"
    if found["std"] < ROUNDING:
        return f"{mean} (equal on all {found['n']} {what}s: no spread, no interval)"
    return f"{mean} [{found['low']:+.{digits}f}, {found['high']:+.{digits}f}]" + (f" (n = {found['n']})" if count else "")


def clears(value: float, goal: float, strictly: bool = False) -> bool:
    """Whether one value reaches ``goal`` (above it, when ``strictly``); a value within ``ROUNDING`` of the goal is at
    the goal. The one comparison behind every verdict and every per-repetition count beside one."""
    return value > goal + ROUNDING if strictly else value >= goal - ROUNDING


def goal_verdict(interval: dict | None, goal: float, higher_is_better: bool = True, strictly: bool = False) -> str:
    """'met' only when the whole 95 % interval clears the goal; 'missed' when the whole interval falls short;
    otherwise 'not shown' (a point estimate inside the noise decides nothing). ``strictly``: the goal itself is not
    met ("ahead of": a tie at the goal is missed). An end within ``ROUNDING`` of the goal is at the goal."""
    if interval is None or interval["low"] is None:
        return "not shown"
    low, high = (interval["low"], interval["high"]) if higher_is_better else (-interval["high"], -interval["low"])
    goal = goal if higher_is_better else -goal
    return "met" if clears(low, goal, strictly) else "missed" if not clears(high, goal, strictly) else "not shown"
