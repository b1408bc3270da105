"""Render the report of a fake 1,000-trial study per family (no training); goal: under 10 s.

Baseline in the same run: the report of a 10-trial study per family, so the ratio shows how rendering
scales with the number of trials on this (shared, noisy) machine.

    python bench/report_render.py [--trials 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bakeoff.search.app.main import main

from common import record
from fakes import fake_retrained, fake_study

GOAL_SECONDS = 10.0


def render_seconds(trials: int, root: Path) -> float:
    out = root / f"run-{trials}"
    out.mkdir()
    storage = f"sqlite:///{out}/study.db"
    for i, family in enumerate(("ann", "cnn")):
        fake_study(storage, "bench", family, trials, seed=i)
        fake_retrained(out, family, 3, accuracy=0.97 + 0.02 * i, n_test=10_000, seed=i)
    started = time.perf_counter()
    assert main(["report", "--out", str(out), "--study", "bench"]) == 0
    return time.perf_counter() - started


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = render_seconds(10, Path(tmp))
        seconds = render_seconds(args.trials, Path(tmp))
        size = (Path(tmp) / f"run-{args.trials}" / "report.html").stat().st_size
    print(f"{args.trials} trials per family: {seconds:.2f}s (goal < {GOAL_SECONDS:.0f}s); "
          f"10 trials: {baseline:.2f}s; ratio {seconds / baseline:.2f}x; report {size / 1e6:.2f} MB")
    record("report_render", {"trials_per_family": args.trials, "seconds": round(seconds, 3),
                             "baseline_10_trials_seconds": round(baseline, 3), "ratio": round(seconds / baseline, 3),
                             "report_mb": round(size / 1e6, 3), "goal_seconds": GOAL_SECONDS, "met": seconds < GOAL_SECONDS})


if __name__ == "__main__":
    main_bench()
