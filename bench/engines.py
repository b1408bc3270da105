"""bakeoff's Optuna search against KerasTuner's Hyperband: same spaces, same split, same wall budget per family.

Each repetition runs ``bakeoff search --engine optuna`` and ``--engine kerastuner`` on the same MNIST subset with
the same seed and budget, then reads both studies: best validation accuracy per family, and the trial time
until a trial first reached the target validation accuracy. The issue's targets (ANN 98.0 %, CNN 99.0 %) are
for full MNIST; on the default 10,000-image subset they are out of reach of short budgets, so the defaults are
ANN 97.0 %, CNN 98.5 % (set with --targets). KerasTuner is the baseline measured in the same run. bakeoff's
search starts from the seed notebook's model and its recipe (part of its design, see README); KerasTuner starts
from Hyperband's random draws.

    python bench/engines.py [--minutes 2] [--repeats 3] [--subset 10000] [--targets 0.97 0.985]
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

FAMILIES = ("ann", "cnn")


def run_engine(engine: str, seed: int, args, root: Path) -> dict:
    out = root / f"{engine}-{seed}"
    argv = [sys.executable, "-m", "bakeoff.search", "search", "--engine", engine, "--data", mnist_path(),
            "--subset", str(args.subset), "--epochs", str(args.epochs), "--timeout", f"{2 * args.minutes}m",
            "--seed", str(seed), "--out", str(out), "--study", "e"]
    subprocess.run(argv, check=True, capture_output=True)
    found = {}
    for family, target in zip(FAMILIES, args.targets):
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
    parser.add_argument("--minutes", type=float, default=2.0, help="budget per family")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--targets", type=float, nargs=2, default=[0.97, 0.985], metavar=("ANN", "CNN"))
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
    for family, target in zip(FAMILIES, args.targets):
        row = {}
        for engine in ("kerastuner", "optuna"):
            mine = [r[family] for r in runs if r["engine"] == engine]
            row[engine] = {"best_mean": round(float(np.mean([m["best"] or 0.0 for m in mine])), 4),
                           "best_std": round(float(np.std([m["best"] or 0.0 for m in mine], ddof=min(1, len(mine) - 1))), 4),  # sample std, as the report
                           "reached_target": sum(m["seconds_to_target"] is not None for m in mine),
                           "seconds_to_target": [m["seconds_to_target"] for m in mine]}
        row["best_ratio"] = round(row["optuna"]["best_mean"] / max(row["kerastuner"]["best_mean"], 1e-9), 4)
        # Time to target over the repetitions; a repetition that never got there counts as the whole budget.
        budget = 60 * args.minutes
        mean_time = {e: float(np.mean([budget if s is None else s for s in row[e]["seconds_to_target"]])) for e in ("optuna", "kerastuner")}
        row["time_to_target_ratio"] = round(mean_time["optuna"] / mean_time["kerastuner"], 3)
        summary[family] = row
        print(f"{family}: best val acc optuna {row['optuna']['best_mean']:.4f} ± {row['optuna']['best_std']:.4f} vs "
              f"kerastuner {row['kerastuner']['best_mean']:.4f} ± {row['kerastuner']['best_std']:.4f} (ratio {row['best_ratio']}); "
              f"time to {target:.1%}: optuna {row['optuna']['seconds_to_target']} s, kerastuner {row['kerastuner']['seconds_to_target']} s "
              f"(ratio {row['time_to_target_ratio']}, an unreached target counts as the whole budget)")
    record("engines", {"minutes_per_family": args.minutes, "subset": args.subset, "epochs": args.epochs,
                       "repeats": args.repeats, "targets": dict(zip(FAMILIES, args.targets)), "runs": runs, "summary": summary})


if __name__ == "__main__":
    main()
