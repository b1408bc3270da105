"""Per-trial overhead outside the epochs, and resident memory over many trials in one search process.

Runs N real trials of the ANN and CNN spaces (sampled by TPE, one epoch on a few hundred MNIST images) through
bakeoff's Objective and an SQLite study, as a search does. Overhead = trial wall time minus its epochs
(build, compile, callbacks, storage writes); goal <= 1 s. Memory = resident set after each trial; goal:
growth <= 50 MB from trial 10 to the last. Baseline in the same run: the same trials with Keras state
kept between them (no clear_session), which is what a naive loop does.

    python bench/trial_overhead_memory.py [--trials 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

import numpy as np
import optuna
from common import mnist_path, record

from bakeoff.search import objective as objective_module
from bakeoff.search.data import load_dataset
from bakeoff.search.objective import Objective
from bakeoff.search.studies import sampler_for
from bakeoff.search.training import current_rss_mb
from bakeoff.spaces import DEFAULT_SPACES


def run(trials: int, storage: str, clear: bool) -> dict:
    data = load_dataset(mnist_path(), subset=500, seed=0)
    if not clear:  # the naive loop: Keras' global state is never released
        objective_module.release_models = lambda: None
    overheads, rss = [], []
    studies = {f: optuna.create_study(storage=storage, study_name=f"{f}-{clear}", direction="maximize") for f in ("ann", "cnn")}
    for i in range(trials):
        family = ("ann", "cnn")[i % 2]
        study = studies[family]
        study.sampler = sampler_for(study, 0)
        objective = Objective(family, DEFAULT_SPACES[family], data.search_split(), data.num_classes, epochs=1, seed=0)
        started = time.perf_counter()
        study.optimize(objective, n_trials=1, catch=(Exception,))
        wall = time.perf_counter() - started
        trial = study.trials[-1]
        epochs = trial.user_attrs.get("seconds_per_epoch") or 0.0
        overheads.append(wall - epochs * (trial.user_attrs.get("epochs_run") or 0))
        rss.append(current_rss_mb())
    warm = min(10, trials - 1)
    return {"overhead_median_s": round(float(np.median(overheads)), 3), "overhead_p90_s": round(float(np.percentile(overheads, 90)), 3),
            "rss_after_warmup_mb": round(rss[warm], 1), "rss_last_mb": round(rss[-1], 1),
            "rss_growth_mb": round(rss[-1] - rss[warm], 1), "rss_curve_mb": [round(r, 1) for r in rss]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--baseline-trials", type=int, default=40)
    parser.add_argument("--naive", action="store_true", help="(internal) run the naive loop and print JSON")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        if args.naive:
            print(json.dumps(run(args.trials, f"sqlite:///{tmp}/naive.db", clear=False)))
            return
        ours = run(args.trials, f"sqlite:///{tmp}/ours.db", clear=True)
    # The naive loop runs in its own process so its leaked state cannot touch the measurement above.
    naive_run = subprocess.run([sys.executable, __file__, "--naive", "--trials", str(args.baseline_trials)],
                               capture_output=True, text=True, check=True)
    naive = json.loads(naive_run.stdout.strip().splitlines()[-1])
    per_trial_ours = ours["rss_growth_mb"] / max(1, args.trials - 10)
    per_trial_naive = naive["rss_growth_mb"] / max(1, args.baseline_trials - 10)
    print(f"overhead per trial: median {ours['overhead_median_s']}s, p90 {ours['overhead_p90_s']}s (goal <= 1 s); "
          f"naive loop median {naive['overhead_median_s']}s")
    print(f"memory growth over {args.trials} trials after warm-up: {ours['rss_growth_mb']} MB (goal <= 50 MB); "
          f"per trial {per_trial_ours:.2f} MB vs naive loop {per_trial_naive:.2f} MB "
          f"(ratio {per_trial_naive / per_trial_ours if per_trial_ours > 0 else float('inf'):.1f}x)")
    record("trial_overhead_memory", {"trials": args.trials, "bakeoff": ours, "naive_no_clear_session": naive,
                                     "growth_per_trial_mb": {"bakeoff": round(per_trial_ours, 3), "naive": round(per_trial_naive, 3)}})


if __name__ == "__main__":
    main()
