"""bakeoff's Optuna search against KerasTuner's Hyperband, like for like.

Each repetition runs ``bakeoff search --engine optuna`` and ``--engine kerastuner`` on the same stratified MNIST
subset, split, seed and time budget per family. Both engines begin with the same two queued starts (the seed
notebook and the recipe, trained by the same objective) and both are charged the same way: the sum of their
trials' times (``search.engine.record.seconds``). Only trials the search could select count
(``search.engine.record.selectable_value``: complete trials; a pruned trial's last epoch is no result). Reported per
family and engine: best validation accuracy at the end (mean ± sample std over the repetitions that had a complete
trial), and time to target as censored data: hits out of repetitions, the Kaplan-Meier median time over
repetitions (a miss is censored at the budget's end, so the median exists only when at least half hit), and which
trial reached the target (number and start label). A ratio of median times is given only where both medians exist.

    python bench/engines.py [--minutes 2] [--repeats 5] [--subset 10000] [--epochs 6] [--targets 0.96 0.98]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

from bakeoff.search.engine import record as trial_record
from bakeoff.search.engine.record import best_trial

from common import censored_median, mnist_path, record

FAMILIES = ("ann", "cnn")
ENGINES = ("optuna", "kerastuner")


def run_engine(engine: str, seed: int, args, root: Path) -> dict:
    out = root / f"{engine}-{seed}"
    argv = [sys.executable, "-m", "bakeoff.search", "search", "--engine", engine, "--data", mnist_path(),
            "--subset", str(args.subset), "--epochs", str(args.epochs), "--timeout", f"{2 * args.minutes}m",
            "--seed", str(seed), "--out", str(out), "--study", "e"]
    started = time.time()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.time() - started
    found = {}
    for family, target in zip(FAMILIES, args.targets):
        study = optuna.load_study(study_name=trial_record.study_name("e", family), storage=f"sqlite:///{out}/study.db")
        trials = sorted((t for t in study.get_trials() if t.state.is_finished()), key=lambda t: t.datetime_complete)
        spent, hit = 0.0, None
        for t in trials:
            spent += trial_record.seconds(t)
            value = trial_record.selectable_value(t)  # a pruned trial's last epoch is no result the search could select
            if hit is None and value is not None and value >= target:
                hit = {"seconds": round(spent, 1), "trial": t.number, "start": t.user_attrs.get(trial_record.START) or "sampled"}
        best = best_trial(trials)
        found[family] = {
            "best": None if best is None else round(best.value, 5),
            "best_trial": None if best is None else best.number,
            "best_start": None if best is None else best.user_attrs.get(trial_record.START) or "sampled",
            "trials": len(trials),
            "charged_seconds": round(trial_record.spent_seconds(trials), 1),
            "hit": hit,
        }
    return {"wall_seconds": round(wall, 1), **found}


def summarise(runs: list[dict], family: str, target: float) -> dict:
    row: dict = {"target": target}
    for engine in ENGINES:
        mine = [r[family] for r in runs if r["engine"] == engine]
        bests = [m["best"] for m in mine if m["best"] is not None]  # a search with no complete trial has no best, not 0 %
        hits = [m["hit"] for m in mine if m["hit"]]
        times = [m["hit"]["seconds"] if m["hit"] else None for m in mine]
        row[engine] = {
            "best_mean": round(float(np.mean(bests)), 5) if bests else None,
            "best_std": round(float(np.std(bests, ddof=1)), 5) if len(bests) > 1 else None,
            "with_complete": len(bests),
            "hits": len(hits),
            "repeats": len(mine),
            "median_seconds": censored_median(times),
            "hit_by": [f"#{h['trial']} ({h['start']})" for h in hits],
            "trials_mean": round(float(np.mean([m["trials"] for m in mine])), 1),
        }
    both = all(row[e]["median_seconds"] is not None for e in ENGINES)
    row["time_ratio"] = round(row["optuna"]["median_seconds"] / row["kerastuner"]["median_seconds"], 3) if both else None
    means = [row[e]["best_mean"] for e in ENGINES]
    row["best_difference_pp"] = round(100 * (means[0] - means[1]), 2) if None not in means else None
    return row


def describe(family: str, row: dict) -> str:
    def median(engine: dict) -> str:
        return "median not reached" if engine["median_seconds"] is None else f"median {engine['median_seconds']} s"

    def best(engine: dict) -> str:
        if engine["best_mean"] is None:
            return "no complete trial"
        spread = f" ± {engine['best_std']:.4f}" if engine["best_std"] is not None else ""
        some = f" ({engine['with_complete']}/{engine['repeats']} with a complete trial)" if engine["with_complete"] < engine["repeats"] else ""
        return f"{engine['best_mean']:.4f}{spread}{some}"

    o, k = row["optuna"], row["kerastuner"]
    difference = "" if row["best_difference_pp"] is None else f" ({row['best_difference_pp']:+.2f} pp)"
    ratio = (f"ratio of medians {row['time_ratio']}" if row["time_ratio"] is not None
             else "no ratio: an engine reached the target in at most half of the repetitions")
    return (f"{family}: best val acc optuna {best(o)} vs kerastuner {best(k)}{difference}; "
            f"{row['target']:.1%} reached by optuna {o['hits']}/{o['repeats']} ({median(o)}, by "
            f"{', '.join(o['hit_by']) or '-'}), kerastuner {k['hits']}/{k['repeats']} ({median(k)}, by "
            f"{', '.join(k['hit_by']) or '-'}); {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=2.0, help="trial time per family")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--targets", type=float, nargs=2, default=[0.96, 0.98], metavar=("ANN", "CNN"))
    parser.add_argument("--subset", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.repeats):
            for engine in ENGINES[::1 if seed % 2 == 0 else -1]:  # alternate which engine runs first
                result = run_engine(engine, seed, args, Path(tmp))
                runs.append({"engine": engine, "seed": seed, **result})
                print(engine, seed, result, flush=True)
    summary = {family: summarise(runs, family, target) for family, target in zip(FAMILIES, args.targets)}
    for family, row in summary.items():
        print(describe(family, row))
    record("engines", {"minutes_per_family": args.minutes, "subset": args.subset, "epochs": args.epochs,
                       "repeats": args.repeats, "targets": dict(zip(FAMILIES, args.targets)),
                       "runs": runs, "summary": summary})


if __name__ == "__main__":
    main()
