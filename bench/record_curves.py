"""Record learning curves of configurations of the default spaces once, for the replay benchmark (``replay.py``).

Tabular HPO benchmarks (LCBench, HPOBench, YAHPO) train a fixed set of configurations once and let every
strategy replay against the record in minutes; this records ours on full MNIST (the split a search uses), real
training, on this machine. Per family, the two starts (seed notebook, recipe) and then configurations drawn
uniformly from the default space (Optuna's RandomSampler, ``--seed``), the families interleaved so both grow
together. Each configuration trains at a constant rate (``schedule = "wsd"``: the stable phase); at every rung
(epoch 1, 2, 4, 8, 16) it is also scored after a short decay on a copy of its state (``search/train/rungs.py``).
Stored per configuration: its validation accuracy after every epoch of the constant-rate run, its decayed accuracy
at each rung, and the seconds of each (tracing and compiling included, as a search is charged). Each accuracy is
stored as a pair, on the even-numbered and the odd-numbered validation images: a replayed search selects on one
half and is judged on the other, so a strategy is not credited for the luck of the images it selected on.

Depth follows an online successive halving with factor 2, so the record spends its hours where strategies look:
every configuration trains 2 epochs; it goes on to 4 when its decayed accuracy at 2 is at least the median of
its family's configurations recorded so far at 2, and to 8 and 16 likewise among those that reached 4 and 8 (the
first ``FULL_DEPTH`` of each family go all the way, to seed the medians). On 2 cores a sampled CNN takes a minute
or more an epoch, so depth for all would record a few dozen configurations in a day. A strategy that wants a curve the record does
not hold is told so by the replay, which counts such cases. A configuration stops early when its loss turns NaN
(recorded as diverged), when it has not reached epoch 2 within ``--early-cap`` seconds (a 1-hour search's cap per
trial, 450 s: such a configuration cannot climb the ladder there), or when it has trained ``--cap`` seconds (both
recorded as capped, each row with its caps).

One JSON line per configuration in ``bench/results/curves/FAMILY.jsonl``, appended when it finishes: stop the
script at any moment and run it again to go on (an unfinished configuration is trained again from its start).
While a file ``PAUSE`` exists in that folder the script waits between configurations, so tests or other
benchmarks can run without sharing the cores with a configuration being timed.

    python bench/record_curves.py [--configs 120] [--seed 0] [--cap 1800] [--early-cap 450] [--families ann,cnn]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from common import RESULTS, commit, machine, mnist_path

RUNGS = (1, 2, 4, 8, 16)
#: Epochs every configuration trains; deeper rungs follow the online halving.
ALWAYS = 2
#: The first configurations of each family go all the way, to seed the medians: the two starts and two draws
#: (it was 6 until ANN 3 / CNN 2 were recorded, so no row differs from what 4 gives; 2 fewer full-depth draws per
#: family save about an hour of a 2-core machine's recording).
FULL_DEPTH = 4
CURVES = RESULTS / "curves"


def sampled_configs(family: str, count: int, seed: int) -> list[tuple[str, dict]]:
    """The starts, then uniform draws from the default space: the same list for the same seed on every machine."""
    import optuna

    from bakeoff.spaces import DEFAULT_SPACES, STARTS

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = DEFAULT_SPACES[family]
    found = [(label, dict(config)) for label, config in STARTS[family].items()]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    while len(found) < count:
        trial = study.ask()
        found.append(("sampled", space.sample(trial)))
        study.tell(trial, 0.0)
    return found


def done(folder: Path, family: str) -> list[dict]:
    """The configurations recorded so far (a line cut short by a kill is dropped: it is trained again)."""
    path = folder / f"{family}.jsonl"
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def goes_deeper(rung: int, score: float, peers: list[dict]) -> bool:
    """Online halving: continue past ``rung`` when ``score`` is at least the median decayed score of the recorded
    configurations that reached it (every configuration does while fewer than ``FULL_DEPTH`` are recorded)."""
    if len(peers) < FULL_DEPTH:
        return True
    scores = [float(np.mean(p["decayed"][str(rung)])) for p in peers if str(rung) in p["decayed"]]
    return not scores or score >= float(np.median(scores))


def halves(correct: np.ndarray) -> list[float]:
    """Accuracy on the even-numbered and on the odd-numbered validation images."""
    return [round(float(correct[0::2].mean()), 5), round(float(correct[1::2].mean()), 5)]


def record_one(family: str, index: int, label: str, config: dict, data, peers: list[dict], cap: float, early_cap: float, seed: int) -> dict:
    """Train one configuration at a constant rate, score it with a decay at each rung, as deep as the halving says."""
    from bakeoff.search.engine.record import trial_seed
    from bakeoff.search.train.backend import import_keras
    from bakeoff.search.train.fit import fit, release_models, steps_per_epoch
    from bakeoff.search.train.rungs import decayed_validation
    from bakeoff.search.train.speed import tuned_model

    keras = import_keras()
    release_models()
    keras.utils.set_random_seed(trial_seed(seed, index))
    trained = {**config, "schedule": "wsd"}
    per_epoch = steps_per_epoch(len(data.x_train), trained["batch_size"])
    started = time.perf_counter()
    row = {"index": index, "start": label, "config": config, "trunk": [], "epoch_seconds": [], "decayed": {},
           "decay_seconds": {}, "stopped": None}
    try:
        model = tuned_model(trained, family, data.input_shape, data.num_classes, per_epoch * RUNGS[-1])
    except Exception as exc:  # a configuration the builders refuse (too many poolings for the image)
        return {**row, "stopped": f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    row["params"] = int(model.count_params())
    row["build_seconds"] = round(time.perf_counter() - started, 3)
    epoch, capped = 0, []

    def over_cap(done: int, total: int) -> bool:
        limit = early_cap if epoch < ALWAYS else cap  # too slow for a 1-hour search's first rungs: no deeper record
        if time.perf_counter() - started > limit:
            capped.append(limit)
        return bool(capped)

    for rung in RUNGS:
        result = fit(model, data.x_train, data.y_train, epochs=rung - epoch, batch_size=trained["batch_size"],
                     validation=(data.x_val, data.y_val), stop_now=over_cap)
        whole = result.epochs - 1 if capped else result.epochs  # an epoch the cap cut short is not a point of the curve
        row["trunk"] += [halves(correct) for correct in result.val_correct[:whole]]
        row["epoch_seconds"] += [round(s, 3) for s in result.epoch_seconds[:whole]]
        epoch += whole
        if result.diverged_at is not None:
            row["stopped"] = f"diverged in epoch {epoch}"
            break
        if capped:
            row["stopped"] = f"capped: {capped[0]:.0f}s reached in epoch {epoch + 1}"
            break
        decayed = decayed_validation(model, data.x_train, data.y_train, (data.x_val, data.y_val),
                                     batch_size=trained["batch_size"], seed=index)
        row["decayed"][str(rung)] = halves(decayed.correct)
        row["decay_seconds"][str(rung)] = round(decayed.seconds, 3)
        if rung >= ALWAYS and rung != RUNGS[-1] and not goes_deeper(rung, decayed.accuracy, peers):
            break
    row["seconds"] = round(time.perf_counter() - started, 3)
    return row


def summary_table(folder: Path = CURVES) -> str:
    """Per family: configurations recorded, how many reached each rung, how they ended, the hours they took and where."""
    lines = ["| family | configurations | reached " + " | reached ".join(map(str, RUNGS)) + " | diverged | capped | failed | hours | machines |",
             "| --- " * (7 + len(RUNGS)) + "|"]
    for family in ("ann", "cnn"):
        rows = done(folder, family)
        if not rows:
            continue
        reached = [sum(str(r) in row["decayed"] for row in rows) for r in RUNGS]
        ends = [sum(str(row.get("stopped") or "").startswith(kind) for row in rows) for kind in ("diverged", "capped", "failed")]
        hours = sum(row.get("seconds", 0.0) for row in rows) / 3600
        machines = ", ".join(sorted({row.get("machine", "?") for row in rows}))
        lines.append(f"| {family.upper()} | {len(rows)} | " + " | ".join(map(str, reached)) + " | " + " | ".join(map(str, ends))
                     + f" | {hours:.1f} | {machines} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=120, help="configurations per family, the starts included")
    parser.add_argument("--seed", type=int, default=0, help="which configurations are drawn")
    parser.add_argument("--train-seed", type=int, help="the training seed (default: --seed); another one, with --out elsewhere, "
                        "records the same configurations again: how far two trainings of one configuration differ")
    parser.add_argument("--cap", type=float, default=1800.0, help="seconds one configuration may train")
    parser.add_argument("--early-cap", type=float, default=450.0,
                        help=f"seconds it may take to reach epoch {ALWAYS} (a 1-hour search caps a trial at 450)")
    parser.add_argument("--families", default="ann,cnn")
    parser.add_argument("--out", type=Path, default=CURVES, help="folder of the FAMILY.jsonl records")
    parser.add_argument("--subset", type=int, default=None, help="training images (a quick check; the record uses all)")
    args = parser.parse_args()

    from bakeoff.search.data import load_dataset

    data = load_dataset(mnist_path(), subset=args.subset).search_data()
    folder = args.out
    families = args.families.split(",")
    plans = {f: sampled_configs(f, args.configs, args.seed) for f in families}
    folder.mkdir(parents=True, exist_ok=True)
    header = folder / "header.json"
    if not header.exists():
        header.write_text(json.dumps({"benchmark": "record_curves", "seed": args.seed, "train_seed": args.train_seed, "caps": "per row (cap, early_cap)", "rungs": RUNGS,
                                      "always": ALWAYS, "full_depth": FULL_DEPTH, "machine": machine(), "commit": commit(),
                                      "subset": args.subset, "train_images": len(data.y_train), "val_images": len(data.y_val)}, indent=2) + "\n")
    for index in range(args.configs):
        for family in families:
            rows = done(folder, family)
            if any(r["index"] == index for r in rows):
                continue
            while (folder / "PAUSE").exists():
                time.sleep(5)
            label, config = plans[family][index]
            train_seed = args.seed if args.train_seed is None else args.train_seed
            row = record_one(family, index, label, config, data, rows, args.cap, args.early_cap, train_seed)
            row["machine"], row["cap"], row["early_cap"] = machine()["cpu"], args.cap, args.early_cap
            with (folder / f"{family}.jsonl").open("a") as handle:
                handle.write(json.dumps(row, separators=(",", ":")) + "\n")
            best = max((float(np.mean(v)) for v in row["decayed"].values()), default=float("nan"))
            print(f"[{family}] {index:>3} {label:<13} epochs {len(row['trunk']):>2}  decayed best {best:.4f}  "
                  f"{row.get('seconds', 0):7.1f}s  {row['stopped'] or ''}", flush=True)


if __name__ == "__main__":
    main()
