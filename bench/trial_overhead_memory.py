"""Per-trial overhead outside the epochs, and resident memory over many trials of one search.

Runs ``bakeoff search`` for N small real trials (both families, one epoch on a few hundred MNIST images) and
samples the resident memory of the search process and of its worker process every 0.2 s.
- Overhead per trial = trial wall time minus its epochs (sampling, build, compile, callbacks, storage
  writes), plus the gap between one trial's end and the next one's start; goal <= 1 s.
- Memory: growth of the search process over the run (goal <= 50 MB) and the largest worker, which hands
  over to a fresh process once it has grown BAKEOFF_RECYCLE_MB (TensorFlow keeps a few MB per model).
Baseline in the same run: the same kind of trials in a plain in-process loop (Keras clear_session between
models, no recycling), whose memory grows without bound.

    python bench/trial_overhead_memory.py [--trials 100] [--baseline-trials 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import optuna

from bakeoff.search.data import load_dataset
from bakeoff.search.engine import record as trial_record
from bakeoff.search.engine.objective import Objective
from bakeoff.search.engine.strategy import sampler_for
from bakeoff.search.train.fit import current_rss_mb
from bakeoff.spaces import DEFAULT_SPACES

from common import mnist_path, record, rss_mb
from kill_resume import small_data


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            pass
    return found


def search_run(trials: int, root: Path) -> dict:
    data = small_data(root)
    argv = [sys.executable, "-m", "bakeoff.search", "search", "--data", str(data), "--trials", str(trials // 2),
            "--epochs", "1", "--out", str(root / "run"), "--study", "m"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    samples: list[tuple[float, float, float]] = []

    def sample() -> None:
        while process.poll() is None:
            workers = children(process.pid)
            samples.append((time.time(), rss_mb(process.pid), max((rss_mb(w) for w in workers), default=0.0)))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, _ = process.communicate()
    sampler.join()
    storage = f"sqlite:///{root}/run/study.db"
    overheads, gaps = [], []
    for family in ("ann", "cnn"):
        finished = [t for t in optuna.load_study(study_name=trial_record.study_name("m", family), storage=storage).get_trials()
                    if t.datetime_complete and t.user_attrs.get(trial_record.MEAN_EPOCH_SECONDS)]
        overheads += [trial_record.seconds(t) - t.user_attrs[trial_record.MEAN_EPOCH_SECONDS] * t.user_attrs[trial_record.EPOCHS_RUN]
                      for t in finished]
    every = sorted((t for f in ("ann", "cnn") for t in optuna.load_study(study_name=trial_record.study_name("m", f), storage=storage).get_trials()
                    if t.datetime_start and t.datetime_complete), key=lambda t: t.datetime_start)
    gaps = [(b.datetime_start - a.datetime_complete).total_seconds() for a, b in zip(every, every[1:])]
    parent = [s[1] for s in samples if s[1] > 0 and s[2] > 0]  # from the first worker on: start-up is not growth
    worker = [s[2] for s in samples if s[2] > 0]
    return {
        "exit_code": process.returncode,
        "trials": len(every),
        "overhead_in_trial_median_s": round(float(np.median(overheads)), 3),
        "gap_between_trials_median_s": round(float(np.median(gaps)), 3),
        "overhead_total_median_s": round(float(np.median(overheads)) + float(np.median(gaps)), 3),
        "search_process_rss_first_mb": round(parent[0], 1),
        "search_process_rss_last_mb": round(parent[-1], 1),
        "search_process_growth_mb": round(parent[-1] - parent[0], 1),
        "worker_rss_max_mb": round(max(worker), 1),
        "worker_recycles": stdout.count("handing over"),
    }


def naive_loop(trials: int) -> dict:
    """Baseline: trials in one process, clear_session between them, nothing else."""
    data = load_dataset(mnist_path(), subset=600, seed=0)
    study = {f: optuna.create_study(direction="maximize") for f in ("ann", "cnn")}
    rss = []
    for i in range(trials):
        family = ("ann", "cnn")[i % 2]
        study[family].sampler = sampler_for(0)
        objective = Objective(family, DEFAULT_SPACES[family], data.search_data(), epochs=1, seed=0)
        study[family].optimize(objective, n_trials=1, catch=(Exception,))
        rss.append(current_rss_mb())
    warm = min(5, trials - 1)
    return {"trials": trials, "rss_after_warmup_mb": round(rss[warm], 1), "rss_last_mb": round(rss[-1], 1),
            "growth_per_trial_mb": round((rss[-1] - rss[warm]) / max(1, trials - 1 - warm), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--baseline-trials", type=int, default=30)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        ours = search_run(args.trials, Path(tmp))
    naive = naive_loop(args.baseline_trials)
    projected = naive["growth_per_trial_mb"] * args.trials
    print(f"overhead per trial: {ours['overhead_in_trial_median_s']}s inside + {ours['gap_between_trials_median_s']}s between "
          f"= {ours['overhead_total_median_s']}s (goal <= 1 s)")
    print(f"search process: {ours['search_process_rss_first_mb']} -> {ours['search_process_rss_last_mb']} MB over "
          f"{ours['trials']} trials (growth {ours['search_process_growth_mb']} MB, goal <= 50 MB); largest worker "
          f"{ours['worker_rss_max_mb']} MB, {ours['worker_recycles']} recycle(s)")
    print(f"naive in-process loop: {naive['growth_per_trial_mb']} MB per trial, {projected:.0f} MB over {args.trials} trials "
          f"(ratio to bakeoff's search-process growth: {projected / max(ours['search_process_growth_mb'], 1.0):.0f}x)")
    record("trial_overhead_memory", {"bakeoff_search": ours, "naive_in_process_loop": naive,
                                     "naive_projected_growth_mb": round(projected, 1)})


if __name__ == "__main__":
    main()
