"""Search quality with repetitions: which sampler and pruner find better models sooner, like for like.

One protocol for every candidate and both families: a stratified MNIST subset, the same split, seed and time
budget per family for every candidate of a repetition (repetition r runs every candidate with ``--seed r``), the
same starting points and one definition of spent time (the sum of charged trial times, ``search.engine.record.seconds``).
The starting points are none (``--no-starts``) unless ``--starts``: with the seed notebook and the recipe queued,
a first pass (bench/results/search_quality-with-starts.json, 2.5 minutes per family) gave every candidate, KerasTuner
and random search included, the recipe's 98.2 % as its ANN best: the starts decided the result, not the search. Per run and family: the best validation accuracy at fractions of the budget (an
anytime curve), time to two targets as censored data (hit or not; the charged seconds when hit), trials run and
the share pruned. Only trials the search could select count (``search.engine.record.selectable_value``): a pruned
trial's last epoch is not a result, and a repetition with no complete trial by a fraction has no best there (it
is counted as such, never averaged in as 0 %).

The summary gives, per family and candidate, mean ± sample std over repetitions of the best at each fraction,
hits out of repetitions and the Kaplan-Meier median time per target (misses censored at the budget's end). A
ratio of median times against KerasTuner is given only when both reached the target in at least half of the
repetitions; the end against KerasTuner at the same seeds comes with its 95 % t interval.

Results before the counting rule above (they counted pruned trials' last epochs) are kept, withdrawn, in
bench/results/*-withdrawn-counted-pruned.json.

Runs are appended to bench/results/search_quality.json as they finish, with their commit and machine, and a run
already there (same protocol, candidate and seed) is skipped: the protocol can be spread over sessions.

    python bench/search_quality.py [--candidates default random kerastuner ...] [--repeats 5] [--ann-minutes 2]
        [--cnn-minutes 3.5] [--subset 20000] [--epochs 5] [--ann-targets 0.965 0.975] [--cnn-targets 0.96 0.975]
    python bench/search_quality.py --table default      # the README table of what is recorded

Sized from a pilot without starts (bench/results/search_quality-pilot-no-starts.json: 2.5 minutes a family gave
the CNN five trials, all inside TPE's start-up, so TPE and random search were the same run): the CNN gets 3.5
minutes and 5 epochs a trial, the ANN 2 minutes; targets where the pilot's candidates differed. 3 x 5 + 7 x 3 =
36 runs of 5.5 minutes of charged trial time: about 3.3 hours on 2 cores, resumable across sessions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

from bakeoff.search.engine import record as trial_record
from bakeoff.search.engine.record import Outcome

from common import RESULTS, censored_median, commit, interval_text, machine, mean_interval, mnist_path, record

FAMILIES = ("ann", "cnn")
FRACTIONS = (0.25, 0.5, 0.75, 1.0)
#: name: (extra ``bakeoff search`` arguments, environment settings). The first three are the default and the
#: two anchors, run ``--repeats`` times; the others ``--other-repeats`` times.
CANDIDATES: dict[str, tuple[list[str], dict[str, str]]] = {
    "default": ([], {}),
    "kerastuner": (["--engine", "kerastuner"], {}),
    "random": (["--sampler", "random", "--pruner", "none"], {}),
    "tpe-startup-10": ([], {"BAKEOFF_TPE_STARTUP": "10"}),
    "median-warmup-3": (["--pruner", "median"], {"BAKEOFF_PRUNER_WARMUP": "3"}),
    "percentile": (["--pruner", "percentile"], {}),
    "hyperband": (["--pruner", "hyperband"], {}),
    "wilcoxon": (["--pruner", "wilcoxon"], {}),
    "no-pruner": (["--pruner", "none"], {}),
    "gp": (["--sampler", "gp"], {}),
}
ANCHORS = ("default", "kerastuner", "random")


def trace(trials: list, budget: float, targets: list[float]) -> dict:
    """One family's search, in charged seconds: best so far at budget fractions, time to targets, outcomes."""
    trials = sorted((t for t in trials if t.state.is_finished()), key=lambda t: t.datetime_complete)
    spent, best, curve, hits = 0.0, None, [], {str(target): None for target in targets}
    points = []
    for t in trials:
        spent += trial_record.seconds(t)
        value = trial_record.selectable_value(t)  # a pruned trial's last epoch is no result the search could select
        if value is not None:
            best = value if best is None else max(best, value)
            for target in targets:
                if hits[str(target)] is None and value >= target:
                    hits[str(target)] = round(spent, 1)
        points.append((spent, best))
    for fraction in FRACTIONS:  # None: nothing selectable by then, which is no accuracy of 0 %
        reached = [b for s, b in points if s <= fraction * budget * 1.02 and b is not None]
        curve.append(round(max(reached), 5) if reached else None)
    outcomes = [trial_record.outcome_of(t) for t in trials]
    counted = [o for o in outcomes if o.counts]
    return {
        "anytime": curve,
        "best": None if best is None else round(best, 5),
        "hits": hits,
        "trials": len(counted),
        "pruned_share": round(sum(o == Outcome.PRUNED for o in counted) / len(counted), 3) if counted else None,
        "charged_seconds": round(spent, 1),
    }


