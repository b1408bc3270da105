"""Kill a real search with SIGKILL at random moments, re-run it each time, and count what survived.

Baseline in the same run: the same search without kills; the ratio is the wall time the kills cost.
Checks at the end: every trial COMPLETE before a kill is unchanged, nothing RUNNING or WAITING, and
each family has exactly its target of counted trials.

    python bench/kill_resume.py [--kills 20] [--trials 8]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, record
from studycheck import check, complete_trials


def small_data(root: Path) -> Path:
    """The tests' real MNIST subset (600 training images): trials of a few seconds."""
    return ROOT / "tests" / "data" / "mnist_small.npz"


def command(data: Path, out: Path, trials: int) -> list[str]:
    return [sys.executable, "-m", "bakeoff.search", "search", "--data", str(data), "--trials", str(trials),
            "--epochs", "2", "--out", str(out), "--study", "k"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = small_data(root)
        started = time.perf_counter()
        subprocess.run(command(data, root / "baseline", args.trials), check=True, capture_output=True)
        baseline = time.perf_counter() - started

        out = root / "killed"
        storage = f"sqlite:///{out}/study.db"
        kept: dict = {}
        started = time.perf_counter()
        for kill in range(args.kills):
            # A crash takes everything at once: SIGKILL to the process group (search and its worker).
            process = subprocess.Popen(command(data, out, args.trials), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(rng.uniform(3.0, 10.0))
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            kept.update(complete_trials(storage, "k"))
            print(f"kill {kill + 1:>2}/{args.kills}: {len(kept)} complete trials so far", flush=True)
        final = subprocess.run(command(data, out, args.trials), capture_output=True, text=True)
        killed = time.perf_counter() - started
        counts = check(storage, "k", args.trials, kept)
    print(f"final run exit {final.returncode}; counts {counts}")
    print(f"wall time with {args.kills} kills {killed:.0f}s vs {baseline:.0f}s without: ratio {killed / baseline:.2f}x")
    record("kill_resume", {"kills": args.kills, "trials_per_family": args.trials, "final_exit_code": final.returncode,
                           **counts, "seconds_with_kills": round(killed, 1), "seconds_baseline": round(baseline, 1),
                           "ratio": round(killed / baseline, 2)})


if __name__ == "__main__":
    main()
