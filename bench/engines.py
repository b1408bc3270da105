"""bakeoff's Optuna search against KerasTuner's Hyperband: same spaces, same split, same wall budget per family.

Each repetition runs ``bakeoff search --engine optuna`` and ``--engine kerastuner`` on the same MNIST subset with
the same seed and budget, then reads both studies: best validation accuracy per family, and the trial time
until a trial first reached the target validation accuracy (ANN 98.0 %, CNN 99.0 % by default). KerasTuner
is the baseline measured in the same run. bakeoff's search starts from the seed notebook's model as its first
trial (part of its design); KerasTuner starts from Hyperband's random draws.

    python bench/engines.py [--minutes 5] [--repeats 1] [--subset 10000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from common import mnist_path, record

TARGETS = {"ann": 0.98, "cnn": 0.99}


def run_engine(engine: str, seed: int, args, root: Path) -> dict:
    out = root / f"{engine}-{seed}"
    argv = [sys.executable, "-m", "bakeoff.search", "search", "--engine", engine, "--data", mnist_path(),
            "--subset", str(args.subset), "--epochs", str(args.epochs), "--timeout", f"{2 * args.minutes}m",
            "--seed", str(seed), "--out", str(out), "--study", "e"]
    subprocess.run(argv, check=True, capture_output=True)
    found = {}
    for family, target in TARGETS.items():
        study = optuna.load_study(study_name=f"e-{family}", storage=f"sqlite:///{out}/study.db")
        trials = sorted((t for t in study.get_trials() if t.datetime_complete), key=lambda t: t.datetime_complete)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        elapsed, reached = 0.0, None
        for t in trials:
            elapsed += (t.datetime_complete - t.datetime_start).total_seconds()
            if t.state == TrialState.COMPLETE and t.value >= target and reached is None:
                reached = round(elapsed, 1)
        found[family] = {"best": max((t.value for t in complete), default=None), "trials": len(trials),
                         "seconds_to_target": reached, "target": target}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0, help="budget per family")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--subset", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.repeats):
            for engine in ("kerastuner", "optuna"):
                result = run_engine(engine, seed, args, Path(tmp))
                runs.append({"engine": engine, "seed": seed, **result})
                print(engine, seed, result, flush=True)
    summary = {}
    for family in TARGETS:
        row = {}
        for engine in ("kerastuner", "optuna"):
            mine = [r[family] for r in runs if r["engine"] == engine]
            row[engine] = {"best_mean": round(float(np.mean([m["best"] or 0.0 for m in mine])), 4),
                           "best_std": round(float(np.std([m["best"] or 0.0 for m in mine])), 4),
                           "reached_target": sum(m["seconds_to_target"] is not None for m in mine),
                           "seconds_to_target": [m["seconds_to_target"] for m in mine]}
        row["best_ratio"] = round(row["optuna"]["best_mean"] / max(row["kerastuner"]["best_mean"], 1e-9), 4)
        summary[family] = row
        print(f"{family}: best val acc optuna {row['optuna']['best_mean']:.4f} ± {row['optuna']['best_std']:.4f} vs "
              f"kerastuner {row['kerastuner']['best_mean']:.4f} ± {row['kerastuner']['best_std']:.4f} (ratio {row['best_ratio']}); "
              f"time to {TARGETS[family]:.1%}: optuna {row['optuna']['seconds_to_target']} s, kerastuner {row['kerastuner']['seconds_to_target']} s")
    record("engines", {"minutes_per_family": args.minutes, "subset": args.subset, "epochs": args.epochs,
                       "repeats": args.repeats, "runs": runs, "summary": summary})


if __name__ == "__main__":
    main()