def run_candidate(name: str, seed: int, args, root: Path) -> dict:
    """Both families' searches of one candidate and repetition, each family with its own budget."""
    extra, env = CANDIDATES[name]
    out = root / f"{name}-{seed}"
    started = time.time()
    result: dict = {}
    for family in FAMILIES:
        minutes = getattr(args, f"{family}_minutes")
        argv = [sys.executable, "-m", "bakeoff.search", "search", "--data", mnist_path(), "--subset", str(args.subset),
                "--epochs", str(args.epochs), "--family", family, "--timeout", f"{minutes}m", "--seed", str(seed),
                "--out", str(out), "--study", "q", "--starts" if args.starts else "--no-starts", *extra]
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env})
        if done.returncode != 0:
            raise SystemExit(f"{name} seed {seed} {family} failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
        study = optuna.load_study(study_name=trial_record.study_name("q", family), storage=f"sqlite:///{out}/study.db")
        result[family] = trace(study.get_trials(), minutes * 60, getattr(args, f"{family}_targets"))
    result["wall_seconds"] = round(time.time() - started, 1)
    return result


def summarise(runs: list[dict], family: str, targets: list[float]) -> dict:
    """Per candidate: the anytime curve's mean and std, trials, share pruned, hits and censored median times. Each is
    set against KerasTuner's runs at the candidate's own seeds (a 3-repetition candidate meets KerasTuner's
    seeds 0-2, not all five): the end as paired differences in pp, time to target as a ratio of medians."""
    rows: dict = {}
    anchor = {r["seed"]: r[family] for r in runs if r["candidate"] == "kerastuner"}
    for name in dict.fromkeys(r["candidate"] for r in runs):
        mine = {r["seed"]: r[family] for r in runs if r["candidate"] == name}
        at = [[m["anytime"][k] for m in mine.values() if m["anytime"][k] is not None] for k in range(len(FRACTIONS))]
        row = {
            "repeats": len(mine),
            # mean over the repetitions that had a selectable trial by then; "reached" says how many
            "anytime_mean": [round(float(np.mean(v)), 5) if v else None for v in at],
            "anytime_std": [round(float(np.std(v, ddof=1)), 5) if len(v) > 1 else None for v in at],
            "anytime_reached": [len(v) for v in at],
            "trials_mean": round(float(np.mean([m["trials"] for m in mine.values()])), 1),
            "pruned_share_mean": round(float(np.mean([m["pruned_share"] or 0.0 for m in mine.values()])), 3),
            "targets": {},
        }
        paired = [seed for seed in mine if seed in anchor]
        ends = [seed for seed in paired if mine[seed]["anytime"][-1] is not None and anchor[seed]["anytime"][-1] is not None]
        gaps = [100 * (mine[seed]["anytime"][-1] - anchor[seed]["anytime"][-1]) for seed in ends]
        row["end_vs_kerastuner_pp"] = mean_interval(gaps) if gaps and name != "kerastuner" else None
        for target in targets:
            times = [m["hits"][str(target)] for m in mine.values()]
            median = censored_median(times)
            theirs = censored_median([anchor[seed]["hits"][str(target)] for seed in paired]) if paired else None
            ratio = round(median / theirs, 3) if median is not None and theirs is not None and name != "kerastuner" else None
            row["targets"][str(target)] = {"hits": sum(t is not None for t in times), "median_seconds": median, "time_vs_kerastuner": ratio}
        rows[name] = row
    return rows


def describe(family: str, rows: dict) -> str:
    lines = [f"{family}: best validation accuracy at {', '.join(f'{f:.0%}' for f in FRACTIONS)} of the budget (mean ± std)"]
    for name, row in rows.items():
        curve = " ".join(_cell(row, k, scale=1, digits=4) for k in range(len(FRACTIONS)))
        targets = "; ".join(f"{t}: {v['hits']}/{row['repeats']} hit, median {v['median_seconds']} s, x{v['time_vs_kerastuner']} KT"
                            for t, v in row["targets"].items())
        lines.append(f"  {name:<17} n={row['repeats']} {curve} | trials {row['trials_mean']} pruned {row['pruned_share_mean']:.0%} | {targets}")
    return "\n".join(lines)


def table(summary: dict, targets: dict, default: str = "default") -> str:
    """The README's table: per family and candidate, mean ± std at each budget fraction, hits and median times."""
    head = " | ".join(f"best at {f:.0%}" for f in FRACTIONS)
    lines = [f"| family | candidate | n | {head} | end − KerasTuner, same seeds (pp) | trials | pruned | time to targets (hits/n, median over repetitions, vs KerasTuner at the same seeds) |",
             "| --- | --- | --- | " + " | ".join("---" for _ in FRACTIONS) + " | --- | --- | --- | --- |"]
    for family in FAMILIES:
        for name, row in summary[family].items():
            cells = " | ".join(_cell(row, k) for k in range(len(FRACTIONS)))
            hits = "; ".join(
                f"{100 * float(t):.1f} %: {v['hits']}/{row['repeats']}"
                + (f", median {v['median_seconds']} s" if v["median_seconds"] is not None else ", median not reached")
                + (f", {v['time_vs_kerastuner']}×" if v["time_vs_kerastuner"] is not None else "")
                for t, v in row["targets"].items())
            gap = row.get("end_vs_kerastuner_pp")
            gap = "" if gap is None else interval_text(gap, what="pair", count=True)
            label = f"**{name}** (chosen)" if name == default else name
            lines.append(f"| {family.upper()} | {label} | {row['repeats']} | {cells} | {gap} | {row['trials_mean']} | {row['pruned_share_mean']:.0%} | {hits} |")
    return "\n".join(lines)


def _cell(row: dict, k: int, scale: float = 100, digits: int = 2) -> str:
    """Best so far at budget fraction k: mean ± std over the repetitions that had a selectable trial by then,
    and how many did when not all (a repetition with none is no accuracy of 0 %)."""
    mean, std, reached = row["anytime_mean"][k], row["anytime_std"][k], row["anytime_reached"][k]
    if mean is None:
        return f"none complete (0/{row['repeats']})"
    text = f"{scale * mean:.{digits}f}" + (f" ± {scale * std:.{digits}f}" if std is not None else "")
    return text + (f" ({reached}/{row['repeats']} had a complete trial)" if reached < row["repeats"] else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the default and the two anchors")
    parser.add_argument("--other-repeats", type=int, default=3, help="repetitions of every other candidate")
    parser.add_argument("--ann-minutes", type=float, default=2.0, help="charged trial time of the ANN search")
    parser.add_argument("--cnn-minutes", type=float, default=3.5, help="charged trial time of the CNN search (its trials are slower)")
    parser.add_argument("--subset", type=int, default=20000, help="stratified training images (at least 20,000)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--ann-targets", type=float, nargs=2, default=[0.965, 0.975])
    parser.add_argument("--cnn-targets", type=float, nargs=2, default=[0.96, 0.975])
    parser.add_argument("--table", metavar="CANDIDATE", help="print the README table of the recorded runs, CANDIDATE marked as chosen, and exit")
    parser.add_argument("--starts", action=argparse.BooleanOptionalAction, default=False,
                        help="queue the seed notebook and recipe first (default: no: at these budgets they decide the result)")
    args = parser.parse_args()
    protocol = {"counting": "selectable trials only", "subset": args.subset, "minutes": {"ann": args.ann_minutes, "cnn": args.cnn_minutes}, "epochs": args.epochs, "starts": args.starts,
                "targets": {"ann": args.ann_targets, "cnn": args.cnn_targets}}
    path = RESULTS / "search_quality.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    if args.table:
        if "runs" not in earlier:
            raise SystemExit(f"search_quality: nothing recorded in {path} (earlier protocols are kept as search_quality-*.json); run it first")
        targets = earlier["protocol"]["targets"]
        return print(table({f: summarise(earlier["runs"], f, targets[f]) for f in FAMILIES}, targets, args.table))
    runs = earlier.get("runs", []) if earlier.get("protocol") == protocol else []
    code = commit()
    cpu = machine()["cpu"]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(max(args.repeats, args.other_repeats)):
            for name in args.candidates:
                wanted = args.repeats if name in ANCHORS else args.other_repeats
                if seed >= wanted or any(r["candidate"] == name and r["seed"] == seed for r in runs):
                    continue
                result = run_candidate(name, seed, args, Path(tmp))
                runs.append({"candidate": name, "seed": seed, "commit": code, "machine": cpu, **result})
                print(name, seed, {f: result[f]["anytime"] for f in FAMILIES}, flush=True)
                summary = {f: summarise(runs, f, protocol["targets"][f]) for f in FAMILIES}
                record("search_quality", {"protocol": protocol, "summary": summary, "runs": runs})
    for family in FAMILIES:
        print(describe(family, summarise(runs, family, protocol["targets"][family])))


if __name__ == "__main__":
    main()
