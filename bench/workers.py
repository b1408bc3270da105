"""Finished trials per hour with ``--workers 1`` versus ``--workers N`` on this machine, same wall budget.

Both runs search both families on the same 5,000 real MNIST training images for the same wall time; the
one-worker run is the baseline measured in the same invocation.

    python bench/workers.py [--minutes 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from bakeoff.search.engine.record import counted

from common import mnist_path, record


def trials_per_hour(workers: int, minutes: float, root: Path) -> dict:
    out = root / f"w{workers}"
    argv = [sys.executable, "-m", "bakeoff.search", "search", "--data", mnist_path(), "--subset", "5000",
            "--epochs", "3", "--timeout", f"{minutes}m", "--workers", str(workers), "--out", str(out), "--study", "w"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - started
    storage = f"sqlite:///{out}/study.db"
    finished = sum(counted(optuna.load_study(study_name=f"w-{f}", storage=storage).get_trials()) for f in ("ann", "cnn"))
    return {"workers": workers, "wall_seconds": round(wall, 1), "finished_trials": finished,
            "trials_per_hour": round(finished / wall * 3600, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = trials_per_hour(1, args.minutes, Path(tmp))
        many = trials_per_hour(args.workers, args.minutes, Path(tmp))
    ratio = many["trials_per_hour"] / one["trials_per_hour"]
    print(f"1 worker: {one['trials_per_hour']} trials/h ({one['finished_trials']} in {one['wall_seconds']}s); "
          f"{args.workers} workers: {many['trials_per_hour']} trials/h ({many['finished_trials']} in {many['wall_seconds']}s); "
          f"ratio {ratio:.2f}x")
    record("workers", {"minutes": args.minutes, "baseline": one, "parallel": many, "ratio": round(ratio, 2)})


if __name__ == "__main__":
    main()
