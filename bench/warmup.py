"""Does a short warm-up revive the learning rates at which sampled CNNs stayed at chance?

In the 1-hour ladder searches, sampled CNNs with Adam above about 0.006 and no batch norm often ended their first
rung at chance, while the seed notebook's CNN learns at 0.01 and 0.03 (*lr_ranges*): a dead region the space keeps
drawing from. The ladder's schedule started at its full rate. This retrains the first rung of every such trial in
the given runs' studies (Adam or AdamW at ``--from-rate`` or above), and of the two starts as controls, exactly as
the search did (its validation split, its random seed, one epoch at a constant rate, then the rung's decay and
validation), with a linear warm-up over 0 (the baseline, in the same run: it should reproduce the search's score),
0.2 and 0.5 of the first epoch. A warm-up worth keeping revives dead trials and costs the controls nothing.

    python bench/warmup.py --runs /work/runs/acc-default-seed0 /work/runs/acc-default-seed1 /work/runs/acc-default-seed2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import mnist_path, record

WARMUPS = (0.0, 0.2, 0.5)  # of the first epoch
CHANCE = 0.2  # a first-rung score below this learned nothing worth the name on 10 classes


def cases(runs: list[Path], family: str, from_rate: float) -> list[dict]:
    """The first segments of the runs' trials to retrain: the starts once, and sampled Adam/AdamW at high rates."""
    import optuna

    from bakeoff.search.engine import record as rec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    found, starts = [], set()
    for run in runs:
        job = json.loads((run / "search-job.json").read_text())
        storage = f"sqlite:///{run}/study.db"
        name = next(n for n in optuna.get_all_study_names(storage) if n.endswith(f"-{family}"))
        for trial in optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False):
            attrs = trial.user_attrs
            config, score = attrs.get(rec.CONFIG), (attrs.get(rec.RUNG_SCORES) or {}).get("1")
            if attrs.get(rec.FROM_EPOCHS) or config is None or score is None:
                continue  # a continuation, or a trial that never scored its first rung
            start = attrs.get(rec.START)
            high = config["optimizer"] in ("adam", "adamw") and config["learning_rate"] >= from_rate
            if start and start not in starts or not start and high:
                if start:
                    starts.add(start)
                found.append({"run": str(run), "search_seed": job["seed"], "trial": trial.number, "start": start,
                              "config": config, "search_score": round(score, 4)})
    return found


def first_rung(family: str, case: dict, data, warmup: float) -> dict:
    """The case's first rung as its trial trained it, with a warm-up over ``warmup`` of the epoch."""
    from bakeoff.search.engine.record import trial_seed
    from bakeoff.search.train.backend import import_keras
    from bakeoff.search.train.fit import fit, release_models, steps_per_epoch
    from bakeoff.search.train.rungs import decayed_validation, warm_up
    from bakeoff.search.train.speed import tuned_model
    from bakeoff.spaces import LADDER_SCHEDULE

    keras = import_keras()
    release_models()
    keras.utils.set_random_seed(trial_seed(case["search_seed"], case["trial"]))
    config = case["config"]
    batch = config["batch_size"]
    per_epoch = steps_per_epoch(len(data.x_train), batch)
    started = time.perf_counter()
    model = tuned_model({**config, "schedule": LADDER_SCHEDULE}, family, data.input_shape, data.num_classes, per_epoch)
    warm_up(model, round(warmup * per_epoch))
    result = fit(model, data.x_train, data.y_train, epochs=1, batch_size=batch)
    if result.diverged_at is not None:
        return {"warmup": warmup, "score": None, "diverged": True, "seconds": round(time.perf_counter() - started, 1)}
    decayed = decayed_validation(model, data.x_train, data.y_train, (data.x_val, data.y_val), batch_size=batch, seed=case["trial"])
    return {"warmup": warmup, "score": round(decayed.accuracy, 4), "diverged": False, "seconds": round(time.perf_counter() - started, 1)}


def table(rows: list[dict]) -> str:
    from bakeoff.search.train.rungs import WARMUP_EPOCHS

    head = " | ".join(f"warm-up {w:g} epoch" + (" (the default)" if w == WARMUP_EPOCHS else "") for w in WARMUPS)
    lines = [f"| case | learning rate | batch norm | in the search | {head} |", "| --- | --- | --- | --- | " + " | ".join("---" for _ in WARMUPS) + " |"]
    for row in rows:
        label = row["start"] or f"seed {row['search_seed']} #{row['trial']}"
        cells = " | ".join("diverged" if r["diverged"] else f"{100 * r['score']:.2f}" for r in row["results"])
        lines.append(f"| {label} | {row['config']['learning_rate']:.4f} ({row['config']['optimizer']}) | {row['config'].get('batch_norm')} | "
                     f"{100 * row['search_score']:.2f} | {cells} |")
    sampled = [r for r in rows if not r["start"]]
    for i, warmup in enumerate(WARMUPS):
        dead = sum(1 for r in sampled if r["results"][i]["diverged"] or r["results"][i]["score"] < CHANCE)
        lines.append(f"\nWarm-up {warmup:g} epoch: {dead} of {len(sampled)} sampled cases below {100 * CHANCE:.0f} % after the first rung.")
    return "\n".join(lines)


def main() -> None:
    from bakeoff.search.data import load_dataset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="bakeoff run folders (study.db, search-job.json)")
    parser.add_argument("--family", default="cnn", choices=("ann", "cnn"))
    parser.add_argument("--from-rate", type=float, default=0.005)
    args = parser.parse_args()
    found = cases(args.runs, args.family, args.from_rate)
    print(f"{len(found)} cases", flush=True)
    data, split = None, None
    rows = []
    for case in found:
        if case["search_seed"] != split:  # the search's split, one in memory at a time
            split = case["search_seed"]
            data = load_dataset(mnist_path(), seed=split)
        results = [first_rung(args.family, case, data, warmup) for warmup in WARMUPS]
        rows.append({**case, "results": results})
        print(json.dumps({k: rows[-1][k] for k in ("search_seed", "trial", "start", "search_score", "results")}), flush=True)
    print(table(rows))
    record("warmup", {"family": args.family, "from_rate": args.from_rate, "warmups": list(WARMUPS), "rows": rows,
                      "runs": [str(r) for r in args.runs]})


if __name__ == "__main__":
    main()
