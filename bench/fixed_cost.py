"""Fixed cost per trial: what a trial pays beyond its epochs (building, tracing, XLA compiling, the first
validation, the epoch's shorter last call), and whether XLA pays it back.

Each measurement is one trial of a queued start (seed notebook, recipe) trained by the search's own objective
in a fresh process (nothing compiled before), on a stratified MNIST subset, for ``--epochs`` epochs. The
steady epoch is the median whole epoch from the second on (training, validation and boundary, from the clock
readings at each validation's end); the fixed cost is the trial's charged seconds less its epochs at that
steady cost. Dense nets without augmentation are measured with XLA on and off (BAKEOFF_XLA, in the same run,
alternating the order), giving the epochs after which XLA pays back its extra compiling.

    python bench/fixed_cost.py [--subsets 10000 0] [--epochs 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from common import mnist_path, one_search_trial, record

STARTS = [("ann", "seed notebook"), ("ann", "recipe"), ("cnn", "seed notebook"), ("cnn", "recipe")]


def one_trial(family: str, start: str, subset: int, epochs: int) -> dict:
    """In this process: train one queued start with the search's objective; its clock readings."""
    from bakeoff.search.data import load_dataset
    from bakeoff.search.engine import record as trial_record
    from bakeoff.spaces.families import STARTS as CONFIGS

    data = load_dataset(mnist_path(), subset=subset or None)
    trial, objective = one_search_trial(family, CONFIGS[family][start], data, epochs, cap=3600.0)
    pace = objective.pace
    walls = [b - a for a, b in zip(pace.val_ends, pace.val_ends[1:])]
    steady = statistics.median(walls)
    seconds = trial.user_attrs[trial_record.SECONDS]
    return {"seconds": round(seconds, 3), "steady_epoch": round(steady, 3), "fixed": round(seconds - epochs * steady, 3),
            "compile": round(pace.compile_seconds, 3), "first_validation": round(pace.val_seconds[0], 3),
            "epochs": trial.user_attrs[trial_record.EPOCHS_RUN]}


def measure(family: str, start: str, subset: int, epochs: int, xla: bool) -> dict:
    argv = [sys.executable, __file__, "--one", family, start, str(subset), str(epochs)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env={**os.environ, "BAKEOFF_XLA": "1" if xla else "0"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subsets", type=int, nargs="+", default=[10000, 0], help="training images; 0 = full MNIST")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        family, start, subset, epochs = args.one
        print(json.dumps(one_trial(family, start, int(subset), int(epochs))))
        return
    rows = []
    for subset in args.subsets:
        for family, start in STARTS:
            settings = [True, False] if (family, start) == ("ann", "seed notebook") else [None]
            runs: dict = {str(s): [] for s in settings}
            for repeat in range(args.repeats):
                for xla in settings[:: 1 if repeat % 2 == 0 else -1]:
                    runs[str(xla)].append(measure(family, start, subset, args.epochs, bool(xla)))
            for xla, found in runs.items():
                row = {"subset": subset or "full", "family": family, "start": start, "xla": {"None": "default"}.get(xla, xla),
                       **{k: round(statistics.median(r[k] for r in found), 3) for k in ("seconds", "steady_epoch", "fixed", "compile", "first_validation")},
                       "runs": found}
                rows.append(row)
                print({k: v for k, v in row.items() if k != "runs"}, flush=True)
            if len(settings) == 2:
                on, off = rows[-2], rows[-1]
                saved = off["steady_epoch"] - on["steady_epoch"]
                on["xla_pays_back_after_epochs"] = round((on["fixed"] - off["fixed"]) / saved, 1) if saved > 0 else None
                print("XLA pays back after", on["xla_pays_back_after_epochs"], "epochs", flush=True)
    record("fixed_cost", {"epochs": args.epochs, "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()
